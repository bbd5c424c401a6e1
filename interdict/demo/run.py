"""`interdict demo`: the main job end to end on the embedded default."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

from config import Settings
from index import Query, open_store
from interdict.errors import UserError
from interdict.stopping import sigterm_as_interrupt

DEMO_MARKETS = ("sable", "vesper")
READY_TIMEOUT = 60


_next_port: dict[str, int] = {}


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on. With INTERDICT_FREE_PORTS=FIRST-LAST (the test suite gives
    each parallel worker a range of its own) it is taken from that range, one after another,
    so two workers never pick the same port between choosing it and binding it; else the
    kernel picks one."""
    span = os.environ.get("INTERDICT_FREE_PORTS", "")
    if not span:
        with socket.socket() as sock:
            sock.bind((host, 0))
            return sock.getsockname()[1]
    first, last = (int(p) for p in span.split("-"))
    size = last - first + 1
    cursor = _next_port.setdefault(span, first + (os.getpid() * 7919) % size)  # children start elsewhere
    for step in range(size):
        port = first + (cursor - first + step) % size
        if port_is_free(host, port):
            _next_port[span] = first + (port - first + 1) % size
            return port
    raise UserError(f"no free port in INTERDICT_FREE_PORTS={span}")


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


@contextmanager
def demo_markets(host: str, ports: dict[str, int], seed: int, epoch: int, walls: bool = False,
                 latency_ms: float = 0, access_log: str | os.PathLike[str] | None = None):
    """Run the demo web app in a child process; yield market -> base URL."""
    cmd = [sys.executable, "-m", "interdict.demo.server", "--host", host, "--seed", str(seed),
           "--epoch", str(epoch), "--sable-port", str(ports["sable"]), "--vesper-port", str(ports["vesper"]),
           "--latency", str(latency_ms)]
    cmd += ["--walls"] if walls else []
    cmd += ["--access-log", str(access_log)] if access_log else []
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], READY_TIMEOUT)
        line = proc.stdout.readline() if ready else ""
        if not line.startswith("ready"):
            err = proc.stderr.read().strip().splitlines()
            raise UserError(err[-1] if err else "demo markets did not start")
        yield dict(part.split("=", 1) for part in line.split()[1:])
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def serve_only(config: Settings, seed: int, epoch: int, walls: bool = False) -> int:
    ports = {}
    for name in DEMO_MARKETS:
        parts = urlsplit(config.market(name).base_url)
        ports[name] = parts.port or 80
    host = urlsplit(config.market("sable").base_url).hostname or config.demo.host
    with sigterm_as_interrupt():
        try:
            with demo_markets(host, ports, seed, epoch, walls) as urls:
                print("demo markets: " + ", ".join(f"{n} {u}" for n, u in urls.items()) + " (Ctrl-C stops)",
                      flush=True)
                while True:
                    time.sleep(3600)
        except KeyboardInterrupt:
            return 0


def run_demo(config: Settings, seed: int, epoch: int, store_path: str, verbose: bool = False,
             tor: bool = False) -> int:
    from interdict.crawl import run_crawls

    host = config.demo.host
    # The configured ports keep listing URLs stable between demo runs; fall back to free ones.
    ports = {}
    for name in DEMO_MARKETS:
        port = urlsplit(config.market(name).base_url).port
        ports[name] = port if port and port_is_free(host, port) else free_port(host)
    started = time.monotonic()
    with demo_markets(host, ports, seed, epoch) as urls:
        print(f"Demo markets up: Sable Harbor {urls['sable']}, Vesper Bazaar {urls['vesper']} (seed {seed}, epoch {epoch})")
        with private_tor(ports, tor) as onion_config:
            if onion_config is not None:
                config = onion_config
                targets: dict[str, str | None] = {f"{m}_onion": None for m in DEMO_MARKETS}
            else:
                targets = dict(urls)
            print(f"Crawling, enriching and indexing into {store_path} ...", flush=True)
            reports = run_crawls(config, targets, store_path, verbose=verbose, trigger="demo")
    elapsed = time.monotonic() - started
    print()
    for report in reports:
        print("\n".join(report.lines()))
    print_summary(config, store_path, sum(r.pages for r in reports), elapsed)
    records = sum(r.get("interdict/evidence/records") for r in reports)
    if records:
        print(f"\nEvidence: {records} fetched pages kept as WARC records in {config.evidence.dir}; "
              "`interdict evidence show <id>` (ids from `interdict search --json`), `interdict evidence verify`")
    print(f"\nWeb app: `.venv/bin/interdict keys create \"your name\" --role analyst` (prints your key), then "
          f"`.venv/bin/interdict serve --store {store_path}` and open http://{config.api.host}:{config.api.port}/ "
          "(docs/api.md)")
    return 0 if all(r.pages for r in reports) else 1


@contextmanager
def private_tor(ports: dict[str, int], enabled: bool):
    """With --tor: a private Tor network serving the demo markets as onion services, and a
    configuration (written to var/demo-tor.toml) that crawls them through it."""
    if not enabled:
        yield None
        return
    from config import load_config
    from interdict.tornet import TorNetwork, TorNetworkError, ports_free

    base = next((b for b in range(17100, 18100, 200) if ports_free(list(range(b, b + 100)))), None)
    if base is None:
        raise UserError("no free port range for the private Tor network (17100-18099)")
    net = TorNetwork(services=ports, port_base=base, run_dir=Path("var") / "tornet")
    print("Starting a private Tor network on loopback (3 authorities, 4 relays, onion services, a client) ...",
          flush=True)
    try:
        net.start()
        for name in ports:
            net.wait_for_onion(name)
        lines = ["[tor]", f'socks_url = "{net.socks_url}"', f"control_port = {net.control_port}"]
        for name in ports:
            lines += [f"[markets.{name}_onion]", f'profile = "{name}"', 'transport = "tor"', "concurrency = 16", "images = true",
                      f'base_urls = ["http://{net.onion_hosts[name]}"]']
        path = Path("var") / "demo-tor.toml"
        path.write_text("\n".join(lines) + "\n")
        print("Onion services: " + ", ".join(f"{n} http://{h}" for n, h in net.onion_hosts.items()))
        yield load_config(path)
    except TorNetworkError as exc:
        raise UserError(str(exc)) from None
    finally:
        net.stop()


def print_summary(config: Settings, store_path: str, pages: int, elapsed: float) -> None:
    from interdict.render import facet_line, hit_lines

    with open_store(config, store_path) as store:
        overview = store.search(Query(limit=0, facets=["product", "ships_from", "category", "market"], facet_size=8))
        print(f"\nSummary: {pages} pages in {elapsed:.0f} s; {store.count_listings()} listings and "
              f"{store.count_vendors()} vendors in the store")
        for field in ("market", "product", "ships_from", "category"):
            print("  top " + facet_line(field, overview.facets[field]))
        print_photo_links(config, store)
        sample = Query(text="mdma", filters={"ships_from": ["NL"]}, limit=3, sort="relevance")
        result = store.search(sample)
        print(f"\nSample search: interdict search mdma --filter ships_from=NL  → {result.total} listing(s)")
        for hit in result.hits:
            print("\n".join("  " + line for line in hit_lines(hit)))


def print_photo_links(config: Settings, store) -> None:
    """The vendors the demo's photos link (the same operator under several names)."""
    from index.photo_links import PhotoCatalog

    photos = PhotoCatalog.of(store)
    if not photos:
        return
    links = photos.vendor_links(config.images.link_max_sum)
    print(f"\nPhotos: {len(photos)} listing photos kept in {config.images.dir}; {len(links)} pair(s) of vendors "
          f"share a photo (pHash + dHash ≤ {config.images.link_max_sum}; `interdict images links`):")
    for link in links[:8]:
        print(f"  {link.photo_a.market} · {link.photo_a.vendor}  ⇄  {link.photo_b.market} · {link.photo_b.vendor}"
              f"  (distance {link.distance})")
