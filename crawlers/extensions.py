"""Scrapy extensions."""

from __future__ import annotations

import sys

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from twisted.internet import task

from crawlers.history import pages_fetched


class ProgressLine:
    """A one-line live progress display on stderr for people watching a crawl.

    Several spiders in one process (the demo crawls two markets at once) share the line.
    """

    active: dict[str, "ProgressLine"] = {}

    def __init__(self, crawler: Crawler, interval: float = 1.0):
        self.crawler, self.interval = crawler, interval
        self.loop: task.LoopingCall | None = None
        self.name = ""

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "ProgressLine":
        if not crawler.settings.getbool("INTERDICT_PROGRESS"):
            raise NotConfigured
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def status(self) -> str:
        stats = self.crawler.stats
        dropped = sum(v for k, v in stats.get_stats().items() if k.startswith("interdict/dropped/"))
        return (f"{self.name}: {pages_fetched(stats.get_stats())} pages · "
                f"{stats.get_value('interdict/listings/scraped', 0)} listings · "
                f"{stats.get_value('interdict/vendors/scraped', 0)} vendors · {dropped} dropped")

    @classmethod
    def show(cls, end: str = "\r") -> None:
        line = " | ".join(p.status() for p in cls.active.values())
        sys.stderr.write(f"\033[2K{line}{end}")
        sys.stderr.flush()

    def spider_opened(self, spider) -> None:
        self.name = spider.name
        ProgressLine.active[spider.name] = self
        if len(ProgressLine.active) == 1:
            self.loop = task.LoopingCall(ProgressLine.show)
            self.loop.start(self.interval, now=False)

    def spider_closed(self, spider) -> None:
        ProgressLine.show(end="\n" if len(ProgressLine.active) == 1 else "\r")
        ProgressLine.active.pop(spider.name, None)
        if self.loop and self.loop.running:
            self.loop.stop()
            # hand the ticking over to a spider still running
            for other in ProgressLine.active.values():
                other.loop = task.LoopingCall(ProgressLine.show)
                other.loop.start(other.interval, now=False)
                break
