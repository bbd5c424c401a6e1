"""Claims about crawling that had no test (issue 18, item 17): redirects and error answers are
archived as evidence like any page; an operator's session reaches the market's own hosts
only and is `[withheld]` in the evidence. Real Scrapy crawls (the probe spider) against a
real HTTP server on loopback."""

from __future__ import annotations

import gzip
import json
import os
import re
import subprocess
import sys

from conftest import REPO
from servers import RecordingServer


def _probe(tmp_path, market_lines: list[str], paths: list[str], sessions: str = ""):
    config, evidence, out = tmp_path / "probe.toml", tmp_path / "evidence", tmp_path / "out.jsonl"
    secrets = tmp_path / "secrets" / "sessions.toml"
    secrets.parent.mkdir()
    secrets.write_text(sessions)
    secrets.chmod(0o600)
    config.write_text("\n".join(["[markets.probe]", *market_lines, "[crawl]", f'sessions_file = "{secrets}"',
                                 f'state_dir = "{tmp_path / "state"}"']) + "\n")
    proc = subprocess.run([sys.executable, "-m", "scrapy", "runspider", str(REPO / "tests" / "probe_spider.py"),
                           "-a", f"paths={','.join(paths)}", "-o", str(out), "-s", "ITEM_PIPELINES={}",
                           "-s", "RETRY_TIMES=0", "-s", "LOG_LEVEL=INFO"],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "INTERDICT_CONFIG": str(config), "INTERDICT_EVIDENCE__DIR": str(evidence)})
    items = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    archived = b"".join(gzip.decompress(p.read_bytes()) for p in sorted(evidence.glob("*.warc.gz")))
    return proc, items, archived


def _records(archived: bytes) -> list[tuple[str, str, bytes]]:
    """(WARC-Type, target URI, the record's HTTP head) of every record."""
    found = []
    for chunk in re.split(rb"(?:^|\r\n)WARC/1\.[01]\r\n", archived)[1:]:
        warc_head, _, rest = chunk.partition(b"\r\n\r\n")
        fields = dict(line.split(b": ", 1) for line in warc_head.split(b"\r\n") if b": " in line)
        found.append((fields[b"WARC-Type"].decode(), fields.get(b"WARC-Target-URI", b"").decode(),
                      rest.partition(b"\r\n\r\n")[0]))
    return found


def test_redirects_and_error_answers_are_archived_and_sessions_withheld(tmp_path):
    server = RecordingServer()
    try:
        proc, items, archived = _probe(
            tmp_path, ['profile = "generic"', 'transport = "clearnet"', "allow_private_targets = true",
                       f'base_urls = ["{server.url}"]', "obey_robots_txt = false"],
            ["/redirect", "/missing", "/echo-cookie"],
            sessions='[probe]\ncookies = { probe_session = "SECRET-COOKIE" }\n'
                     'headers = { Authorization = "Bearer SECRET-TOKEN" }\n')
        sent = dict(server.requests)
    finally:
        server.close()
    assert proc.returncode == 0, proc.stderr[-2000:]
    responses = {uri.removeprefix(server.url): head for kind, uri, head in _records(archived) if kind == "response"}
    assert responses["/redirect"].startswith(b"HTTP/1.1 302") and b"Location: /landing" in responses["/redirect"]
    assert responses["/landing"].startswith(b"HTTP/1.1 200")
    assert responses["/missing"].startswith(b"HTTP/1.1 404")
    # the market's own host got the session; the archive names it only as withheld
    assert sent["/echo-cookie"]["cookie"] == "probe_session=SECRET-COOKIE"
    assert sent["/echo-cookie"]["authorization"] == "Bearer SECRET-TOKEN"
    requests = [head for kind, _, head in _records(archived) if kind == "request"]
    assert any(b"Cookie: [withheld]" in head for head in requests)
    assert any(b"Authorization: [withheld]" in head for head in requests)
    # only where the site itself said it: the echo page's body
    assert archived.count(b"SECRET-COOKIE") == 1 and b"SECRET-TOKEN" not in archived


def test_a_session_goes_to_the_markets_own_hosts_and_mirrors_only(tmp_path):
    """The real middleware in a real crawler: requests to the market's hosts and mirrors carry
    the session; a request to any other host (a link off the market) carries none of it."""
    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.utils.project import get_project_settings

    from config import load_config
    from crawlers.sessions import SessionMiddleware
    from crawlers.spiders.loader import MarketSpiderLoader

    SableSpider = MarketSpiderLoader().load("sable")

    secrets = tmp_path / "sessions.toml"
    secrets.write_text('[sable]\ncookies = { s = "SECRET" }\nheaders = { "X-Token" = "SECRET" }\n')
    secrets.chmod(0o600)
    settings = get_project_settings()
    settings.set("INTERDICT_SESSIONS_FILE", str(secrets))
    crawler = Crawler(SableSpider, settings)
    # the configured base URL, and a mirror it was moved to
    crawler.spider = SableSpider.from_crawler(crawler, market="sable", base_url="http://mirror.example")
    assert crawler.spider.mirrors == {load_config().market("sable").base_url, "http://mirror.example"}
    middleware = SessionMiddleware.from_crawler(crawler)
    for url, carries in (("http://127.0.0.1:8701/item/1", True), ("http://mirror.example/item/1", True),
                         ("http://elsewhere.example/item/1", False), ("http://127.0.0.1:9999/", False)):
        request = Request(url)
        middleware.process_request(request)
        assert (request.cookies == {"s": "SECRET"} and request.headers.get("X-Token") == b"SECRET") is carries, url
        if not carries:
            assert not request.cookies and b"X-Token" not in request.headers
