"""Tor-routed crawling against a real private Tor network on loopback (tests/conftest.py)."""

import json
import os
import re
import subprocess
import sys

import pytest
from stem.control import Controller

from conftest import REPO, run_cli
from index import Query
from index.embedded import EmbeddedStore
from servers import LoggingDNSServer, RecordingServer

pytestmark = pytest.mark.tor

LISTING_FIELDS = ("title", "description", "price", "price_tiers", "category_path", "ships_from", "ships_to",
                  "shipping_options", "payment_terms")


def all_listings(path):
    with EmbeddedStore(path) as store:
        total = store.count_listings()
        docs = [h.document for o in range(0, total, 1000) for h in store.search(Query(limit=1000, offset=o)).hits]
    return {(d.market.removesuffix("_onion"), d.listing_key): d.data.listing for d in docs}


def probe(config, paths, tmp_path, *settings, market="probe"):
    out = tmp_path / f"probe-{len(list(tmp_path.iterdir()))}.jsonl"
    cmd = [sys.executable, "-m", "scrapy", "runspider", str(REPO / "tests" / "probe_spider.py"), "-a",
           f"paths={','.join(paths)}", "-a", f"market={market}", "-o", str(out), "-s", "CONCURRENT_REQUESTS=1", "-s", "LOG_LEVEL=INFO",
           "-s", "ITEM_PIPELINES={}", *[a for s in settings for a in ("-s", s)]]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "INTERDICT_CONFIG": str(config)})
    items = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return proc, items


@pytest.fixture(scope="module")
def onion_crawl(tor, tmp_path_factory, demo_crawl):
    """Both demo markets crawled as onion services, beside the run's shared direct crawl."""
    tmp = tmp_path_factory.mktemp("onion")
    config = tor.config("onion", tor.onion_markets())
    onion = run_cli("--config", str(config), "crawl", "sable_onion", "vesper_onion", "--store", str(tmp / "onion.db"),
                    env={"INTERDICT_EVIDENCE__DIR": str(tmp / "evidence")})
    return {"onion": onion, "direct": demo_crawl, "tmp": tmp, "config": config}


def test_onion_crawl_equals_direct_crawl(onion_crawl):
    onion = onion_crawl["onion"]
    assert onion.returncode == 0, onion.stderr[-3000:]
    for market in ("sable_onion", "vesper_onion"):
        routes = re.search(rf"^{market}: requests by route: (.*)$", onion.stderr, re.M).group(1)
        assert routes.startswith("tor ") and "direct" not in routes, routes
    via_tor, straight = all_listings(onion_crawl["tmp"] / "onion.db"), all_listings(onion_crawl["direct"])
    assert len(straight) == 2100 and set(via_tor) == set(straight)
    for key, listing in straight.items():
        other = via_tor[key]
        assert other.transport == "tor" and ".onion/" in other.url
        for field in LISTING_FIELDS:
            assert getattr(other, field) == getattr(listing, field), (key, field)
        assert other.vendor.name == listing.vendor.name and other.vendor.sales == listing.vendor.sales


def test_onion_pages_are_evidence_with_their_tor_route(onion_crawl):
    from index.evidence import records

    pages = [record.rec_headers for _, _, record, sha256, _, _ in records(onion_crawl["tmp"] / "evidence")
             if sha256 is not None]  # the response records
    assert len(pages) > 2100
    assert {p.get_header("Interdict-Route") for p in pages} == {"tor"}
    assert all(".onion" in p.get_header("WARC-Target-URI") and ".onion" in p.get_header("Interdict-Mirror")
               for p in pages)
    with EmbeddedStore(onion_crawl["tmp"] / "onion.db") as store:
        evidence = [d.data.listing.evidence for d in store.iter_listings()]
    assert len(evidence) == 2100 and all(e.warc_record_id and ".onion" in e.served_by for e in evidence)


def test_onion_listing_images_come_through_tor_and_equal_the_direct_crawls(onion_crawl):
    from index.evidence import records
    from test_listing_images_e2e import stored_images

    onion = onion_crawl["onion"]
    assert re.search(r"^sable_onion: images: 10 kept .*refused too_many_pixels 1", onion.stderr, re.M), onion.stderr
    via_tor, straight = stored_images(onion_crawl["tmp"] / "onion.db"), stored_images(onion_crawl["direct"])
    assert set(via_tor) == set(straight) and len(straight) == 20
    for key, images in straight.items():
        seen = via_tor[key]
        assert [(i.facts.sha256, i.facts.phash) if i.facts else i.refused.reason for i in seen] == \
            [(i.facts.sha256, i.facts.phash) if i.facts else i.refused.reason for i in images], key
        assert all(".onion/" in i.url for i in seen if not i.url.startswith("data:"))
    fetched = {record.rec_headers.get_header("WARC-Target-URI"): record.rec_headers.get_header("Interdict-Route")
               for _, _, record, sha256, _, _ in records(onion_crawl["tmp"] / "evidence") if sha256 is not None}
    photos = {url: route for url, route in fetched.items() if "/img/" in url or "/media/" in url}
    assert len(photos) == 20 and set(photos.values()) == {"tor"}  # 19 photos and the bomb; the inline one is in its page
    from index.photo_links import PhotoCatalog

    with EmbeddedStore(onion_crawl["tmp"] / "onion.db") as store:
        links = PhotoCatalog.of(store).vendor_links(31)
    pairs = {frozenset((l.photo_a.vendor, l.photo_b.vendor)) for l in links}
    with EmbeddedStore(onion_crawl["direct"]) as store:
        assert pairs == {frozenset((l.photo_a.vendor, l.photo_b.vendor)) for l in PhotoCatalog.of(store).vendor_links(31)}
    assert len(pairs) == 5  # the planted links, found over Tor as directly (tests/test_listing_images_e2e.py)


def test_markets_use_separate_isolated_circuits(tor, onion_crawl):
    with Controller.from_port(port=tor.net.control_port) as controller:
        controller.authenticate()
        status = controller.get_info("circuit-status")
    users = {}
    for line in status.splitlines():
        match = re.search(r'SOCKS_USERNAME="([^"]+)"', line)
        if match:
            users.setdefault(match.group(1), set()).add(line.split()[0])
    assert {"sable_onion", "vesper_onion"} <= set(users), status
    assert not users["sable_onion"] & users["vesper_onion"]


def test_fail_closed_when_tor_is_down(tor, tmp_path):
    target = RecordingServer()
    market = {"counted": {"profile": "sable", "transport": "tor", "allow_private_targets": True,
                          "base_urls": [target.url]}}
    config = tor.config("failclosed", market, outage_probe_interval=1, outage_give_up=4)
    tor.net.stop_client()
    try:
        proc = run_cli("--config", str(config), "crawl", "counted", "--store", str(tmp_path / "s.db"))
    finally:
        tor.net.start_client()
    assert target.requests == [], "a Tor market was fetched outside Tor"
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "crawl paused" in proc.stderr and "unreachable" in proc.stderr
    assert "crawl ended early: tor_unavailable" in proc.stderr
    assert "counted: paused 1 time(s) while Tor was unreachable" in proc.stderr
    # the same crawl with Tor up reaches the target, through the exit
    again = run_cli("--config", str(config), "crawl", "counted", "--store", str(tmp_path / "s.db"))
    assert target.paths()[:1] == ["/"], again.stderr[-2000:]
    target.close()


def test_a_crawl_paused_by_a_tor_outage_resumes_when_tor_is_back(tor, tmp_path, catalog):
    """The resume path: Tor's client goes away in the middle of a crawl and comes back within
    outage_give_up; the crawl pauses, probes, resumes and finishes with every listing."""
    import time

    config = tor.config("resume", {"sable_onion": tor.onion_markets()["sable_onion"]}, outage_probe_interval=1,
                        outage_give_up=180)
    store = tmp_path / "s.db"
    crawl = subprocess.Popen([sys.executable, "-m", "interdict.cli", "--config", str(config), "crawl", "sable_onion",
                              "--store", str(store)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env={**os.environ, "INTERDICT_CRAWL__BATCH_SIZE": "20",
                                             "INTERDICT_CRAWL__STATE_DIR": str(tmp_path / "state")})
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and crawl.poll() is None:
            if store.exists() and _count(store) >= 60:  # well under way
                break
            time.sleep(0.2)
        tor.net.stop_client()
        time.sleep(4)  # several failed fetches and probes while Tor is away
    finally:
        tor.net.start_client()
    _, stderr = crawl.communicate(timeout=600)
    assert crawl.returncode == 0, stderr[-3000:]
    assert "crawl paused" in stderr and re.search(r"Tor is back after \d+ s; crawl resumed", stderr), stderr[-3000:]
    assert "sable_onion: paused 1 time(s) while Tor was unreachable" in stderr
    assert _count(store) == len(catalog.markets["sable"].listings)


def _count(path) -> int:
    with EmbeddedStore(path) as store:
        return store.count_listings()


def test_transport_features_through_tor(tor, tmp_path):
    target = RecordingServer()
    tls = RecordingServer(tls_dir=tmp_path)
    markets = {"probe": {"profile": "sable", "transport": "tor", "allow_private_targets": True,
                         "base_urls": [target.url]},
               "probetls": {"profile": "sable", "transport": "tor", "allow_private_targets": True,
                            "base_urls": [tls.url]}}
    config = tor.config("probe", markets)
    jobdir = tmp_path / "job"
    proc, items = probe(config, ["/redirect", "/set-cookie", "/echo-cookie", "/gzip", "/big", "/headers"],
                        tmp_path, "DOWNLOAD_MAXSIZE=1000000", f"JOBDIR={jobdir}",
                        "DEFAULT_REQUEST_HEADERS={\"Proxy-Authorization\": \"Basic c2VjcmV0\"}")
    by_path = {item["url"].split(target.url)[-1]: item for item in items}
    assert by_path["/landing"]["body"] == "<html>landed</html>", proc.stderr[-2000:]
    assert by_path["/echo-cookie"]["body"] == "session=abc123"
    assert by_path["/gzip"]["body"] == "unzipped " * 100
    assert by_path["/big"]["error"] == "DownloadCancelledError", by_path["/big"]
    sent = json.loads(by_path["/headers"]["body"])
    assert not any(k.lower() == "proxy-authorization" for k in sent)
    assert all("proxy-authorization" not in headers for _, headers in target.requests)
    # the SOCKS address never reaches the job directory; the isolation token may
    persisted = b"".join(p.read_bytes() for p in jobdir.rglob("*") if p.is_file())
    assert str(tor.net.socks_port).encode() not in persisted and b"socks5" not in persisted
    tls_proc, tls_items = probe(config, ["/landing"], tmp_path, market="probetls")
    assert [(i.get("status"), i.get("body")) for i in tls_items] == [(200, "<html>landed</html>")], tls_proc.stderr[-2000:]
    assert tls.paths() == ["/landing"]
    target.close()
    tls.close()


def test_a_tor_market_fetches_at_its_own_concurrency_beyond_scrapys_per_domain_default(tor, tmp_path):
    """The market's download slot sets how many of its pages are fetched at once, over Tor as
    directly: the SOCKS handler's connection pool once capped every onion market at Scrapy's
    CONCURRENT_REQUESTS_PER_DOMAIN (8) whatever markets.toml said, and the rest waited in it."""
    target = RecordingServer()
    config = tor.config("wide", {"probe": {"profile": "sable", "transport": "tor", "allow_private_targets": True,
                                           "concurrency": 12, "base_urls": [target.url]}})
    # answers slow enough that Tor's stream set-up, however loaded the machine, overlaps them
    proc, items = probe(config, [f"/slow/2?{i}" for i in range(24)], tmp_path, "CONCURRENT_REQUESTS=64")
    target.close()
    assert len(items) == 24 and all(i.get("status") == 200 for i in items), proc.stderr[-2000:]
    assert target.max_in_flight == 12  # the market's, above the default 8 and below the global 64


def test_no_dns_lookups_during_a_tor_crawl(tor, tmp_path):
    if os.geteuid() != 0:
        pytest.skip("needs root for a private mount namespace with its own resolv.conf")
    dns = LoggingDNSServer("127.0.0.153")
    resolv = tmp_path / "resolv.conf"
    resolv.write_text("nameserver 127.0.0.153\noptions timeout:1 attempts:1\n")
    config = tor.config("dns", {"sable_onion": tor.onion_markets()["sable_onion"]})

    def in_namespace(*command):
        script = f"mount --bind {resolv} /etc/resolv.conf && exec \"$@\""
        return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", *command],
                              cwd=REPO, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "INTERDICT_CONFIG": str(config)})

    try:
        control = in_namespace(sys.executable, "-c", "import socket\ntry: socket.getaddrinfo('leak-check.example', 80)\nexcept OSError: pass")
        assert "leak-check.example" in dns.queries, (control.stderr, dns.queries)  # the logger does see lookups
        dns.queries.clear()
        proc = in_namespace(sys.executable, "-m", "interdict.cli", "crawl", "sable_onion", "--store", str(tmp_path / "s.db"))
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert re.search(r"sable_onion: \d+ pages, 1150 listings", proc.stderr)
        assert dns.queries == []
    finally:
        dns.close()


def test_ban_page_moves_the_market_to_a_new_circuit(tor, tmp_path):
    target = RecordingServer()
    config = tor.config("ban", {"probe": {"profile": "sable", "transport": "tor", "allow_private_targets": True,
                                          "base_urls": [target.url]}})
    proc, items = probe(config, ["/ban"], tmp_path)
    target.close()
    assert [(i.get("status"), i.get("body")) for i in items] == [(200, "welcome back")], proc.stderr[-2000:]
    assert target.paths() == ["/ban", "/ban"]
    assert "'interdict/tor/bans': 1" in proc.stderr
    assert "'interdict/tor/circuit_renewals': 1" in proc.stderr
    assert "'interdict/tor/newnym': 1" in proc.stderr
    with Controller.from_port(port=tor.net.control_port) as controller:
        controller.authenticate()
        status = controller.get_info("circuit-status")
    assert 'SOCKS_USERNAME="probe#1"' in status


def test_demo_command_over_tor(tmp_path):
    proc = run_cli("demo", "--tor", "--store", str(tmp_path / "demo.db"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert re.search(r"Onion services: sable http://[a-z2-7]{56}\.onion, vesper http://[a-z2-7]{56}\.onion", proc.stdout)
    assert "2100 listings and 205 vendors in the store" in proc.stdout
    assert re.search(r"sable_onion: requests by route: tor \d+$", proc.stdout, re.M)
    assert "direct" not in "".join(l for l in proc.stdout.splitlines() if "requests by route" in l)


def test_unreachable_onion_mirror_fails_over_to_a_live_one(tor, tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    from config.onion import onion_address

    key = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    unpublished = f"http://{onion_address(key)}"  # valid v3 address, no service behind it
    live = f"http://{tor.net.onion_hosts['sable']}"
    config = tor.config("mirrors", {"mirrored": {"profile": "sable", "transport": "tor", "concurrency": 16,
                                                 "base_urls": [unpublished, live]}})
    proc = run_cli("--config", str(config), "crawl", "mirrored", "--store", str(tmp_path / "s.db"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "mirrored: 1346 pages, 1150 listings" in proc.stderr
    assert f"mirror {unpublished} failed" in proc.stderr
    mirrors = next(l for l in proc.stderr.splitlines() if l.startswith("mirrored: mirrors:"))
    served = dict((url, int(n)) for n, url in re.findall(r"(\d+) pages from (\S+?)[,;]", mirrors))
    assert list(served) == [live] and served[live] >= 1346  # retried 500s count as served too
    # Every request already sent to the dead mirror when it is found dead fails over on its
    # own (up to the concurrency, more when a slow machine lets the scheduler run ahead).
    assert int(re.search(r"; (\d+) failover\(s\)$", mirrors).group(1)) >= 1
