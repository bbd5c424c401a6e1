"""What listing images add to a crawl (issue 25: ≤ 20 %): real `interdict crawl` runs of both
demo markets (direct, on loopback, WARC evidence on, as the demo runs) into a fresh embedded
store, with the markets' images off (the baseline) and on (each listing's gallery fetched
through the downloader, screened against a blocklist of 1,000 SHA-256 and 1,000 pHash entries,
read, hashed, kept by digest, archived), alternating, wall time of the crawl process until it
ends (every listing and its photos' hashes indexed, the WARC files closed), medians; then the
photos found and the vendor links they make, read from the store as `interdict images links`
does.

    .venv/bin/python bench/image_crawl.py [--runs 3] [--latency 0]
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from interdict.demo.catalog import Catalog  # noqa: E402
from interdict.demo.run import demo_markets  # noqa: E402

GOAL = 1.20


def blocklists(work: Path) -> dict[str, str]:
    """An agency-sized list of entries none of the demo's photos match."""
    rng = random.Random(25)
    (work / "sha256.txt").write_text("".join(f"{rng.getrandbits(256):064x}\n" for _ in range(1000)))
    (work / "phash.txt").write_text("".join(f"{rng.getrandbits(64):016x}\n" for _ in range(1000)))
    return {"INTERDICT_IMAGES__BLOCKLIST_SHA256": str(work / "sha256.txt"),
            "INTERDICT_IMAGES__BLOCKLIST_PHASH": str(work / "phash.txt")}


def crawl(folder: Path, urls: dict[str, str], images: bool, lists: dict[str, str]) -> tuple[float, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INTERDICT_")}
    env.update(INTERDICT_STORE__SPOOL_DIR=str(folder / "spool"), INTERDICT_CRAWL__STATE_DIR=str(folder / "state"),
               INTERDICT_EVIDENCE__DIR=str(folder / "evidence"), INTERDICT_IMAGES__DIR=str(folder / "images"),
               INTERDICT_IMAGES__FLAGGED_FILE=str(folder / "flagged.jsonl"),
               INTERDICT_MARKETS__SABLE__IMAGES=str(images).lower(),
               INTERDICT_MARKETS__VESPER__IMAGES=str(images).lower(), **lists)
    began = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "interdict.cli", "crawl", "sable", "vesper", "--store",
                           str(folder / "store.db"), *[f"--base-url={m}={u}" for m, u in urls.items()]],
                          env=env, cwd=folder, capture_output=True, text=True)
    took = time.monotonic() - began
    if done.returncode != 0:
        raise SystemExit(f"crawl failed: {done.stderr[-2000:]}")
    return took, "\n".join(line for line in done.stderr.splitlines() if ": images:" in line)


def links(store_path: Path) -> tuple[int, int]:
    from index.embedded import EmbeddedStore
    from index.photo_links import PhotoCatalog

    with EmbeddedStore(store_path) as store:
        photos = PhotoCatalog.of(store)
    return len(photos), len(photos.vendor_links(31))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.0, help="ms the demo markets answer late (Tor: 70)")
    args = parser.parse_args()
    catalog = Catalog()
    work = Path(tempfile.mkdtemp(prefix="interdict-bench-images-"))
    times: dict[str, list[float]] = {"images off": [], "images on": []}
    found = (0, 0)
    lines = ""
    try:
        lists = blocklists(work)
        with demo_markets("127.0.0.1", {"sable": 0, "vesper": 0}, catalog.seed, 0, latency_ms=args.latency) as urls:
            for run in range(args.runs):
                for images in (False, True) if run % 2 == 0 else (True, False):
                    label = "images on" if images else "images off"
                    folder = work / f"run{run}-{label.replace(' ', '-')}"
                    folder.mkdir()
                    took, said = crawl(folder, urls, images, lists)
                    times[label].append(took)
                    if images:
                        found, lines = links(folder / "store.db"), said
                    print(f"run {run + 1} {label}: {took:.1f} s", flush=True)
                    shutil.rmtree(folder)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    base, with_images = (statistics.median(times[k]) for k in ("images off", "images on"))
    print(f"\nboth demo markets (2,100 listings, 2,445 pages), {args.runs} runs each, medians:")
    for label, values in times.items():
        print(f"  {label:11} {statistics.median(values):6.1f} s   ({', '.join(f'{v:.1f}' for v in values)})")
    print(lines)
    print(f"  {found[0]} photos indexed, {found[1]} pairs of vendors linked by a shared photo")
    ratio = with_images / base
    print(f"  images add {ratio - 1:+.1%} (ratio {ratio:.3f}; goal ≤ {GOAL:.2f}): {'met' if ratio <= GOAL else 'MISSED'}")
    return 0 if ratio <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
