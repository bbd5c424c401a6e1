"""Commands writing to a pipe whose reader goes away (issue 18, item 13): `crawl -o - | head -1`
stops the crawl within seconds, recorded as interrupted with its true counts, with no
traceback; the listings it stored stay stored. A real crawl of the demo market."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import EVIDENCE_DIR, REPO, SPOOL_DIR, own_config, run_cli
from interdict.demo.run import demo_markets

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


def _pipe(command: str, tmp_path) -> tuple[subprocess.CompletedProcess, float]:
    env = {**os.environ, "INTERDICT_STORE__SPOOL_DIR": str(SPOOL_DIR), "INTERDICT_EVIDENCE__DIR": str(EVIDENCE_DIR),
           "INTERDICT_CONFIG": str(own_config())}
    started = time.monotonic()
    done = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env=env)
    return done, time.monotonic() - started


def test_a_crawl_whose_output_reader_goes_away_stops_and_says_so(tmp_path, catalog):
    store = tmp_path / "s.db"
    cli = f"{sys.executable} -m interdict.cli"
    with demo_markets("127.0.0.1", {"sable": 0, "vesper": 0}, catalog.seed, 0) as urls:
        done, seconds = _pipe(f"{cli} crawl sable --store {store} --base-url={urls['sable']} -o - | head -1",
                              tmp_path)
    first = json.loads(done.stdout)  # exactly one line came through, and it is a whole listing
    assert first["listing"]["market"] == "sable" and first["enrichment"]
    assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, done.stderr[-3000:]
    assert seconds < 60, seconds  # the whole sable crawl takes ~12 s here; 11 minutes before
    jobs = [json.loads(line) for line in run_cli("jobs", "--json", "--store", str(store)).stdout.splitlines()]
    assert [j["status"] for j in jobs] == ["interrupted"] and "output was closed" in jobs[0]["reason"]
    with_counts = run_cli("search", "--json", "--limit", "1000", "--store", str(store))
    stored = len(with_counts.stdout.splitlines())
    assert 0 < jobs[0]["listings"] < len(catalog.markets["sable"].listings)
    assert stored == jobs[0]["listings_new"], (stored, jobs[0])


@pytest.mark.parametrize("command", ["search cocaine --json", "watchlist export --format csv",
                                     "shipments check docs/samples/shipments.jsonl docs/samples/shipments.jsonl --json"])
def test_other_commands_stop_quietly_when_their_reader_goes_away(matching_db, command, tmp_path):
    cli = f"{sys.executable} -m interdict.cli"
    done, _ = _pipe(f"{cli} {command} --store {matching_db} | head -c 1" if "shipments" not in command
                    else f"{cli} {command} | head -c 1", tmp_path)
    assert done.returncode == 0 and len(done.stdout) == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
