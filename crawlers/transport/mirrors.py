"""Mirror failover: a market lists several base URLs; requests go to a healthy one, a mirror
that fails backs off exponentially, and every page records which mirror served it. The
dupefilter sees one URL per page whichever mirror serves it."""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit, urlunsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadConnectionRefusedError, DownloadFailedError, DownloadTimeoutError
from scrapy.http import Response
from scrapy.utils.request import RequestFingerprinter

from crawlers.addon import interdict_config
from crawlers.transport.errors import TorUnavailableError
from crawlers.transport.routing import market_of

log = logging.getLogger(__name__)
MIRROR_META = "interdict_mirror"
BACKOFF_START, BACKOFF_MAX = 30.0, 900.0
MIRROR_FAILURES = (DownloadConnectionRefusedError, DownloadTimeoutError, DownloadFailedError)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def with_origin(url: str, new_origin: str) -> str:
    parts, target = urlsplit(url), urlsplit(new_origin)
    return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))


class MirrorHealth:
    def __init__(self, mirrors: list[str], clock=time.monotonic):
        self.mirrors, self.clock = mirrors, clock
        self.failures: dict[str, int] = {}
        self.down_until: dict[str, float] = {}

    def healthy(self, mirror: str) -> bool:
        return self.clock() >= self.down_until.get(mirror, 0.0)

    def failed(self, mirror: str) -> float:
        count = self.failures[mirror] = self.failures.get(mirror, 0) + 1
        backoff = min(BACKOFF_START * 2 ** (count - 1), BACKOFF_MAX)
        self.down_until[mirror] = self.clock() + backoff
        return backoff

    def succeeded(self, mirror: str) -> None:
        self.failures.pop(mirror, None)
        self.down_until.pop(mirror, None)

    def pick(self, avoid: str | None = None) -> str | None:
        """The first healthy mirror in configured order, other than ``avoid``."""
        return next((m for m in self.mirrors if m != avoid and self.healthy(m)), None)


class MirrorFailoverMiddleware:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self._health: MirrorHealth | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "MirrorFailoverMiddleware":
        return cls(crawler)

    @property
    def health(self) -> MirrorHealth:
        if self._health is None:
            market = market_of(self.crawler)
            spider_base = getattr(self.crawler.spider, "base_url", None)
            mirrors = [origin(u) for u in ([spider_base] if spider_base else []) + list(market.base_urls if market else [])]
            self._health = MirrorHealth(list(dict.fromkeys(mirrors)))
        return self._health

    def process_request(self, request: Request):
        mirror = origin(request.url)
        if mirror not in self.health.mirrors:
            return None
        if not self.health.healthy(mirror) and (alternative := self.health.pick(avoid=mirror)):
            return self._move(request, alternative)
        request.meta[MIRROR_META] = mirror
        return None

    def process_response(self, request: Request, response: Response):
        mirror = request.meta.get(MIRROR_META)
        if mirror is None:
            return response
        if response.status in (502, 503, 504):
            return self._failover(request, mirror, f"HTTP {response.status}") or response
        self.health.succeeded(mirror)
        self.crawler.stats.inc_value(f"interdict/mirror/served/{mirror}")
        return response

    def process_exception(self, request: Request, exception: Exception):
        mirror = request.meta.get(MIRROR_META)
        if mirror is None or isinstance(exception, TorUnavailableError) or not isinstance(exception, MIRROR_FAILURES):
            return None
        return self._failover(request, mirror, type(exception).__name__)

    def _failover(self, request: Request, mirror: str, why: str) -> Request | None:
        backoff = self.health.failed(mirror)
        self.crawler.stats.inc_value("interdict/mirror/failures")
        alternative = self.health.pick(avoid=mirror)
        log.warning("mirror %s failed (%s); backing off %.0f s%s", mirror, why, backoff,
                    f", continuing on {alternative}" if alternative else "; no healthy mirror left")
        if alternative is None:
            return None
        self.crawler.stats.inc_value("interdict/mirror/failovers")
        return self._move(request, alternative)

    def _move(self, request: Request, mirror: str) -> Request:
        meta = {**request.meta, MIRROR_META: mirror}
        return request.replace(url=with_origin(request.url, mirror), meta=meta, dont_filter=True)


class MirrorAwareFingerprinter(RequestFingerprinter):
    """Fingerprints a request as if it went to its market's primary base URL."""

    def __init__(self, crawler: Crawler | None = None):
        super().__init__(crawler)
        self.primary: dict[str, str] = {}
        markets = interdict_config(crawler.settings).markets.values() if crawler is not None else ()
        for market in markets:
            for url in market.base_urls:
                self.primary[origin(url)] = origin(market.base_urls[0])

    def fingerprint(self, request: Request) -> bytes:
        primary = self.primary.get(origin(request.url))
        if primary and primary != origin(request.url):
            request = request.replace(url=with_origin(request.url, primary))
        return super().fingerprint(request)
