"""Serve the demo marketplaces on loopback, one port per market.

    python -m interdict.demo.server --sable-port 8701 --vesper-port 8702 [--seed N] [--epoch N] [--walls]
                                    [--latency MS] [--access-log FILE]

Prints one line "ready sable=<url> vesper=<url>" once both accept connections.
"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import threading
import time
from http.cookies import SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from interdict.demo.catalog import Catalog
from interdict.demo.sites import SITES, Site


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops SYNs under a crawl's burst


class AccessLog:
    """One line per request served, "market path" (tests count what a crawl fetched)."""

    def __init__(self, path: str | None):
        self.file = open(path, "a", encoding="utf-8", buffering=1) if path else None
        self.lock = threading.Lock()

    def write(self, market: str, path: str) -> None:
        if self.file:
            with self.lock:
                self.file.write(f"{market} {path}\n")


def _handler(site: Site, latency: float = 0.0, access: AccessLog | None = None) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as a real market's web server does
        disable_nagle_algorithm = True  # headers and body go out in separate writes
        server_version = "nginx"
        sys_version = ""

        def do_GET(self) -> None:  # noqa: N802
            if access:
                access.write(site.name, self.path)
            if latency:
                time.sleep(latency)  # a slow market (Tor: tens to hundreds of ms per page)
            jar = SimpleCookie(self.headers.get("Cookie") or "")
            page = site.page(self.path, {name: morsel.value for name, morsel in jar.items()})
            self.send_response(page.status)
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(page.body)))
            self.end_headers()
            self.wfile.write(page.body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


class DemoServers:
    def __init__(self, catalog: Catalog, host: str, ports: dict[str, int], walls: bool = False,
                 latency: float = 0.0, access_log: str | None = None):
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the demo markets only listen on loopback, not {host}")
        self.servers = {}
        access = AccessLog(access_log)
        for name, port in ports.items():
            server = _Server((host, port), _handler(SITES[name](catalog, walls), latency, access))
            self.servers[name] = server

    def urls(self) -> dict[str, str]:
        return {n: f"http://{s.server_address[0]}:{s.server_address[1]}" for n, s in self.servers.items()}

    def start(self) -> "DemoServers":
        for server in self.servers.values():
            threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        for server in self.servers.values():
            server.shutdown()
            server.server_close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--sable-port", type=int, default=8701)
    parser.add_argument("--vesper-port", type=int, default=8702)
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--epoch", type=int, default=0)
    parser.add_argument("--walls", action="store_true",
                        help="a login-protected section on Sable, a CAPTCHA in front of Vesper (see demo/sites.py)")
    parser.add_argument("--latency", type=float, default=0.0, metavar="MS", help="answer each request this late")
    parser.add_argument("--access-log", metavar="FILE", help='append "market path" per request served')
    args = parser.parse_args(argv)
    try:
        servers = DemoServers(Catalog(args.seed, args.epoch), args.host,
                              {"sable": args.sable_port, "vesper": args.vesper_port}, args.walls,
                              args.latency / 1000, args.access_log).start()
    except (OSError, ValueError) as exc:
        print(f"error: cannot start demo markets: {exc}", file=sys.stderr)
        return 2
    print("ready " + " ".join(f"{n}={u}" for n, u in servers.urls().items()), flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        servers.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
