"""Every crawl of a market is a job in the store's history and holds its market while it runs,
however it was started: `interdict crawl`, a schedule, a plain `scrapy crawl`, Scrapyd.

Holding the market: never two crawls of one market at once. On one host a lock file does it
(crawlers.locks); with a shared frontier (crawl.frontier) a crawl also finds the workers of a
crawl under way on other hosts. A crawl that finds its market held fetches nothing and records
no job; its stats say who holds it (interdict/busy). A worker started to share a crawl
(INTERDICT_JOIN, `interdict crawl --join`) takes no lock and joins.
"""

from __future__ import annotations

import logging
from datetime import datetime

from redis import RedisError
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import task, threads
from twisted.internet.defer import Deferred

from crawlers.addon import interdict_config
from crawlers.frontier import connect, live_workers, unreachable
from crawlers.locks import MarketBusy, MarketLock
from crawlers.history import JobHistory

log = logging.getLogger(__name__)


def _trigger(crawler: Crawler) -> str:
    if crawler.settings.get("INTERDICT_TRIGGER"):
        return crawler.settings.get("INTERDICT_TRIGGER")
    job = getattr(crawler.spider, "_job", None)  # the job id Scrapyd passes every spider it runs
    return f"scrapyd:{job}" if job else "scrapy"


class CrawlErrors(logging.Handler):
    """Counts the ERROR records of one crawl (``interdict/log_errors``): Scrapy's log_count
    stats count every record of the process, so with two markets crawled in one process each
    job counted the other's errors, or not, as their timing fell. A record that names no
    spider counts for every crawl running."""

    def __init__(self, crawler: Crawler):
        super().__init__(logging.ERROR)
        self.crawler = crawler

    def emit(self, record: logging.LogRecord) -> None:
        spider = getattr(record, "spider", None)
        if spider is None or spider is self.crawler.spider:
            self.crawler.stats.inc_value("interdict/log_errors")


class CrawlJobs:
    def __init__(self, crawler: Crawler):
        self.crawler, self.stats = crawler, crawler.stats
        self.config = interdict_config(crawler.settings)
        self.market = crawler.spider.market_name
        self.lock: MarketLock | None = None
        self.job = None
        self.loop: task.LoopingCall | None = None
        self.saving: Deferred | None = None  # the progress write under way
        try:
            holder = self._claim(crawler.settings.getbool("INTERDICT_JOIN"))
        except RedisError as exc:
            self._release()
            self.stats.set_value("interdict/refused", "frontier_unavailable")
            message = unreachable(exc)
            self.stats.set_value("interdict/frontier/unavailable", message)
            log.error("%s: not crawled: %s", self.market, message)
            holder = ""
        if holder:
            self.stats.set_value("interdict/refused", "busy")
            self.stats.set_value("interdict/busy", holder)
            log.warning("%s: not crawled: another crawl of it is running (%s)", self.market, holder)
        self.history = JobHistory(self.config, crawler.settings.get("INTERDICT_STORE_PATH") or None)
        self.errors = CrawlErrors(crawler)
        logging.getLogger().addHandler(self.errors)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "CrawlJobs":
        if not hasattr(crawler.spider, "market_name"):
            raise NotConfigured  # not a market spider
        ext = cls(crawler)
        crawler.signals.connect(ext.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(ext.spider_closed, signal=signals.spider_closed)
        return ext

    def _claim(self, join: bool) -> str:
        """Who holds the market, or "" once this crawl holds it."""
        if join:
            return ""
        try:
            self.lock = MarketLock(self.config.crawl.state_dir, self.market).acquire()
        except MarketBusy as busy:
            return busy.holder
        if self.config.crawl.frontier:
            with connect(self.config.crawl.frontier) as server:
                workers = live_workers(server, self.market, self.config.crawl.frontier_lease_timeout)
            if workers:
                self._release()
                return "frontier workers " + ", ".join(workers)
        return ""

    def _release(self) -> None:
        if self.lock:
            self.lock.release()
            self.lock = None

    def spider_opened(self, spider) -> None:
        if self.stats.get_value("interdict/busy"):
            return
        started = self.stats.get_value("interdict/frontier/started")
        resumed = int(self.stats.get_value("interdict/frontier/resumed", 0))
        self.job = self.history.start([self.market], trigger=_trigger(self.crawler), mode=spider.mode,
                                      crawl_started=datetime.fromisoformat(started) if started else None,
                                      resumed=resumed)[self.market]
        self.loop = task.LoopingCall(self._save_progress)
        self.loop.start(self.config.crawl.progress_interval, now=False)

    def _save_progress(self):
        """The stats are read here, in the reactor's thread; the store is written in a worker
        thread so a slow store never stalls crawling (the loop waits for the write)."""
        snapshot = [(self.job, dict(self.stats.get_stats()))]
        self.saving = threads.deferToThread(self.history.progress, snapshot).addErrback(
            lambda failure: log.warning("job progress not saved: %s", failure.value))
        return self.saving

    async def spider_closed(self, spider, reason: str) -> None:
        if self.loop and self.loop.running:
            self.loop.stop()
        if self.saving is not None and not self.saving.called:
            # a progress write still under way would land after the outcome and say "running"
            # again: a later crawl would then call the job interrupted
            await maybe_deferred_to_future(self.saving)
        try:
            if self.job is not None:
                stats = {**self.stats.get_stats(), "finish_reason": reason}
                # with a shared frontier only the worker that saw the crawl complete may judge
                # what the market no longer shows, and only if the crawl began as a full one
                # (history.finish checks this part's mode)
                complete = not self.config.crawl.frontier or (bool(stats.get("interdict/frontier/completed"))
                                                              and stats.get("interdict/frontier/mode") == "full")
                self.job = self.history.finish(self.job, stats, crawl_complete=complete)
                self.stats.set_value("interdict/job", self.job.id)
        finally:
            logging.getLogger().removeHandler(self.errors)
            self._release()
