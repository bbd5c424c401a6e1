"""Trends at a million listings on the embedded store (issue 23: ≤ 1 s): the corpus of
bench/stores.py (real listings of the shared datasets, sightings spread over a year) indexed by
the real `interdict index`, then each trend query timed cold (the first call of a fresh process
on the store: its columns, bitmaps and arrays read from the file) and warm (p50 / p95 of --repeat runs), against a baseline measured in
the same run: the same figures computed the naive way, every matching document loaded into
Python (index.trends.unit_periods over search hits).

    .venv/bin/python bench/trends.py [--docs 1000000] [--keep DIR] [--data ../shared/data] [--repeat 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from config import load_config  # noqa: E402
from index.query import Query  # noqa: E402
from index.trends import TrendQuery, period_index, unit_periods  # noqa: E402
from stores import corpus, index_command  # noqa: E402

QUERIES = {
    "price per gram of cocaine by origin": TrendQuery(measure="unit_price", filters={"product": ["cocaine"]},
                                                       by="ships_from"),
    "price per unit of a category by market": TrendQuery(measure="unit_price",
                                                         filters={"category": ["drugs.stimulants"]}, by="market"),
    "listings active by market": TrendQuery(measure="listings", by="market"),
    "vendors active by category": TrendQuery(measure="vendors", by="category"),
    "listings of cannabis per week": TrendQuery(measure="listings", filters={"category": ["drugs.cannabis"]},
                                                interval="week"),

}


def naive_price_trend(store, q: TrendQuery) -> int:
    """The baseline: every matching document read and its periods summed in Python."""
    sums: dict[tuple[str, int], float] = {}
    offset = 0
    while True:
        hits = store.search(Query(filters=q.filters, limit=1000, offset=offset, sort="first_seen")).hits
        for hit in hits:
            doc = hit.document
            for origin in doc.data.enrichment.ships_from or ["?"]:
                for start, end, _, usd, _ in unit_periods(doc):
                    for p in range(period_index(start, q.interval), period_index(end, q.interval) + 1):
                        sums[origin, p] = sums.get((origin, p), 0.0) + usd
        offset += len(hits)
        if len(hits) < 1000:
            return offset


def first_call(db: Path, q: TrendQuery) -> float:
    """Seconds of the query as the first call of a fresh process on the store (its columns,
    bitmaps and arrays read from the file), the process's start-up left out."""
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); from index.embedded import EmbeddedStore; "
            "from index.trends import TrendQuery; store = EmbeddedStore(sys.argv[2]); "
            "q = TrendQuery.model_validate_json(sys.argv[3]); began = time.perf_counter(); store.trends(q); "
            "print(time.perf_counter() - began)")
    done = subprocess.run([sys.executable, "-c", code, str(REPO), str(db), q.model_dump_json()], capture_output=True,
                          text=True, check=True)
    return float(done.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=1_000_000)
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    parser.add_argument("--keep", metavar="DIR", help="keep the corpus and the index here between runs")
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    from index.embedded import EmbeddedStore

    with tempfile.TemporaryDirectory(prefix="interdict-bench-trends-") as tmp:
        keep = Path(args.keep) if args.keep else Path(tmp)
        keep.mkdir(parents=True, exist_ok=True)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("INTERDICT_")},
               "INTERDICT_STORE__SPOOL_DIR": f"{tmp}/spool", "INTERDICT_EVIDENCE__DIR": f"{tmp}/evidence",
               "INTERDICT_API__PATH": f"{tmp}/no-service.db"}  # no trackers tried while it indexes
        path, made = corpus(load_config(env={}), Path(args.data), args.docs, keep)
        db = keep / f"trends-{args.docs}.db"
        if not db.exists():
            built = index_command(path, str(db), env)
            print(f"indexed {args.docs:,} listings in {built['seconds']:.0f} s ({built['said']})", flush=True)
        print(f"corpus: {made['base']}, {args.docs:,} listings, mean document {made['mean_bytes']:,.0f} bytes")
        with EmbeddedStore(db) as store:  # a vendor's timeline: the vendor with most listings
            busiest = store.search(Query(facets=["vendor_id"], facet_size=1, limit=0)).facets["vendor_id"][0]
        queries = {**QUERIES, f"one vendor's listings per month ({busiest.count:,})":
                   TrendQuery(measure="listings", filters={"vendor_id": [busiest.value]})}
        rows = []
        for name, q in queries.items():
            cold = first_call(db, q)
            with EmbeddedStore(db) as store:
                result = store.trends(q)
                warm = []
                for _ in range(args.repeat):
                    began = time.perf_counter()
                    store.trends(q)
                    warm.append(time.perf_counter() - began)
            warm.sort()
            p95 = warm[min(len(warm) - 1, round(0.95 * (len(warm) - 1)))]
            rows.append((name, cold, statistics.median(warm), p95, len(result.periods), len(result.series)))
        with EmbeddedStore(db) as store:
            began = time.perf_counter()
            read = naive_price_trend(store, QUERIES["price per gram of cocaine by origin"])
            naive = time.perf_counter() - began
    print(f"\n{'query':42} {'cold s':>8} {'warm p50 s':>11} {'p95 s':>8}  periods  series   (cold: first call of a "
          "fresh process)")
    for name, cold, p50, p95, periods, series in rows:
        print(f"{name:42} {cold:8.3f} {p50:11.3f} {p95:8.3f}  {periods:7}  {series:6}")
    first = rows[0]
    print(f"\nbaseline (documents loaded into Python, {read:,} cocaine listings): {naive:.1f} s; "
          f"the store's aggregation is {naive / first[2]:.1f}x faster warm, {naive / first[1]:.1f}x cold")
    worst = max(max(r[1], r[3]) for r in rows)
    print(f"goal ≤ 1 s at {args.docs:,} listings: worst cold or p95 {worst:.3f} s ({'met' if worst <= 1 else 'missed'}; "
          f"ratio {worst:.2f})")
    return 0 if worst <= 1 else 1


if __name__ == "__main__":
    sys.exit(main())
