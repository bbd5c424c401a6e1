"""A Scrapy extension that tries the trackers on every batch a crawl writes (the index
pipeline sends ``crawlers.signals.documents_changed`` once a batch is in the store). Off when
the service's file (config [api] path) does not exist: no tracker can have been made."""

from __future__ import annotations

import logging

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawlers import signals as crawl_signals
from crawlers.addon import interdict_config
from index import open_store
from interdict.trackers import alerting

log = logging.getLogger(__name__)


class TrackerAlerts:
    def __init__(self, crawler):
        config = interdict_config(crawler.settings)
        self.store = open_store(config, crawler.settings.get("INTERDICT_STORE_PATH") or config.store.path)
        self._alerting = alerting(config, self.store)
        self.evaluator = self._alerting.__enter__()
        if self.evaluator is None:
            self.store.close()
            raise NotConfigured("no service file: no trackers")
        self.stats = crawler.stats
        crawler.signals.connect(self.changed, signal=crawl_signals.documents_changed)
        crawler.signals.connect(self.closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler) -> "TrackerAlerts":
        return cls(crawler)

    def changed(self, changes) -> None:
        news = self.evaluator(changes)
        if news:
            self.stats.inc_value("interdict/alerts", len(news))

    def closed(self, spider=None) -> None:
        self._alerting.__exit__(None, None, None)
        self.store.close()
