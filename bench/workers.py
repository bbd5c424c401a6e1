"""Benchmark: one crawl of both demo markets by 1 and by 3 worker processes sharing the Redis
frontier, against a crawl with Scrapy's in-memory scheduler (the baseline).

    .venv/bin/python bench/workers.py [--latency 70] [--workers 1,3] [--repeat 2]

The markets answer each page --latency ms late (an onion service's p50 on the private Tor
network was ~70 ms: ../shared/notes), so a worker waits on the network as a Tor crawl does.
Each run crawls into a fresh embedded store; the markets' access log counts what was fetched,
so a page fetched twice would show. Reports wall time (process start to the last exit), pages/s
and the ratio to the baseline; medians over --repeat runs, the configurations alternating.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from interdict.demo.catalog import Catalog  # noqa: E402
from interdict.demo.run import demo_markets, free_port  # noqa: E402
from interdict.redisnode import RedisNode  # noqa: E402


def crawl(config: Path, store: Path, workers: int, work: Path) -> float:
    """Start the workers at once; seconds until the last one has exited."""
    env = {**os.environ, "INTERDICT_STORE__SPOOL_DIR": str(work / "spool"), "INTERDICT_EVIDENCE__DIR": str(work / "ev")}
    command = [sys.executable, "-m", "interdict.cli", "--config", str(config), "crawl", "sable", "vesper",
               "--store", str(store)] + (["--join"] if workers > 1 else [])
    started = time.monotonic()
    procs = [subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
             for _ in range(workers)]
    for proc in procs:
        _, err = proc.communicate()
        if proc.returncode != 0:
            sys.exit(f"a worker failed:\n{err[-2000:]}")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=70, help="ms per page at the markets")
    parser.add_argument("--workers", default="1,3", help="worker counts to run on the shared frontier")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory(prefix="interdict-bench-workers-") as tmp:
        work = Path(tmp)
        redis = RedisNode(work).start()
        ports = {"sable": free_port(), "vesper": free_port()}
        access = work / "access.log"
        configs = {}
        for name, frontier in (("in-memory", ""), ("frontier", redis.url)):
            configs[name] = work / f"{name}.toml"
            configs[name].write_text(f'[crawl]\nstate_dir = "{work / "state"}"\nfrontier = "{frontier}"\n'
                                     + "".join(f'[markets.{m}]\nbase_urls = ["http://127.0.0.1:{p}"]\n'
                                               for m, p in ports.items()))
        runs = [("baseline: 1 process, in-memory scheduler", configs["in-memory"], 1)]
        runs += [(f"{n} worker(s), Redis frontier", configs["frontier"], n) for n in counts]
        seconds: dict[str, list[float]] = {label: [] for label, _, _ in runs}
        pages: dict[str, int] = {}
        twice: dict[str, int] = {}
        try:
            with demo_markets("127.0.0.1", ports, Catalog().seed, 0, latency_ms=args.latency, access_log=access):
                for round_ in range(args.repeat):
                    for i, (label, config, workers) in enumerate(runs):
                        before = access.stat().st_size if access.exists() else 0
                        seconds[label].append(crawl(config, work / f"store-{round_}-{i}.db", workers, work))
                        with open(access, encoding="utf-8") as log:
                            log.seek(before)
                            fetched = Counter(line for line in log if not line.rstrip().endswith("/robots.txt"))
                        pages[label] = sum(fetched.values())
                        twice[label] = sum(n - 1 for n in fetched.values() if n > 1)
        finally:
            redis.stop()
    base = statistics.median(seconds[runs[0][0]])
    print(f"both demo markets, {args.latency:.0f} ms per page, {os.cpu_count()} cores, median of {args.repeat}")
    print(f"{'configuration':<42} {'wall s':>7} {'pages':>6} {'pages/s':>8} {'vs baseline':>11} {'refetched':>9}")
    for label, _, _ in runs:
        wall = statistics.median(seconds[label])
        print(f"{label:<42} {wall:7.1f} {pages[label]:6d} {pages[label] / wall:8.1f} {base / wall:10.2f}x "
              f"{twice[label]:9d}")
    print("(refetched: fetches beyond the first of a page; each market has a page answering 500, "
          "retried twice by design)")


if __name__ == "__main__":
    main()
