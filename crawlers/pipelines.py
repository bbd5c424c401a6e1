"""Item pipelines: validate → enrich → index."""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO

from pydantic import ValidationError
from scrapy.crawler import Crawler
from scrapy.exceptions import DropItem
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task

from config import EnrichmentSettings
from contracts.listings import EnrichedListing, EnrichedVendor, Listing, VendorProfile
from crawlers import signals as crawl_signals
from crawlers.addon import interdict_config
from crawlers.ingest import Ingest, IngestReport
from index import Store, open_store

log = logging.getLogger(__name__)


class ValidatePipeline:
    """Items reach the index only as contract types; anything else is dropped and counted."""

    def __init__(self, crawler: Crawler):
        self.stats = crawler.stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ValidatePipeline":
        return cls(crawler)

    def process_item(self, item, spider=None):
        if isinstance(item, (Listing, VendorProfile, EnrichedListing, EnrichedVendor)):
            return item
        if isinstance(item, dict):
            try:
                return (VendorProfile if "profile" in item else Listing).model_validate(item)
            except ValidationError as exc:
                self.stats.inc_value("interdict/dropped/invalid_item")
                raise DropItem(f"invalid item: {exc.errors()[0]['msg']}") from None
        self.stats.inc_value("interdict/dropped/invalid_item")
        raise DropItem(f"unexpected item type {type(item).__name__}")


_loading: dict[EnrichmentSettings, Future] = {}
_loading_lock = threading.Lock()


def shared_enricher(settings: EnrichmentSettings) -> Future:
    """One spaCy pipeline per process, however many spiders run in it, loaded in a thread of
    its own. When pages are read in this process, it starts loading as a spider opens: loaded
    at the first batch, in the reactor thread, it stopped every download for the two seconds
    spaCy takes to import and load. When page readers enrich, it loads only if an item comes
    without enrichment."""
    with _loading_lock:
        if settings not in _loading:
            _loading[settings] = ThreadPoolExecutor(1, thread_name_prefix="interdict-enricher-load").submit(
                _load_enricher, settings)
        return _loading[settings]


def _load_enricher(settings: EnrichmentSettings):
    from enrichment.pipeline import Enricher

    return Enricher.from_settings(settings)


class EnrichIndexPipeline:
    """Enrich in batches and upsert into the configured store; optionally echo JSON Lines.
    A batch is sent when full, or once its first item has waited INTERDICT_BATCH_MAX_WAIT
    seconds (a slow market's listings are not held back for long; the crawl frontier settles
    pages only once their items are committed)."""

    def __init__(self, crawler: Crawler):
        settings = crawler.settings
        self.crawler, self.stats, self.signals = crawler, crawler.stats, crawler.signals
        self.batch_size = settings.getint("INTERDICT_BATCH_SIZE", 200)
        self.max_wait = settings.getfloat("INTERDICT_BATCH_MAX_WAIT", 2.0)
        self.oldest: float | None = None  # when the first item of the batch being filled came
        self.timer: task.LoopingCall | None = None
        self.config = interdict_config(settings)
        self.store_path = settings.get("INTERDICT_STORE_PATH")
        self.output_target = settings.get("INTERDICT_OUTPUT") or ""
        self.listings: list[Listing | EnrichedListing] = []  # enriched: by the page readers
        self.vendors: list[VendorProfile | EnrichedVendor] = []
        self.store: Store | None = None
        self.output: IO[str] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "EnrichIndexPipeline":
        return cls(crawler)

    def open_spider(self, spider=None) -> None:
        config = self.config
        target = self.store_path or config.store.path
        self.store = open_store(config, target)
        self.bulk = self.store.bulk_writes()  # searchable in batches, all of it when the crawl ends
        self.bulk.__enter__()
        if config.crawl.page_workers == 0:  # pages are read here, and enriched here too
            shared_enricher(config.enrichment)
        self.ingest = Ingest(self.store, config.store.spool_dir, target,
                             lambda: shared_enricher(config.enrichment).result(), batch_size=1 << 30,
                             on_changes=self._changed)
        self.writer = self.ingest.writer
        self.spool_wait = config.crawl.spool_wait
        if self.output_target == "-":
            self.output = sys.stdout
        elif self.output_target:
            self.output = open(self.output_target, "a", encoding="utf-8")
        self.timer = task.LoopingCall(self._flush_if_waited)
        self.timer.start(max(0.2, self.max_wait / 2), now=False)

    def _changed(self, changes) -> None:
        self.signals.send_catch_log(crawl_signals.documents_changed, changes=changes)

    def process_item(self, item, spider=None):
        (self.listings if isinstance(item, (Listing, EnrichedListing)) else self.vendors).append(item)
        if self.oldest is None:
            self.oldest = time.monotonic()
        if len(self.listings) >= self.batch_size or len(self.vendors) >= self.batch_size:
            self.flush()
        return item

    def _flush_if_waited(self) -> None:
        if self.oldest is not None and time.monotonic() - self.oldest >= self.max_wait:
            self.flush()

    def flush(self) -> None:
        self.oldest = None
        batch = self.listings + self.vendors
        self._write()
        if batch:
            self.signals.send_catch_log(crawl_signals.items_committed, items=batch)

    def _write(self) -> None:
        self.ingest.add_all([*self.listings, *self.vendors])
        self.listings, self.vendors = [], []
        done = self.ingest.flush()
        self._count(done)
        if self.output and done.written:
            self._emit(done.written)

    def _emit(self, enriched: list) -> None:
        """The listings (already stored) to the output; a reader that went away (`| head`)
        stops the crawl at once, recorded as interrupted: nothing is lost, nothing repeats."""
        try:
            self.output.writelines(e.model_dump_json() + "\n" for e in enriched)
            self.output.flush()
        except BrokenPipeError:
            if self.output is sys.stdout:  # later writes (Python's own at exit) go nowhere
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            self.output = None
            log.warning("the output was closed (its reader went away): the crawl stops")
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="output_closed"))

    def _count(self, done: IngestReport) -> None:
        if done.spooled_batches:
            self.stats.inc_value("interdict/index/spooled_batches", done.spooled_batches)
        for kind, report in (("listings", done.listings), ("vendors", done.vendors)):
            for outcome in ("new", "updated", "unchanged", "rejected"):
                self.stats.inc_value(f"interdict/index/{kind}_{outcome}", getattr(report, outcome))

    def close_spider(self, spider=None) -> None:
        if self.timer and self.timer.running:
            self.timer.stop()
        try:
            self.flush()
            if self.writer.spool.batches():
                log.warning("waiting up to %.0f s for the store to take %d spooled batch(es)",
                            self.spool_wait, len(self.writer.spool.batches()))
                if not self.writer.drain_until(self.spool_wait):
                    self.stats.set_value("interdict/index/left_in_spool", self.writer.spool.pending_records())
                    log.error("store still unavailable: %d record(s) stay in %s; the next crawl (or `interdict "
                              "index --replay`) sends them", self.writer.spool.pending_records(), self.writer.spool.dir)
            self.stats.set_value("interdict/index/replayed_batches", self.writer.replayed_batches)
        finally:
            if self.store:
                self.bulk.__exit__(None, None, None)
                self.store.close()
            if self.output and self.output is not sys.stdout:
                self.output.close()
