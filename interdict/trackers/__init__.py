"""Trackers and alerts (docs/trackers.md): what an analyst watches, tried on every ingest, and
the alerts it raises, kept in the service's SQLite file and delivered."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from contracts.documents import vendor_id
from contracts.identifiers import identifier_key
from contracts.text import fold
from contracts.trackers import Tracker
from index import ListingStore, Query
from interdict.trackers.book import Raised, TrackerBook, TrackerError, new_tracker_id
from interdict.trackers.deliver import Deliverer
from interdict.trackers.evaluate import TrackerDefinitionError, TrackerEvaluator, compile_pattern, tracker_query

__all__ = ["Deliverer", "Raised", "TrackerBook", "TrackerDefinitionError", "TrackerError", "TrackerEvaluator",
           "alerting", "answering_now", "check_targets", "delivering", "make_tracker", "tracker_query"]
# Listings of a vendor read to learn its markets and identifiers when its tracker is made.
KNOWN_LISTINGS = 10_000
# Listings a pattern is tried on when a tracker is tested on the index (its query's newest first).
TEST_READS = 10_000


def make_tracker(store: ListingStore, owner: str, **fields: Any) -> Tracker:
    """A new tracker, checked (its query and pattern compile); a vendor tracker starts knowing
    the markets and identifiers the store shows for the vendor now, so that only what comes
    later is news."""
    tracker = Tracker(id=new_tracker_id(), owner=owner, created=datetime.now(UTC), **fields)
    query = tracker_query(tracker)
    if tracker.pattern:
        compile_pattern(tracker.pattern)
    if tracker.kind == "vendor":
        markets, identifiers = _known(store, query)
        tracker = tracker.model_copy(update={"known_markets": markets, "known_identifiers": identifiers})
    return tracker


def check_targets(targets: list[str], settings) -> None:
    """Where a tracker may deliver: web, a configured webhook or an e-mail address."""
    for target in targets:
        kind, _, name = target.partition(":")
        if not (target == "web" or (kind == "webhook" and name in settings.webhooks)
                or (kind == "email" and re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", name))):
            known = ", ".join(f"webhook:{n}" for n in settings.webhooks) or "none configured"
            raise TrackerDefinitionError(f"deliver to {target!r}: web, webhook:NAME ([alerts.webhooks]: {known}) "
                                         "or email:ADDRESS")


def answering_now(store: ListingStore, tracker: Tracker, limit: int, reads: int = TEST_READS) -> tuple[int, list, int]:
    """(how many, the first ``limit``, how many were read) of the listings of the index that
    answer the tracker now, newest first: what it would have alerted on had they just been
    written. A pattern is tried on the first ``reads`` listings its query finds."""
    query = tracker_query(tracker)
    pattern = compile_pattern(tracker.pattern) if tracker.pattern else None
    found: list = []
    total = read = 0
    while read < reads:
        result = store.search(query.model_copy(update={"limit": 1000, "offset": read, "sort": "-last_seen"}))
        for hit in result.hits:
            item = hit.document.data.listing
            if pattern is None or pattern.search(f"{item.title}\n{item.description}"):
                total += 1
                if len(found) < limit:
                    found.append(hit.document)
        read += len(result.hits)
        if pattern is None:
            return result.total, found, read
        if len(result.hits) < 1000:
            break
    return total, found, read


def _known(store: ListingStore, query: Query) -> tuple[list[str], list[str]]:
    markets: set[str] = set()
    identifiers: set[str] = set()
    holders: set[tuple[str, str]] = set()
    for offset in range(0, KNOWN_LISTINGS, 1000):
        hits = store.search(query.model_copy(update={"limit": 1000, "offset": offset, "sort": "first_seen"})).hits
        for hit in hits:
            doc = hit.document
            markets.add(fold(doc.market))
            holders.add((doc.market, doc.data.listing.vendor.name))
            identifiers.update(identifier_key(v) for v in doc.data.enrichment.identifier_values())
        if len(hits) < 1000:
            break
    for market, name in holders:
        vendor = store.get_vendor(vendor_id(market, name))
        if vendor is not None:
            identifiers.update(identifier_key(v) for v in vendor.data.enrichment.identifier_values())
    return sorted(markets), sorted(identifiers)


@contextmanager
def alerting(config, store: ListingStore) -> Iterator[TrackerEvaluator | None]:
    """What an ingest (a crawl, `index`, `import`) tells of the listings it wrote: the trackers
    of the service's file (config [api] path), reloaded when one is added or removed; None when
    there is no such file (then no tracker can exist)."""
    path = Path(config.api.path).expanduser()
    if not path.exists():
        yield None
        return
    with TrackerBook(path) as book, delivering(config, book) as deliverer:
        yield TrackerEvaluator(book, store, on_news=deliverer.wake)


@contextmanager
def delivering(config, book: TrackerBook) -> Iterator[Deliverer]:
    """A deliverer of the book's alerts, sending in the background while the block runs, each
    attempt in the audit log (config [api])."""
    from interdict.web.access import access_store

    access = access_store(config)
    try:
        deliverer = Deliverer(book, config.alerts, lambda action, target, detail, status:
                              access.record(None, action, target, detail, status))
        with deliverer.running():
            yield deliverer
    finally:
        access.close()
