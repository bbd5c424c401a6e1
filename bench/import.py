"""Benchmark: importing a real archive. `interdict import` of the DarkDock 2024 crawl (4,309
saved pages in a 24 MB tarball, ../shared/data/archives) into a fresh embedded store.

    .venv/bin/python bench/import.py [--archive PATH] [--workers N] [--limit N]

Measures, in one run:
- baseline: the extractor as `interdict parse` calls it (crawlers.extract.generic.extract,
  the page's language identified too), in-process on the same files, one page after
  another, one core, pages/s: the machine's speed, measured in the same run;
- parse alone: the import's page reader (the generic extractor, as `import --generic`; no
  page language, which listings do not carry) over every page in N worker processes, started
  as the import starts them, pages/s in all and per core;
- the whole import: the real `interdict import --generic` command (parse, evidence, enrich,
  index) as a child process, pages/s and the peak resident memory of the command with its
  worker processes (summed, sampled every 0.1 s from /proc).
Prints each against the baseline and the issue's goals (parse ≥ 150 pages/s per core, the
whole import ≥ 100 pages/s, RSS < 1 GB); exits 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawlers.extract.generic import extract  # noqa: E402
from crawlers.reading import start_worker  # noqa: E402
from interdict.imports.pages import read_page  # noqa: E402

ARCHIVE = REPO.parent / "shared" / "data" / "archives" / "darkdock-2024.tar.gz"
GOALS = {"parse_per_core": 150.0, "import": 100.0, "rss_mb": 1024.0}
WHEN = datetime(2024, 9, 12, tzinfo=UTC)


def pages(archive: Path, limit: int | None) -> list[tuple[str, bytes]]:
    out = []
    with tarfile.open(archive, "r|*") as tar:
        for info in tar:
            if info.isfile():
                out.append((info.name, tar.extractfile(info).read()))
                if limit and len(out) >= limit:
                    break
    return out


def baseline(members: list[tuple[str, bytes]]) -> float:
    started = time.perf_counter()
    for name, data in members:
        extract(data, f"file:///{name}")
    return len(members) / (time.perf_counter() - started)


def _read(item: tuple[str, bytes]) -> int:
    name, data = item
    return len(read_page(data, None, "darkdock-2024", name, WHEN, generic=True).listings)


def parse_alone(members: list[tuple[str, bytes]], workers: int) -> tuple[float, int]:
    with ProcessPoolExecutor(workers, initializer=start_worker) as pool:  # as the import starts its workers
        list(pool.map(_read, members[: workers * 2]))  # workers started and warm (spaCy-free imports loaded)
        started = time.perf_counter()
        listings = sum(pool.map(_read, members, chunksize=16))
        return len(members) / (time.perf_counter() - started), listings


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree(pid: int) -> list[int]:
    found = [pid]
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                found += _tree(int(child))
    except OSError:
        pass
    return found


def whole_import(archive: Path, workers: int, scratch: Path) -> tuple[float, float, str]:
    env = {**os.environ, "INTERDICT_STORE__PATH": str(scratch / "store.db"),
           "INTERDICT_CRAWL__STATE_DIR": str(scratch / "state"), "INTERDICT_EVIDENCE__DIR": str(scratch / "evidence"),
           "INTERDICT_STORE__SPOOL_DIR": str(scratch / "spool"), "INTERDICT_API__PATH": str(scratch / "api.db"),
           "INTERDICT_API__AUDIT_KEY_FILE": str(scratch / "audit.key"),
           "INTERDICT_API__AUDIT_HEAD_FILE": str(scratch / "audit-head.json")}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "interdict.cli", "import", str(archive), "--generic",
                             "--workers", str(workers)], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], sum(_rss_kb(p) for p in _tree(proc.pid)))
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = proc.communicate()
    seconds = time.perf_counter() - started
    sampler.join()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"import failed ({proc.returncode}):\n{stderr[-3000:]}")
    return seconds, peak[0] / 1024, stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archive", type=Path, default=ARCHIVE)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--limit", type=int, help="only the first N files (a quick look)")
    args = parser.parse_args()
    if not args.archive.is_file():
        print(f"no archive at {args.archive} (the shared data folder: see its README)", file=sys.stderr)
        return 2
    members = pages(args.archive, args.limit)
    print(f"{args.archive.name}: {len(members)} files, {sum(len(d) for _, d in members) / 1e6:.1f} MB; "
          f"{args.workers} worker(s) on {os.cpu_count()} core(s)")
    base = baseline(members)
    print(f"baseline  extractor in-process, one page after another: {base:7.1f} pages/s")
    rate, listings = parse_alone(members, args.workers)
    per_core = rate / args.workers
    print(f"parse     import's reader, {args.workers} process(es): {rate:7.1f} pages/s ({per_core:.1f} per core, "
          f"{per_core / base:.2f}x the baseline per core; goal {GOALS['parse_per_core']:.0f}); {listings} listings")
    ok = per_core >= GOALS["parse_per_core"]
    if args.limit:
        return 0 if ok else 1
    with tempfile.TemporaryDirectory() as scratch:
        seconds, rss_mb, stderr = whole_import(args.archive, args.workers, Path(scratch))
    imported = len(members) / seconds
    print(f"import    `interdict import --generic`: {seconds:.1f} s, {imported:7.1f} pages/s "
          f"({imported / base:.2f}x the baseline; goal {GOALS['import']:.0f}); peak RSS {rss_mb:.0f} MB "
          f"(goal < {GOALS['rss_mb']:.0f})")
    print("          " + "\n          ".join(line for line in stderr.splitlines() if not line.startswith("interdict:")))
    ok = ok and imported >= GOALS["import"] and rss_mb < GOALS["rss_mb"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
