"""What operators watch: `interdict status` (each market: up, failing, paused at a wall,
running, never crawled; the mirror in use; the last success) and the same facts as
Prometheus metrics (`interdict metrics`, and GET /api/metrics on the API), from the job
history in the store and the hand-off states of paused markets."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from crawlers.handoff import MarketStates
from crawlers.history import runner_alive
from contracts.jobs import CrawlJob
from index.store import Store

HISTORY = 200  # jobs per market read for the counts by status


@dataclass
class MarketStatus:
    market: str
    state: str  # up, failing, paused, running, never crawled
    detail: str
    mirror: str | None
    last_success: CrawlJob | None
    last_job: CrawlJob | None
    jobs: list[CrawlJob]


def market_statuses(config, store: Store) -> list[MarketStatus]:
    pauses = {p.market: p for p in MarketStates(config.crawl.state_dir).pauses()}
    out = []
    for market in sorted(config.markets):
        jobs = store.jobs(market=market, limit=HISTORY)
        last = jobs[0] if jobs else None
        success = next((j for j in jobs if j.status == "finished"), None)
        pause = pauses.get(market)
        if pause is not None:
            state, detail = "paused", f"{pause.reason} at {pause.url} since {pause.since}: `interdict handoff`"
        elif last is None:
            state, detail = "never crawled", ""
        elif last.status == "running" and not runner_alive(last.runner):
            state, detail = "failing", f"the crawl process {last.runner} ended without an outcome (killed or crashed)"
        elif last.status == "running":
            state, detail = "running", f"since {last.started:%Y-%m-%d %H:%M} ({last.runner})"
            if last.progress_at:
                detail += (f": {last.pages} pages, {last.listings} listings, {last.errors} errors "
                           f"by {last.progress_at:%H:%M:%S}")
        elif last.status == "finished":
            state, detail = "up", ""
        else:
            state, detail = "failing", f"last job {last.status}: {last.reason}"
        mirror = next((j.mirror for j in jobs if j.mirror), None)
        out.append(MarketStatus(market, state, detail, mirror, success, last, jobs))
    return out


class _JobCollector:
    """Gauges computed at scrape time from the job history (prometheus_client custom collector)."""

    def __init__(self, statuses: list[MarketStatus], listings: int, vendors: int):
        self.statuses, self.listings, self.vendors = statuses, listings, vendors

    def collect(self):
        def family(name: str, doc: str, labels=("market",)) -> GaugeMetricFamily:
            return GaugeMetricFamily(f"interdict_{name}", doc, labels=list(labels))

        up = family("market_up", "1 when the market's last crawl finished and it is not paused")
        paused = family("market_paused", "1 while the market waits at a login wall, CAPTCHA or DDoS queue")
        success = family("crawl_last_success_timestamp_seconds", "end of the last crawl that finished")
        last = {name: family(f"crawl_last_job_{name}", f"{name.replace('_', ' ')} of the last ended crawl job")
                for name in ("pages", "listings", "listings_new", "listings_updated", "listings_unchanged", "errors",
                             "bans", "circuit_renewals", "listings_inactivated", "vendors_disappeared",
                             "duration_seconds")}
        running = {name: family(f"crawl_running_job_{name}", f"{name} so far of the market's running crawl job "
                                f"(saved every crawl.progress_interval seconds)")
                   for name in ("pages", "listings", "errors")}
        jobs = family("crawl_jobs", f"crawl jobs in the history (latest {HISTORY} per market) by status",
                      ("market", "status"))
        for status in self.statuses:
            m = [status.market]
            up.add_metric(m, 1.0 if status.state == "up" else 0.0)
            paused.add_metric(m, 1.0 if status.state == "paused" else 0.0)
            if status.last_success and status.last_success.ended:
                success.add_metric(m, status.last_success.ended.timestamp())
            ended = next((j for j in status.jobs if j.ended), None)
            if ended:
                for name, metric in last.items():
                    metric.add_metric(m, float(ended.seconds if name == "duration_seconds" else getattr(ended, name)))
            if status.state == "running":
                for name, metric in running.items():
                    metric.add_metric(m, float(getattr(status.last_job, name)))
            counts: dict[str, int] = {}
            for job in status.jobs:
                counts[job.status] = counts.get(job.status, 0) + 1
            for job_status, count in sorted(counts.items()):
                jobs.add_metric([status.market, job_status], float(count))
        yield from (up, paused, success, *last.values(), *running.values(), jobs)
        listings = GaugeMetricFamily("interdict_index_listings", "listings in the index")
        listings.add_metric([], float(self.listings))
        vendors = GaugeMetricFamily("interdict_index_vendors", "vendors in the index")
        vendors.add_metric([], float(self.vendors))
        yield from (listings, vendors)


def metrics_text(config, store: Store) -> bytes:
    registry = CollectorRegistry()
    registry.register(_JobCollector(market_statuses(config, store), store.count_listings(), store.count_vendors()))
    return generate_latest(registry)


def frontier_lines(config) -> dict[str, str]:
    """market -> a line on its crawl under way in the shared frontier (crawl.frontier)."""
    if not config.crawl.frontier:
        return {}
    from redis import RedisError

    from crawlers.frontier import connect, frontier_state, unreachable

    lines = {}
    try:
        with connect(config.crawl.frontier) as server:
            for market in sorted(config.markets):
                state = frontier_state(server, market, config.crawl.frontier_lease_timeout)
                if state.started:
                    lines[market] = (f"frontier: crawl begun {state.started[:19].replace('T', ' ')}: {state.queued} "
                                     f"queued, {state.in_hand} in hand, {state.workers} worker(s) alive")
    except RedisError as exc:
        return dict.fromkeys(config.markets, f"frontier: {unreachable(exc)}")
    return lines
