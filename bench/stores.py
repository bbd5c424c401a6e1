"""Benchmark: bulk ingest, re-ingest and search at scale, embedded store and Elasticsearch.

    .venv/bin/python bench/stores.py [--docs 100000[,1000000]] [--stores embedded,elasticsearch]
        [--data ../shared/data] [--keep DIR] [--json FILE] [--repeat 10]

The corpus: the shared datasets' real listings (Agora, AlphaBay, Torrez: ~56k distinct titles
and descriptions, enriched once by `interdict import`) drawn into --docs listings under new
keys, vendors, prices and dates (the demo catalog stands in when --data is absent, and the
output says so); its mean document size is printed. For each store and size, a fresh store
is filled by the real `interdict index` command (a child process: its wall time gives docs/s,
its peak RSS is read from the kernel), then filled again with the same listings (a daily
crawl's re-ingest: nothing changed), and the committed query set (bench/store_queries.json:
match-all with facets, terms, a phrase, filters, price ranges, sorts, deep pages) runs once
from cold, then --repeat times, in-process. Ratios are printed against issue 22's goals; against earlier code,
run it through bench/compare.py --this-script (same corpus on both sides). --keep DIR keeps the base index and the corpora between runs (building
1M takes a while); --json FILE writes every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config import load_config  # noqa: E402
from index import Query, open_store  # noqa: E402

QUERIES = Path(__file__).with_name("store_queries.json")
GOALS = {"docs_per_s": {"embedded": 8000, "elasticsearch": 4000}, "reingest_per_s": 20000,
         "p50_ms": 20, "p95_ms": 50, "rss_mb": 1024, "fresh_1m_s": 300}


def base_listings(config, data: Path, keep: Path) -> tuple[list[dict], str, str]:
    """The enriched listings the corpus is drawn from (JSON-ready), what they are, and their
    kind (real or demo)."""
    if data.is_dir():
        from interdict.commands.evaluate import real_index

        path = real_index(config, data, keep / "real-base.db")
        with open_store(config, path) as store:
            base = [doc.data.model_dump(mode="json") for doc in store.iter_listings()]
        return base, f"{len(base):,} real listings of the shared datasets ({data})", "real"
    from enrichment.pipeline import Enricher
    from interdict.demo.catalog import Catalog
    from interdict.demo.records import catalog_listings

    start = datetime(2026, 1, 1, tzinfo=UTC)
    base = [e.model_dump(mode="json") for e in Enricher().enrich_listings(catalog_listings(Catalog(), start))]
    return base, f"{len(base):,} demo-catalog listings (no shared data at {data})", "demo"


def write_corpus(base: list[dict], n: int, path: Path) -> float:
    """``n`` enriched listings drawn from ``base`` as JSON Lines; their mean size in bytes."""
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    total = 0
    with path.open("w", encoding="utf-8") as out:
        for i in range(n):
            item = json.loads(json.dumps(base[i % len(base)]))  # a copy
            listing = item["listing"]
            copy = i // len(base)
            listing["listing_key"] = f"{listing['listing_key']}~{i}"
            listing["url"] = f"{listing['url']}#{i}"
            if copy:  # the same text under another vendor: a re-listing, an alias, another market
                listing["vendor"]["name"] = f"{listing['vendor']['name']}{copy}"
            listing["crawled_at"] = (start + timedelta(minutes=rng.randrange(0, 525_600))).isoformat()
            if listing.get("price"):
                factor = rng.uniform(0.5, 2)
                listing["price"]["amount"] = round(listing["price"]["amount"] * factor, 2)
                if item["enrichment"].get("price_usd") is not None:
                    item["enrichment"]["price_usd"] = round(item["enrichment"]["price_usd"] * factor, 2)
            line = json.dumps(item, ensure_ascii=False) + "\n"
            total += len(line.encode())
            out.write(line)
    return total / n


def corpus(config, data: Path, n: int, keep: Path) -> tuple[Path, dict]:
    """The corpus of ``n`` listings (made once per --keep folder: the base index is read only
    to make it) and what it is: {base, mean_bytes}."""
    kind = "real" if data.is_dir() else "demo"
    path = keep / f"corpus-{kind}-{n}.jsonl"  # never mistaken for the other kind
    meta = keep / f"corpus-{kind}-{n}.json"
    if path.exists() and meta.exists():
        return path, json.loads(meta.read_text())
    started = time.perf_counter()
    base, what, _ = base_listings(config, data, keep)
    print(f"base: {what} ({time.perf_counter() - started:.0f} s)", flush=True)
    mean = write_corpus(base, n, path.with_suffix(".part"))
    path.with_suffix(".part").rename(path)
    meta.write_text(json.dumps({"base": what, "mean_bytes": mean}))
    return path, {"base": what, "mean_bytes": mean}


def index_command(corpus_path: Path, target: str, env: dict) -> dict:
    """`interdict index` of the corpus into ``target``: seconds, peak RSS (MB), its last line."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as said:
        proc = subprocess.Popen([sys.executable, "-m", "interdict.cli", "index", str(corpus_path), "--store", target],
                                cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=said, text=True)
        peak = 0
        # The kernel's high-water mark of the process (VmHWM), read while it runs: rusage's
        # ru_maxrss would also count the pages of this process it was forked from.
        while proc.poll() is None:
            try:
                status = Path(f"/proc/{proc.pid}/status").read_text()
                peak = max(peak, int(status.split("VmHWM:")[1].split()[0]))
            except (OSError, IndexError, ValueError):
                pass
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        said.seek(0)
        stderr = said.read()
    if proc.returncode != 0:
        sys.exit(f"interdict index failed ({proc.returncode}):\n{stderr[-3000:]}")
    return {"seconds": seconds, "rss_mb": peak / 1024, "said": stderr.strip().splitlines()[-1]}


def rss_mb() -> float:
    return int(Path("/proc/self/status").read_text().split("VmRSS:")[1].split()[0]) / 1024


def search_figures(store, repeat: int) -> dict:
    """Each query once from cold (the first search of a process reads what it needs from the
    store), then ``repeat`` times; the memory the searching process grew by."""
    named = json.loads(QUERIES.read_text())["queries"]
    queries = [(q["name"], Query.model_validate(q["query"])) for q in named]
    before = rss_mb()
    started = time.perf_counter()
    for _, query in queries:
        store.search(query)
    cold_s = time.perf_counter() - started
    times: dict[str, list[float]] = {name: [] for name, _ in queries}
    totals = {}
    for _ in range(repeat):
        for name, query in queries:
            started = time.perf_counter()
            totals[name] = store.search(query).total
            times[name].append((time.perf_counter() - started) * 1000)
    every = sorted(t for ms in times.values() for t in ms)
    return {"p50_ms": statistics.median(every), "p95_ms": every[int(len(every) * 0.95) - 1], "cold_s": cold_s,
            "search_rss_growth_mb": rss_mb() - before,
            "per_query": {name: {"p50_ms": statistics.median(ms), "total": totals[name]} for name, ms in times.items()}}


def disk_mb(target: str) -> float:
    if target.startswith("http"):
        stats = httpx.get(f"{target}/_stats/store", timeout=60).json()
        return stats["_all"]["primaries"]["store"]["size_in_bytes"] / 2**20
    return sum(p.stat().st_size for p in Path(target).parent.glob(Path(target).name + "*")) / 2**20


def measure(name: str, target: str, corpus_path: Path, n: int, env: dict, repeat: int) -> dict:
    config = load_config(env={})
    fresh = index_command(corpus_path, target, env)
    again = index_command(corpus_path, target, env)
    with open_store(config, target) as store:
        count = store.count_listings()
        found = search_figures(store, repeat)
    if count != n:
        sys.exit(f"{name}: {count} listings in the store after indexing {n}")
    return {"docs": n, "docs_per_s": n / fresh["seconds"], "fresh_s": fresh["seconds"], "rss_mb": fresh["rss_mb"],
            "reingest_per_s": n / again["seconds"], "reingest_rss_mb": again["rss_mb"], "disk_mb": disk_mb(target),
            "indexed": fresh["said"], "reindexed": again["said"], **found}


def report(results: dict, meta: dict) -> None:
    print(f"\ncorpus: {meta['base']}; mean document {meta['mean_bytes']:,.0f} bytes (enriched listing JSON)")
    print(f"{'store':<15}{'docs':>9}{'docs/s':>9}{'× goal':>8}{'fresh s':>9}{'re-ingest/s':>12}"
          f"{'× goal':>8}{'RSS MB':>8}{'disk MB':>9}{'p50 ms':>8}{'p95 ms':>8}{'p95 × goal':>11}")
    for (store, n), r in results.items():
        print(f"{store:<15}{n:>9,}{r['docs_per_s']:>9,.0f}{r['docs_per_s'] / GOALS['docs_per_s'][store]:>8.2f}"
              f"{r['fresh_s']:>9.0f}{r['reingest_per_s']:>12,.0f}"
              f"{r['reingest_per_s'] / GOALS['reingest_per_s']:>8.2f}{r['rss_mb']:>8.0f}{r['disk_mb']:>9.0f}"
              f"{r['p50_ms']:>8.1f}{r['p95_ms']:>8.1f}{r['p95_ms'] / GOALS['p95_ms']:>11.2f}")
    for (store, n), r in results.items():
        print(f"  {store} {n:,}: the query set once from cold {r['cold_s']:.2f} s; the searching process grew by "
              f"{r['search_rss_growth_mb']:.0f} MB")
    for (store, n), r in results.items():
        slowest = sorted(r["per_query"].items(), key=lambda kv: -kv[1]["p50_ms"])[:4]
        print(f"  {store} {n:,}: slowest queries (p50): "
              + "; ".join(f"{name} {q['p50_ms']:.1f} ms ({q['total']:,} hits)" for name, q in slowest))
    print(f"goals: ingest ≥ {GOALS['docs_per_s']['embedded']:,}/s embedded, ≥ {GOALS['docs_per_s']['elasticsearch']:,}/s "
          f"Elasticsearch; re-ingest ≥ {GOALS['reingest_per_s']:,}/s; p50 ≤ {GOALS['p50_ms']} ms, p95 ≤ "
          f"{GOALS['p95_ms']} ms at 1M; RSS ≤ {GOALS['rss_mb']} MB; 1M fresh embedded ≤ {GOALS['fresh_1m_s']} s. "
          "Against earlier code on the same corpus: bench/compare.py --rev REV --this-script")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", default="100000", help="comma-separated corpus sizes (default 100000)")
    parser.add_argument("--stores", default="embedded,elasticsearch")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data"), help="the shared datasets folder")
    parser.add_argument("--keep", metavar="DIR", help="keep the base index and corpora here between runs")
    parser.add_argument("--json", metavar="FILE", help="also write every figure as JSON")
    parser.add_argument("--repeat", type=int, default=10, help="runs of each query (default 10)")
    parser.add_argument("--es-heap", default="1g")
    args = parser.parse_args()
    sizes = [int(n) for n in args.docs.split(",")]
    stores = args.stores.split(",")
    with tempfile.TemporaryDirectory(prefix="interdict-bench-stores-") as tmp:
        keep = Path(args.keep) if args.keep else Path(tmp) / "keep"
        keep.mkdir(parents=True, exist_ok=True)
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("INTERDICT_")},
               "INTERDICT_STORE__SPOOL_DIR": f"{tmp}/spool", "INTERDICT_CRAWL__STATE_DIR": f"{tmp}/state",
               "INTERDICT_EVIDENCE__DIR": f"{tmp}/evidence",
               "INTERDICT_API__PATH": f"{tmp}/no-service.db"}  # no trackers tried while it indexes
        results: dict[tuple[str, int], dict] = {}
        made = {}
        for n in sizes:
            path, made[n] = corpus(load_config(env={}), Path(args.data), n, keep)
            for store in stores:
                print(f"{store}, {n:,} listings...", flush=True)
                if store == "embedded":
                    results[store, n] = measure(store, f"{tmp}/embedded-{n}.db", path, n, env, args.repeat)
                    continue
                from interdict.demo.run import free_port
                from interdict.esnode import ElasticsearchNode

                node = ElasticsearchNode(Path(tmp) / f"es-{n}", free_port(), free_port(), heap=args.es_heap).start()
                try:
                    results[store, n] = measure(store, node.url, path, n, env, args.repeat)
                finally:
                    node.stop()
    meta = {"base": "; ".join(dict.fromkeys(m["base"] for m in made.values())),
            "mean_bytes": statistics.mean(m["mean_bytes"] for m in made.values()), "machine": f"{os.cpu_count()} cores",
            "date": datetime.now(UTC).isoformat(timespec="seconds")}
    report(results, meta)
    if args.json:
        Path(args.json).write_text(json.dumps({**meta, "goals": GOALS, "results": [
            {"store": s, **r} for (s, _), r in results.items()]}, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
