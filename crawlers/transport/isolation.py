"""Stream isolation: every request of a Tor market carries its market's isolation token,
which becomes the SOCKS username (Tor's IsolateSOCKSAuth gives each a circuit). Only the
token travels in request.meta; the proxy address and credentials are added at download
time by the handler, so they never reach JOBDIR, Redis or the site."""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler

from crawlers.transport.routing import ISOLATION_META, market_of


class IsolationMiddleware:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "IsolationMiddleware":
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        market = market_of(self.crawler)
        if market is not None:
            generation = getattr(self.crawler.spider, "circuit_generation", 0)
            token = market.isolation_token + (f"#{generation}" if generation else "")
            request.meta.setdefault(ISOLATION_META, token)
        # A Proxy-Authorization header must never reach a site, whatever set it.
        request.headers.pop(b"Proxy-Authorization", None)
        return None
