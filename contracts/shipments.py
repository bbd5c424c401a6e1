"""The shipment contract: what customs holds for a postal or express item (CN23 / ITMATT /
ICS2-like advance data). Typed once; the importer, the matcher and the generator all use it.
Documented with a sample in docs/shipments.md."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from typing import Annotated, Literal

import phonenumbers
import pycountry
from pydantic import AfterValidator, Field, ValidationInfo, field_validator, model_validator

from contracts.base import CleanStr, InputContract

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


class Party(InputContract):
    name: CleanStr = ""
    address: CleanStr = ""
    country: Country | None = None
    phone: Phone | None = None
    email: Email | None = None


class Article(InputContract):
    """One line of the declaration (CN23 'detailed description of contents')."""

    description: CleanStr = Field(min_length=1)
    hs_code: HsCode | None = None
    quantity: int = Field(1, gt=0)
    net_weight_kg: float = Field(gt=0)
    value: float = Field(ge=0)
    currency: Currency


class Shipment(InputContract):
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
