"""Downloader middlewares."""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler


class MarketSlotMiddleware:
    """Put every request of a market into that market's download slot.

    Measured here: CONCURRENT_REQUESTS_PER_DOMAIN does not bound the requests in flight to
    one site once a proxy is involved. A slot named after the market, configured through
    DOWNLOAD_SLOTS (concurrency, delay), does, whatever host or mirror serves it.
    """

    def __init__(self, crawler: Crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "MarketSlotMiddleware":
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        market = getattr(self.crawler.spider, "market_name", None)
        if market:
            request.meta.setdefault("download_slot", market)
        return None
