"""What the Store keeps: listing and vendor documents with stable ids, their history
(first and last seen, prices, absences) and what an upsert reports. Both stores keep these;
the matcher, the API and the web app read them."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal, NamedTuple

from pydantic import BaseModel, ConfigDict

from contracts.base import UtcDatetime
from contracts.listings import EnrichedListing, EnrichedVendor
from contracts.text import fold


class Absence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    last_seen: UtcDatetime  # the last sighting before it went
    noticed: UtcDatetime  # end of the full crawl that made it inactive
    returned: UtcDatetime | None = None  # when a crawl saw it again


class Lifecycle(BaseModel):
    """Fields every listing and vendor document carries (defaults fit documents stored before)."""
    status: Literal["active", "inactive"] = "active"
    missed_crawls: int = 0  # consecutive finished full crawls of its market that did not see it
    absences: list[Absence] = []

    @property
    def inactive_since(self) -> datetime | None:
        return self.absences[-1].noticed if self.status == "inactive" and self.absences else None


def listing_id(market: str, listing_key: str) -> str:
    """Stable document id: the same listing on the same market always maps here."""
    return hashlib.sha256(f"listing\x1f{market}\x1f{listing_key}".encode()).hexdigest()[:32]


def vendor_id(market: str, name: str) -> str:
    return hashlib.sha256(f"vendor\x1f{market}\x1f{fold(name)}".encode()).hexdigest()[:32]


class PricePoint(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    at: UtcDatetime
    amount: float
    currency: str
    price_usd: float | None = None


class ListingDocument(Lifecycle):
    model_config = ConfigDict(extra="forbid")
    id: str
    market: str
    listing_key: str
    first_seen: UtcDatetime
    last_seen: UtcDatetime
    seen_count: int = 1
    content_hash: str
    price_history: list[PricePoint]
    data: EnrichedListing


class VendorDocument(Lifecycle):
    model_config = ConfigDict(extra="forbid")
    id: str
    market: str
    name: str
    first_seen: UtcDatetime
    last_seen: UtcDatetime
    content_hash: str
    data: EnrichedVendor


class UpsertReport(BaseModel):
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0  # refused by the store for good (e.g. a mapping error), reported and logged

    def __add__(self, other: "UpsertReport") -> "UpsertReport":
        return UpsertReport(new=self.new + other.new, updated=self.updated + other.updated,
                            unchanged=self.unchanged + other.unchanged, rejected=self.rejected + other.rejected)


class ListingChange(NamedTuple):
    """A listing document as an upsert found it (None: new) and as it wrote it: what trackers
    look at (``ListingStore.upsert_listings(..., changes=)``)."""

    before: ListingDocument | None
    after: ListingDocument


class VendorChange(NamedTuple):
    """A vendor document as an upsert found it (None: new) and as it wrote it."""

    before: VendorDocument | None
    after: VendorDocument
