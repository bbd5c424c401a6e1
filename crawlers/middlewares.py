"""Downloader middlewares."""

from __future__ import annotations

from scrapy import Request
from scrapy.crawler import Crawler


class MarketSlotMiddleware:
    """Put every request of a market into that market's download slot.

    One slot per market, configured through DOWNLOAD_SLOTS (concurrency, delay), bounds the
    load on a market whatever host or mirror serves it, and whether requests go through Tor
    (one SOCKS endpoint) or not. The bound holds thanks to crawlers.downloader.
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
