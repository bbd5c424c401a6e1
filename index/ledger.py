"""What crawls record in the store they index into: the job history and which listings each
full crawl missed. The bookkeeping itself (jobs from Scrapy stats, interrupted runners) is the
crawl's, in crawlers/history.py; this is what both backends keep for it
(tests/store_contract/test_crawl_ledger.py)."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator
from datetime import datetime

from contracts.jobs import CrawlJob
from index.closable import Closable
from index.lifecycle import LifecycleReport


class CrawlLedger(Closable):
    @abstractmethod
    def listing_urls(self, market: str, seen_since: datetime) -> Iterator[str]:
        """URLs of the market's listings last seen at or after ``seen_since`` (incremental crawls)."""

    @abstractmethod
    def record_missed(self, market: str, crawl_started: datetime, crawl_ended: datetime,
                      after: int) -> LifecycleReport:
        """A full crawl of ``market`` ran from ``crawl_started`` to ``crawl_ended``: each of its
        listings and vendors last seen before it started missed it (index.lifecycle.missed)."""

    @abstractmethod
    def save_job(self, job: CrawlJob) -> None:
        """Record a crawl job (a new one, or the same id again with its outcome)."""

    @abstractmethod
    def jobs(self, market: str | None = None, limit: int = 50) -> list[CrawlJob]:
        """Crawl jobs, latest started first (ties by id), of one market or all."""
