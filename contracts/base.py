"""The base every contract shares: what any record entering Interdict must satisfy (null
means absent, numbers finite, text repaired and free of control characters)."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, model_validator

from contracts.inputs import nulls_absent, repair_text

# C0/C1 control characters (except tab and newline) never carry meaning in a listing and
# would let crawled text smuggle terminal escapes or highlight markers into our output.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(value: str) -> str:
    value = unicodedata.normalize("NFC", repair_text(value))
    return _CONTROL.sub(" ", value).strip()


CleanStr = Annotated[str, AfterValidator(clean_text)]


def _not_blank(value: str) -> str:
    if not value:
        raise ValueError("title is empty")
    return value


TitleStr = Annotated[str, AfterValidator(clean_text), AfterValidator(_not_blank)]


class Contract(BaseModel):
    # Numbers are finite wherever they enter or are derived: inf and NaN are refused by name.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class InputContract(Contract):
    """What arrives from outside (the crawl contract, parsed pages): null means absent."""

    @model_validator(mode="before")
    @classmethod
    def _nulls_absent(cls, data: Any) -> Any:
        return nulls_absent(data)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
