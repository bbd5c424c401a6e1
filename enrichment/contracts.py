"""The data contracts the enrichment stage accepts and produces.

``Listing`` and ``VendorProfile`` are what any acquisition front end (the Scrapy crawlers,
``interdict parse``, an import) hands over; ``EnrichedListing`` and ``EnrichedVendor`` add
what the NLP stage found. They live here, in the package that consumes them, so that
``enrichment`` and ``index`` never need to import ``crawlers``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

# C0/C1 control characters (except tab and newline) never carry meaning in a listing and
# would let crawled text smuggle terminal escapes or highlight markers into our output.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_text(value: str) -> str:
    value = unicodedata.normalize("NFC", value)
    return _CONTROL.sub(" ", value).strip()


CleanStr = Annotated[str, AfterValidator(clean_text)]


class Contract(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Money(Contract):
    amount: float = Field(ge=0)
    currency: Annotated[str, AfterValidator(str.upper)] = Field(min_length=3, max_length=4)


class PriceTier(Contract):
    quantity: CleanStr  # as listed: "10 g", "100 pills"
    price: Money


class VendorRef(Contract):
    name: CleanStr = Field(min_length=1)
    url: str | None = None
    rating: float | None = None
    sales: int | None = Field(default=None, ge=0)


class Evidence(Contract):
    """Where the raw response that produced a record is kept (WARC record and digest)."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    warc_record_id: str | None = None
    warc_file: str | None = None
    served_by: str | None = None  # the mirror (scheme://host:port) that served the page


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]


class Listing(Contract):
    market: str = Field(min_length=1)
    url: str = Field(min_length=1)
    listing_key: str = Field(min_length=1)
    title: CleanStr = Field(min_length=1)
    description: CleanStr = ""
    price: Money
    price_tiers: list[PriceTier] = []
    vendor: VendorRef
    category_path: list[CleanStr] = []
    ships_from: CleanStr | None = None
    ships_to: list[CleanStr] = []
    shipping_options: list[CleanStr] = []
    payment_terms: CleanStr | None = None
    image_urls: list[str] = []
    crawled_at: UtcDatetime
    evidence: Evidence | None = None
    transport: Literal["tor", "clearnet"] = "clearnet"

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, value: str) -> str:
        if not value:
            raise ValueError("title is empty")
        return value


class Feedback(Contract):
    rating: float | None = None
    text: CleanStr = ""
    date: str | None = None


class VendorProfile(Contract):
    market: str = Field(min_length=1)
    name: CleanStr = Field(min_length=1)
    url: str
    profile: CleanStr = ""
    pgp_key: str | None = None
    rating: float | None = None
    sales: int | None = None
    joined: str | None = None
    feedback: list[Feedback] = []
    crawled_at: UtcDatetime
    evidence: Evidence | None = None
    transport: Literal["tor", "clearnet"] = "clearnet"


class Entity(Contract):
    """One thing the NLP stage found, with where it found it and which component did."""

    label: str  # PRODUCT, QUANTITY, PRICE, COUNTRY, PGP_FINGERPRINT, BTC_ADDRESS, EMAIL...
    text: str
    field: str  # title, description, profile, pgp_key, ships_from, ships_to
    start: int
    end: int
    component: str
    value: str | None = None  # normalised value (canonical name, ISO code, fingerprint)
    attrs: dict[str, Any] = {}


class Product(Contract):
    canonical: str
    category: str  # taxonomy id, e.g. "drugs.stimulants"
    hs_code: str | None = None


class Quantity(Contract):
    amount: float
    unit: str  # g, kg, mg, ml, unit
    text: str


class Enrichment(Contract):
    entities: list[Entity] = []
    products: list[Product] = []
    categories: list[str] = []  # taxonomy ids with their ancestors
    quantities: list[Quantity] = []
    ships_from_codes: list[str] = []
    ships_to_codes: list[str] = []
    identifiers: dict[str, list[str]] = {}  # kind -> normalised values
    price_usd: float | None = None
    price_eur: float | None = None
    search_text: str = ""  # the listing's text, case- and accent-folded, in one field
    enriched_at: UtcDatetime = Field(default_factory=lambda: datetime.now(UTC))
    pipeline_version: str = ""


class EnrichedListing(Contract):
    listing: Listing
    enrichment: Enrichment


class EnrichedVendor(Contract):
    vendor: VendorProfile
    enrichment: Enrichment
