"""The one ingest path: enrich → spool → upsert, written once.

The crawl pipeline, `interdict index` and `interdict import` all hand records to an
``Ingest``: plain crawl-contract records (``Listing``, ``VendorProfile``) are enriched in
batches, already-enriched ones pass through, and each batch is upserted through the spool
(kept on disk while the store is unavailable, replayed in order when it is back).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

from contracts.listings import EnrichedListing, EnrichedVendor, Listing, VendorProfile
from index import ListingStore, SpooledWriter, UpsertReport, spool_for

Record = Listing | VendorProfile | EnrichedListing | EnrichedVendor


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
                 batch_size: int = 200):
        self.writer = SpooledWriter(store, spool_for(spool_dir, target))
        self.enricher_factory = enricher_factory
        self.batch_size = batch_size
        self.report = IngestReport()
        self._enricher = None
        self.pending: list[Record] = []

    @property
    def enricher(self):
        if self._enricher is None:  # spaCy loads only when a record needs it
            self._enricher = self.enricher_factory()
        return self._enricher

    def add(self, record: Record) -> IngestReport | None:
        """Queue one record; the report of the batch it completed, if it did."""
        self.pending.append(record)
        return self.flush() if len(self.pending) >= self.batch_size else None

    def add_all(self, records: Iterable[Record]) -> None:
        for record in records:
            self.add(record)

    def flush(self) -> IngestReport:
        """Write what is pending: what this batch did (also added to ``report``)."""
        batch, self.pending = self.pending, []
        done = IngestReport()
        if not batch:
            return done
        plain_listings = [r for r in batch if isinstance(r, Listing)]
        plain_vendors = [r for r in batch if isinstance(r, VendorProfile)]
        listings = [r for r in batch if isinstance(r, EnrichedListing)]
        listings += list(self.enricher.enrich_listings(plain_listings)) if plain_listings else []
        vendors = [r for r in batch if isinstance(r, EnrichedVendor)]
        vendors += list(self.enricher.enrich_vendors(plain_vendors)) if plain_vendors else []
        for kind, records in (("listings", listings), ("vendors", vendors)):
            result = self.writer.write(kind, records)
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
