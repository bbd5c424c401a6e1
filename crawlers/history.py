"""Crawl job history: each market crawl recorded in the store as it starts, as it goes and
again with its outcome; a job a killed process left "running" is marked interrupted by the
next crawl of that market. Recorded by the crawl itself (crawlers.jobs), shown by `interdict
jobs`, the API and the metrics."""

from __future__ import annotations

import os
import socket
import sys
import uuid
from datetime import UTC, datetime

from index import StoreError, open_store
from contracts.jobs import CrawlJob
from index import CrawlLedger

RUNNER = f"{socket.gethostname()}:{os.getpid()}"


def runner_alive(runner: str) -> bool:
    host, _, pid = runner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return True  # another machine's process: cannot tell, so not ours to judge
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def job_counts(stats: dict) -> dict:
    """What a crawl's Scrapy stats say it did so far: the job's counters."""
    def count(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    served = {k.removeprefix("interdict/mirror/served/"): v for k, v in stats.items()
              if k.startswith("interdict/mirror/served/")}
    return {
        "pages": pages_fetched(stats),
        "listings": count("interdict/listings/scraped"), "listings_new": count("interdict/index/listings_new"),
        "listings_updated": count("interdict/index/listings_updated"),
        "listings_unchanged": count("interdict/index/listings_unchanged"),
        "vendors": count("interdict/vendors/scraped"),
        "errors": count("downloader/exception_count") + count("interdict/log_errors"),
        "bans": count("interdict/tor/bans"), "circuit_renewals": count("interdict/tor/circuit_renewals"),
        "mirror": max(served, key=served.get) if served else None}


def pages_fetched(stats) -> int:
    """Responses to page requests: every response less those of listing images (crawlers/images.py)."""
    return int(stats.get("response_received_count", 0)) - int(stats.get("interdict/images/responses", 0))


def job_outcome(job: CrawlJob, stats: dict) -> CrawlJob:
    """The job as the crawl's Scrapy stats tell its end."""
    counts = job_counts(stats)
    finish = stats.get("finish_reason")
    if stats.get("interdict/paused"):
        status, reason = "paused", f"{stats['interdict/paused']} at {stats.get('interdict/paused_url', '?')}"
    elif finish == "output_closed":
        status, reason = "interrupted", "its output was closed (the reader of `-o -` went away)"
    elif stats.get("interdict/frontier/unavailable"):
        status, reason = "failed", str(stats["interdict/frontier/unavailable"])
    elif finish not in (None, "finished"):
        status, reason = "failed", str(finish)
    elif counts["pages"] == 0:
        status, reason = "failed", "no page could be fetched (market down or unreachable)"
    else:
        status, reason = "finished", ""
    return job.model_copy(update={"ended": datetime.now(UTC), "status": status, "reason": reason, **counts})


class JobHistory:
    """Records jobs in the crawl's store. The history must never stop a crawl: when the store
    cannot take a record (an outage), the crawl goes on and the operator is told."""

    def __init__(self, config, store_target: str | None):
        self.config, self.target = config, store_target

    def _with_store(self, action) -> None:
        try:
            with open_store(self.config, self.target) as store:
                action(store)
        except StoreError as exc:
            print(f"interdict: warning: job history not recorded: {exc}", file=sys.stderr)

    def start(self, markets: list[str], trigger: str = "manual", mode: str = "full",
              crawl_started: datetime | None = None, resumed: int = 0) -> dict[str, CrawlJob]:
        now = datetime.now(UTC)
        jobs = {m: CrawlJob(id=uuid.uuid4().hex[:16], market=m, mode=mode, trigger=trigger, started=now,
                            runner=RUNNER, crawl_started=crawl_started, resumed=resumed) for m in markets}

        def record(store: CrawlLedger) -> None:
            for market, job in jobs.items():
                for earlier in store.jobs(market=market, limit=20):
                    if earlier.status == "running" and not runner_alive(earlier.runner):
                        store.save_job(earlier.model_copy(update={
                            "status": "interrupted", "reason": f"the crawl process {earlier.runner} ended without "
                                                               "recording an outcome (killed or crashed)"}))
                store.save_job(job)

        self._with_store(record)
        return jobs

    def progress(self, jobs: list[tuple[CrawlJob, dict]]) -> None:
        """Counters of running jobs so far (live in `interdict status` and the metrics, and
        what a killed crawl's record keeps)."""
        now = datetime.now(UTC)

        def record(store: CrawlLedger) -> None:
            for job, stats in jobs:
                store.save_job(job.model_copy(update={**job_counts(stats), "progress_at": now}))

        self._with_store(record)

    def finish(self, job: CrawlJob, stats: dict, crawl_complete: bool = True) -> CrawlJob:
        """crawl_complete: this job ended the market's crawl (with a shared frontier, only the
        last worker's job does; the crawl began with the first, perhaps interrupted, job)."""
        done = job_outcome(job, stats)

        def record(store: CrawlLedger) -> None:
            nonlocal done
            if done.status == "finished" and done.mode == "full" and crawl_complete:
                # Only a crawl that went everywhere can tell what is gone.
                gone = store.record_missed(done.market, done.crawl_started or done.started, done.ended,
                                           self.config.crawl.inactive_after)
                done = done.model_copy(update={"listings_missed": gone.listings_missed,
                                               "listings_inactivated": gone.listings_inactivated,
                                               "vendors_disappeared": gone.vendors_disappeared})
            store.save_job(done)

        self._with_store(record)
        return done
