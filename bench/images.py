"""Near-duplicate lookup among a million 64-bit perceptual hashes (issue 25: ≤ 10 ms p95 at the
linking radius): index/image_hashes.HashIndex (multi-index hashing) against comparing the
query with every hash (numpy popcount over the whole array) in the same run.

Hashes: uniformly random 64-bit values, with ``--planted`` copies of some of them a few bits
away (what a re-encoded or resized photo gives). Queries: the planted copies (each must find
its original: recall) and as many random hashes (mostly nothing near). Both methods must
return the same sets.

    .venv/bin/python bench/images.py [--hashes 1000000] [--radius 10] [--queries 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from index.image_hashes import HashIndex  # noqa: E402


def _p(values: list[float], share: float) -> float:
    return sorted(values)[min(len(values) - 1, int(share * len(values)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--radius", type=int, default=10)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--planted", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=25)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    hashes = rng.integers(0, 2**63, size=args.hashes, dtype=np.uint64) * np.uint64(2) + rng.integers(
        0, 2, size=args.hashes, dtype=np.uint64)
    originals = rng.choice(args.hashes, size=args.planted, replace=False)
    planted = []
    for position in originals:
        flips = rng.choice(64, size=int(rng.integers(1, args.radius + 1)), replace=False)
        planted.append(int(hashes[position]) ^ sum(1 << int(b) for b in flips))
    queries = planted + [int(q) for q in rng.integers(0, 2**63, size=max(0, args.queries - len(planted)),
                                                       dtype=np.uint64)]
    started = time.perf_counter()
    index = HashIndex(hashes)
    built = time.perf_counter() - started
    fast, slow, found = [], [], 0
    for number, query in enumerate(queries):
        started = time.perf_counter()
        positions, _ = index.near(query, args.radius)
        fast.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        expected, _ = index.scan(query, args.radius)
        slow.append((time.perf_counter() - started) * 1000)
        if set(positions.tolist()) != set(expected.tolist()):
            print(f"query {number}: the index found {len(positions)}, the scan {len(expected)}", file=sys.stderr)
            return 1
        if number < len(planted):
            found += int(originals[number]) in set(positions.tolist())
    p95_fast, p95_slow = _p(fast, 0.95), _p(slow, 0.95)
    print(f"{args.hashes:,} hashes, radius {args.radius}: index built in {built:.2f} s")
    print(f"multi-index lookup: p50 {statistics.median(fast):.2f} ms, p95 {p95_fast:.2f} ms "
          f"(goal ≤ 10 ms: {'met' if p95_fast <= 10 else 'NOT met'})")
    print(f"baseline full scan: p50 {statistics.median(slow):.2f} ms, p95 {p95_slow:.2f} ms")
    print(f"ratio p95 scan / index: {p95_slow / p95_fast:.1f}x; planted copies found: {found}/{len(planted)} "
          f"(recall {found / max(1, len(planted)):.3f}); same answers as the scan for all {len(queries)} queries")
    return 0 if p95_fast <= 10 and found == len(planted) else 1


if __name__ == "__main__":
    sys.exit(main())
