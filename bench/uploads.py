"""Benchmark: the memory an upload costs the server. A CSV of 1,000,000 short rows (6.9 MB,
every row bad: eleven problems each) is sent to POST /api/match of a real `interdict serve`
process with the row limit raised above 1M; the server's resident memory is read from
/proc before the upload and at its peak after it (VmHWM), against a baseline upload of the
same rows' first 1,000 in the same run.

    .venv/bin/python bench/uploads.py [--rows 1000000] [--budget-mb 300]

Prints the RSS growth of each upload, its time, the named and counted problems, and the
ratio of the big upload's growth to the budget (issue 18: at most 300 MB over the RSS before
the upload). Exits 1 when the growth is over budget.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from served import interdict_serve  # noqa: E402

HEADER = (REPO / "docs" / "samples" / "shipments.csv").read_text(encoding="utf-8").splitlines()[0]


def memory_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def reset_peak(pid: int) -> None:
    """Linux ≥ 4.0: writing 5 to clear_refs resets VmHWM to the current RSS."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def upload(url: str, key: str, body: bytes, pid: int) -> dict:
    reset_peak(pid)
    before = memory_kb(pid, "VmRSS")
    started = time.monotonic()
    answer = httpx.post(f"{url}/api/match", content=body, timeout=3600,
                        headers={"Authorization": f"Bearer {key}", "Content-Type": "text/csv"})
    seconds = time.monotonic() - started
    answer.raise_for_status()
    data = answer.json()
    return {"seconds": seconds, "growth_mb": (memory_kb(pid, "VmHWM") - before) / 1024,
            "named": len(data["problems"]), "total": data["problems_total"], "bytes": len(body)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--budget-mb", type=float, default=300)
    args = parser.parse_args()
    rows = [f"{n:07d},x" for n in range(args.rows)]
    big = (HEADER + "\n" + "\n".join(rows) + "\n").encode()
    small = (HEADER + "\n" + "\n".join(rows[:1000]) + "\n").encode()
    with tempfile.TemporaryDirectory(prefix="interdict-bench-uploads-") as tmp, interdict_serve(tmp, {
            "INTERDICT_API__MAX_UPLOAD_ROWS": str(args.rows + 1),
            "INTERDICT_API__MAX_UPLOAD_BYTES": str(len(big) + 1)}) as served:
        upload(served.url, served.key, small, served.pid)  # warm-up: imports, first store connection
        baseline = upload(served.url, served.key, small, served.pid)
        result = upload(served.url, served.key, big, served.pid)
    for name, r in (("baseline (1,000 rows)", baseline), (f"{args.rows:,} rows", result)):
        print(f"{name:>22}: {r['bytes'] / 1e6:5.1f} MB sent, {r['seconds']:6.1f} s, RSS growth {r['growth_mb']:7.1f} MB, "
              f"problems {r['named']:,} named of {r['total']:,}")
    print(f"growth ratio big/baseline: {result['growth_mb'] / max(baseline['growth_mb'], 0.1):.1f}x; "
          f"against the {args.budget_mb:g} MB budget: {result['growth_mb'] / args.budget_mb:.2f}")
    sys.exit(0 if result["growth_mb"] <= args.budget_mb else 1)


if __name__ == "__main__":
    main()
