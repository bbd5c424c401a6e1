"""Every response, Tor or clearnet, kept as WARC evidence before anything reads it.

A downloader middleware placed before redirects and decompression: the record holds what
the server sent (redirect answers included), and the request's meta gets the record's
place (file, id, offset, SHA-256) for the spider to put into the listing's ``Evidence``. Responses that never reach the spider
(errors, bans) are archived too: evidence of what the market answered. Records are compressed
and written on the process's evidence thread (crawlers/offload.py), in fetch order; a
response goes on to the spider only once its record is written, and other downloads go on
meanwhile.

Listing images (crawlers/images.py) are the exception: an image may be on the agency's
blocklist, and a listed image must never be written anywhere. Their responses carry a
``keep`` function in meta instead, which the images pipeline calls once the image has passed.
"""

from __future__ import annotations

from datetime import UTC, datetime

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future

from crawlers.offload import shared_worker
from crawlers.transport.mirrors import origin
from crawlers.transport.routing import market_of, route_for
from index import EvidenceArchive

EVIDENCE_META = "interdict_evidence"
IMAGE_META = "interdict_image"  # set on listing-image requests: archived only once screened
KEEP_EVIDENCE_META = "interdict_keep_evidence"  # () -> Deferred of the stored record


def _headers(headers) -> list[tuple[str, str]]:
    """Scrapy's headers as (name, value) text pairs (the archive withholds the secret ones)."""
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, values in headers.items() for value in values]


class WarcEvidenceMiddleware:
    def __init__(self, crawler: Crawler, folder: str, max_file_bytes: int):
        self.crawler, self.folder, self.max_file_bytes = crawler, folder, max_file_bytes
        self.archive: EvidenceArchive | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "WarcEvidenceMiddleware":
        folder = crawler.settings.get("INTERDICT_EVIDENCE_DIR")
        if not folder:
            raise NotConfigured("no evidence folder")
        middleware = cls(crawler, folder, crawler.settings.getint("INTERDICT_EVIDENCE_MAX_FILE_BYTES"))
        crawler.signals.connect(middleware.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(middleware.spider_closed, signal=signals.spider_closed)
        return middleware

    def spider_opened(self, spider) -> None:
        market = market_of(self.crawler)
        self.archive = EvidenceArchive(self.folder, self.max_file_bytes, label=market.name if market else spider.name)
        self.worker = shared_worker("interdict-evidence")

    async def spider_closed(self, spider) -> None:
        if self.archive is not None:  # after the records handed over before
            await maybe_deferred_to_future(self.worker.run(self.archive.close))

    async def process_response(self, request, response, spider=None):
        if self.archive is None:
            return response
        if request.meta.get(IMAGE_META):
            request.meta[KEEP_EVIDENCE_META] = lambda: self._record(request, response)
            return response
        request.meta[EVIDENCE_META] = await maybe_deferred_to_future(self._record(request, response))
        return response

    def _record(self, request, response):
        """Write the response's record on the evidence thread (a Deferred of where it went)."""
        market = market_of(self.crawler)
        self.crawler.stats.inc_value("interdict/evidence/records")
        return self.worker.run(
            self.archive.write, url=response.url, method=request.method, request_headers=_headers(request.headers),
            status=response.status, reason="", response_headers=_headers(response.headers), body=response.body,
            fetched_at=datetime.now(UTC), route="tor" if route_for(request, market) == "tor" else "clearnet",
            mirror=origin(response.url), market=market.name if market else "")
