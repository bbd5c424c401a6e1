"""Logged-in markets: the demo markets with walls (a login-protected section on Sable, a
CAPTCHA in front of Vesper). A crawl meeting a wall pauses the market with a hand-off entry
and indexes nothing behind it; a fresh operator session resumes it; the session itself is
never written to logs, state or evidence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, run_cli
from index import Query
from index.embedded import EmbeddedStore
from interdict.demo.run import demo_markets, free_port
from interdict.demo.sites import session_token

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def walled(tmp_path_factory, catalog):
    tmp = tmp_path_factory.mktemp("walls")
    ports = {"sable": free_port(), "vesper": free_port()}
    with demo_markets("127.0.0.1", ports, catalog.seed, 0, walls=True) as urls:
        env = {"INTERDICT_CRAWL__STATE_DIR": str(tmp / "state"),
               "INTERDICT_CRAWL__SESSIONS_FILE": str(tmp / "secrets" / "sessions.toml"),
               "INTERDICT_EVIDENCE__DIR": str(tmp / "evidence")}

        def crawl(market: str):
            return run_cli("crawl", market, "--store", str(tmp / "store.db"), f"--base-url={urls[market]}",
                           "--verbose", env=env)

        yield {"tmp": tmp, "env": env, "crawl": crawl, "urls": urls}


def count(store_path: Path, market: str, text: str = "") -> int:
    with EmbeddedStore(store_path) as store:
        return store.search(Query(text=text, filters={"market": [market]}, limit=0)).total


def write_session(tmp: Path, market: str, value: str) -> None:
    path = tmp / "secrets" / "sessions.toml"
    path.parent.mkdir(exist_ok=True)
    existing = path.read_text() if path.exists() else ""
    path.write_text(existing + f'[{market}]\ncookies = {{ {market}_session = "{value}" }}\n')
    path.chmod(0o600)


def test_captcha_pauses_the_market_until_a_fresh_session(walled, catalog):
    tmp, crawl, env = walled["tmp"], walled["crawl"], walled["env"]
    first = crawl("vesper")
    assert first.returncode == 1
    assert "vesper: PAUSED since " in first.stderr and f"captcha at {walled['urls']['vesper']}/" in first.stderr
    assert count(tmp / "store.db", "vesper") == 0  # nothing behind the wall was indexed

    listed = run_cli("handoff", env=env)
    assert "vesper: PAUSED since" in listed.stdout and "captcha at" in listed.stdout
    assert "seen: title 'Security check'" in listed.stdout and "session in use: none" in listed.stdout
    entry = json.loads(run_cli("handoff", "--json", env=env).stdout)
    assert entry["market"] == "vesper" and entry["reason"] == "captcha" and entry["url"].endswith("/")

    again = crawl("vesper")  # same (no) session: the market stays paused, nothing is fetched
    assert again.returncode == 1 and "vesper: 0 pages" in again.stderr

    resolved = run_cli("handoff", "resolve", "vesper", "--note", "queue passed?", env=env)
    assert resolved.returncode == 0 and "vesper: resumed (was paused since" in resolved.stderr
    assert run_cli("handoff", "resolve", "vesper", env=env).returncode == 2  # not paused any more
    retried = crawl("vesper")  # resolved by hand, but the CAPTCHA is still there: paused again
    assert retried.returncode == 1 and "captcha at" in retried.stderr and "vesper: 0 pages" not in retried.stderr

    write_session(tmp, "vesper", "not-the-right-token")
    wrong = crawl("vesper")  # a session, but not one the market accepts: paused again
    assert wrong.returncode == 1 and "vesper: resumed with a fresh session" not in wrong.stderr
    assert "PAUSED" in wrong.stderr

    (tmp / "secrets" / "sessions.toml").write_text("")
    write_session(tmp, "vesper", session_token("vesper", catalog.seed))
    resumed = crawl("vesper")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "vesper: resumed with a fresh session" in resumed.stderr
    assert session_token("vesper", catalog.seed) not in resumed.stderr  # --verbose logs hold no secret
    assert count(tmp / "store.db", "vesper") == len(catalog.markets["vesper"].listings)
    assert run_cli("handoff", env=env).stdout.strip() == "no market is paused"
    history = [json.loads(l) for l in (tmp / "state" / "handoff.jsonl").read_text().splitlines()]
    assert [h["event"] for h in history] == ["paused", "resumed", "paused", "resumed", "paused", "resumed"]
    assert history[1]["why"] == "queue passed?" and history[-1]["why"] == "a fresh session was supplied"


def test_login_protected_section_is_indexed_only_with_a_session(walled, catalog):
    tmp, crawl = walled["tmp"], walled["crawl"]
    blocked = crawl("sable")
    assert blocked.returncode == 1 and "login_wall at " in blocked.stderr and "/members/" in blocked.stderr
    assert count(tmp / "store.db", "sable", "members") == 0

    write_session(tmp, "sable", session_token("sable", catalog.seed))
    full = crawl("sable")
    assert full.returncode == 0, full.stderr[-2000:]
    assert count(tmp / "store.db", "sable", "members") == 3
    assert count(tmp / "store.db", "sable") == len(catalog.markets["sable"].listings) + 3


def test_sessions_are_never_written_anywhere(walled, catalog, tmp_path):
    """On its own (no files of earlier tests): a crawl meeting the wall, then crawls with sessions."""
    tmp, urls = tmp_path, walled["urls"]
    env = {"INTERDICT_CRAWL__STATE_DIR": str(tmp / "state"),
           "INTERDICT_CRAWL__SESSIONS_FILE": str(tmp / "secrets" / "sessions.toml"),
           "INTERDICT_EVIDENCE__DIR": str(tmp / "evidence")}

    def crawl(market: str):
        return run_cli("crawl", market, "--store", str(tmp / "store.db"), f"--base-url={urls[market]}", "--verbose",
                       env=env)

    assert crawl("vesper").returncode == 1  # paused at the CAPTCHA: a hand-off entry is written
    for market in ("sable", "vesper"):
        write_session(tmp, market, session_token(market, catalog.seed))
    for market in ("sable", "vesper"):
        done = crawl(market)
        assert done.returncode == 0, done.stderr[-2000:]
    secrets = [session_token(m, catalog.seed) for m in ("sable", "vesper")]
    written = [p for p in tmp.rglob("*") if p.is_file() and "secrets" not in p.parts]
    assert any(p.suffix == ".gz" for p in written) and any(p.name == "handoff.jsonl" for p in written)
    import gzip

    for path in written:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, path


def test_sessions_file_inside_the_repository_is_refused(tmp_path):
    inside = REPO / "var" / "sessions-test.toml"
    inside.parent.mkdir(exist_ok=True)
    inside.write_text('[vesper]\ncookies = { a = "b" }\n')
    try:
        proc = subprocess.run([sys.executable, "-c", "from crawlers.sessions import load_sessions; "
                               f"load_sessions({str(inside)!r})"], cwd=REPO, capture_output=True, text=True)
        assert proc.returncode != 0 and "inside the repository" in proc.stderr
    finally:
        inside.unlink()
