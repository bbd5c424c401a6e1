"""The one market spider: what to follow and what to yield. Reading a page is the page
objects' job (crawlers/pages), chosen by the market's profile; markets without page objects
are read by the generic extractor (schema.org Product data where a page carries some,
clearnet shops mostly; the generic reading of blocks, labels and rows otherwise). Scrapy
knows it under the name of each profile (crawlers/spiders/loader.py): `scrapy crawl sable`."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import UTC, datetime, timedelta
from itertools import zip_longest
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import CloseSpider
from scrapy.http import HtmlResponse, Response
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.python.failure import Failure

from config import Market, Settings
from contracts.listings import EnrichedListing, EnrichedVendor, Evidence
from crawlers import signals as crawl_signals
from crawlers.addon import interdict_config
from crawlers.evidence import EVIDENCE_META
from crawlers.fetch_errors import fetch_failure
from crawlers.extract.walls import Wall, marker_bytes, merged_markers
from crawlers.handoff import MarketStates
from crawlers.offload import when_done
from crawlers.pages import PROFILES
from crawlers.pages.base import MarketProfile
from crawlers.reading import PageReading, PageTask, shared_readers
from crawlers.sessions import load_sessions
from crawlers.transport.mirrors import origin, with_origin
from index import StoreError, open_store

log = logging.getLogger(__name__)


class MarketSpider(scrapy.Spider):
    """Crawls one configured market: home → categories (all pages) → listings → vendors."""

    name = "market"
    profile_name: str = ""  # the spider's name, a market's profile (crawlers/spiders/loader.py)

    @classmethod
    def from_crawler(cls, crawler, *args, **kwargs):
        return super().from_crawler(crawler, *args, config=interdict_config(crawler.settings), **kwargs)

    def __init__(self, market: str | None = None, base_url: str | None = None, mode: str = "full",
                 config: Settings | None = None, **kwargs):
        super().__init__(**kwargs)
        if config is None:
            raise ValueError(f"{type(self).__name__} is built by Scrapy (from_crawler), which hands it the configuration")
        self.config = config
        if mode not in ("full", "incremental"):
            raise ValueError(f"mode must be full or incremental, not {mode!r}")
        # incremental: listing pages the index saw within the refresh window are not fetched again
        self.mode, self.refresh_days = mode, config.crawl.incremental_refresh_days
        self.known_listings: set[str] = set()
        self.market: Market = config.market(market or self.name)
        self.market_name = self.market.name
        # None for markets read by the generic extractor
        self.profile: MarketProfile | None = PROFILES.get(self.market.profile or self.profile_name)
        # What the generic reading never follows: actions (logout, cart, buy...), not pages.
        self.deny = re.compile(r"(?:^|[/_\-.?=&])(?:" + "|".join(map(re.escape, self.market.deny_words))
                               + r")(?:$|[/_\-.?=&])", re.I)
        self.base_url = (base_url or self.market.base_url).rstrip("/")
        self.mirrors = {origin(u) for u in (self.base_url, *self.market.base_urls)}
        self.allowed_domains = sorted({urlsplit(u).hostname or "" for u in self.mirrors})
        self.states = MarketStates(config.crawl.state_dir)
        self.sessions_file = config.crawl.sessions_file
        session = load_sessions(self.sessions_file).get(self.market_name)
        self.session_fingerprint = session.fingerprint if session else ""
        self.wall_markers = merged_markers(self.market.wall_markers)
        self.wall_words = marker_bytes(self.wall_markers)
        self.readers = shared_readers(config.crawl.page_workers, config.enrichment)

    async def start(self):
        if self.crawler.stats.get_value("interdict/refused"):
            return  # another crawl holds the market, or its frontier is unreachable (crawlers.jobs)
        pause = self.states.paused(self.market_name)
        if pause is not None:
            if pause.session == self.session_fingerprint:
                # Same session as when the wall was met: crawling again would only meet it again.
                self.crawler.stats.set_value("interdict/paused", pause.reason)
                self.crawler.stats.set_value("interdict/paused_url", pause.url)
                self.crawler.stats.set_value("interdict/paused_since", pause.since)
                log.error("market %s is paused since %s (%s at %s): supply a fresh session in %s or run "
                          "`interdict handoff resolve %s`", self.market_name, pause.since, pause.reason, pause.url,
                          self.sessions_file, self.market_name)
                return
            self.states.resume(self.market_name, "a fresh session was supplied")
            self._count("resumed")
            log.warning("market %s resumes: a fresh session was supplied since the %s at %s",
                        self.market_name, pause.reason, pause.url)
        if self.mode == "incremental":
            self.known_listings = self._recently_seen()
        yield self._follow(self.base_url + "/")

    def _recently_seen(self) -> set[str]:
        since = datetime.now(UTC) - timedelta(days=self.refresh_days)
        try:
            with open_store(self.config, self.settings.get("INTERDICT_STORE_PATH") or None) as store:
                return {self._canonical(u) for u in store.listing_urls(self.market_name, since)}
        except StoreError as exc:  # an index outage must not stop the crawl: fetch everything
            log.warning("incremental crawl of %s fetches every listing: the index cannot say what it has (%s)",
                        self.market_name, exc)
            return set()

    def _canonical(self, url: str) -> str:
        """A page is known by its URL on the primary base URL, whichever mirror served it."""
        return with_origin(url, origin(self.base_url)) if origin(url) in self.mirrors else url

    def _seen_recently(self, url: str) -> bool:
        """In an incremental crawl: a listing page the index saw lately (counted, not fetched)."""
        if self.known_listings and self._canonical(url) in self.known_listings:
            self._count("incremental/skipped")
            return True
        return False

    def _stop_at_wall(self, wall: Wall | None, url: str) -> None:
        """A wall in front of the market: pause it, leave a hand-off entry, stop crawling."""
        if wall is None or not wall.blocks_market:
            return
        pause = self.states.pause(self.market_name, wall.reason, url, wall.seen, self.session_fingerprint)
        self.crawler.stats.set_value("interdict/paused", pause.reason)
        self.crawler.stats.set_value("interdict/paused_url", pause.url)
        self.crawler.stats.set_value("interdict/paused_since", pause.since)
        log.error("market %s paused: %s at %s (%s); hand-off entry written to %s", self.market_name, wall.reason,
                  url, wall.seen, self.states.history)
        raise CloseSpider(f"paused_{wall.reason}")

    def _count(self, key: str, n: int = 1) -> None:
        self.crawler.stats.inc_value(f"interdict/{key}", n)

    async def parse(self, response: Response):
        """Read on the page readers (crawlers/reading.py), then act on what they found."""
        task = PageTask(url=response.url, canonical=self._canonical(response.url), body=response.body,
                        text=response.text if self.profile else "", html=isinstance(response, HtmlResponse),
                        profile=self.profile.name if self.profile else None, market=self.market_name,
                        transport=self.market.transport, crawled_at=datetime.now(UTC), wall_words=self.wall_words,
                        wall_markers=self.wall_markers, enrich=self.readers.enriches)
        reading = await maybe_deferred_to_future(when_done(self.readers.submit(task)))
        for output in self._act(reading, response):
            yield output

    def _act(self, reading: PageReading, response: Response):
        if self.profile is not None:
            self._stop_at_wall(reading.wall, response.url)
        self._count(f"pages/{reading.kind}")
        for reason, count in reading.drop_counts.items():
            self._count(f"dropped/{reason}", count)
        if self.profile is None:
            self._stop_at_wall(reading.wall, response.url)
            if reading.wall is not None:
                return  # nothing behind a wall is the market's
        if reading.bad_encoding:
            self._count("pages/bad_encoding")
            log.warning("page %s holds bytes invalid in %s; decoded with replacements", response.url, response.encoding)
        for reason in reading.drops:
            self._drop(reason, response.url)
        for url in reading.listing_urls:
            if not self._seen_recently(url):
                yield self._follow(url)
        for url in reading.follow_urls:
            if self.profile is not None or (self._followable(url) and not self._seen_recently(url)):
                yield self._follow(url)
        # enriched by the reader when it could (crawlers/reading.py), else by the item pipeline
        for listing, enrichment in zip_longest(reading.listings, reading.listing_enrichments[:len(reading.listings)]):
            self._count("listings/scraped")
            listing = listing.model_copy(update={"evidence": self._evidence(response)})
            yield listing if enrichment is None else EnrichedListing(listing=listing, enrichment=enrichment)
        for vendor, enrichment in zip_longest(reading.vendors, reading.vendor_enrichments[:len(reading.vendors)]):
            self._count("vendors/scraped")
            vendor = vendor.model_copy(update={"evidence": self._evidence(response)})
            yield vendor if enrichment is None else EnrichedVendor(vendor=vendor, enrichment=enrichment)

    def _follow(self, url: str) -> scrapy.Request:
        meta = {} if self.market.obeys_robots_txt else {"dont_obey_robotstxt": True}
        return scrapy.Request(url, callback=self.parse, errback=self.fetch_failed, meta=meta)

    def _evidence(self, response: Response) -> Evidence:
        stored = response.meta.get(EVIDENCE_META)
        if stored is None:  # evidence archiving switched off: the digest alone
            return Evidence(sha256=hashlib.sha256(response.body).hexdigest(), served_by=origin(response.url))
        return Evidence(sha256=stored.sha256, warc_record_id=stored.record_id, warc_file=stored.warc_file,
                        warc_offset=stored.offset, served_by=origin(response.url))

    def _followable(self, url: str) -> bool:
        parts = urlsplit(url)
        if origin(url) not in self.mirrors or parts.scheme not in ("http", "https"):
            return False
        return not self.deny.search(parts.path + ("?" + parts.query if parts.query else ""))

    def _drop(self, reason: str, url: str) -> None:
        self._count(f"dropped/{reason}")
        log.warning("dropped %s: %s", url, reason)

    def fetch_failed(self, failure: Failure) -> None:
        """Count why a page could not be fetched; the crawl goes on."""
        url = failure.request.url if hasattr(failure, "request") else "?"
        reason = fetch_failure(failure.value)
        self._drop(reason, url)
        if hasattr(failure, "request"):
            self.crawler.signals.send_catch_log(crawl_signals.request_settled, request=failure.request)
