"""Circuit renewal: when a Tor market answers with a ban or rate-limit page, move the
market to a fresh circuit (a new isolation generation, so a new SOCKS username) and ask
Tor for new circuits (NEWNYM over the control port, no more often than Tor allows)."""

from __future__ import annotations

import logging
import time

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured
from scrapy.http import Response, TextResponse
from scrapy.utils.defer import maybe_deferred_to_future
from twisted.internet import threads

from crawlers.addon import interdict_config
from crawlers.transport.routing import ISOLATION_META, market_of, route_for

log = logging.getLogger(__name__)
BAN_RETRIES = 3
BAN_META = "interdict_ban_retries"


def send_newnym(host: str, port: int, password: str) -> None:
    from stem import Signal
    from stem.control import Controller

    with Controller.from_port(address=host, port=port) as controller:
        controller.authenticate(password=password or None)  # cookie auth when offered
        controller.signal(Signal.NEWNYM)


class CircuitRenewalMiddleware:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        settings = crawler.settings
        self.control = (settings.get("TOR_CONTROL_HOST"), settings.getint("TOR_CONTROL_PORT"))
        # Read from the config, not Scrapy settings: Scrapy logs settings, and this is a secret.
        self.password = interdict_config(settings).tor.control_password
        self.min_interval = settings.getfloat("TOR_NEWNYM_MIN_INTERVAL", 10)
        self.last_newnym = float("-inf")

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "CircuitRenewalMiddleware":
        if market_of(crawler) is None:
            raise NotConfigured  # not a market spider: no market's bans to renew circuits for
        return cls(crawler)

    def is_ban(self, response: Response, market) -> bool:
        if response.status in market.ban_statuses:
            return True
        if isinstance(response, TextResponse) and market.ban_patterns:
            head = response.text[:65536].lower()
            return any(pattern.lower() in head for pattern in market.ban_patterns)
        return False

    async def process_response(self, request: Request, response: Response):
        market = market_of(self.crawler)
        if market is None or route_for(request, market) != "tor" or not self.is_ban(response, market):
            return response
        self.crawler.stats.inc_value("interdict/tor/bans")
        retries = request.meta.get(BAN_META, 0)
        if retries >= BAN_RETRIES:
            log.warning("%s still answers with a ban after %d new circuits: %s", market.name, retries, request.url)
            return response
        await self.renew(market.name)
        meta = {k: v for k, v in request.meta.items() if k != ISOLATION_META}
        meta[BAN_META] = retries + 1
        return request.replace(meta=meta, dont_filter=True)

    async def renew(self, market: str) -> None:
        spider = self.crawler.spider
        spider.circuit_generation = getattr(spider, "circuit_generation", 0) + 1
        self.crawler.stats.inc_value("interdict/tor/circuit_renewals")
        now = time.monotonic()
        if now - self.last_newnym < self.min_interval:
            return  # the new isolation generation already gives a new circuit
        self.last_newnym = now
        try:
            # the retry waits for the signal, so it goes out on a circuit built after it
            await maybe_deferred_to_future(threads.deferToThread(send_newnym, *self.control, self.password))
        except Exception as exc:  # noqa: BLE001 - a failed NEWNYM must not stop the crawl
            log.error("%s: NEWNYM failed: %s", market, exc)
        else:
            self.crawler.stats.inc_value("interdict/tor/newnym")
