"""End to end on the demo markets: serve on loopback, crawl with the real `interdict crawl`,
enrich, index into the embedded store, search; then crawl again and after a price move."""

import json
import re

import pytest

from conftest import run_cli
from index import Query, listing_id
from index.embedded import EmbeddedStore
from interdict.demo.run import demo_markets, free_port

pytestmark = pytest.mark.e2e


def crawl(urls, store_path):
    proc = run_cli("crawl", "sable", "vesper", "--store", str(store_path),
                   *[f"--base-url={m}={u}" for m, u in urls.items()])
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def summary_numbers(stderr, market):
    line = next(l for l in stderr.splitlines() if l.startswith(f"{market}: ") and " pages, " in l)
    pages, listings, new, updated, unchanged, vendors = map(int, re.findall(r"\d+", line))
    return {"pages": pages, "listings": listings, "new": new, "updated": updated, "unchanged": unchanged,
            "vendors": vendors}


@pytest.fixture(scope="module")
def crawled(tmp_path_factory, catalog):
    """Three crawls into one store: epoch 0, epoch 0 again, epoch 1 (prices moved)."""
    store_path = tmp_path_factory.mktemp("e2e") / "store.db"
    ports = {"sable": free_port(), "vesper": free_port()}
    runs = {}
    with demo_markets("127.0.0.1", ports, catalog.seed, 0) as urls:
        runs["first"] = crawl(urls, store_path)
        with EmbeddedStore(store_path) as store:
            runs["after_first"] = {d.id: d for d in _all_docs(store)}
        runs["second"] = crawl(urls, store_path)
        with EmbeddedStore(store_path) as store:
            runs["after_second"] = {d.id: d for d in _all_docs(store)}
    with demo_markets("127.0.0.1", ports, catalog.seed, 1) as urls:
        runs["third"] = crawl(urls, store_path)
    runs["store_path"] = store_path
    return runs


def _all_docs(store):
    total = store.count_listings()
    return [h.document for offset in range(0, total, 1000)
            for h in store.search(Query(limit=1000, offset=offset, sort="first_seen")).hits]


def test_every_listing_and_vendor_is_indexed_once(crawled, catalog):
    expected = {m: len(catalog.markets[m].listings) for m in ("sable", "vesper")}
    assert sum(expected.values()) >= 2000
    assert len(catalog.vendors) >= 150
    for market, count in expected.items():
        first = summary_numbers(crawled["first"].stderr, market)
        assert first["listings"] == count and first["new"] == count
        assert first["vendors"] == len(catalog.markets[market].vendors)
    with EmbeddedStore(crawled["store_path"]) as store:
        assert store.count_listings() == sum(expected.values())
        assert store.count_vendors() == sum(len(catalog.markets[m].vendors) for m in expected)
        for market, count in expected.items():
            assert store.search(Query(filters={"market": [market]}, limit=0)).total == count


def test_malformed_pages_are_dropped_with_counted_reasons(crawled):
    stderr = crawled["first"].stderr
    for market in ("sable", "vesper"):
        dropped = next(l for l in stderr.splitlines() if l.startswith(f"{market}: dropped "))
        counts = dict(re.findall(r"(\w+) (\d+)", dropped.removeprefix(f"{market}: dropped ")))
        assert counts == {"http_500": "1", "missing_price": "2", "too_large": "1"}, dropped
        assert f"{market}: 1 page(s) with invalid bytes kept" in stderr


def test_planted_listing_is_found_with_its_facts(crawled, catalog):
    spec = catalog.markets["vesper"].listings[123]
    vendor = catalog.markets["vesper"].vendors[spec.vendor]
    proc = run_cli("search", spec.title, "--store", str(crawled["store_path"]), "--filter", f"vendor={spec.vendor}",
                   "--json", "--limit", "50")
    hits = [json.loads(line) for line in proc.stdout.splitlines()]
    match = [h for h in hits if h["listing_key"] == spec.key]
    assert match, f"{spec.title!r} by {spec.vendor} not found"
    listing, enrichment = match[0]["data"]["listing"], match[0]["data"]["enrichment"]
    assert listing["vendor"]["name"] == spec.vendor
    assert enrichment["ships_from"] == [vendor.origin]
    assert (listing["price"]["amount"], listing["price"]["currency"]) == (spec.price, "EUR")
    assert listing["title"] == spec.title and listing["description"] == spec.description


def test_vendor_identifiers_come_from_vendor_pages(crawled, catalog):
    from index import vendor_id

    with EmbeddedStore(crawled["store_path"]) as store:
        for spec in catalog.vendors[::25]:
            for market in spec.markets:
                doc = store.get_vendor(vendor_id(market, spec.name))
                assert doc.data.enrichment.identifier_values("pgp") == [spec.fingerprint]
                assert doc.data.enrichment.identifier_values("btc") == [spec.btc_address]


def test_second_crawl_adds_no_duplicates_and_moves_last_seen(crawled, catalog):
    first, second = crawled["after_first"], crawled["after_second"]
    assert set(first) == set(second)
    for market in ("sable", "vesper"):
        numbers = summary_numbers(crawled["second"].stderr, market)
        assert numbers["new"] == 0 and numbers["unchanged"] == len(catalog.markets[market].listings)
    for doc_id, before in list(first.items())[:200]:
        after = second[doc_id]
        assert after.first_seen == before.first_seen
        assert after.last_seen > before.last_seen
        assert after.seen_count == 2 and len(after.price_history) == 1


def test_changed_prices_land_in_the_history(crawled, catalog):
    from interdict.demo.catalog import Catalog

    moved = Catalog(catalog.seed, 1)
    changed = [(m, s.key, s.price) for m in ("sable", "vesper") for s in moved.markets[m].listings
               if s.price != catalog.markets[m].by_key[s.key].price]
    assert 50 < len(changed) < 400
    for market in ("sable", "vesper"):
        numbers = summary_numbers(crawled["third"].stderr, market)
        assert numbers["new"] == 0
        assert numbers["updated"] == sum(1 for m, _, _ in changed if m == market)
    with EmbeddedStore(crawled["store_path"]) as store:
        for market, key, new_price in changed[:100]:
            doc = store.get_listing(listing_id(market, key))
            old_price = catalog.markets[market].by_key[key].price
            assert [p.amount for p in doc.price_history] == [old_price, new_price]
            assert doc.data.listing.price.amount == new_price and doc.seen_count == 3
        steady = catalog.markets["sable"].listings[0]
        if all(k != steady.key for _, k, _ in changed):
            assert len(store.get_listing(listing_id("sable", steady.key)).price_history) == 1


def test_each_crawl_is_a_job_in_the_history(crawled, catalog):
    with EmbeddedStore(crawled["store_path"]) as store:
        jobs = store.jobs()
    assert len(jobs) == 6 and {j.status for j in jobs} == {"finished"}  # 3 crawls of 2 markets
    first = {j.market: j for j in sorted(jobs, key=lambda j: j.started)[:2]}
    for market in ("sable", "vesper"):
        numbers = summary_numbers(crawled["first"].stderr, market)
        job = first[market]
        assert (job.pages, job.listings, job.listings_new) == (numbers["pages"], numbers["listings"], numbers["new"])
        assert job.ended > job.started and job.trigger == "manual"
        # the demo market's broken pages (a listing answering 500 for good) fail the same way every crawl
        assert len({j.errors for j in jobs if j.market == market}) == 1
    assert first["sable"].errors >= 1
    latest = jobs[0]  # the third crawl, at epoch 1: prices moved
    assert latest.listings_updated == summary_numbers(crawled["third"].stderr, latest.market)["updated"] > 0
    shown = run_cli("jobs", "--store", str(crawled["store_path"]), "--market", "sable")
    assert shown.returncode == 0 and len(shown.stdout.splitlines()) == 3 and "finished" in shown.stdout


def test_status_and_metrics_come_from_the_job_history(crawled, tmp_path):
    from prometheus_client.parser import text_string_to_metric_families

    from crawlers.handoff import MarketStates

    env = {"INTERDICT_CRAWL__STATE_DIR": str(tmp_path / "state")}
    status = run_cli("status", "--store", str(crawled["store_path"]), env=env)
    lines = {line.split()[0]: line for line in status.stdout.splitlines()}
    assert status.returncode == 0 and " up " in lines["sable"] and " up " in lines["vesper"]
    metrics = run_cli("metrics", "--store", str(crawled["store_path"]), env=env)
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for f in text_string_to_metric_families(metrics.stdout) for s in f.samples}
    assert samples[("interdict_market_up", (("market", "sable"),))] == 1
    assert samples[("interdict_crawl_jobs", (("market", "sable"), ("status", "finished")))] == 3
    assert samples[("interdict_crawl_last_job_pages", (("market", "vesper"),))] > 100
    assert samples[("interdict_crawl_last_success_timestamp_seconds", (("market", "sable"),))] > 1.7e9
    MarketStates(tmp_path / "state").pause("vesper", "captcha", "http://127.0.0.1/x", "a CAPTCHA form")
    paused = run_cli("status", "--store", str(crawled["store_path"]), env=env)
    assert paused.returncode == 1 and "paused" in next(l for l in paused.stdout.splitlines() if l.startswith("vesper "))
    metrics = run_cli("metrics", "--store", str(crawled["store_path"]), env=env).stdout
    assert 'interdict_market_paused{market="vesper"} 1.0' in metrics


def test_a_crawl_of_an_unreachable_market_is_a_failed_job(tmp_path):
    store_path = tmp_path / "store.db"
    config = tmp_path / "dead.toml"  # one base URL, no mirror to fail over to, nothing listening
    config.write_text(f'[markets.deadmarket]\nprofile = "sable"\nbase_urls = ["http://127.0.0.1:{free_port()}"]\n'
                      'transport = "clearnet"\ndemo = true\nallow_private_targets = true\n')
    proc = run_cli("--config", str(config), "crawl", "deadmarket", "--store", str(store_path))
    assert proc.returncode != 0 and "no page could be fetched from deadmarket" in proc.stderr
    with EmbeddedStore(store_path) as store:
        job = store.jobs()[0]
    assert job.status == "failed" and job.reason.startswith("no page could be fetched") and job.errors > 0


def test_a_job_whose_process_died_is_marked_interrupted(tmp_path):
    """A crawl killed with SIGKILL cannot record its end; the next crawl of the market says so."""
    import subprocess
    import sys
    from datetime import UTC, datetime

    from config import load_config
    from contracts.jobs import CrawlJob
    from crawlers.history import RUNNER, JobHistory

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # a process of this host that no longer runs
    host = RUNNER.rpartition(":")[0]
    store_path = tmp_path / "store.db"
    with EmbeddedStore(store_path) as store:
        store.save_job(CrawlJob(id="killed", market="sable", started=datetime(2026, 11, 1, tzinfo=UTC),
                                runner=f"{host}:{dead.pid}"))
        store.save_job(CrawlJob(id="elsewhere", market="sable", started=datetime(2026, 11, 2, tzinfo=UTC),
                                runner="another-host:1"))
    JobHistory(load_config(env={}), str(store_path)).start(["sable"])
    with EmbeddedStore(store_path) as store:
        jobs = {j.id: j for j in store.jobs(market="sable")}
    assert jobs["killed"].status == "interrupted" and "killed or crashed" in jobs["killed"].reason
    assert jobs["elsewhere"].status == "running"  # another machine's process: not ours to judge
    assert len(jobs) == 3


def test_demo_command_runs_end_to_end(tmp_path):
    proc = run_cli("demo", "--store", str(tmp_path / "demo.db"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "2100 listings and 205 vendors in the store" in proc.stdout
    assert "top product:" in proc.stdout and "top ships_from:" in proc.stdout
    assert "Sample search: interdict search mdma --filter ships_from=NL" in proc.stdout
    # where to look at it: the web app on the store just built
    assert f"interdict serve --store {tmp_path / 'demo.db'}` and open http://127.0.0.1:8760/" in proc.stdout
    assert "Traceback" not in proc.stderr
