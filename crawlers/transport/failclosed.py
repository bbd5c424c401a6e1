"""Fail closed when Tor is down: pause the market's crawl, probe Tor, resume or give up.
Requests that failed for want of Tor are put back, so nothing is lost and nothing is
fetched by another route."""

from __future__ import annotations

import logging
import socket
import time

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.utils.defer import deferred_from_coro
from twisted.internet import task, threads

from crawlers.transport.errors import TorUnavailableError
from crawlers.transport.socks_handler import parse_socks_url

log = logging.getLogger(__name__)


def tcp_reachable(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class FailClosedMiddleware:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.socks_host, self.socks_port = parse_socks_url(settings.get("TOR_SOCKS_URL"))
        self.interval = settings.getfloat("TOR_OUTAGE_PROBE_INTERVAL", 10)
        self.give_up = settings.getfloat("TOR_OUTAGE_GIVE_UP", 600)
        self.paused_since: float | None = None
        self.probe: task.LoopingCall | None = None
        crawler.signals.connect(self._stop_probe, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "FailClosedMiddleware":
        return cls(crawler)

    def process_exception(self, request: Request, exception: Exception):
        if not isinstance(exception, TorUnavailableError):
            return None
        self.crawler.stats.inc_value("interdict/tor/unavailable_errors")
        if self.paused_since is None:
            self.paused_since = time.monotonic()
            self.crawler.stats.inc_value("interdict/tor/pauses")
            log.error("%s: crawl paused: %s. Nothing is fetched outside Tor; probing every %.0f s.",
                      self.crawler.spider.name, exception, self.interval)
            self.crawler.engine.pause()
            self.probe = task.LoopingCall(self._check)
            self.probe.start(self.interval, now=False)
        return request.replace(dont_filter=True)  # back in the queue, not lost, not retried elsewhere

    def _check(self):
        deferred = threads.deferToThread(tcp_reachable, self.socks_host, self.socks_port)
        deferred.addCallback(self._probed)
        return deferred

    def _probed(self, reachable: bool):
        if self.paused_since is None:
            return
        waited = time.monotonic() - self.paused_since
        if reachable:
            log.warning("%s: Tor is back after %.0f s; crawl resumed", self.crawler.spider.name, waited)
            self.crawler.stats.inc_value("interdict/tor/paused_seconds", int(waited))
            self.paused_since = None
            self._stop_probe()
            self.crawler.engine.unpause()
        elif waited >= self.give_up:
            log.error("%s: Tor unavailable for %.0f s; stopping this market's crawl", self.crawler.spider.name, waited)
            self._stop_probe()
            self.crawler.engine.unpause()
            return deferred_from_coro(self.crawler.engine.close_spider_async(reason="tor_unavailable"))

    def _stop_probe(self, *_) -> None:
        if self.probe is not None and self.probe.running:
            self.probe.stop()
        self.probe = None
