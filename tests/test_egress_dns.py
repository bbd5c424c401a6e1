"""SSRF through DNS names (issue 18, item 2): a clearnet page that redirects or links to a
name resolving to loopback, link-local (cloud metadata) or IPv6 loopback is never fetched,
redirects included; a market that lives at a private name keeps working, for its own base
URL only. A real Scrapy crawl (the probe spider) in a private mount namespace whose
/etc/hosts maps test names to those addresses — the names resolve through the system
resolver exactly as a public name that points inward would."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import pytest

from conftest import REPO
from servers import RecordingServer

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for a private mount namespace with its own /etc/hosts")

HOSTS = {"internal.shop.test": "127.0.0.1", "metadata.shop.test": "169.254.169.254", "v6.shop.test": "::1",
         "mapped.shop.test": "::ffff:127.0.0.1", "shop.test": "127.0.0.1"}


class Shop(RecordingServer):
    """A clearnet shop whose pages point at internal names."""

    def __init__(self, internal_port: int):
        super().__init__()
        self.internal_port = internal_port

    def respond(self, path, headers):
        inside = f"http://internal.shop.test:{self.internal_port}"
        if path == "/to-internal":
            return 302, [("Location", f"{inside}/secret")], b""
        if path == "/to-metadata":
            return 302, [("Location", "http://metadata.shop.test/latest/meta-data/")], b""
        if path == "/":
            links = [f"{inside}/linked", f"http://v6.shop.test:{self.internal_port}/v6",
                     f"http://mapped.shop.test:{self.internal_port}/mapped", "/landing"]
            body = "".join(f'<a href="{link}">x</a>' for link in links)
            return 200, [("Content-Type", "text/html")], f"<html>{body}</html>".encode()
        return super().respond(path, headers)


def _crawl(tmp_path, config_lines: list[str], market: str, paths: list[str]):
    hosts = tmp_path / "hosts"
    hosts.write_text("".join(f"{address} {name}\n" for name, address in HOSTS.items()))
    config = tmp_path / f"{market}.toml"
    config.write_text("\n".join(config_lines) + "\n")
    out, evidence = tmp_path / f"{market}.jsonl", tmp_path / f"evidence-{market}"
    script = f'mount --bind {hosts} /etc/hosts && exec "$@"'
    probe = [sys.executable, "-m", "scrapy", "runspider", str(REPO / "tests" / "probe_spider.py"), "-a",
             f"paths={','.join(paths)}", "-a", f"market={market}", "-a", "follow=1", "-o", str(out),
             "-s", "ITEM_PIPELINES={}", "-s", "LOG_LEVEL=INFO", "-s", "RETRY_TIMES=0"]
    control = "import socket; print(sorted({a[4][0] for a in socket.getaddrinfo('internal.shop.test', 80)}))"
    env = {**os.environ, "INTERDICT_CONFIG": str(config), "INTERDICT_EVIDENCE__DIR": str(evidence)}
    seen = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", sys.executable,
                           "-c", control], capture_output=True, text=True, timeout=60, env=env)
    assert seen.stdout.strip() == "['127.0.0.1']", seen.stderr  # the names really resolve inward
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *probe],
                          cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    items = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    archived = b"".join(gzip.decompress(p.read_bytes()) for p in evidence.glob("*.warc.gz"))
    return proc, items, archived


def test_names_resolving_inward_are_never_fetched_redirects_included(tmp_path):
    internal = RecordingServer()
    shop = Shop(internal.httpd.server_address[1])
    try:
        config = ["[markets.shop]", 'profile = "generic"', 'transport = "clearnet"', "allow_private_targets = true",
                  f'base_urls = ["{shop.url}"]', "obey_robots_txt = false"]
        proc, items, archived = _crawl(tmp_path, config, "shop", ["/to-internal", "/to-metadata", "/"])
    finally:
        internal.close()
        shop.close()
    assert internal.requests == [], internal.paths()
    fetched = {i["url"] for i in items if "status" in i}
    assert f"{shop.url}/landing" in fetched and not any("shop.test" in url for url in fetched), items
    failed = {i["url"].split("/")[2].split(":")[0] for i in items if "error" in i}
    assert {"internal.shop.test", "metadata.shop.test", "v6.shop.test", "mapped.shop.test"} <= failed, items
    assert proc.stderr.count("egress blocked (resolves_to_private_address)") >= 4, proc.stderr[-3000:]
    assert b"WARC-Target-URI: http://internal.shop.test" not in archived and b"landed" in archived


def test_a_market_living_at_a_private_name_keeps_working_for_its_own_base_url_only(tmp_path):
    internal = RecordingServer()
    shop = Shop(internal.httpd.server_address[1])
    try:
        port = shop.httpd.server_address[1]
        config = ["[markets.named]", 'profile = "generic"', 'transport = "clearnet"', "allow_private_targets = true",
                  f'base_urls = ["http://shop.test:{port}"]', "obey_robots_txt = false"]
        proc, items, _ = _crawl(tmp_path, config, "named", ["/landing", "/to-internal"])
    finally:
        internal.close()
        shop.close()
    assert [(i["url"], i["status"]) for i in items if "status" in i] == [(f"http://shop.test:{port}/landing", 200)]
    assert internal.requests == [] and sorted(shop.paths()) == ["/landing", "/to-internal"], proc.stderr[-3000:]
