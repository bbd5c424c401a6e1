"""Schedules, incremental crawls and the one-crawl-per-market lock, on the demo market Sable
served for real on loopback and crawled by real `interdict crawl` / `schedule run` processes."""

import re

import pytest

from config import ConfigError, load_config
from conftest import run_cli
from index import listing_id
from index.embedded import EmbeddedStore
from interdict.demo.run import demo_markets, free_port
from crawlers.locks import MarketBusy, MarketLock

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def sable(tmp_path_factory, catalog):
    """Sable served at epoch 0, an operator config pointing the market there, and a store
    holding one full crawl of it."""
    work = tmp_path_factory.mktemp("schedule")
    port = free_port()
    config = work / "operator.toml"
    config.write_text(f'''
[crawl]
state_dir = "{work / 'state'}"
[markets.sable]
base_urls = ["http://127.0.0.1:{port}"]
[schedules.often]
markets = ["sable"]
cron = "*/4 * * * * *"
mode = "incremental"
[schedules.also-often]
markets = ["sable"]
cron = "*/4 * * * * *"
mode = "incremental"
''')
    store = work / "store.db"
    with demo_markets("127.0.0.1", {"sable": port, "vesper": free_port()}, catalog.seed, 0):
        first = run_cli("--config", str(config), "crawl", "sable", "--store", str(store))
        assert first.returncode == 0, first.stderr[-3000:]
        yield {"config": config, "store": store, "state": work / "state", "work": work}


def cli(sable, *args):
    return run_cli("--config", str(sable["config"]), *args)


def test_schedules_are_validated_with_the_offending_value_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[schedules.x]\nmarkets = ["sable"]\ncron = "61 3 * * *"\n')
    with pytest.raises(ConfigError, match=r"schedules\.x: invalid cron '61 3 \* \* \*'"):
        load_config(bad)
    bad.write_text('[schedules.x]\nmarkets = ["atlantis"]\ncron = "0 3 * * *"\n')
    with pytest.raises(ConfigError, match="schedule 'x' names unknown market\\(s\\) atlantis"):
        load_config(bad)
    bad.write_text('[schedules.x]\nmarkets = ["sable"]\ncron = "0 3 * *"\n')
    with pytest.raises(ConfigError, match="needs 5 fields"):
        load_config(bad)


def test_schedule_list_shows_the_next_run(sable):
    proc = cli(sable, "schedule", "list")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2 and lines[0].split()[:3] == ["often", "*/4", "*"]
    assert re.search(r"incremental\s+sable\s+next \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", lines[0])


def test_an_incremental_crawl_fetches_only_listings_the_index_lacks(sable, catalog):
    shown = catalog.markets["sable"].listings
    forgotten = [listing_id("sable", spec.key) for spec in shown[::50]]
    with EmbeddedStore(sable["store"]) as store:
        for doc_id in forgotten:
            assert store.delete_listing(doc_id)
        total = store.count_listings()
    proc = cli(sable, "schedule", "run", "--once", "often", "--store", str(sable["store"]))
    assert proc.returncode == 0, proc.stderr[-3000:]
    numbers = re.search(r"sable: (\d+) pages, (\d+) listings \((\d+) new", proc.stderr)
    skipped = int(re.search(r"incremental: (\d+) listing page\(s\) seen recently", proc.stderr).group(1))
    assert (int(numbers.group(2)), int(numbers.group(3))) == (len(forgotten), len(forgotten))
    assert skipped == total  # every listing the index held, and only those, was skipped
    with EmbeddedStore(sable["store"]) as store:
        assert store.count_listings() == total + len(forgotten)
        job = store.jobs(market="sable", limit=1)[0]
    assert (job.trigger, job.mode, job.status, job.listings_new) == ("schedule:often", "incremental", "finished",
                                                                     len(forgotten))
    assert job.listings_missed == 0  # an incremental crawl judges nothing gone


def test_a_market_being_crawled_is_not_crawled_again_at_once(sable):
    lock = MarketLock(sable["state"], "sable").acquire()
    try:
        with pytest.raises(MarketBusy, match=r"another crawl of sable is running \(.+:\d+\)"):
            MarketLock(sable["state"], "sable").acquire()
        proc = cli(sable, "crawl", "sable", "--store", str(sable["store"]))
        assert proc.returncode == 1
        assert re.search(r"sable: skipped: another crawl of it is running \(.+:\d+\)", proc.stderr), proc.stderr
    finally:
        lock.release()
    MarketLock(sable["state"], "sable").acquire().release()  # free again


def test_schedule_run_starts_crawls_on_time_and_never_two_of_one_market(sable):
    """Two schedules fire for Sable at the same instants: each instant at most one crawl runs,
    the other is skipped."""
    with EmbeddedStore(sable["store"]) as store:
        before = {j.id for j in store.jobs(market="sable", limit=500)}
    proc = cli(sable, "schedule", "run", "--stop-after", "18", "--store", str(sable["store"]))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "schedule often: next run" in proc.stderr and "schedule also-often: next run" in proc.stderr
    with EmbeddedStore(sable["store"]) as store:
        jobs = sorted((j for j in store.jobs(market="sable", limit=500) if j.id not in before), key=lambda j: j.started)
    assert len(jobs) >= 2, proc.stderr
    # every run starts on an instant of its cron (*/4 seconds: second 0, 4, 8…) — within the
    # first second after it, however busy the machine — both schedules at each
    starts = re.findall(r"^\S+ \d\d:\d\d:(\d\d)\.(\d{3}) schedule (often|also-often): incremental crawl of sable$",
                        proc.stderr, re.M)
    late = [(int(s) % 4) * 1000 + int(ms) for s, ms, _ in starts]
    assert len({s for s, _, _ in starts}) >= 2 and all(ms < 1000 for ms in late), starts
    assert {name for _, _, name in starts} == {"often", "also-often"}
    assert {j.trigger for j in jobs} <= {"schedule:often", "schedule:also-often"}
    assert all(j.status == "finished" and j.mode == "incremental" for j in jobs)
    # Never two at once, told without comparing clocks of two processes (a VM's wall clock
    # may be stepped between them): every crawl started either ran (and recorded its job)
    # or found the market held, and the lock refused at least one. (Both schedules fire at
    # each instant, yet both may run one after the other: on a loaded machine a crawl
    # process can take longer to start than the other one takes to crawl and let go. The
    # lock itself: test_a_market_being_crawled_is_not_crawled_again_at_once.)
    skipped = len(re.findall(r"^  (?:often|also-often): sable: skipped: another crawl of it is running",
                             proc.stderr, re.M))
    assert skipped >= 1 and len(starts) == len(jobs) + skipped, proc.stderr


def test_a_running_crawl_shows_its_progress_and_a_killed_one_keeps_it(sable, tmp_path):
    """Counters are saved while the crawl runs (status, metrics); SIGKILL mid-crawl leaves the
    record with what was done, and the next crawl of the market marks it interrupted."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from prometheus_client.parser import text_string_to_metric_families

    from conftest import REPO

    store_path = tmp_path / "store.db"
    env = {**os.environ, "INTERDICT_CRAWL__PROGRESS_INTERVAL": "0.5", "INTERDICT_MARKETS__SABLE__CONCURRENCY": "2",
           "INTERDICT_EVIDENCE__ENABLED": "false"}
    crawl = subprocess.Popen([sys.executable, "-m", "interdict.cli", "--config", str(sable["config"]), "crawl", "sable",
                              "--store", str(store_path)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline, seen = time.monotonic() + 120, None
        while time.monotonic() < deadline and crawl.poll() is None:
            if store_path.exists():
                with EmbeddedStore(store_path) as store:
                    jobs = store.jobs(market="sable")
                if jobs and jobs[0].status == "running" and jobs[0].listings >= 50:
                    seen = jobs[0]
                    break
            time.sleep(0.3)
        assert seen is not None and seen.progress_at is not None, "no progress saved while crawling"
        status = cli(sable, "status", "--store", str(store_path))
        line = next(l for l in status.stdout.splitlines() if l.startswith("sable "))
        assert " running " in line and re.search(r": \d+ pages, \d+ listings, \d+ errors by", line), line
        metrics = cli(sable, "metrics", "--store", str(store_path)).stdout
        samples = {s.name: s.value for f in text_string_to_metric_families(metrics) for s in f.samples
                   if s.labels.get("market") == "sable"}
        assert samples["interdict_crawl_running_job_listings"] >= 50
    finally:
        crawl.send_signal(signal.SIGKILL)
        crawl.wait()
    with EmbeddedStore(store_path) as store:
        killed = store.jobs(market="sable")[0]
    assert killed.status == "running" and killed.listings >= seen.listings and killed.pages >= seen.pages
    status = cli(sable, "status", "--store", str(store_path))
    line = next(l for l in status.stdout.splitlines() if l.startswith("sable "))
    assert " failing " in line and "ended without an outcome (killed or crashed)" in line, line
    # the next crawl of the market (the killed one's lock went with its process)
    again = cli(sable, "crawl", "sable", "--store", str(store_path), "--mode", "incremental")
    assert again.returncode == 0, again.stderr[-2000:]
    with EmbeddedStore(store_path) as store:
        jobs = {j.id: j for j in store.jobs(market="sable")}
    assert jobs[killed.id].status == "interrupted" and jobs[killed.id].listings == killed.listings
