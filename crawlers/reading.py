"""Reading fetched pages, in worker processes. Parsing a page (lxml, the page objects, the
wall check, the contracts) is most of a crawl's CPU; in the crawl's own process it held the
one thread that runs Scrapy — and with it every download — and a crawl stopped scaling with
concurrency at one core (bench/tor_crawl.py --pipeline). The spider hands each page to a
process pool and goes on downloading; what comes back (listings, vendors, links, drops, a
wall) it acts on as before. ``read_page`` is a pure function of the page, so reading in the
spider's process (``crawl.page_workers = 0``) gives the same result.

Worker processes also enrich what they read (spaCy, loaded once in each worker when the pool
starts): in the crawl's process, a batch of 200 listings held Scrapy's thread for about half
a second, and no page was fetched meanwhile. Reading in the spider's process, enrichment stays
with the item pipeline, in batches."""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from functools import lru_cache
from typing import Any, Mapping

from config import EnrichmentSettings
from contracts.listings import Enrichment, Listing, VendorProfile
from crawlers.extract import read_listings, to_listing
from crawlers.extract.dom import Page as ExtractPage
from crawlers.extract.walls import Wall, might_be_wall, wall_of
from crawlers.pages import PROFILES, PageError
from crawlers.pages.base import listing_of, vendor_of


@dataclass(frozen=True)
class PageTask:
    """A fetched page and what reading it needs to know (picklable: it goes to a worker)."""

    url: str  # where it was fetched
    canonical: str  # the URL the market's pages are known by (the primary base URL)
    body: bytes
    text: str  # as Scrapy decoded it (page objects read text; the wall check and the generic reading, bytes)
    html: bool  # an HTML response (only those are checked for walls)
    profile: str | None  # the market's page objects; None: the generic extractor
    market: str
    transport: str
    crawled_at: datetime
    wall_words: frozenset[bytes]
    wall_markers: Mapping[str, Mapping[str, list[str]]]
    enrich: bool = False  # enrich what is read (the worker's enricher; see start_worker)


@dataclass
class PageReading:
    kind: str = ""
    wall: Wall | None = None
    bad_encoding: bool = False
    listings: list[Listing] = field(default_factory=list)
    vendors: list[VendorProfile] = field(default_factory=list)
    listing_urls: list[str] = field(default_factory=list)  # listing pages to fetch (an incremental crawl may skip)
    follow_urls: list[str] = field(default_factory=list)  # other pages to fetch
    drops: list[str] = field(default_factory=list)  # why a listing or vendor on it was not taken
    drop_counts: dict[str, int] = field(default_factory=dict)  # blocks the generic reading left out
    # with PageTask.enrich: the enrichment of each listing and vendor, in their order
    listing_enrichments: list[Enrichment] = field(default_factory=list)
    vendor_enrichments: list[Enrichment] = field(default_factory=list)


_enricher = None  # this worker's, when the pool enriches (start_worker)


def read_page(task: PageTask) -> PageReading:
    reading = _read(task)
    if task.enrich and _enricher is not None:
        try:
            reading.listing_enrichments = [e.enrichment for e in _enricher.enrich_listings(reading.listings)]
            reading.vendor_enrichments = [e.enrichment for e in _enricher.enrich_vendors(reading.vendors)]
        except Exception:  # noqa: BLE001 - left to the item pipeline, which reports it as it always did
            reading.listing_enrichments, reading.vendor_enrichments = [], []
    return reading


def _read(task: PageTask) -> PageReading:
    if task.profile is None:
        return _read_generic(task)
    profile = PROFILES[task.profile]
    reading = PageReading(kind=profile.kind(task.url))
    if task.html and might_be_wall(task.body, task.wall_words):
        reading.wall = wall_of(ExtractPage(task.body, task.url), task.wall_markers)
        if reading.wall is not None and reading.wall.blocks_market:
            return reading
    text = task.text
    # Bytes that are not valid in the page's encoding: kept with replacement characters,
    # counted so an analyst knows the text is not byte-exact.
    reading.bad_encoding = "\ufffd" in text
    context: dict[str, Any] = {"market": task.market, "crawled_at": task.crawled_at, "transport": task.transport}
    try:
        if reading.kind in ("home", "index"):
            page = profile.index_page(task.canonical, text)
            reading.listing_urls, reading.follow_urls = list(page.listing_urls()), list(page.follow_urls())
        elif reading.kind == "listing":
            listing = listing_of(profile.listing_page(task.canonical, text), **context)
            reading.listings.append(listing)
            # the vendor's page, when this market's vendor pages are read (the listing carries its link)
            if profile.vendor_page and listing.vendor.url:
                reading.follow_urls.append(listing.vendor.url)
        elif reading.kind == "vendor" and profile.vendor_page:
            reading.vendors.append(vendor_of(profile.vendor_page(task.canonical, text), **context))
    except PageError as exc:
        reading.drops.append(exc.reason)
    return reading


def _read_generic(task: PageTask) -> PageReading:
    """A market without page objects: the generic extractor."""
    result = read_listings(task.body, task.canonical, task.wall_markers, language=False)  # listings carry none
    reading = PageReading(kind=result.kind, wall=result.wall, drop_counts=dict(result.drops))
    if result.wall is not None:
        return reading  # nothing behind a wall is the market's
    if result.kind == "listing":
        for parsed in result.listings:
            try:
                reading.listings.append(to_listing(parsed, task.market, task.crawled_at, task.transport))
            except PageError as exc:
                reading.drops.append(exc.reason)
    reading.follow_urls = list(result.links)
    return reading


def _owner_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # killed but not reaped yet: as good as gone
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _leave_with(owner: int, interval: float = 1.0) -> None:
    """End this worker once the process that made the pool is gone (a crawl killed with
    SIGKILL cannot tell its workers: each holds the pool's queues open, so it would wait for a
    task forever, and keep the fork server alive too)."""
    while not _owner_gone(owner):
        time.sleep(interval)
    os._exit(0)


def start_worker(enrichment: EnrichmentSettings | None = None, owner: int | None = None) -> None:
    """Each worker process, once: its enricher, when the pool enriches. Then, reading a page
    makes and drops thousands of small objects, and the cycle collector, run every 700 of them
    over everything the process has imported, took a twentieth of the time. What is loaded now
    is frozen out of its sight, and it runs less often (the objects of a page are freed by
    reference counting anyway)."""
    global _enricher
    if owner is not None:
        threading.Thread(target=_leave_with, args=(owner,), name="interdict-owner-watch", daemon=True).start()
    if enrichment is not None:
        try:
            from enrichment.pipeline import Enricher

            _enricher = Enricher.from_settings(enrichment)
        except Exception:  # noqa: BLE001 - a pipeline that cannot load fails in the crawl's process, named there
            _enricher = None
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


def _started() -> None:
    """A task that only makes the pool start a worker (and its enricher) before pages come."""


class PageReaders:
    """``workers`` processes reading pages (0: in the calling process), enriching what they
    read when given the enrichment settings. A fork server starts them: the crawl's process has
    threads (Twisted's, the ingest and evidence workers), and forking it could copy a lock held
    by one of them. They start at once, loading spaCy while the crawl's first pages download."""

    def __init__(self, workers: int, enrichment: EnrichmentSettings | None = None):
        self.workers = workers
        self.enriches = bool(workers) and enrichment is not None
        self.pool: ProcessPoolExecutor | None = None
        if workers:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["crawlers.reading"])
            self.pool = ProcessPoolExecutor(workers, mp_context=context, initializer=start_worker,
                                            initargs=(enrichment if self.enriches else None, os.getpid()))
            for _ in range(workers):  # a worker starts per task submitted while none is idle
                self.pool.submit(_started)

    def submit(self, task: PageTask) -> Future[PageReading]:
        if self.pool is None:
            done: Future[PageReading] = Future()
            try:
                done.set_result(read_page(task))
            except Exception as exc:  # noqa: BLE001 - handed to the caller, as a worker's would be
                done.set_exception(exc)
            return done
        return self.pool.submit(read_page, task)


@lru_cache(maxsize=None)
def shared_readers(workers: int, enrichment: EnrichmentSettings | None = None) -> PageReaders:
    """The process's page readers: the spiders of one process share them (the pool's workers
    end with the process: concurrent.futures joins them at exit)."""
    return PageReaders(os.cpu_count() or 1 if workers < 0 else workers, enrichment)
