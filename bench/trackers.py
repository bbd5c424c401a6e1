"""What trackers add to a crawl: real `interdict crawl` runs of both demo markets (direct, on
loopback, evidence off) into a fresh embedded store — every listing new, so every tracker is
tried on every listing: the worst case — with no service file (no trackers, the baseline) and
with N trackers of every kind, alternating, then a crawl of the next epoch (prices moved, new
listings, a vendor on a new market) over that index, again without and with them. Wall time of
the crawl process until it ends (the alerts recorded and their deliveries done), medians.

    .venv/bin/python bench/trackers.py [--trackers 200] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from interdict.demo.catalog import GROWTH_FROM, VOCABULARY, Catalog  # noqa: E402
from interdict.demo.run import demo_markets  # noqa: E402


def make_trackers(api_db: Path, store_path: Path, count: int, catalog: Catalog) -> dict[str, int]:
    """``count`` trackers, a fifth of each kind, drawn from the demo's own words and vendors."""
    from index.embedded import EmbeddedStore
    from interdict.trackers import TrackerBook, make_tracker

    names = [n for p in VOCABULARY["products"] for n in p["names"]]
    products = [p["id"] for p in VOCABULARY["products"]]
    vendors = [v for v in catalog.vendors]
    countries = ["NL", "DE", "GB", "US", "AU", "FR", "ES", "CA"]
    kinds: dict[str, int] = {}
    with EmbeddedStore(store_path) as store, TrackerBook(api_db) as book:
        for i in range(count):
            kind = ("search", "regex", "identifier", "vendor", "product")[i % 5]
            fields: dict = {"name": f"bench {i}", "kind": kind}
            if kind == "search":
                fields["query"] = {"text": names[i % len(names)].split()[0],
                                   **({"price_max_usd": 50 + i} if i % 2 else {})}
            elif kind == "regex":
                fields["pattern"] = rf"\b\d+\s?(g|gr|pills?)\b.*{names[i % len(names)].split()[0]}"
            elif kind == "identifier":
                fields["query"] = {"filters": {"identifier": [vendors[i % len(vendors)].email]}}
            elif kind == "vendor":
                fields["vendors"] = [vendors[i % len(vendors)].name]
            else:
                fields["query"] = {"filters": {"product": [products[i % len(products)]],
                                               "ships_from": [countries[i % len(countries)]]}}
            book.add(make_tracker(store, "bench", **fields))
            kinds[kind] = kinds.get(kind, 0) + 1
    return kinds


def crawl(store_path: Path, api_db: Path, urls: dict[str, str], work: Path) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERDICT_")}
    env.update(INTERDICT_API__PATH=str(api_db), INTERDICT_EVIDENCE__ENABLED="false",
               INTERDICT_STORE__SPOOL_DIR=str(work / "spool"), INTERDICT_CRAWL__STATE_DIR=str(work / "state"),
               INTERDICT_API__AUDIT_KEY_FILE=str(work / "audit.key"),
               INTERDICT_API__AUDIT_HEAD_FILE=str(work / "audit-head.json"))
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "interdict.cli", "crawl", "sable", "vesper", "--store", str(store_path),
                           *[f"--base-url={m}={u}" for m, u in urls.items()]], env=env, cwd=work,
                          capture_output=True, text=True)
    took = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(f"crawl failed: {done.stderr[-2000:]}")
    return took


def alerts(api_db: Path) -> int:
    from interdict.trackers import TrackerBook

    if not api_db.exists():
        return 0
    with TrackerBook(api_db) as book:
        return len(book.alerts(limit=10_000_000))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trackers", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    catalog = Catalog()
    work = Path(tempfile.mkdtemp(prefix="interdict-bench-trackers-"))
    times: dict[str, list[float]] = {"fresh, no trackers": [], "fresh, trackers": [],
                                     "next epoch, no trackers": [], "next epoch, trackers": []}
    raised: dict[str, list[int]] = {"fresh": [], "next epoch": []}
    try:
        for run in range(args.runs):
            for with_trackers in (False, True) if run % 2 == 0 else (True, False):
                label = "trackers" if with_trackers else "no trackers"
                folder = work / f"run{run}-{label.replace(' ', '-')}"
                folder.mkdir()
                store_path, api_db = folder / "store.db", folder / "api.db"
                kinds = make_trackers(api_db, store_path, args.trackers, catalog) if with_trackers else {}
                with demo_markets("127.0.0.1", {"sable": 0, "vesper": 0}, catalog.seed, 0) as urls:
                    times[f"fresh, {label}"].append(crawl(store_path, api_db, urls, folder))
                fresh_alerts = alerts(api_db)
                with demo_markets("127.0.0.1", {"sable": 0, "vesper": 0}, catalog.seed, GROWTH_FROM) as urls:
                    times[f"next epoch, {label}"].append(crawl(store_path, api_db, urls, folder))
                if with_trackers:
                    raised["fresh"].append(fresh_alerts)
                    raised["next epoch"].append(alerts(api_db) - fresh_alerts)
                print(f"run {run + 1} {label}: fresh {times[f'fresh, {label}'][-1]:.1f} s, next epoch "
                      f"{times[f'next epoch, {label}'][-1]:.1f} s", flush=True)
                shutil.rmtree(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{args.trackers} trackers ({', '.join(f'{n} {k}' for k, n in sorted(kinds.items()))}), "
          f"{args.runs} runs each, medians (2,100 listings at epoch 0; epoch {GROWTH_FROM} over them):")
    for label, values in times.items():
        print(f"  {label:26} {statistics.median(values):6.1f} s   ({', '.join(f'{v:.1f}' for v in values)})")
    for crawl_kind in ("fresh", "next epoch"):
        base, with_ = (statistics.median(times[f"{crawl_kind}, {x}"]) for x in ("no trackers", "trackers"))
        print(f"  {crawl_kind}: trackers add {with_ / base - 1:+.1%} (ratio {with_ / base:.3f}; goal ≤ 1.10); "
              f"alerts raised {statistics.median(raised[crawl_kind]):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
