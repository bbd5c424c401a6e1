"""Near-duplicate lookup among a million photos' hashes (issue 25: ≤ 10 ms p95 at the linking
rule): index/image_hashes.PhotoIndex — pHash + dHash distance ≤ ``--max-sum`` (31, the rule
enrichment/images.py links photos by), found through two multi-index hash indexes at radius
max-sum // 2 — against comparing the query with every image (numpy popcounts over both whole
arrays) in the same run.

Hashes: uniformly random 64-bit pairs, with ``--planted`` copies of some of them a few bits
away in all (what a reposted photo gives). Queries: the planted copies (each must find its
original: recall) and as many random pairs. Both methods must return the same sets.

    .venv/bin/python bench/images.py [--hashes 1000000] [--max-sum 31] [--queries 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from enrichment.images import LINK_MAX_SUM  # noqa: E402
from index.image_hashes import PhotoIndex  # noqa: E402


def _p(values: list[float], share: float) -> float:
    return sorted(values)[min(len(values) - 1, int(share * len(values)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hashes", type=int, default=1_000_000)
    parser.add_argument("--max-sum", type=int, default=LINK_MAX_SUM)
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--planted", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=25)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)

    def random_hashes(count: int) -> np.ndarray:
        return rng.integers(0, 2**63, size=count, dtype=np.uint64) * np.uint64(2) + rng.integers(
            0, 2, size=count, dtype=np.uint64)

    phashes, dhashes = random_hashes(args.hashes), random_hashes(args.hashes)
    originals = rng.choice(args.hashes, size=args.planted, replace=False)
    queries = []
    for position in originals:
        flips = rng.choice(128, size=int(rng.integers(1, args.max_sum + 1)), replace=False)
        queries.append((int(phashes[position]) ^ sum(1 << int(b) for b in flips if b < 64),
                        int(dhashes[position]) ^ sum(1 << int(b - 64) for b in flips if b >= 64)))
    queries += list(zip(map(int, random_hashes(max(0, args.queries - args.planted))),
                        map(int, random_hashes(max(0, args.queries - args.planted)))))
    started = time.perf_counter()
    index = PhotoIndex(phashes, dhashes)
    built = time.perf_counter() - started
    fast, slow, found = [], [], 0
    for number, (phash, dhash) in enumerate(queries):
        started = time.perf_counter()
        positions, _ = index.near(phash, dhash, args.max_sum)
        fast.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        expected, _ = index.scan(phash, dhash, args.max_sum)
        slow.append((time.perf_counter() - started) * 1000)
        if set(positions.tolist()) != set(expected.tolist()):
            print(f"query {number}: the index found {len(positions)}, the scan {len(expected)}", file=sys.stderr)
            return 1
        if number < args.planted:
            found += int(originals[number]) in set(positions.tolist())
    p95_fast, p95_slow = _p(fast, 0.95), _p(slow, 0.95)
    print(f"{args.hashes:,} photos (pHash, dHash), linked within a summed distance of {args.max_sum} "
          f"(each hash searched at radius {args.max_sum // 2}): indexes built in {built:.2f} s")
    print(f"multi-index lookup: p50 {statistics.median(fast):.2f} ms, p95 {p95_fast:.2f} ms "
          f"(goal ≤ 10 ms: {'met' if p95_fast <= 10 else 'NOT met'})")
    print(f"baseline full scan: p50 {statistics.median(slow):.2f} ms, p95 {p95_slow:.2f} ms")
    print(f"ratio p95 scan / index: {p95_slow / p95_fast:.1f}x; planted copies found: {found}/{args.planted} "
          f"(recall {found / max(1, args.planted):.3f}); same answers as the scan for all {len(queries)} queries")
    return 0 if p95_fast <= 10 and found == args.planted else 1


if __name__ == "__main__":
    sys.exit(main())
