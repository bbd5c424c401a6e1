"""Scrapy extensions."""

from __future__ import annotations

import sys

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task


class ProgressLine:
    """A one-line live progress display on stderr for people watching a crawl."""

    def __init__(self, crawler: Crawler, interval: float = 1.0):
        self.crawler, self.interval = crawler, interval
        self.loop: task.LoopingCall | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ProgressLine":
        if not crawler.settings.getbool("INTERDICT_PROGRESS"):
            raise NotConfigured
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def spider_opened(self, spider) -> None:
        self.loop = task.LoopingCall(self.show, spider)
        self.loop.start(self.interval, now=False)

    def show(self, spider, end: str = "\r") -> None:
        stats = self.crawler.stats
        dropped = sum(v for k, v in stats.get_stats().items() if k.startswith("interdict/dropped/"))
        sys.stderr.write(
            f"\033[2K{spider.name}: {stats.get_value('response_received_count', 0)} pages · "
            f"{stats.get_value('interdict/listings/scraped', 0)} listings · "
            f"{stats.get_value('interdict/vendors/scraped', 0)} vendors · {dropped} dropped{end}"
        )
        sys.stderr.flush()

    def spider_closed(self, spider) -> None:
        if self.loop and self.loop.running:
            self.loop.stop()
        self.show(spider, end="\n")
