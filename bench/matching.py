"""Benchmark: shipments matched per second against 100k and 1M indexed listings.

    .venv/bin/python bench/matching.py [--sizes 100000,1000000] [--shipments 20000] [--planted 0.6,0.02]
                                       [--workers 1,2] [--elasticsearch 100000] [--keep DIR]

Builds each index from the demo markets' 2,100 enriched listings, copied into N listings of
as many new vendors (names, email addresses, prices and crawl dates varied; about 12
listings per vendor, as on the demo markets), then runs synthetic streams of shipments
(matching.synthetic: planted matches and lawful decoys on the same routes) through the
matcher, shipments in and JSON lines out, as `interdict match --json` does: the first half
from a cold start (every candidate fetched from the store), the second half with the
candidate caches the first half left, as in a long stream. Two mixes by default: 60 %
planted (the quality evaluation's, every other parcel resembling a listing: the costly
case) and 2 % planted (a customs stream, where parcels resembling listed goods are few;
most lawful goods name nothing a listing sells). The baseline, measured in
the same run on a sample of the same shipments, is what matching without blocking costs:
each description compared with every listing's title (the matcher's own trigram
similarity) in one pass over the index's match profiles, already in memory.
Elasticsearch runs as a real single node (8.19, 1 GB heap) at the sizes given.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config import load_config  # noqa: E402
from contracts.matches import ShipmentMatches  # noqa: E402
from enrichment import tune_gc_for_volume  # noqa: E402
from enrichment.pipeline import Enricher  # noqa: E402
from index.elastic import ElasticsearchStore  # noqa: E402
from index.embedded import EmbeddedStore  # noqa: E402
from interdict.demo.catalog import Catalog  # noqa: E402
from interdict.demo.records import catalog_listings, catalog_vendor_profiles  # noqa: E402
from interdict.demo.run import free_port  # noqa: E402
from interdict.esnode import ElasticsearchNode  # noqa: E402
from matching.declaration import DeclarationReader, trigrams  # noqa: E402
from matching.matcher import match_in_processes  # noqa: E402
from matching.synthetic import StreamGenerator  # noqa: E402

BATCH = 2000
START = datetime(2026, 1, 1, tzinfo=UTC)


def base_records():
    enricher = Enricher()
    catalog = Catalog()
    listings = list(enricher.enrich_listings(catalog_listings(catalog, START)))
    vendors = {v.vendor.name: v for v in enricher.enrich_vendors(catalog_vendor_profiles(catalog, START))}
    return listings, vendors


def derived(listings, vendors, n: int, seed: int = 11):
    """(listing batches, vendor batches): copy r of the demo gets vendors "<name>-r"."""
    rng = random.Random(seed)
    rounds = -(-n // len(listings))
    for r in range(rounds):
        batch = []
        for i, item in enumerate(listings[: min(len(listings), n - r * len(listings))]):
            seen = START + timedelta(days=rng.randint(0, 300))
            listing = item.listing.model_copy(update={
                "listing_key": f"{item.listing.listing_key}-{r}", "crawled_at": seen,
                "vendor": item.listing.vendor.model_copy(update={"name": f"{item.listing.vendor.name}-{r}"}),
                "price": item.listing.price.model_copy(update={"amount": round(item.listing.price.amount * rng.uniform(0.6, 1.6), 2)}),
            })
            batch.append(item.model_copy(update={"listing": listing}))
        renamed = []
        for name, vendor in vendors.items():
            ids = [i.model_copy(update={"value": i.value.replace("@", f"{r}@")}) if i.kind == "email" else i
                   for i in vendor.enrichment.identifiers]
            renamed.append(vendor.model_copy(update={
                "vendor": vendor.vendor.model_copy(update={"name": f"{name}-{r}"}),
                "enrichment": vendor.enrichment.model_copy(update={"identifiers": ids})}))
        yield batch, renamed


def build(store, listings, vendors, n: int) -> float:
    started = time.perf_counter()
    done = 0
    for batch, vendor_batch in derived(listings, vendors, n):
        for i in range(0, len(batch), BATCH):
            store.upsert_listings(batch[i:i + BATCH])
        store.upsert_vendors(vendor_batch)
        done += len(batch)
        if done % 100_000 < len(batch):
            print(f"  indexed {done:,} listings ({time.perf_counter() - started:.0f} s)", flush=True)
    return time.perf_counter() - started


def baseline(store, shipments, sample: int) -> float:
    """Shipments/s of full-scan fuzzy matching: every title of the index against each description."""
    reader = DeclarationReader()
    profiles = list(store.iter_profiles())
    started = time.perf_counter()
    for shipment in shipments[:sample]:
        grams = trigrams(reader.read(shipment.articles[0].description).corrected)
        if not grams:
            continue
        best = max(profiles, key=lambda p: len(grams & trigrams(p.title.casefold())))
        assert best is not None
    return sample / (time.perf_counter() - started)


def run(name: str, open_store, streams: dict[str, list], workers: list[int], sample: int) -> list[tuple]:
    rows = []
    with open_store() as store:
        base = baseline(store, next(iter(streams.values())), sample)
    rows.append((name, "full scan (baseline)", base, 1.0))
    print(f"  {name}, full scan (baseline): {base:,.2f}/s", flush=True)
    for mix, shipments in streams.items():
        half = len(shipments) // 2
        for w in workers:
            matched = 0
            started = time.perf_counter()
            lines = match_in_processes(open_store, shipments, w, encode=ShipmentMatches.to_json)
            for i, line in enumerate(lines, 1):
                matched += '"matches":[]' not in line
                if i == half:
                    halfway = time.perf_counter()
            ended = time.perf_counter()
            label = f"{mix}, {w} process{'es' if w > 1 else ''}"
            cold, warm = half / (halfway - started), (len(shipments) - half) / (ended - halfway)
            rows.append((name, f"{label}, cold", cold, cold / base))
            rows.append((name, f"{label}, warm", warm, warm / base))
            print(f"  {name}, {label}: cold {cold:,.0f}/s, warm {warm:,.0f}/s", flush=True)
            assert matched, "no shipment matched anything: the index is not what the benchmark built"
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--shipments", type=int, default=20_000, help="per stream")
    parser.add_argument("--planted", default="0.6,0.02", help="shares of planted matches, one stream each")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--elasticsearch", default="100000", help="sizes also run on Elasticsearch ('' for none)")
    parser.add_argument("--keep", metavar="DIR", help="keep (and reuse) the embedded indexes here")
    args = parser.parse_args()
    tune_gc_for_volume()  # as the `interdict` command does
    sizes = [int(s) for s in args.sizes.split(",") if s]
    es_sizes = {int(s) for s in args.elasticsearch.split(",") if s}
    workers = [int(w) for w in args.workers.split(",")]
    planted = [float(p) for p in args.planted.split(",")]
    listings, vendors = base_records()
    rows = []
    with tempfile.TemporaryDirectory(prefix="interdict-bench-") as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        for n in sizes:
            path = folder / f"match-{n}.db"
            with EmbeddedStore(path) as store:
                if store.count_listings() != n:
                    print(f"building an embedded index of {n:,} listings", flush=True)
                    print(f"  {n / build(store, listings, vendors, n):,.0f} listings/s", flush=True)
                streams = {f"{share:.0%} planted": [s for s, _ in StreamGenerator(store, seed=5).stream(
                    args.shipments, decoy_share=1 - share)] for share in planted}
            sample = max(3, min(50, 2_000_000 // n))
            rows += run(f"embedded {n:,}", partial(EmbeddedStore, path), streams, workers, sample)
            if n in es_sizes:
                node = ElasticsearchNode(folder / f"es-{n}", free_port(), free_port(), heap="1g").start()
                try:
                    settings = load_config(env={}).elasticsearch
                    open_es = partial(ElasticsearchStore, settings, node.url, "bench")
                    with open_es() as es:
                        print(f"building an Elasticsearch index of {n:,} listings", flush=True)
                        print(f"  {n / build(es, listings, vendors, n):,.0f} listings/s", flush=True)
                    rows += run(f"elasticsearch {n:,}", open_es, streams, workers, sample)
                finally:
                    node.stop()
    print(f"\n{args.shipments:,} shipments per stream (the rest lawful decoys), JSON lines out; cold: the "
          "first half, from empty caches; warm: the second half (new shipments, caches kept); baseline on a sample")
    print(f"{'index':<22}{'stream, processes':<36}{'shipments/s':>12}{'× baseline':>12}")
    for name, method, rate, ratio in rows:
        print(f"{name:<22}{method:<36}{rate:>12,.1f}{ratio:>12,.0f}")


if __name__ == "__main__":
    main()
