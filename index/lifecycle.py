"""Listing and vendor lifecycle: what is no longer offered becomes inactive, never deleted.

A market's finished *full* crawl is the only evidence that something is gone: a listing (or
vendor) it did not see has missed that crawl; after ``after`` consecutive misses it becomes
inactive, with the dates of its absence recorded. Seen again, it is active again and the
absence gets its end date. Both stores call these functions, so the rules cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel

from contracts.documents import Absence, Lifecycle


class LifecycleReport(BaseModel):
    listings_missed: int = 0
    listings_inactivated: int = 0
    vendors_missed: int = 0
    vendors_disappeared: int = 0

    def count(self, kind: str, gone: bool) -> None:
        """One document of ``kind`` (listings, vendors) missed the crawl; ``gone``: it went inactive."""
        if kind == "listings":
            self.listings_missed += 1
            self.listings_inactivated += gone
        else:
            self.vendors_missed += 1
            self.vendors_disappeared += gone


Doc = TypeVar("Doc", bound=Lifecycle)


def missed(doc: Doc, crawl_ended: datetime, after: int) -> tuple[Doc, bool]:
    """The document after a full crawl that did not see it; True when this made it inactive."""
    misses = doc.missed_crawls + 1
    if doc.status == "active" and misses >= after:
        absence = Absence(last_seen=doc.last_seen, noticed=crawl_ended)  # type: ignore[attr-defined]
        return doc.model_copy(update={"missed_crawls": misses, "status": "inactive",
                                      "absences": [*doc.absences, absence]}), True
    return doc.model_copy(update={"missed_crawls": misses}), False


def seen_again(doc: Lifecycle, seen: datetime) -> dict:
    """Updates for a document seen at ``seen`` (a sighting after its last one): active again."""
    if seen <= doc.last_seen:  # type: ignore[attr-defined]
        return {}  # an older or the same sighting says nothing about now
    update: dict = {"missed_crawls": 0, "status": "active"}
    if doc.status == "inactive" and doc.absences:
        update["absences"] = [*doc.absences[:-1], doc.absences[-1].model_copy(update={"returned": seen})]
    return update
