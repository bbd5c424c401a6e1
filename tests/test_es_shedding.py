"""Elasticsearch shedding load (issue 18, item 17): while the cluster answers writes with 429
or 503, batches go to the durable spool; when it takes writes again they are replayed in the
order they were spooled (a listing's price history keeps its order) before anything newer;
`interdict index --replay` sends what a run left. A real node behind a proxy that sheds its
writes on cue (tests/servers.py SheddingProxy)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from conftest import es_store, make_listing, run_cli
from index import Query, listing_id
from index.spool import Spool, SpooledWriter
from servers import SheddingProxy

T0 = datetime(2026, 11, 1, tzinfo=UTC)
pytestmark = pytest.mark.timeout(600)


@pytest.fixture
def proxied(elasticsearch_url):
    proxy = SheddingProxy(elasticsearch_url)
    store = es_store(proxy.url)
    try:
        yield proxy, store
    finally:
        store.es.indices.delete(index=",".join(store.es.indices.get(index=f"{store.prefix}-*")))
        store.close()
        proxy.close()


def test_shed_batches_are_spooled_and_replayed_in_order(proxied, enricher, tmp_path):
    proxy, store = proxied
    writer = SpooledWriter(store, Spool(tmp_path / "spool"))

    def batch(key: str, amount: float, day: int):
        return list(enricher.enrich_listings([make_listing(listing_key=key, title=f"MDMA {key} 10g",
                                                           price={"amount": amount, "currency": "USD"},
                                                           crawled_at=T0 + timedelta(days=day))]))

    proxy.shedding, proxy.status = True, 429
    assert writer.write("listings", batch("a", 10, 0)) is None  # spooled, after the client's own retries
    proxy.status = 503
    assert writer.write("listings", batch("a", 20, 1)) is None  # older batches wait: spooled behind them
    assert [p.name.split("-", 1)[1] for p in writer.spool.batches()] == ["listings.jsonl", "listings.jsonl"]
    assert proxy.refused >= 2
    proxy.shedding = False
    report = writer.write("listings", batch("b", 5, 2))
    assert report is not None and report.new == 1 and writer.replayed_batches == 2 and not writer.spool.batches()
    doc = store.get_listing(listing_id("testmarket", "a"))
    assert [p.amount for p in doc.price_history] == [10, 20] and doc.data.listing.price.amount == 20


def test_index_replay_sends_what_a_run_left(proxied, tmp_path):
    proxy, store = proxied
    listings = tmp_path / "listings.jsonl"
    listings.write_text("".join(make_listing(listing_key=f"r{i}", title=f"Cocaine {i}g").model_dump_json() + "\n"
                                for i in range(1, 4)))
    spool = {"INTERDICT_STORE__SPOOL_DIR": str(tmp_path / "spool"),
             "INTERDICT_ELASTICSEARCH__INDEX_PREFIX": store.prefix}
    proxy.shedding, proxy.status = True, 503
    left = run_cli("index", str(listings), "--store", proxy.url, env=spool)
    assert left.returncode == 1 and "3 record(s) spooled" in left.stderr and "interdict index --replay" in left.stderr
    assert store.count_listings() == 0
    proxy.shedding = False
    replayed = run_cli("index", "--replay", "--store", proxy.url, env=spool)
    assert replayed.returncode == 0 and "replayed 1 spooled batch(es)" in replayed.stderr, replayed.stderr
    store.es.indices.refresh(index=store.listings)
    assert store.count_listings() == 3
    again = run_cli("index", "--replay", "--store", proxy.url, env=spool)
    assert again.returncode == 0 and "replayed 0" in again.stderr
    assert json.loads(json.dumps(store.get_listing(listing_id("testmarket", "r2")).data.listing.title)) == "Cocaine 2g"


def test_a_batch_the_cluster_takes_in_part_is_spooled_whole_and_replayed_without_duplicates(proxied, enricher,
                                                                                           tmp_path, monkeypatch):
    """A batch goes out as several bulk requests (index.elastic.BULK_CHUNK_DOCS, set small
    here); the cluster takes the first and sheds the others. The batch is spooled whole and
    replayed: the listings written the first time are counted unchanged, none twice, and a
    later sighting lands after them in the price history."""
    from index import elastic

    monkeypatch.setattr(elastic, "BULK_CHUNK_DOCS", 4)
    proxy, store = proxied
    writer = SpooledWriter(store, Spool(tmp_path / "spool"))
    items = list(enricher.enrich_listings(
        make_listing(listing_key=f"h{i}", title=f"MDMA crystals {i} 10g", price={"amount": 10 + i, "currency": "USD"},
                     crawled_at=T0) for i in range(10)))
    proxy.shedding, proxy.status, proxy.bulks_to_pass = True, 429, 1
    assert writer.write("listings", items) is None  # three bulk requests: one taken, two shed
    store.es.indices.refresh(index=store.listings)
    assert store.count_listings() == 4
    taken = {h.document.listing_key for h in store.search(Query(limit=10)).hits}
    proxy.shedding = False
    later = list(enricher.enrich_listings([make_listing(listing_key=key, title="MDMA crystals 10g",
                                                        price={"amount": 99, "currency": "USD"},
                                                        crawled_at=T0 + timedelta(days=1)) for key in sorted(taken)]))
    report = writer.write("listings", later)
    assert writer.replayed_batches == 1 and not writer.spool.batches()
    assert report is not None and report.updated == 4
    store.es.indices.refresh(index=store.listings)
    assert store.count_listings() == 10
    for key in taken:
        doc = store.get_listing(listing_id("testmarket", key))
        assert [p.amount for p in doc.price_history] == [10 + int(key[1:]), 99] and doc.seen_count == 2
    untouched = store.get_listing(listing_id("testmarket", next(f"h{i}" for i in range(10) if f"h{i}" not in taken)))
    assert len(untouched.price_history) == 1 and untouched.seen_count == 1
