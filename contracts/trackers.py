"""Trackers (what an analyst watches) and the alerts they raise when an ingest writes a listing
that answers one. A tracker's search is kept as the query's fields (index.Query validates them
when the tracker is made and each time it is evaluated): contracts import nothing of the project."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from contracts.base import CleanStr, Contract, UtcDatetime

TrackerKind = Literal["search", "regex", "identifier", "vendor", "product"]
ChangeKind = Literal["new_listing", "price_change", "back_in_stock", "new_market", "new_identifier"]
CHANGE_KINDS: tuple[ChangeKind, ...] = ("new_listing", "price_change", "back_in_stock", "new_market", "new_identifier")
# What only a tracker of a vendor can notice: its markets and identifiers are the tracker's own.
VENDOR_CHANGES: frozenset[str] = frozenset({"new_market", "new_identifier"})


class Tracker(Contract):
    id: str
    name: CleanStr = Field(min_length=1, max_length=200)
    kind: TrackerKind
    owner: str  # the API key's name that made it, or "cli" for the operator's own
    # search, identifier, vendor, product: the fields of an index.Query (text, filters, price
    # and date bounds); regex: what else the listing must answer (may be empty)
    query: dict[str, Any] = {}
    pattern: str | None = None  # regex: RE2 syntax, over title and description
    vendors: list[CleanStr] = []  # vendor: the name and its aliases, as the markets spell them
    on: list[ChangeKind] = list(CHANGE_KINDS)  # those that apply to its kind
    price_change_percent: float = Field(10.0, gt=0, le=1000)
    deliver: list[str] = ["web"]  # "web", "webhook:<name>", "email:<address>" (config [alerts])
    digest: bool = False  # e-mail: one message a day of the day's alerts instead of one each
    created: UtcDatetime
    # What a vendor tracker knew when last evaluated: a market or identifier outside these is news.
    known_markets: list[str] = []
    known_identifiers: list[str] = []

    @field_validator("on")
    @classmethod
    def _some_changes(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("a tracker must alert on at least one kind of change")
        return list(dict.fromkeys(value))

    @model_validator(mode="after")
    def _kind_has_its_fields(self) -> "Tracker":
        if self.kind == "regex" and not self.pattern:
            raise ValueError("a regex tracker needs a pattern")
        if self.kind == "vendor" and not self.vendors:
            raise ValueError("a vendor tracker needs the vendor's name")
        if self.kind != "vendor" and not set(self.on) - VENDOR_CHANGES:
            raise ValueError("new_market and new_identifier are what only a vendor tracker notices")
        if self.kind in ("search", "identifier", "product") and not self.query:
            raise ValueError(f"a {self.kind} tracker needs a query")
        return self


class Alert(Contract):
    """One per (tracker, listing, kind of change): a later change of the same kind (another
    price change) updates it and makes it unread again rather than adding another."""

    id: int
    tracker_id: str
    listing_id: str  # the listing's document id, or the vendor's for a change seen on its profile
    subject: Literal["listing", "vendor"] = "listing"
    kind: ChangeKind
    change: str  # what identifies this change (a price moment, a market, identifiers): news when it differs
    detail: str  # one line for a person: "price 120.00 USD -> 90.00 USD (-25%)"
    market: str
    title: str
    url: str
    at: UtcDatetime  # when the ingest that raised (or last updated) it ran
    read: bool = False
    first_at: datetime | None = None  # when it was first raised
