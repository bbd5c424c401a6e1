"""The spider middleware that tells the frontier when a page is done and what it gave."""

from __future__ import annotations

from contextlib import contextmanager

from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.http import Request

from crawlers import signals as crawl_signals
from crawlers.frontier.keys import LEASE_META


class FrontierMiddleware:
    """Spider middleware telling the frontier (crawlers.signals.page_done) that a page's callback has
    given everything, and how many items. A callback stopped by CloseSpider (a wall) leaves
    its page unsettled, so a resumed crawl fetches it again; any other error settles it (a
    page that always fails must not keep a crawl from completing)."""

    def __init__(self, crawler: Crawler):
        self.signals = crawler.signals

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "FrontierMiddleware":
        return cls(crawler)

    @contextmanager
    def _page(self, response):
        """Counts the items the page's output carries; signals the end of it."""
        items = [0]

        def count(out) -> None:
            items[0] += not isinstance(out, Request)

        try:
            yield count
        except CloseSpider:
            raise
        except Exception:
            self._done(response, items[0])
            raise
        self._done(response, items[0])

    def _done(self, response, items: int) -> None:
        if LEASE_META in response.meta:
            self.signals.send_catch_log(crawl_signals.page_done, response=response, items=items)

    def process_spider_output(self, response, result, spider=None):
        with self._page(response) as count:
            for out in result:
                count(out)
                yield out

    async def process_spider_output_async(self, response, result, spider=None):
        with self._page(response) as count:
            async for out in result:
                count(out)
                yield out
