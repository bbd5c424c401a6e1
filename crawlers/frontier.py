"""A market's crawl frontier shared through Redis (scrapy-redis), safe to kill at any point.

scrapy-redis pops a request destructively: a worker killed after the pop loses the page. Here
a pop moves the request into the popping worker's lease (a Redis hash) and the lease is
settled only once what the page gave is safe: its links in the shared queue and its items
committed by the index pipeline (crawlers.signals). A dead worker's leases go back to the
queue. So several workers share one market's crawl without fetching a page twice, and a crawl
killed anywhere resumes at its next start without losing a listing.

Keys per market, under interdict:frontier:<market>: queue (sorted set), seen (fingerprints),
meta (when the crawl began), workers (heartbeats), leases:<worker>. The crawl is complete, and
every key deleted, when the queue is empty and no worker holds a lease (decided once, in Lua).
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import time
import uuid
from datetime import UTC, datetime

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.exceptions import CloseSpider
from scrapy.http import Request
from scrapy.utils.defer import deferred_from_coro
from redis import RedisError
from scrapy_redis.connection import get_redis_from_settings
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue
from scrapy_redis.scheduler import Scheduler
from twisted.internet import task

from crawlers import signals as crawl_signals

log = logging.getLogger(__name__)

LEASE_META = "interdict_lease"

_POP = """
local m = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #m == 0 then return false end
redis.call('ZREM', KEYS[1], m[1])
redis.call('HSET', KEYS[2], m[1], m[2])
return m[1]
"""
# The fingerprint is recorded and the request queued in one step: a kill between the two
# would otherwise leave a page "seen" that nobody will ever fetch.
_PUSH = """
if ARGV[1] ~= '' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
"""
_REQUEUE = """
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do redis.call('ZADD', KEYS[2], all[i + 1], all[i]) end
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return #all / 2
"""
_PENDING = """
local n = redis.call('ZCARD', KEYS[1])
for _, w in ipairs(redis.call('HKEYS', KEYS[2])) do
  if w ~= ARGV[2] then n = n + redis.call('HLEN', ARGV[1] .. w) end
end
return n
"""
_COMPLETE = """
if redis.call('EXISTS', KEYS[3]) == 0 or redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
for _, w in ipairs(redis.call('HKEYS', KEYS[2])) do
  if redis.call('HLEN', ARGV[1] .. w) > 0 then return 0 end
end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
return 1
"""


def frontier_prefix(market: str) -> str:
    return f"interdict:frontier:{market}"


def live_workers(server, market: str, lease_timeout: float) -> list[str]:
    """Workers of the market's crawl that are alive (see Frontier._dead)."""
    beats = server.hgetall(frontier_prefix(market) + ":workers")
    return [w.decode() for w, at in beats.items() if not _dead(w.decode(), float(at), lease_timeout)]


def _dead(worker: str, heartbeat: float, lease_timeout: float) -> bool:
    host, pid, _ = worker.rsplit(":", 2)
    if host == socket.gethostname():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
    return time.time() - heartbeat > lease_timeout


class FingerprintDupeFilter(RFPDupeFilter):
    """scrapy-redis's shared filter, keyed by the project's own request fingerprints (a page
    served by another mirror of the market is the same page)."""

    def __init__(self, server, key, debug=False, fingerprinter=None):
        super().__init__(server, key, debug)
        self.fingerprinter = fingerprinter

    def request_fingerprint(self, request: Request) -> str:
        return self.fingerprinter.fingerprint(request).hex()


class LeasedPriorityQueue(PriorityQueue):
    """scrapy-redis's priority queue whose pop leases instead of removing."""

    def __init__(self, server, spider, key, serializer=None, leases: str = ""):
        super().__init__(server, spider, key, serializer)
        self.leases = leases
        self._pop, self._push = server.register_script(_POP), server.register_script(_PUSH)

    def encode(self, request: Request) -> bytes:
        return self._encode_request(request)

    def decode(self, data: bytes) -> Request:
        return self._decode_request(data)

    def push_new(self, seen_key: str, fingerprint: str, request: Request) -> bool:
        return bool(self._push(keys=[seen_key, self.key], args=[fingerprint, -request.priority, self.encode(request)]))

    def pop_leased(self) -> bytes | None:
        return self._pop(keys=[self.key, self.leases])


class Frontier(Scheduler):
    """The shared scheduler (SCHEDULER = "crawlers.frontier.Frontier", set by crawlers.settings
    when crawl.frontier names a Redis server)."""

    def __init__(self, server, crawler: Crawler, lease_timeout: float, **kwargs):
        super().__init__(server, persist=True, **kwargs)
        self.crawler, self.lease_timeout = crawler, lease_timeout
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
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
        frontier = cls(get_redis_from_settings(settings), crawler,
                       settings.getfloat("INTERDICT_FRONTIER_LEASE_TIMEOUT", 30),
                       queue_cls="crawlers.frontier.LeasedPriorityQueue")
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
        self.df = FingerprintDupeFilter(self.server, self._key("seen"), fingerprinter=self.crawler.request_fingerprinter)
        self._requeue, self._pending = self.server.register_script(_REQUEUE), self.server.register_script(_PENDING)
        self._complete = self.server.register_script(_COMPLETE)
        if self.crawler.stats.get_value("interdict/refused"):
            self.inert = True  # not crawled (crawlers.jobs): touch nothing
            return
        try:
            self._join()
        except RedisError as exc:  # gone since the market was claimed: nothing is fetched
            self.inert = True
            self.stats.set_value("interdict/frontier/unavailable", f"the crawl frontier (Redis) is unreachable: {str(exc).rstrip('.')}")

    def _join(self) -> None:
        self.server.hsetnx(self._key("meta"), "started", datetime.now(UTC).isoformat())
        self._reclaim()
        self.stats.set_value("interdict/frontier/started", self.crawl_started())
        waiting = len(self.queue)
        if waiting:
            self.stats.set_value("interdict/frontier/resumed", waiting)
            log.warning("%s: resuming the crawl begun %s: %d request(s) waiting in the shared frontier",
                        self.market, self.crawl_started(), waiting)
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
        self.server.hset(self._key("workers"), self.worker, time.time())
        for worker, at in self.server.hgetall(self._key("workers")).items():
            worker = worker.decode()
            if worker != self.worker and _dead(worker, float(at), self.lease_timeout):
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
            message = f"the crawl frontier (Redis) became unreachable: {str(exc).rstrip('.')}"
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
        elif len(self.queue):
            log.warning("%s: %d request(s) stay in the shared frontier; the next crawl of %s resumes them",
                        self.market, len(self.queue), self.market)

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

    def _done(self, response, items: int) -> None:
        if LEASE_META in response.meta:
            self.signals.send_catch_log(crawl_signals.page_done, response=response, items=items)

    def process_spider_output(self, response, result, spider=None):
        items = 0
        try:
            for out in result:
                items += not isinstance(out, Request)
                yield out
        except CloseSpider:
            raise
        except Exception:
            self._done(response, items)
            raise
        self._done(response, items)

    async def process_spider_output_async(self, response, result, spider=None):
        items = 0
        try:
            async for out in result:
                items += not isinstance(out, Request)
                yield out
        except CloseSpider:
            raise
        except Exception:
            self._done(response, items)
            raise
        self._done(response, items)
