"""The shipment contract: what customs holds for a postal or express item (CN23 / ITMATT /
ICS2-like advance data). Typed once; the importer, the matcher and the generator all use it.
Documented with a sample in docs/shipments.md."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from typing import Annotated, Any, Literal

import phonenumbers
import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, ValidationInfo, field_validator, model_validator

from contracts.inputs import nulls_absent
from enrichment.contracts import CleanStr

ItemCategory = Literal["gift", "documents", "commercial_sample", "sale_of_goods", "returned_goods", "other"]
Service = Literal["postal", "express"]
_S10_RE = re.compile(r"^(?P<service>[A-Z]{2})(?P<serial>\d{8})(?P<check>\d)(?P<country>[A-Z]{2})$")
_S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HS_RE = re.compile(r"^\d{4}(?:\d{2}){0,3}$")
_EXPRESS_ID_RE = re.compile(r"^[A-Z0-9]{8,20}$")


def s10_check_digit(serial: str) -> int:
    """UPU S10 check digit of the 8-digit serial number."""
    remainder = 11 - sum(int(d) * w for d, w in zip(serial, _S10_WEIGHTS)) % 11
    return 0 if remainder == 10 else 5 if remainder == 11 else remainder


def s10_problem(item_id: str) -> str | None:
    match = _S10_RE.match(item_id)
    if not match:
        return "not an S10 item id (2 letters, 8 digits, check digit, 2-letter country: RR123456785DE)"
    if s10_check_digit(match["serial"]) != int(match["check"]):
        return f"S10 check digit is {match['check']}, should be {s10_check_digit(match['serial'])}"
    if not known_country(match["country"]) and match["country"] != "UK":
        return f"S10 country {match['country']!r} is not an ISO 3166 code"
    return None


# Validators memoised: a stream repeats the same few countries and currencies, and parsing
# a phone number costs tens of microseconds.
@lru_cache(maxsize=1024)
def known_country(code: str) -> bool:
    return pycountry.countries.get(alpha_2=code) is not None


def _country(value: str) -> str:
    code = value.strip().upper()
    if len(code) != 2 or not known_country(code):
        raise ValueError(f"{value!r} is not an ISO 3166-1 alpha-2 country code")
    return code


@lru_cache(maxsize=1024)
def _currency(value: str) -> str:
    code = value.strip().upper()
    if pycountry.currencies.get(alpha_3=code) is None:
        raise ValueError(f"{value!r} is not an ISO 4217 currency code")
    return code


def _hs_code(value: str) -> str:
    digits = re.sub(r"[.\s]", "", value)
    if not _HS_RE.match(digits):
        raise ValueError(f"{value!r} is not an HS code (4, 6, 8 or 10 digits)")
    return digits


def _email(value: str) -> str:
    if not _EMAIL_RE.match(value.strip()):
        raise ValueError(f"{value!r} is not an email address")
    return value.strip().lower()


@lru_cache(maxsize=65536)
def _phone(value: str) -> str:
    try:
        number = phonenumbers.parse(value, None if value.strip().startswith("+") else "ZZ")
    except phonenumbers.NumberParseException:
        raise ValueError(f"{value!r} is not a phone number in international form (+country code)") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"{value!r} is not a possible phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


Country = Annotated[str, AfterValidator(_country)]
Currency = Annotated[str, AfterValidator(_currency)]
HsCode = Annotated[str, AfterValidator(_hs_code)]
Email = Annotated[str, AfterValidator(_email)]
Phone = Annotated[str, AfterValidator(_phone)]


class Contract(BaseModel):
    """Shipment data as it arrives: null means absent; numbers are finite."""
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _nulls_absent(cls, data: Any) -> Any:
        return nulls_absent(data)


class Party(Contract):
    name: CleanStr = ""
    address: CleanStr = ""
    country: Country | None = None
    phone: Phone | None = None
    email: Email | None = None


class Article(Contract):
    """One line of the declaration (CN23 'detailed description of contents')."""

    description: CleanStr = Field(min_length=1)
    hs_code: HsCode | None = None
    quantity: int = Field(1, gt=0)
    net_weight_kg: float = Field(gt=0)
    value: float = Field(ge=0)
    currency: Currency


class Shipment(Contract):
    service: Service = "postal"  # before item_id: its check depends on it
    item_id: str = Field(min_length=1)
    posting_date: date
    operator: CleanStr = Field(min_length=1)  # posting operator or express carrier
    origin_country: Country
    destination_country: Country
    sender: Party
    recipient: Party
    category: ItemCategory
    articles: list[Article] = Field(min_length=1)
    gross_weight_kg: float = Field(gt=0)

    @field_validator("item_id")
    @classmethod
    def _item_id(cls, value: str, info: ValidationInfo) -> str:
        value = value.strip().replace(" ", "").upper()
        if info.data.get("service", "postal") == "postal":
            problem = s10_problem(value)
            if problem:
                raise ValueError(problem)
        elif not _EXPRESS_ID_RE.match(value):
            raise ValueError("an express waybill number is 8 to 20 letters and digits")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Shipment":
        net = sum(a.net_weight_kg for a in self.articles)
        if self.gross_weight_kg + 1e-9 < net:
            raise ValueError(f"gross_weight_kg: {self.gross_weight_kg:g} kg is less than the articles' net "
                             f"weight {net:g} kg")
        return self

    @property
    def declared_value(self) -> dict[str, float]:
        """Total declared value per currency."""
        out: dict[str, float] = {}
        for article in self.articles:
            out[article.currency] = out.get(article.currency, 0.0) + article.value
        return out


# Results are dataclasses, not models: a matcher builds tens of them per shipment at
# thousands of shipments per second, and a pydantic model costs ~10 µs to construct. They
# are typed here once; RESULTS (a pydantic TypeAdapter) validates and serialises them.
# Not frozen (a frozen dataclass sets each field through object.__setattr__: twice the
# cost); treat them as read-only.
@dataclass(slots=True)
class Reason:
    """One piece of evidence for (or against) a match, or one risk flag of a declaration."""

    code: str  # product, similarity, hs_code, origin, destination, quantity, value, identifier, active, ...
    contribution: float  # log-odds added to the score (risk flags: to the risk)
    detail: str  # what was compared, in words an analyst reads


@dataclass(slots=True)
class Match:
    """A listing (or, when only an identifier ties them, a vendor) a shipment may correspond to."""

    listing_id: str | None  # None: the vendor matched by identifier, none of their listings fits
    vendor_id: str
    market: str
    vendor: str
    title: str | None
    score: Annotated[float, Field(ge=0, le=1)]  # probability-like: logistic of the summed contributions
    reasons: list[Reason]


@dataclass(slots=True)
class ShipmentMatches:
    """What the matcher says about one shipment: its best matches and the declaration's own risk flags."""

    item_id: str
    matches: list[Match]  # best first
    risk_flags: list[Reason]
    risk: Annotated[float, Field(ge=0, le=1)]  # from the flags and the best match

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    def to_json(self) -> str:
        return RESULTS.dump_json(self).decode()


RESULTS = TypeAdapter(ShipmentMatches)


TermKind = Literal["product", "slang", "vendor", "identifier", "route", "concealment", "declaration"]


class WatchlistTerm(Contract):
    """One term a risk engine can target, derived from the index (or curated by an analyst)."""

    id: str  # stable across exports: digest of kind, subkind and the folded term
    term: str
    kind: TermKind
    subkind: str | None = None  # identifier kind (email, pgp, btc...), the product a slang word names, a route's category
    source: Literal["index", "curated"] = "index"
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    listing_count: int = Field(0, ge=0)
    markets: list[str] = []
    countries: list[str] = []  # ISO codes of the origins and destinations involved
    hs_codes: list[str] = []
    categories: list[str] = []
    vendors: list[str] = []  # vendor names (for a vendor: the aliases linked by shared identifiers)
    examples: list[str] = []  # listing ids
    note: str = ""
    # How strongly it points at illicit goods, 0–1 (matching.term_weights); STIX confidence = 100 × weight.
    weight: float = Field(1.0, ge=0, le=1, allow_inf_nan=False)
    excluded: str | None = None  # why the default feed leaves it out; None: in the feed
    qualifiers: list[str] = []  # an ordinary-word vendor name: match it only with one of these (market:X, kind:value)
