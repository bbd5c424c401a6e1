"""Benchmark: what a request to the API costs. A real `interdict serve` on the demo catalog
indexed in an embedded store (2,100 listings) answers a fixed mix of requests — searches
(match-all with facets, a term, a phrase, filters, a price range, a sort), a listing, a
vendor profile, a vendor search — one client after another, then from several clients at
once; the baseline is GET /health measured in the same run (the framework's own floor).

    .venv/bin/python bench/api.py [--rounds 200] [--clients 4]

Prints p50 / p95 per kind of request and for all of them, their ratio to the baseline, and
the requests per second with --clients at once.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from served import interdict_serve  # noqa: E402

SEARCHES = {
    "match-all + facets": {"facets": "market,category,ships_from"},
    "term": {"q": "cocaine"},
    "phrase": {"q": '"next day"'},
    "filters": {"market": "sable", "ships_to": "DE"},
    "price range": {"price_min_usd": 20, "price_max_usd": 200, "facets": "category"},
    "sort by price": {"q": "mdma", "sort": "price"},
    "deep page": {"offset": 1000, "limit": 20},
}


def build_index(path: Path) -> None:
    from config import load_config
    from enrichment.pipeline import Enricher
    from index.embedded import EmbeddedStore
    from interdict.demo.catalog import Catalog
    from interdict.demo.records import index_catalog

    config = load_config()
    with EmbeddedStore(path) as store:
        index_catalog(store, Enricher.from_settings(config.enrichment), Catalog(config.demo.seed),
                      datetime(2026, 1, 1, tzinfo=UTC))


def timed(client: httpx.Client, path: str, params: dict | None = None) -> float:
    started = time.perf_counter()
    answer = client.get(path, params=params)
    elapsed = time.perf_counter() - started
    answer.raise_for_status()
    return elapsed * 1000


def percentiles(ms: list[float]) -> tuple[float, float]:
    ms = sorted(ms)
    return statistics.median(ms), ms[min(len(ms) - 1, int(len(ms) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200, help="requests of each kind, one after another")
    parser.add_argument("--clients", type=int, default=4, help="clients at once for the throughput")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="interdict-bench-api-") as tmp:
        build_index(Path(tmp) / "index.db")
        with interdict_serve(tmp) as served:
            url, headers = served.url, {"Authorization": f"Bearer {served.key}"}
            with httpx.Client(base_url=url, headers=headers, timeout=60) as client:
                hits = client.get("/api/search", params={"q": "cocaine", "limit": 5}).json()["hits"]
                requests = [(f"search: {name}", "/api/search", params) for name, params in SEARCHES.items()]
                requests += [("listing", f"/api/listings/{hits[0]['id']}", None),
                             ("vendor profile", f"/api/vendors/{hits[0]['vendor_id']}", None),
                             ("vendor search", "/api/vendors", {"q": hits[1]["vendor"]})]
                for _, path, params in requests:  # warm-up: imports, the first store connection
                    timed(client, path, params)
                health = [timed(client, "/health") for _ in range(args.rounds)]
                times: dict[str, list[float]] = {name: [] for name, _, _ in requests}
                for _ in range(args.rounds):
                    for name, path, params in requests:
                        times[name].append(timed(client, path, params))

            def one_client(_: int) -> int:
                with httpx.Client(base_url=url, headers=headers, timeout=60) as own:
                    for _ in range(args.rounds // 4):
                        for _, path, params in requests:
                            timed(own, path, params)
                return (args.rounds // 4) * len(requests)

            started = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                done = sum(pool.map(one_client, range(args.clients)))
            throughput = done / (time.perf_counter() - started)
    floor, _ = percentiles(health)
    print(f"baseline GET /health: p50 {floor:.2f} ms")
    for name, ms in times.items():
        p50, p95 = percentiles(ms)
        print(f"{name:>28}: p50 {p50:7.2f} ms  p95 {p95:7.2f} ms  ({p50 / floor:5.1f}x the baseline)")
    p50, p95 = percentiles([t for ms in times.values() for t in ms])
    print(f"all requests: p50 {p50:.2f} ms, p95 {p95:.2f} ms ({p50 / floor:.1f}x the baseline)")
    print(f"throughput with {args.clients} clients: {throughput:.0f} requests/s")


if __name__ == "__main__":
    main()
