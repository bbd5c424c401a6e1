"""Trackers tried on what an ingest wrote: each listing document a batch added or changed,
against every tracker, in Python (index.ListingMatcher decides as the stores' own searches do),
without a search per tracker and batch.

A change is looked at only when something a tracker can alert on moved: the listing is new,
its status or price changed, or its content did (a new identifier may have appeared). A
re-crawl that only moves "last seen" costs a comparison per listing."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import re2

from contracts.documents import ListingChange, ListingDocument, VendorChange
from contracts.identifiers import identifier_key
from contracts.text import fold
from contracts.trackers import VENDOR_CHANGES, Alert, Tracker
from index import ListingMatcher, ListingStore, ListingTerms, Query
from interdict.trackers.book import Raised, TrackerBook

log = logging.getLogger(__name__)
# How long a planned query (identifier holders looked up in the store) is reused.
PLAN_SECONDS = 60.0
# RE2's memory for one compiled pattern: a bigger automaton is refused at creation.
REGEX_MAX_MEM = 8 << 20


class TrackerDefinitionError(ValueError):
    """A tracker that cannot be evaluated (a query or pattern that does not compile)."""


def tracker_query(tracker: Tracker) -> Query:
    """The search a tracker runs: its query's fields, and a vendor tracker's names as a filter."""
    fields = dict(tracker.query)
    if tracker.kind == "vendor":  # validated with the rest: filter values are normalised on the way in
        filters = dict(fields.get("filters", {}))
        filters["vendor"] = list(dict.fromkeys([*filters.get("vendor", []), *tracker.vendors]))
        fields["filters"] = filters
    try:
        return Query.model_validate(fields)
    except ValueError as exc:
        raise TrackerDefinitionError(f"tracker {tracker.id}: its query is not valid ({exc})") from None


def compile_pattern(pattern: str):
    options = re2.Options()
    options.max_mem = REGEX_MAX_MEM
    options.case_sensitive = False
    try:
        return re2.compile(pattern, options)
    except re2.error as exc:
        raise TrackerDefinitionError(f"pattern {pattern!r} is not an RE2 expression ({exc})") from None


@dataclass
class _Compiled:
    tracker: Tracker
    query: Query
    pattern: Any = None
    matcher: ListingMatcher | None = None
    planned_at: float = -1e18
    known_markets: set[str] = field(default_factory=set)
    known_identifiers: set[str] = field(default_factory=set)


def _price(doc: ListingDocument) -> tuple[float, str, float | None] | None:
    price = doc.data.listing.price
    return (price.amount, price.currency, doc.data.enrichment.price_usd) if price else None


def _moved(change: ListingChange) -> bool:
    before, after = change
    return (before is None or before.status != after.status or _price(before) != _price(after)
            or before.content_hash != after.content_hash)


def _money(amount: float, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def price_change(before: ListingDocument, after: ListingDocument) -> tuple[float, str] | None:
    """(percent, "old -> new") when both sightings show a price: compared as listed when the
    currency is the same, in USD otherwise; None when it did not move."""
    old, new = _price(before), _price(after)
    if old is None or new is None:
        return None
    if old[1] == new[1]:
        a, b = old[0], new[0]
    elif old[2] and new[2] is not None:
        a, b = old[2], new[2]
    else:
        return None
    if a <= 0 or a == b:
        return None
    # to a hundredth of a percent: a move of exactly the threshold (29.10 -> 26.19, 10%) is one
    percent = round((b - a) / a * 100, 2)
    return percent, f"{_money(old[0], old[1])} -> {_money(new[0], new[1])}"


class TrackerEvaluator:
    """Evaluates every tracker of ``book`` on the changes of each batch the store wrote, records
    what they raise and queues the deliveries of the alerts that are news."""

    def __init__(self, book: TrackerBook, store: ListingStore, on_news: Callable[[], object] | None = None,
                 clock: Callable[[], float] = time.monotonic):
        """``on_news``: called once deliveries of new alerts wait in the book (wakes a sender)."""
        self.book, self.store, self.on_news, self.clock = book, store, on_news, clock
        self._version = -1
        self._compiled: list[_Compiled] = []
        self.alerts = 0  # news recorded by this evaluator

    def __call__(self, changes: list) -> list[Alert]:
        news = self.book.record(self.evaluate(changes))
        self.alerts += len(news)
        if news and self.book.enqueue(news, {c.tracker.id: c.tracker for c in self._compiled}) and self.on_news:
            self.on_news()
        return news

    def _trackers(self) -> list[_Compiled]:
        version = self.book.version()
        if version != self._version:
            compiled = []
            for tracker in self.book.trackers():
                try:
                    compiled.append(_Compiled(
                        tracker, tracker_query(tracker),
                        compile_pattern(tracker.pattern) if tracker.pattern else None,
                        known_markets={fold(m) for m in tracker.known_markets},
                        known_identifiers=set(tracker.known_identifiers)))
                except TrackerDefinitionError as exc:  # one broken tracker never stops an ingest
                    log.error("%s; it is skipped", exc)
            self._compiled, self._version = compiled, version
        return self._compiled

    def _matcher(self, compiled: _Compiled) -> ListingMatcher:
        now = self.clock()
        if compiled.matcher is None or now - compiled.planned_at > PLAN_SECONDS:
            compiled.matcher = ListingMatcher(compiled.query, *self.store.plan(compiled.query))
            compiled.planned_at = now
        return compiled.matcher

    def evaluate(self, changes: list) -> list[Raised]:
        """What the trackers raise on a batch's changes: listings (ListingChange) and vendor
        profiles (VendorChange: what vendor trackers learn from a profile)."""
        trackers = self._trackers()
        profiles = [c for c in changes if isinstance(c, VendorChange)]
        moved = [c for c in changes if isinstance(c, ListingChange) and _moved(c)]
        raised = self._profiles(trackers, profiles) if profiles and trackers else []
        if not trackers or not moved:
            return raised
        terms = [ListingTerms.of(c.after) for c in moved]
        for compiled in trackers:
            matcher = self._matcher(compiled)
            learnt = False
            for change, listing in zip(moved, terms):
                if not matcher.matches(listing):
                    continue
                after = change.after
                if compiled.pattern is not None and not compiled.pattern.search(
                        f"{after.data.listing.title}\n{after.data.listing.description}"):
                    continue
                found, learnt_now = self._kinds(compiled, change)
                learnt |= learnt_now
                raised += [Raised(compiled.tracker.id, after.id, kind, key, detail, after.market,
                                  after.data.listing.title, after.data.listing.url)
                           for kind, key, detail in found if kind in compiled.tracker.on]
            if learnt:
                self._remember(compiled)
        return raised

    def _remember(self, compiled: _Compiled) -> None:
        compiled.tracker = compiled.tracker.model_copy(update={
            "known_markets": sorted(compiled.known_markets), "known_identifiers": sorted(compiled.known_identifiers)})
        self.book.save(compiled.tracker)

    def _profiles(self, trackers: list[_Compiled], changes: list[VendorChange]) -> list[Raised]:
        """A vendor tracker's vendor with a profile on a new market, or showing a new identifier there."""
        raised = []
        for compiled in trackers:
            if compiled.tracker.kind != "vendor":
                continue
            names = set(compiled.query.filters.get("vendor", []))
            markets = set(compiled.query.filters.get("market", []))
            learnt = False
            for before, after in changes:
                if fold(after.name) not in names or (markets and fold(after.market) not in markets) or (
                        before is not None and before.content_hash == after.content_hash):
                    continue
                found, learnt_now = self._vendor_news(compiled, after.market, after.name,
                                                      after.data.enrichment.identifier_values())
                learnt |= learnt_now
                raised += [Raised(compiled.tracker.id, after.id, kind, key, f"{detail} (its profile)", after.market,
                                  f"vendor {after.name}", after.data.vendor.url, subject="vendor")
                           for kind, key, detail in found if kind in compiled.tracker.on]
            if learnt:
                self._remember(compiled)
        return raised

    def _kinds(self, compiled: _Compiled, change: ListingChange) -> tuple[list[tuple[str, str, str]], bool]:
        """(kind, what identifies the change, a line for a person) of each change a tracker
        alerts on, and whether a vendor tracker learnt a market or an identifier."""
        before, after = change
        listing = after.data.listing
        found = []
        if before is None:
            price = f" at {_money(listing.price.amount, listing.price.currency)}" if listing.price else ""
            found.append(("new_listing", "new", f"new listing on {after.market}{price}: {listing.title}"))
        else:
            if before.status == "inactive" and after.status == "active":
                gone = before.absences[-1].noticed if before.absences else before.last_seen
                found.append(("back_in_stock", after.last_seen.isoformat(),
                              f"back on {after.market} (withdrawn since {gone:%Y-%m-%d})"))
            moved = price_change(before, after)
            if moved is not None and abs(moved[0]) >= compiled.tracker.price_change_percent:
                percent, text = moved
                found.append(("price_change", text, f"price {text} ({percent:+.1f}%)"))
        learnt = False
        if compiled.tracker.kind == "vendor":
            news, learnt = self._vendor_news(compiled, after.market, listing.vendor.name,
                                             after.data.enrichment.identifier_values())
            found += news
        return [f for f in found if f[0] not in VENDOR_CHANGES or compiled.tracker.kind == "vendor"], learnt

    @staticmethod
    def _vendor_news(compiled: _Compiled, market: str, name: str,
                     identifiers: list[str]) -> tuple[list[tuple[str, str, str]], bool]:
        """A watched vendor seen on ``market`` showing ``identifiers``: what is news to the
        tracker (a market, identifiers), which it learns."""
        found = []
        learnt = False
        key = fold(market)
        if key not in compiled.known_markets:
            where = ", ".join(sorted(compiled.known_markets)) or "no market before"
            found.append(("new_market", key, f"{name} appears on {market} (known on: {where})"))
            compiled.known_markets.add(key)
            learnt = True
        values = {identifier_key(v): v for v in identifiers}
        fresh = {k: v for k, v in values.items() if k not in compiled.known_identifiers}
        if fresh:
            found.append(("new_identifier", " ".join(sorted(fresh)),
                          f"{name}: new identifier(s) {', '.join(sorted(fresh.values()))}"))
            compiled.known_identifiers.update(fresh)
            learnt = True
        return found, learnt
