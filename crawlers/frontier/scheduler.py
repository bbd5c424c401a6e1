"""The shared scheduler: leases, their settling, dead workers' pages given back, the crawl's end."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import UTC, datetime

from redis import RedisError
from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.http import Request
from scrapy.utils.defer import deferred_from_coro
from scrapy_redis import defaults as redis_defaults
from scrapy_redis.connection import get_redis
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from crawlers import signals as crawl_signals
from crawlers.addon import interdict_config
from crawlers.frontier.keys import (
    COMPLETE_SCRIPT,
    LEASE_META,
    PENDING_SCRIPT,
    REQUEUE_SCRIPT,
    FingerprintDupeFilter,
    LeasedPriorityQueue,
    frontier_prefix,
    is_dead,
    server_time,
    unreachable,
)
from crawlers.history import RUNNER

log = logging.getLogger(__name__)


def frontier_server(settings):
    """The scheduler's client: the server in Interdict's configuration (its URL may hold a
    password, so it is never a Scrapy setting, which Scrapy logs), scrapy-redis's client options."""
    params = {**redis_defaults.REDIS_PARAMS, **settings.getdict("REDIS_PARAMS")}
    return get_redis(url=interdict_config(settings).crawl.frontier, **params)


class Frontier(Scheduler):
    """The shared scheduler (SCHEDULER = "crawlers.frontier.Frontier", set by crawlers.addon
    when crawl.frontier names a Redis server)."""

    def __init__(self, server, crawler: Crawler, lease_timeout: float, **kwargs):
        super().__init__(server, persist=True, **kwargs)
        self.crawler, self.lease_timeout = crawler, lease_timeout
        self.worker = f"{RUNNER}:{uuid.uuid4().hex[:8]}"  # host:pid:nonce (is_dead reads host and pid)
        self.leased: dict[str, bytes] = {}  # token -> the request as queued (the lease's field)
        self.items_expected: dict[str, int] = {}  # token -> items its page gave (once all given)
        self.items_done: dict[str, int] = {}  # token -> of those, committed or dropped
        self.uncommitted: dict[int, str] = {}  # id(item) through the pipelines -> token of its page
        self.committed_early: set[int] = set()  # id(item) committed before its item_scraped
        self.heartbeat: task.LoopingCall | None = None
        self.inert = False

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "Frontier":
        settings = crawler.settings
        frontier = cls(frontier_server(settings), crawler,
                       settings.getfloat("INTERDICT_FRONTIER_LEASE_TIMEOUT", 30))
        frontier.stats = crawler.stats
        # The engine polls an empty scheduler every 5 s; a worker waiting for pages its peers
        # will add should look sooner. (A private attribute of Scrapy's engine, read per call.)
        crawler.engine._SLOT_HEARTBEAT_INTERVAL = settings.getfloat("INTERDICT_FRONTIER_POLL", 0.5)
        crawler.signals.connect(frontier._committed, signal=crawl_signals.items_committed)
        crawler.signals.connect(frontier._settled, signal=crawl_signals.request_settled)
        crawler.signals.connect(frontier._page_done, signal=crawl_signals.page_done)
        crawler.signals.connect(frontier._item_scraped, signal=signals.item_scraped)
        crawler.signals.connect(frontier._item_gone, signal=signals.item_dropped)
        crawler.signals.connect(frontier._item_gone, signal=signals.item_error)
        return frontier

    # -- keys and scripts -------------------------------------------------------------

    def _key(self, name: str) -> str:
        return f"{self.prefix}:{name}"

    def open(self, spider) -> None:
        self.spider, self.market = spider, spider.market_name
        self.prefix = frontier_prefix(self.market)
        self.queue = LeasedPriorityQueue(self.server, spider, self._key("queue"), self.serializer,
                                         leases=self._key(f"leases:{self.worker}"))
        self.df = FingerprintDupeFilter(self.server, self._key("seen"),
                                        fingerprinter=self.crawler.request_fingerprinter)
        self._requeue = self.server.register_script(REQUEUE_SCRIPT)
        self._pending = self.server.register_script(PENDING_SCRIPT)
        self._complete = self.server.register_script(COMPLETE_SCRIPT)
        if self.crawler.stats.get_value("interdict/refused"):
            self.inert = True  # not crawled (crawlers.jobs): touch nothing
            return
        try:
            self._join()
        except RedisError as exc:  # gone since the market was claimed: nothing is fetched
            self.inert = True
            self.stats.set_value("interdict/frontier/unavailable", unreachable(exc))

    def _join(self) -> None:
        self.server.hsetnx(self._key("meta"), "started", datetime.now(UTC).isoformat())
        self.server.hsetnx(self._key("meta"), "mode", self.spider.mode)
        begun_as = self.server.hget(self._key("meta"), "mode").decode()
        self.stats.set_value("interdict/frontier/mode", begun_as)
        if begun_as != self.spider.mode:
            log.warning("%s: this %s crawl continues %s %s crawl under way; it is judged as one (an incremental "
                        "part means nothing is marked gone)", self.market, self.spider.mode,
                        "an" if begun_as == "incremental" else "a", begun_as)
        self._reclaim()
        started = self.crawl_started()
        self.stats.set_value("interdict/frontier/started", started)
        waiting = len(self.queue)
        if waiting:
            self.stats.set_value("interdict/frontier/resumed", waiting)
            log.warning("%s: resuming the crawl begun %s: %d request(s) waiting in the shared frontier",
                        self.market, started, waiting)
        self.heartbeat = task.LoopingCall(self._beat)
        self.heartbeat.start(max(0.5, min(5.0, self.lease_timeout / 4)), now=False)

    def crawl_started(self) -> str:
        started = self.server.hget(self._key("meta"), "started")
        return started.decode() if started else ""

    def _beat(self) -> None:
        try:
            self._reclaim()
        except RedisError as exc:
            self._lost(exc)

    def _reclaim(self) -> None:
        """Say this worker is alive; give the leases of dead workers back to the queue."""
        now = server_time(self.server)
        self.server.hset(self._key("workers"), self.worker, now)
        for worker, at in self.server.hgetall(self._key("workers")).items():
            worker = worker.decode()
            if worker != self.worker and is_dead(worker, now - float(at), self.lease_timeout):
                back = self._requeue(keys=[self._key(f"leases:{worker}"), self._key("queue"), self._key("workers")],
                                     args=[worker])
                if back:
                    self.stats.inc_value("interdict/frontier/reclaimed", int(back))
                    log.warning("%s: %d request(s) of worker %s, which ended without finishing them, are queued "
                                "again", self.market, back, worker)

    # -- the Scrapy scheduler interface ------------------------------------------------

    def enqueue_request(self, request: Request) -> bool:
        if self.inert:
            return False
        replaced = request.meta.pop(LEASE_META, None)  # a retry or redirect of a leased request
        fingerprint = "" if request.dont_filter else self.df.request_fingerprint(request)
        try:
            added = self.queue.push_new(self._key("seen"), fingerprint, request)
        except RedisError as exc:
            return self._lost(exc)  # the page that gave it stays leased: fetched again on resume
        if added:
            self.stats.inc_value("scheduler/enqueued/redis")
        else:
            self.df.log(request, self.spider)
        if replaced:
            self._ack([replaced])  # its successor is queued (or already known): nothing left of it
        return added

    def next_request(self) -> Request | None:
        if self.inert:
            return None
        try:
            data = self.queue.pop_leased()
        except RedisError as exc:
            self._lost(exc)
            return None
        if data is None:
            return None
        request = self.queue.decode(data)
        token = hashlib.sha1(data).hexdigest()
        self.leased[token] = data
        request.meta[LEASE_META] = token
        self.stats.inc_value("scheduler/dequeued/redis")
        return request

    def has_pending_requests(self) -> bool:
        """Pages queued, or pages other workers are still on (they may find more)."""
        if self.inert:
            return False
        try:
            return self._pending(keys=[self._key("queue"), self._key("workers")],
                                 args=[self._key("leases:"), self.worker]) > 0
        except RedisError as exc:
            return self._lost(exc)

    def close(self, reason: str) -> None:
        if self.heartbeat and self.heartbeat.running:
            self.heartbeat.stop()
        if self.inert:
            return
        try:
            self._close(reason)
        except RedisError as exc:
            self._lost(exc)

    def _lost(self, exc: RedisError) -> bool:
        """Redis is gone: stop crawling. What the frontier held stays in Redis (this worker's
        unfinished pages still leased), so a crawl started once it is back resumes."""
        if not self.inert:
            self.inert = True
            message = unreachable(exc, since_start=True)
            self.stats.set_value("interdict/frontier/unavailable", message)
            log.error("%s: %s; the crawl stops, and the next crawl of %s resumes it", self.market, message, self.market)
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="frontier_unavailable"))
        return False

    def _close(self, reason: str) -> None:
        # the pipelines closed first: what is still leased was never finished here
        unfinished = self._requeue(keys=[self.queue.leases, self._key("queue"), self._key("workers")],
                                   args=[self.worker])
        if unfinished:
            self.stats.set_value("interdict/frontier/requeued", int(unfinished))
        if reason == "finished" and self._complete(
                keys=[self._key("queue"), self._key("workers"), self._key("meta"), self._key("seen")],
                args=[self._key("leases:")]):
            self.stats.set_value("interdict/frontier/completed", 1)
            log.info("%s: crawl complete; the shared frontier is cleared", self.market)
        elif waiting := len(self.queue):
            log.warning("%s: %d request(s) stay in the shared frontier; the next crawl of %s resumes them",
                        self.market, waiting, self.market)

    # -- settling leases ---------------------------------------------------------------
    # A page is settled once its callback is done and each of its items is either dropped or
    # committed. Items are known by identity: the index pipeline commits the very objects that
    # item_scraped later reports (or reported already), each alive until both have happened.

    def _ack(self, tokens) -> None:
        fields = [self.leased.pop(t) for t in tokens if t in self.leased]
        for token in tokens:
            self.items_expected.pop(token, None)
            self.items_done.pop(token, None)
        if fields and not self.inert:
            try:
                self.server.hdel(self.queue.leases, *fields)
            except RedisError as exc:
                self._lost(exc)

    def _page_done(self, response, items: int) -> None:
        token = response.meta.get(LEASE_META)
        if token in self.leased:
            self.items_expected[token] = items
            self._maybe_settle(token)

    def _one_done(self, token: str) -> None:
        self.items_done[token] = self.items_done.get(token, 0) + 1
        self._maybe_settle(token)

    def _maybe_settle(self, token: str) -> None:
        expected = self.items_expected.get(token)
        if expected is not None and self.items_done.get(token, 0) >= expected:
            self._ack([token])

    def _item_scraped(self, item, response=None, **_) -> None:
        if id(item) in self.committed_early:
            self.committed_early.discard(id(item))
            token = response.meta.get(LEASE_META) if response is not None else None
            if token in self.leased:
                self._one_done(token)
        elif response is not None and response.meta.get(LEASE_META) in self.leased:
            self.uncommitted[id(item)] = response.meta[LEASE_META]

    def _item_gone(self, item=None, response=None, **_) -> None:
        token = response.meta.get(LEASE_META) if response is not None else None
        if token in self.leased:
            self._one_done(token)

    def _committed(self, items) -> None:
        for item in items:
            token = self.uncommitted.pop(id(item), None)
            if token is None:
                self.committed_early.add(id(item))  # its item_scraped is still to come
            elif token in self.leased:
                self._one_done(token)

    def _settled(self, request: Request) -> None:
        self._ack([request.meta.get(LEASE_META)])
