"""The images a listing shows: fetched, screened, hashed and kept — an item pipeline between
validation and indexing, for markets with ``images = true`` (off by default).

Images are fetched the way Scrapy's own media pipelines fetch theirs (``engine.download_async``),
so every one passes the downloader middlewares a page passes: the market's route (Tor for a
Tor market, its isolation token, fail closed), the DNS-aware egress guard for clearnet hosts,
the market's slot and politeness. Each is read off the reactor thread (enrichment.images:
byte and pixel limits, the SHA-256 and perceptual blocklist, EXIF, pHash and dHash). A
blocklisted image is flagged for the operator and dropped: never written to the image folder
or the WARC evidence (crawlers/evidence.py holds its record back until this pipeline says),
never shown. Every other response gets its WARC record; readable images are kept once per
SHA-256 (index/image_files.py). Inline ``data:`` images are read the same way.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import scrapy
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future
from twisted.internet.defer import DeferredList

from config import ImageSettings
from contracts.images import ImageRefused, ListingImage
from contracts.listings import EnrichedListing, Listing
from crawlers.addon import interdict_config
from crawlers.evidence import IMAGE_META, KEEP_EVIDENCE_META
from crawlers.fetch_errors import fetch_failure
from crawlers.offload import when_done
from enrichment.images import Blocklist, ImageLimits, Refused, decode_data_uri, read_image
from index import FlagLog, ImageFiles

log = logging.getLogger(__name__)
REMEMBERED_URLS = 20_000  # an image URL seen on many listings (a vendor's banner) is fetched once a crawl


def inline_label(uri: str) -> str:
    """What a listing keeps of an inline image's URI: its media type, not its bytes."""
    head = uri.split(",", 1)[0]
    return head[:100] + ",…"


class ListingImagesPipeline:
    def __init__(self, crawler: Crawler, settings: ImageSettings):
        self.crawler, self.stats = crawler, crawler.stats
        self.settings = settings
        self.limits = ImageLimits(max_bytes=settings.max_bytes, max_pixels=settings.max_pixels)
        try:
            self.blocklist = Blocklist.from_files(settings.blocklist_sha256, settings.blocklist_phash,
                                                  settings.blocklist_radius)
        except (OSError, ValueError) as exc:  # a blocklist half read would let listed images through
            raise RuntimeError(f"images: cannot read the blocklist: {exc}") from None
        self.files = ImageFiles(settings.dir)
        self.flags = FlagLog(settings.flagged_file)
        self.readers = ThreadPoolExecutor(max(1, min(4, (os.cpu_count() or 2) - 1)),
                                          thread_name_prefix="interdict-images")
        self.seen: OrderedDict[str, ListingImage] = OrderedDict()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ListingImagesPipeline":
        config = interdict_config(crawler.settings)
        if not any(market.images for market in config.markets.values()):
            raise NotConfigured("no market has images = true")
        return cls(crawler, config.images)

    def close_spider(self, spider=None) -> None:
        self.readers.shutdown(wait=True)

    async def process_item(self, item: Any, spider=None) -> Any:
        listing = item.listing if isinstance(item, EnrichedListing) else item
        market = getattr(self.crawler.spider, "market", None)
        if not isinstance(listing, Listing) or market is None or not market.images or listing.images:
            return item
        urls = list(dict.fromkeys(u for u in listing.image_urls if u))[: self.settings.max_per_listing]
        if not urls:
            return item
        results = await maybe_deferred_to_future(DeferredList(
            [deferred_from_coro(self._image(url, listing)) for url in urls], consumeErrors=True))
        images = []
        for url, (ok, result) in zip(urls, results):
            if not ok:  # a bug, not the market: named in the log, the listing indexed without the image
                log.error("image %s of %s: %s", url, listing.url, result.getErrorMessage())
                self.stats.inc_value("interdict/images/unavailable/fetch_error")
            images.append(result if ok else ListingImage(url=url, unavailable="fetch_error"))
        listing = listing.model_copy(update={"images": images})
        return item.model_copy(update={"listing": listing}) if isinstance(item, EnrichedListing) else listing

    async def _image(self, url: str, listing: Listing) -> ListingImage:
        # an inline image is remembered by a digest of its URI, not by megabytes of it
        key = "data:" + hashlib.sha1(url.encode()).hexdigest() if url.startswith("data:") else url
        if key in self.seen:
            self.seen.move_to_end(key)
            return self.seen[key]
        image = await (self._inline(url, listing) if url.startswith("data:") else self._fetched(url, listing))
        if image.unavailable is None:  # a failed fetch may work for the next listing
            self.seen[key] = image
            if len(self.seen) > REMEMBERED_URLS:
                self.seen.popitem(last=False)
        return image

    async def _inline(self, uri: str, listing: Listing) -> ListingImage:
        label = inline_label(uri)
        self.stats.inc_value("interdict/images/inline")
        try:
            data = decode_data_uri(uri, self.limits)
        except Refused as refused:
            return self._refused(label, refused.refusal, listing)
        return await self._screened(label, data, listing, keep_evidence=None)

    async def _fetched(self, url: str, listing: Listing) -> ListingImage:
        market = self.crawler.spider.market
        meta = {IMAGE_META: True, "download_maxsize": self.limits.max_bytes, "handle_httpstatus_all": True,
                "download_warnsize": 0}
        if not market.obeys_robots_txt:
            meta["dont_obey_robotstxt"] = True
        # No Referer: an image host learns nothing of which listing a crawler read.
        request = scrapy.Request(url, meta=meta, dont_filter=True, priority=10)  # ahead of pages: a listing waits
        self.stats.inc_value("interdict/images/requests")
        try:
            response = await self.crawler.engine.download_async(request)
        except Exception as exc:  # noqa: BLE001 - counted by name; the listing is indexed without it
            reason = fetch_failure(exc)
            if reason == "too_large":
                return self._refused(url, ImageRefused(reason="too_large", detail=f"more than {self.limits.max_bytes} "
                                                       "bytes (download cancelled)"), listing)
            self.stats.inc_value(f"interdict/images/unavailable/{reason}")
            log.info("image %s of %s not fetched: %s", url, listing.url, reason)
            return ListingImage(url=url, unavailable=reason)
        self.stats.inc_value("interdict/images/responses")  # not pages (crawlers.history.pages_fetched)
        keep = request.meta.get(KEEP_EVIDENCE_META)
        if response.status != 200:
            if keep:
                await maybe_deferred_to_future(keep())  # what the market answered is evidence too
            self.stats.inc_value(f"interdict/images/unavailable/http_{response.status}")
            return ListingImage(url=url, unavailable=f"http_{response.status}")
        return await self._screened(url, response.body, listing, keep)

    async def _screened(self, url: str, data: bytes, listing: Listing, keep_evidence) -> ListingImage:
        try:
            facts = await maybe_deferred_to_future(when_done(self.readers.submit(self._read_and_keep, data)))
        except Refused as refused:
            if refused.refusal.reason != "blocklisted" and keep_evidence:
                await maybe_deferred_to_future(keep_evidence())
            return self._refused(url, refused.refusal, listing)
        if keep_evidence:
            await maybe_deferred_to_future(keep_evidence())
        self.stats.inc_value("interdict/images/kept")
        if facts.metadata.gps is not None:
            self.stats.inc_value("interdict/images/with_gps")
        if facts.metadata.stripped:
            self.stats.inc_value("interdict/images/stripped")
        return ListingImage(url=url, facts=facts)

    def _read_and_keep(self, data: bytes):
        """In a reader thread: screen and read; keep the bytes only once they passed."""
        facts = read_image(data, self.limits, self.blocklist)
        self.files.put(facts.sha256, data)
        return facts

    def _refused(self, url: str, refusal: ImageRefused, listing: Listing) -> ListingImage:
        self.stats.inc_value(f"interdict/images/refused/{refusal.reason}")
        if refusal.reason == "blocklisted":
            self.flags.flag(market=listing.market, listing_url=listing.url, image_url=url, sha256=refusal.sha256,
                            detail=refusal.detail, transport=listing.transport)
            log.error("image %s of %s matches the blocklist (%s): flagged in %s, not stored", url, listing.url,
                      refusal.detail, self.flags.path)
        else:
            log.info("image %s of %s refused: %s", url, listing.url, refusal.detail)
        return ListingImage(url=url, refused=refusal)
