"""Transport pieces that need no Tor: routing, the egress guard, onion validation in config,
the SOCKS handshake timeout, and the Scrapy internals the Tor handler relies on."""

import re
import json
import os
import subprocess
import sys
import time

import pytest
import scrapy

from config import ConfigError, load_config
from conftest import REPO
from crawlers.transport.egress import egress_problem
from crawlers.transport.routing import route_for
from servers import RecordingServer, SilentSocksServer

V3 = "duckduckgogg42xjoc72x3sjasowoarfbgcmvfimaftt6twagswzczad.onion"


def test_scrapy_internals_the_tor_handler_relies_on():
    """Scrapy is pinned to 2.19.x; this fails first if the private base classes move."""
    from scrapy.core.downloader.handlers import _aiohttp, _base_streaming

    assert scrapy.__version__.startswith("2.19.")
    base = _base_streaming.BaseStreamingDownloadHandler
    for name in ("download_request", "_read_response", "_request_headers", "_cancel_maxsize"):
        assert hasattr(base, name), name
    for name in ("_make_request", "_extract_headers", "_build_base_response_args", "_iter_body_chunks"):
        assert hasattr(_aiohttp.AiohttpDownloadHandler, name), name
    assert hasattr(_aiohttp, "_ClientResponse")
    from scrapy.core.downloader import Downloader, Slot

    for name in ("_process_queue", "_wait_for_download", "_latercall"):
        assert hasattr(Downloader, name), name
    assert hasattr(Slot, "transferring") or "transferring" in Slot.__dataclass_fields__


class _Market:
    def __init__(self, transport):
        self.transport = transport


@pytest.mark.parametrize("url, transport, meta, route", [
    (f"http://{V3}/x", "clearnet", {}, "tor"),  # onion names always go to Tor
    ("http://example.com/", "tor", {}, "tor"),
    ("http://example.com/", "tor", {"proxy": "http://127.0.0.1:8080", "route": "direct"}, "tor"),
    ("http://example.com/", "clearnet", {}, "direct"),
])
def test_routes_come_from_the_market_not_the_request(url, transport, meta, route):
    assert route_for(scrapy.Request(url, meta=meta), _Market(transport)) == route


@pytest.mark.parametrize("url, problem", [
    ("http://127.0.0.1:9200/_cat/indices", "private_address"),
    ("http://localhost:8000/api/keys", "local_name"),
    ("http://api.localhost/", "local_name"),
    ("http://169.254.169.254/latest/meta-data/", "private_address"),
    ("http://metadata.google.internal/computeMetadata/v1/", "local_name"),
    ("http://10.1.2.3/", "private_address"),
    ("http://192.168.0.1/", "private_address"),
    ("http://[::1]:9200/", "private_address"),
    ("http://[::ffff:127.0.0.1]/", "private_address"),
    ("http://[fe80::1]/", "private_address"),
    ("http://2130706433/", "private_address"),  # 127.0.0.1 as one number
    ("http://0x7f.1/", "private_address"),
    ("http://0/", "private_address"),
    ("http://100.64.0.1/", "private_address"),
    ("http://intranet/", "local_name"),
    ("file:///etc/passwd", "scheme_file"),
    ("ftp://example.com/x", "scheme_ftp"),
    ("javascript:alert(1)", "scheme_javascript"),
    ("http://expyuzz4wqqyqhjn.onion/", "invalid_onion"),
    (f"http://{V3[:-7]}a.onion/", "invalid_onion"),
    ("http://example.com/", None),
    ("https://93.184.216.34/", None),
    (f"http://{V3}/listing/1", None),
])
def test_egress_guard(url, problem):
    assert egress_problem(url) == problem


def test_egress_guard_allows_only_the_markets_own_private_address():
    allowed = frozenset({"127.0.0.1:8701"})
    assert egress_problem("http://127.0.0.1:8701/listing/1", allowed) is None
    assert egress_problem("http://127.0.0.1:9200/", allowed) == "private_address"
    assert egress_problem("http://127.0.0.1/", allowed) == "private_address"
    # a name some market lives at (the resolver lets it through) is that market's alone
    private = frozenset({"shop.test"})
    assert egress_problem("http://shop.test:8080/x", frozenset({"shop.test:8080"}), private) is None
    assert egress_problem("http://shop.test:8080/x", allowed, private) == "private_host_of_another_market"


def _market_config(tmp_path, name, **spec):
    path = tmp_path / f"{name}.toml"
    lines = [f"[markets.{name}]"] + [f"{k} = {json.dumps(v)}" for k, v in spec.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("url, transport, message", [
    ("http://expyuzz4wqqyqhjn.onion", "tor", "v2 onion address"),
    (f"http://{V3[:10]}.onion", "tor", "not a v3 onion address"),
    (f"http://{V3[:-7]}a.onion", "tor", "checksum"),
    (f"http://{V3}", "clearnet", "need transport"),
])
def test_bad_onion_market_urls_are_refused_at_start(tmp_path, url, transport, message):
    config = _market_config(tmp_path, "m", profile="sable", transport=transport, base_urls=[url])
    with pytest.raises(ConfigError, match=message):
        load_config(config, env={})


def test_socks_url_must_be_socks5h():
    with pytest.raises(ConfigError, match="socks5h"):
        load_config(env={"INTERDICT_TOR__SOCKS_URL": "socks5://127.0.0.1:9050"})


def _probe(tmp_path, config, paths, *settings, follow=False):
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, "-m", "scrapy", "runspider", str(REPO / "tests" / "probe_spider.py"),
           "-a", f"paths={','.join(paths)}", "-o", str(out), "-s", "ITEM_PIPELINES={}", "-s", "RETRY_TIMES=0",
           *(["-a", "follow=1"] if follow else []), *[a for s in settings for a in ("-s", s)]]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "INTERDICT_CONFIG": str(config)})
    items = [json.loads(l) for l in out.read_text().splitlines()] if out.exists() else []
    return proc, items, time.monotonic() - started


def test_links_to_private_targets_are_never_followed(tmp_path):
    internal = RecordingServer()  # stands in for the crawler's own Elasticsearch or API
    links = [f"{internal.url}/_search", "http://169.254.169.254/latest/meta-data/", "http://localhost:9200/",
             "file:///etc/passwd", "http://2130706433:9200/"]
    market = RecordingServer(links=links)
    config = _market_config(tmp_path, "probe", profile="sable", transport="clearnet",
                            allow_private_targets=True, base_urls=[market.url])
    proc, items, _ = _probe(tmp_path, config, ["/"], follow=True)
    assert internal.requests == []
    blocked = [i for i in items if i.get("error") == "EgressBlocked"]
    assert len(blocked) == 5, proc.stderr[-2000:]
    assert "interdict/egress_blocked/private_address': 3" in proc.stderr
    assert "interdict/egress_blocked/scheme_file': 1" in proc.stderr
    assert "interdict/egress_blocked/local_name': 1" in proc.stderr
    market.close()
    internal.close()


def test_socks_handshake_timeout_is_honoured(tmp_path):
    silent = SilentSocksServer()
    config = _market_config(tmp_path, "probe", profile="sable", transport="tor",
                            base_urls=["http://example.com"])
    config.write_text(config.read_text() + f'[tor]\nsocks_url = "socks5h://127.0.0.1:{silent.port}"\n')
    proc, items, elapsed = _probe(tmp_path, config, ["/"], "DOWNLOAD_TIMEOUT=2")
    silent.close()
    assert [i["error"] for i in items] == ["DownloadTimeoutError"], proc.stderr[-2000:]
    assert "through Tor took longer than 2" in items[0]["message"]
    assert elapsed < 30


def test_dead_mirror_is_skipped_and_the_crawl_completes(tmp_path, catalog):
    from conftest import run_cli
    from index import Query
    from index.embedded import EmbeddedStore
    from interdict.demo.run import demo_markets, free_port

    dead = f"http://127.0.0.1:{free_port()}"
    with demo_markets("127.0.0.1", {"sable": 0, "vesper": 0}, catalog.seed, 0) as urls:
        config = _market_config(tmp_path, "mirrored", profile="sable", transport="clearnet",
                                allow_private_targets=True, base_urls=[dead, urls["sable"]])
        proc = run_cli("--config", str(config), "crawl", "mirrored", "--store", str(tmp_path / "s.db"))
    assert proc.returncode == 0, proc.stderr[-2000:]
    # 1,346 market pages plus robots.txt (clearnet markets obey it), asked of each mirror
    assert re.search(r"mirrored: 134[6-8] pages, 1150 listings", proc.stderr)
    assert f"mirror {dead} failed" in proc.stderr and "continuing on" in proc.stderr
    line = next(l for l in proc.stderr.splitlines() if l.startswith("mirrored: mirrors:"))
    assert f"pages from {urls['sable']}" in line and dead not in line.split(";")[0]
    with EmbeddedStore(tmp_path / "s.db") as store:
        hits = store.search(Query(limit=5)).hits
        assert store.count_listings() == 1150
    for hit in hits:  # known by the primary URL, served by the live mirror
        assert hit.document.data.listing.url.startswith(dead + "/listing/")
        assert hit.document.data.listing.evidence.served_by == urls["sable"]


def test_per_market_concurrency_bounds_requests_in_flight(tmp_path):
    target = RecordingServer()
    config = _market_config(tmp_path, "probe", profile="sable", transport="clearnet", allow_private_targets=True,
                            concurrency=3, base_urls=[target.url])
    proc, items, _ = _probe(tmp_path, config, [f"/slow?{i}" for i in range(24)], "CONCURRENT_REQUESTS=64",
                            "CONCURRENT_REQUESTS_PER_DOMAIN=64")
    target.close()
    assert len(items) == 24 and all(i.get("status") == 200 for i in items), proc.stderr[-2000:]
    assert target.max_in_flight == 3  # the market's slot, not Scrapy's global or per-domain limits


def test_public_suffix_list_comes_from_the_bundled_snapshot():
    """tldextract would otherwise download the list outside any proxy on first use: the
    add-on installs the snapshot whenever a crawler is built (crawlers/addon.py)."""
    from scrapy.downloadermiddlewares import cookies
    from scrapy.settings import BaseSettings
    from scrapy.utils.test import get_crawler

    settings = BaseSettings()
    settings.setmodule("crawlers.settings", priority="project")
    get_crawler(settings_dict={**settings.copy_to_dict(), "TWISTED_REACTOR_ENABLED": False})  # built, not run

    assert cookies._split_domain.suffix_list_urls == ()
    assert cookies._split_domain("market.example.co.uk").domain == "example"
