"""Crawl job history: one record per market crawl, kept by the store the crawl indexes into
(both stores), so `interdict jobs`, the API and the metrics read one history."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from contracts.base import UtcDatetime

JobStatus = Literal["running", "finished", "failed", "paused", "interrupted"]


class CrawlJob(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    market: str
    mode: Literal["full", "incremental", "import"] = "full"  # import: `interdict import`, judges nothing
    trigger: str = "manual"  # manual, demo, schedule:NAME, scrapy (a plain `scrapy crawl`), scrapyd:JOB
    started: UtcDatetime
    ended: UtcDatetime | None = None
    status: JobStatus = "running"
    reason: str = ""  # why a job failed, paused or was interrupted, in words
    pages: int = 0
    listings: int = 0  # scraped
    listings_new: int = 0
    listings_updated: int = 0
    listings_unchanged: int = 0
    vendors: int = 0
    errors: int = 0  # download errors and logged errors
    bans: int = 0
    circuit_renewals: int = 0
    # what a finished full crawl did not see (index.lifecycle); incremental crawls judge nothing
    listings_missed: int = 0
    listings_inactivated: int = 0
    vendors_disappeared: int = 0
    mirror: str | None = None  # the mirror that served most pages
    progress_at: UtcDatetime | None = None  # when a running job's counters were last saved
    # A job continuing a crawl that an earlier, interrupted job began (crawl.frontier): when
    # that crawl began, and how many requests were waiting in its frontier when this one joined.
    crawl_started: UtcDatetime | None = None
    resumed: int = 0
    runner: str = ""  # host:pid of the process that ran it (a dead one left "running" = interrupted)

    @property
    def seconds(self) -> float | None:
        return (self.ended - self.started).total_seconds() if self.ended else None
