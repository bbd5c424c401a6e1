"""The one ingest path: enrich → spool → upsert, written once.

The crawl pipeline, `interdict index` and `interdict import` all hand records to an
``Ingest``: plain crawl-contract records (``Listing``, ``VendorProfile``) are enriched in
batches, already-enriched ones pass through, and each batch is upserted through the spool
(kept on disk while the store is unavailable, replayed in order when it is back).
"""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable

from contracts.documents import ListingChange, VendorChange
from contracts.listings import EnrichedListing, EnrichedVendor, Listing, VendorProfile
from index import ListingStore, SpooledWriter, StoreUnavailable, UpsertReport, listing_id, repeated_sightings, spool_for

Record = Listing | VendorProfile | EnrichedListing | EnrichedVendor


def _answered(value: list[bool]) -> Future[list[bool]]:
    done: Future[list[bool]] = Future()
    done.set_result(value)
    return done


def _listing_id(record: Record) -> str | None:
    listing = record.listing if isinstance(record, EnrichedListing) else record
    return listing_id(listing.market, listing.listing_key) if isinstance(listing, Listing) else None


@dataclass
class IngestReport:
    listings: UpsertReport = field(default_factory=UpsertReport)
    vendors: UpsertReport = field(default_factory=UpsertReport)
    spooled: int = 0  # records kept in the spool (the store was unavailable)
    spooled_batches: int = 0
    written: list[EnrichedListing] = field(default_factory=list)  # of one flush: the enriched listings

    def __iadd__(self, other: "IngestReport") -> "IngestReport":
        self.listings += other.listings
        self.vendors += other.vendors
        self.spooled += other.spooled
        self.spooled_batches += other.spooled_batches
        return self

    def line(self) -> str:
        return (f"listings: {self.listings.new} new, {self.listings.updated} updated, "
                f"{self.listings.unchanged} unchanged; vendors: {self.vendors.new} new, {self.vendors.updated} updated"
                + (f"; store unavailable: {self.spooled} record(s) spooled (`interdict index --replay` sends them)"
                   if self.spooled else ""))


class Ingest:
    """Collects records and writes them in batches of ``batch_size``."""

    def __init__(self, store: ListingStore, spool_dir: str, target: str, enricher_factory: Callable[[], object],
                 batch_size: int = 200, on_changes: Callable[[list[ListingChange | VendorChange]], object] | None = None):
        """``on_changes``: told of the listing and vendor documents each written batch added or changed."""
        self.writer = SpooledWriter(store, spool_for(spool_dir, target), on_changes)
        self.enricher_factory = enricher_factory
        self.batch_size = batch_size
        self.report = IngestReport()
        self._enricher = None
        self.pending: list[Record] = []
        self._digests: dict[int, str] = {}  # of pending enriched listings read from records, by id()
        self._asking: ThreadPoolExecutor | None = None

    @property
    def enricher(self):
        if self._enricher is None:  # spaCy loads only when a record needs it
            self._enricher = self.enricher_factory()
        return self._enricher

    def add(self, record: Record, digest: str | None = None) -> IngestReport | None:
        """Queue one record; the report of the batch it completed, if it did. ``digest``: of the
        JSON record an enriched listing was read from (``index.documents.record_digest``)."""
        self.pending.append(record)
        if digest:
            self._digests[id(record)] = digest
        return self.flush() if len(self.pending) >= self.batch_size else None

    def look_up(self, sightings: list[tuple[str, str]]) -> Future[list[bool]]:
        """Per enriched listing still to be read — (document id, ``record_digest``), in order —
        whether the store holds that very sighting already (then it need not be validated or
        added; ``held`` counts it unchanged). What is pending is written first, so the answer is
        the store's state after every earlier record; nothing is skipped while older batches wait
        in the spool or when the store cannot answer (those records take the usual way). A store
        across the network is asked on a thread of its own so that the next records are read
        meanwhile: the caller uses the store again only once the answer is in."""
        ids = {doc_id for doc_id, _ in sightings}
        if any(_listing_id(r) in ids for r in self.pending):
            self.flush()
        if not sightings or self.writer.spool.batches():
            return _answered([False] * len(sightings))

        def ask() -> list[bool]:
            try:
                stored = self.writer.store.listing_digests(ids)
            except StoreUnavailable:
                return [False] * len(sightings)
            return repeated_sightings([doc_id for doc_id, _ in sightings], [d for _, d in sightings], stored)

        if not self.writer.store.calls_wait_on_network:
            return _answered(ask())
        if self._asking is None:
            self._asking = ThreadPoolExecutor(1, thread_name_prefix="interdict-lookup")
        return self._asking.submit(ask)

    def held(self, answer: Future[list[bool]]) -> list[bool]:
        """The answer of ``look_up`` once it is in, its repeated sightings counted unchanged."""
        repeated = answer.result()
        self.report.listings.unchanged += sum(repeated)
        return repeated

    def add_all(self, records: Iterable[Record]) -> None:
        for record in records:
            self.add(record)

    def flush(self) -> IngestReport:
        """Write what is pending: what this batch did (also added to ``report``)."""
        batch, self.pending = self.pending, []
        read_digests, self._digests = self._digests, {}
        done = IngestReport()
        if not batch:
            return done
        plain_listings = [r for r in batch if isinstance(r, Listing)]
        plain_vendors = [r for r in batch if isinstance(r, VendorProfile)]
        listings = [r for r in batch if isinstance(r, EnrichedListing)]
        listings += list(self.enricher.enrich_listings(plain_listings)) if plain_listings else []
        vendors = [r for r in batch if isinstance(r, EnrichedVendor)]
        vendors += list(self.enricher.enrich_vendors(plain_vendors)) if plain_vendors else []
        digests = {"listings": [read_digests.get(id(r)) for r in listings], "vendors": None}
        for kind, records in (("listings", listings), ("vendors", vendors)):
            result = self.writer.write(kind, records, digests[kind])
            if result is None:
                done.spooled += len(records)
                done.spooled_batches += 1
            elif kind == "listings":
                done.listings += result
            else:
                done.vendors += result
        self.report += done
        done.written = listings
        return done

    def drain(self) -> bool:
        return self.writer.drain()

    def drain_until(self, seconds: float) -> bool:
        return self.writer.drain_until(seconds)
