"""Benchmark: bulk indexing and search latency, embedded store vs Elasticsearch.

    .venv/bin/python bench/stores.py [--docs 100000] [--queries 200]

Enriches the demo markets' listings once, then derives --docs listings from them
(new keys, prices and dates, same text), indexes them into each store in batches of 500
and runs the same mixed query set (text, filters, facets, sorts) against both. The
embedded store is the baseline of the printed ratios; Elasticsearch runs as a real
single node (8.19, 512 MB heap) started here.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config import load_config  # noqa: E402
from enrichment.pipeline import Enricher  # noqa: E402
from index import Query  # noqa: E402
from index.elastic import ElasticsearchStore  # noqa: E402
from index.embedded import EmbeddedStore  # noqa: E402
from interdict.demo.catalog import Catalog  # noqa: E402
from interdict.demo.records import catalog_listings  # noqa: E402
from interdict.demo.run import free_port  # noqa: E402
from interdict.esnode import ElasticsearchNode  # noqa: E402

BATCH = 500


def corpus(n: int):
    start = datetime(2026, 1, 1, tzinfo=UTC)
    base = list(Enricher().enrich_listings(catalog_listings(Catalog(), start, with_faults=True)))
    rng = random.Random(7)
    for i in range(n):
        item = base[i % len(base)]
        listing = item.listing.model_copy(update={
            "listing_key": f"{item.listing.listing_key}-{i}", "crawled_at": start + timedelta(minutes=i),
            "price": item.listing.price.model_copy(update={"amount": round(item.listing.price.amount * rng.uniform(0.5, 2), 2)})})
        yield item.model_copy(update={"listing": listing})


def queries(n: int) -> list[Query]:
    rng = random.Random(11)
    texts = ["mdma", "cocaine", "stealth vacuum", '"declared as gift"', "xanax -pills", "kokain", "replica", "weed"]
    facets = [["ships_from", "product"], ["vendor"], []]
    out = []
    for i in range(n):
        filters = rng.choice([{}, {"ships_from": ["NL"]}, {"category": ["drugs"]}, {"ships_to": ["WORLDWIDE", "EU"]}])
        out.append(Query(text=rng.choice(texts + [""]), filters=filters, facets=rng.choice(facets),
                         sort=rng.choice(["relevance", "price", "-last_seen"]), limit=20, offset=rng.choice([0, 0, 40])))
    return out


def measure(store, docs, query_set) -> dict:
    started = time.perf_counter()
    for i in range(0, len(docs), BATCH):
        store.upsert_listings(docs[i : i + BATCH])
    index_s = time.perf_counter() - started
    store.search(query_set[0])  # warm caches
    latencies = []
    for query in query_set:
        t = time.perf_counter()
        store.search(query)
        latencies.append((time.perf_counter() - t) * 1000)
    latencies.sort()
    return {"docs_per_s": len(docs) / index_s, "index_s": index_s, "p50": statistics.median(latencies),
            "p95": latencies[int(len(latencies) * 0.95) - 1], "count": store.count_listings()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    t = time.perf_counter()
    docs = list(corpus(args.docs))
    print(f"{len(docs)} enriched listings prepared in {time.perf_counter() - t:.0f} s", flush=True)
    query_set = queries(args.queries)
    with tempfile.TemporaryDirectory(prefix="interdict-bench-") as tmp:
        with EmbeddedStore(Path(tmp) / "bench.db") as embedded:
            results = {"embedded (SQLite FTS5)": measure(embedded, docs, query_set)}
        node = ElasticsearchNode(Path(tmp) / "es", free_port(), free_port()).start()
        try:
            es = ElasticsearchStore(load_config(env={}).elasticsearch, url=node.url, index_prefix="bench")
            results["Elasticsearch 8.19 (1 node)"] = measure(es, docs, query_set)
            es.close()
        finally:
            node.stop()
    base = results["embedded (SQLite FTS5)"]
    print(f"\n{args.docs} listings, batches of {BATCH}; {args.queries} mixed queries (text, filters, facets, sorts)")
    print(f"{'store':<30}{'docs/s':>9}{'× base':>8}{'p50 ms':>9}{'p95 ms':>9}{'p50 ×':>8}{'p95 ×':>8}{'count':>9}")
    for name, r in results.items():
        print(f"{name:<30}{r['docs_per_s']:>9.0f}{r['docs_per_s'] / base['docs_per_s']:>8.2f}{r['p50']:>9.1f}"
              f"{r['p95']:>9.1f}{r['p50'] / base['p50']:>8.2f}{r['p95'] / base['p95']:>8.2f}{r['count']:>9}")


if __name__ == "__main__":
    main()
