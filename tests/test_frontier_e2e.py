"""The shared crawl frontier on a real Redis: crawls killed with SIGKILL at several points
resume to exactly the index an uninterrupted crawl makes, and three worker processes share one
crawl of the demo markets without fetching a page twice. Real `interdict crawl` processes, the
demo markets served on loopback (each request they serve is logged, so fetches are counted
at the server)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
import redis

from conftest import EVIDENCE_DIR, REPO, SPOOL_DIR, run_cli
from index.embedded import EmbeddedStore
from interdict.demo.run import demo_markets, free_port
from interdict.demo.sites import SITES
from interdict.redisnode import RedisNode

pytestmark = pytest.mark.e2e

# What differs between two crawls of the same pages by nature: when pages were read and enriched,
# and where their evidence went in which WARC file.
OBSERVED_AT = {"first_seen", "last_seen", "crawled_at", "enriched_at", "at", "evidence"}


def index_contents(store_path, market: str | None = None, ignore: frozenset = frozenset()) -> tuple[dict, dict]:
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in OBSERVED_AT | ignore}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    with EmbeddedStore(store_path) as store:
        listings = {d.id: strip(d.model_dump(mode="json")) for d in store.iter_listings()
                    if market in (None, d.market)}
        vendors = {d.id: strip(d.model_dump(mode="json")) for d in store.iter_vendors()
                   if market in (None, d.market)}
    return listings, vendors


class Served:
    """The demo markets' access log, read from where a run began."""

    def __init__(self, path):
        self.path, self.offset = path, path.stat().st_size if path.exists() else 0

    def lines(self) -> list[str]:
        with open(self.path, encoding="utf-8") as log:
            log.seek(self.offset)
            return [line.rstrip("\n") for line in log if not line.rstrip().endswith("/robots.txt")]


@pytest.fixture(scope="module")
def markets(tmp_path_factory, catalog, redis_server):
    """Both demo markets (10 ms per page, so workers overlap), a config using the shared
    frontier, and one uninterrupted crawl of both: the reference index and fetch counts."""
    work = tmp_path_factory.mktemp("frontier")
    ports = {"sable": free_port(), "vesper": free_port()}
    config = work / "operator.toml"
    config.write_text(f'''
[crawl]
state_dir = "{work / 'state'}"
frontier = "{redis_server.url}"
[markets.sable]
base_urls = ["http://127.0.0.1:{ports['sable']}"]
[markets.vesper]
base_urls = ["http://127.0.0.1:{ports['vesper']}"]
''')
    access = work / "access.log"
    redis.Redis.from_url(redis_server.url).flushdb()
    with demo_markets("127.0.0.1", ports, catalog.seed, 0, latency_ms=10, access_log=access):
        served = Served(access)
        reference = work / "reference.db"
        done = run_cli("--config", str(config), "crawl", "sable", "vesper", "--store", str(reference), "--verbose")
        assert done.returncode == 0, done.stderr[-3000:]
        assert redis_server.password not in done.stderr + done.stdout  # Scrapy's INFO log included
        yield {"config": config, "work": work, "access": access, "reference": reference, "ports": ports,
               "fetched": Counter(served.lines()), "redis": redis.Redis.from_url(redis_server.url),
               "photos": {f"{name} {path}" for name in ("sable", "vesper") for path in SITES[name](catalog).image_paths}}


def crawl_process(markets, store, *args, config=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "interdict.cli", "--config", str(config or markets["config"]), "crawl", *args,
         "--store", str(store)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "INTERDICT_STORE__SPOOL_DIR": str(SPOOL_DIR), "INTERDICT_EVIDENCE__DIR": str(EVIDENCE_DIR)})


def frontier_keys(markets) -> list[bytes]:
    return markets["redis"].keys("interdict:frontier:*")


def test_the_reference_crawl_leaves_no_frontier_behind(markets, catalog):
    listings, vendors = index_contents(markets["reference"])
    shown = sum(len(m.listings) for m in catalog.markets.values())
    assert len(listings) >= shown - 10  # the demo's few deliberately broken listings aside
    assert frontier_keys(markets) == []
    # one uninterrupted crawl fetches each page once, bar the retries of the page answering 500
    assert {n for n in markets["fetched"].values()} <= {1, 3}
    assert sum(1 for n in markets["fetched"].values() if n == 3) <= 2


@pytest.mark.parametrize("kill_after", [(3,), (600,), (1300,), (250, 900)],
                         ids=["at-the-start", "midway", "near-the-end", "twice"])
def test_a_crawl_killed_anywhere_resumes_to_exactly_the_uninterrupted_index(markets, kill_after):
    """SIGKILL once the market has served N pages of the crawl (whatever the crawler was doing
    then: fetching, enriching, writing), then run the same command again until it ends."""
    store = markets["work"] / f"killed-{'-'.join(map(str, kill_after))}.db"
    served = Served(markets["access"])
    for n in kill_after:
        proc = crawl_process(markets, store, "sable")
        deadline = time.monotonic() + 120
        while len(served.lines()) < n and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, f"the crawl ended before {n} pages: {proc.stderr.read()[-2000:]}"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert frontier_keys(markets), "a killed crawl must leave its frontier in Redis"
    status = run_cli("--config", str(markets["config"]), "status", "--store", str(store)).stdout
    assert re.search(r"^ +frontier: crawl begun [\d-]+ [\d:]+: \d+ queued, \d+ in hand, 0 worker\(s\) alive$",
                     status, re.M), status
    resumed = run_cli("--config", str(markets["config"]), "crawl", "sable", "--store", str(store))
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "sable: resumed the crawl begun" in resumed.stderr
    assert frontier_keys(markets) == []  # complete: cleared

    assert index_contents(store, "sable") == index_contents(markets["reference"], "sable")
    with EmbeddedStore(store) as db:
        assert all(d.seen_count == 1 for d in db.iter_listings())  # no page counted twice
        jobs = sorted(db.jobs(market="sable"), key=lambda j: j.started)
    assert [j.status for j in jobs] == ["interrupted"] * len(kill_after) + ["finished"]
    # the last job continued the crawl the first began (what it judges gone counts from there)
    assert timedelta(0) <= jobs[0].started - jobs[-1].crawl_started < timedelta(seconds=5)
    assert jobs[-1].resumed > 0
    # nothing fetched was lost; what was fetched again is what the killed crawls held unfinished
    fetched = Counter(served.lines())
    reference = {p for p in markets["fetched"] if p.startswith("sable ")}
    assert set(fetched) == reference


def test_three_workers_share_one_crawl_without_fetching_a_page_twice(markets):
    store = markets["work"] / "workers.db"
    served = Served(markets["access"])
    workers = [crawl_process(markets, store, "sable", "vesper", "--join") for _ in range(3)]
    outputs = [w.communicate(timeout=300) for w in workers]
    for worker, (_, err) in zip(workers, outputs):
        assert worker.returncode == 0, err[-3000:]
    assert Counter(served.lines()) == markets["fetched"]  # every page, each as often as one crawler fetched it
    pages = [sum(int(n) for n in re.findall(r"^\w+: (\d+) pages", err, flags=re.M)) for _, err in outputs]
    # listing photos are fetched too (each once, above), and are not pages
    fetched_pages = sum(n for line, n in markets["fetched"].items() if line not in markets["photos"])
    assert len(markets["photos"] & set(markets["fetched"])) == 20
    assert all(p > 0 for p in pages) and sum(pages) == fetched_pages, pages
    assert index_contents(store) == index_contents(markets["reference"])
    assert frontier_keys(markets) == []
    with EmbeddedStore(store) as db:
        jobs = db.jobs(limit=50)
    assert sorted(j.market for j in jobs) == ["sable"] * 3 + ["vesper"] * 3
    assert all(j.status == "finished" for j in jobs)


def test_a_redis_outage_stops_the_crawl_and_the_next_crawl_resumes_it(markets, tmp_path):
    """Redis (durable: AOF, fsync always) is killed in the middle of a crawl: the crawl stops
    at once with the reason, its job is failed with it; with Redis back, the next crawl resumes
    and the index is the uninterrupted one."""
    server = RedisNode(tmp_path, durable=True).start()
    config = tmp_path / "operator.toml"
    config.write_text(re.sub(r'frontier = ".*"', f'frontier = "{server.url}"', markets["config"].read_text()))
    store, served = tmp_path / "store.db", Served(markets["access"])
    try:
        proc = crawl_process(markets, store, "sable", "--verbose", config=config)
        while len(served.lines()) < 400 and proc.poll() is None:
            time.sleep(0.02)
        server.kill()
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 1 and "Traceback" not in err, err[-3000:]
        # refused, or reset, or closed mid-answer: whichever call met the kill first
        assert re.search(r"sable: the crawl frontier \(Redis\) became unreachable: \w.*; what it held stays there", err)
        assert "crawl ended early: frontier_unavailable" in err and server.password not in err
        with EmbeddedStore(store) as db:
            failed = db.jobs(market="sable")[0]
        assert failed.status == "failed" and "frontier (Redis) became unreachable" in failed.reason

        server.start()  # the same data folder: the frontier as it was
        resumed = run_cli("--config", str(config), "crawl", "sable", "--store", str(store))
        assert resumed.returncode == 0, resumed.stderr[-3000:]
        assert "sable: resumed the crawl begun" in resumed.stderr
    finally:
        server.stop()
    # The pages in hand when Redis went could not be marked done: fetched again, they count as
    # seen twice (seen_count); everything else is as an uninterrupted crawl makes it.
    ignore = frozenset({"seen_count"})
    assert index_contents(store, "sable", ignore) == index_contents(markets["reference"], "sable", ignore)
    with EmbeddedStore(store) as db:
        assert {d.seen_count for d in db.iter_listings()} <= {1, 2}
    assert set(served.lines()) == {p for p in markets["fetched"] if p.startswith("sable ")}


def test_with_redis_down_a_crawl_fetches_nothing_and_says_why(markets, tmp_path):
    server = RedisNode(tmp_path)  # never started: its port refuses connections
    config = tmp_path / "operator.toml"
    config.write_text(re.sub(r'frontier = ".*"', f'frontier = "{server.url}"', markets["config"].read_text()))
    served = Served(markets["access"])
    proc = run_cli("--config", str(config), "crawl", "sable", "--store", str(tmp_path / "s.db"))
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    assert "sable: not crawled: the crawl frontier (Redis) is unreachable" in proc.stderr
    assert served.lines() == [] and server.password not in proc.stderr
    with EmbeddedStore(tmp_path / "s.db") as db:
        job = db.jobs(market="sable")[0]
    assert job.status == "failed" and "frontier (Redis) is unreachable" in job.reason


def test_a_worker_on_another_host_holds_the_market_until_its_heartbeat_stops(markets):
    """Another host cannot be run here, so a killed crawl's worker is renamed in Redis to one
    on host "elsewhere" (the one part simulated): while its heartbeat is fresh a crawl skips
    the market naming it; once it is older than crawl.frontier_lease_timeout (30 s) the next
    crawl takes its pages back and completes the crawl."""
    from crawlers.frontier.keys import server_time

    store, served, r = markets["work"] / "elsewhere.db", Served(markets["access"]), markets["redis"]
    proc = crawl_process(markets, store, "sable")
    while len(served.lines()) < 400 and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    prefix, ghost = "interdict:frontier:sable", "elsewhere:4242:0badc0de"
    (dead,) = r.hkeys(f"{prefix}:workers")
    held = r.hlen(f"{prefix}:leases:{dead.decode()}")
    assert held > 0
    r.rename(f"{prefix}:leases:{dead.decode()}", f"{prefix}:leases:{ghost}")
    r.hdel(f"{prefix}:workers", dead)
    r.hset(f"{prefix}:workers", ghost, server_time(r))  # alive, as far as anyone here can tell

    skipped = run_cli("--config", str(markets["config"]), "crawl", "sable", "--store", str(store))
    assert skipped.returncode == 1
    assert f"sable: skipped: another crawl of it is running (frontier workers {ghost})" in skipped.stderr
    assert r.hlen(f"{prefix}:leases:{ghost}") == held  # untouched

    r.hset(f"{prefix}:workers", ghost, server_time(r) - 31)  # silent for longer than the lease timeout
    done = run_cli("--config", str(markets["config"]), "crawl", "sable", "--store", str(store))
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"sable: {held} request(s) of ended workers queued again" in done.stderr
    assert index_contents(store, "sable") == index_contents(markets["reference"], "sable")
    assert frontier_keys(markets) == []


def test_a_crawl_that_began_incremental_judges_nothing_gone_when_a_full_one_completes_it(markets):
    """An incremental crawl skips listing pages the index knows; a full crawl resuming it never
    sees those pages (their index pages were read before the kill), so it must not count their
    listings as missed."""
    store, served = markets["work"] / "mixed.db", Served(markets["access"])
    shutil.copy(markets["reference"], store)
    proc = crawl_process(markets, store, "sable", "--mode", "incremental")
    while len(served.lines()) < 30 and proc.poll() is None:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = run_cli("--config", str(markets["config"]), "crawl", "sable", "--store", str(store))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "this full crawl continues an incremental crawl under way" in done.stderr
    with EmbeddedStore(store) as db:
        job = db.jobs(market="sable")[0]
        assert all(d.missed_crawls == 0 for d in db.iter_listings())
    assert (job.mode, job.status, job.listings_missed) == ("full", "finished", 0)
    assert frontier_keys(markets) == []
