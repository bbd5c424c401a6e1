"""The egress guard: crawled pages choose links; they must not choose where the crawler
connects. Loopback, private, link-local (cloud metadata), multicast and reserved
addresses, local-only names, non-http(s) schemes and malformed onion names are refused,
unless a market explicitly lives on such an address (then only its own base URLs)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from config.onion import onion_problem
from crawlers.transport.routing import market_of

LOCAL_SUFFIXES = (".localhost", ".local", ".internal", ".home.arpa", ".lan", ".intranet", ".corp")
LOCAL_NAMES = {"localhost", "metadata", "metadata.google.internal", "instance-data"}


class EgressBlocked(IgnoreRequest):
    def __init__(self, reason: str, url: str):
        super().__init__(f"egress blocked ({reason}): {url}")
        self.reason = reason


_CGNAT = ipaddress.ip_network("100.64.0.0/10")


def is_internal_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, private, link-local (cloud metadata), multicast, reserved, unspecified or
    carrier-grade NAT; an IPv4-mapped IPv6 address is judged by its IPv4 address."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or ip in _CGNAT)


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    # inet_aton accepts the forms browsers and libc accept too: 2130706433, 0x7f.1, 017700000001
    if host and all(c in "0123456789abcdefx." for c in host.lower()) and any(c.isdigit() for c in host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def egress_problem(url: str, allowed_netlocs: frozenset[str] = frozenset(),
                   private_hosts: frozenset[str] = frozenset()) -> str | None:
    """Why the crawler must not connect to ``url``, or None. Names are judged again by what
    they resolve to when a direct fetch connects (crawlers/transport/dns.py); ``private_hosts``
    are the names some market lives at, which that resolver lets through."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return f"scheme_{parts.scheme or 'none'}"
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return "no_host"
    netloc = f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    if netloc in allowed_netlocs:
        return None
    if host.endswith(".onion"):
        return "invalid_onion" if onion_problem(host) else None
    ip = ip_literal(host)
    if ip is not None:
        return "private_address" if is_internal_ip(ip) else None
    if host in LOCAL_NAMES or host.endswith(LOCAL_SUFFIXES) or "." not in host:
        return "local_name"
    if host in private_hosts:  # another market's private host: only that market may go there
        return "private_host_of_another_market"
    return None


class EgressGuardMiddleware:
    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self._allowed: frozenset[str] | None = None
        self.private_hosts = frozenset(h.lower() for h in crawler.settings.getlist("INTERDICT_PRIVATE_HOSTS"))

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "EgressGuardMiddleware":
        return cls(crawler)

    def allowed_netlocs(self) -> frozenset[str]:
        if self._allowed is None:
            market = market_of(self.crawler)
            allowed = set()
            if market is not None and market.allow_private_targets:
                for base in (*market.base_urls, getattr(self.crawler.spider, "base_url", "")):
                    parts = urlsplit(base)
                    if parts.hostname:
                        allowed.add(f"{parts.hostname.lower()}:{parts.port or (443 if parts.scheme == 'https' else 80)}")
            self._allowed = frozenset(allowed)
        return self._allowed

    def process_request(self, request: Request) -> None:
        problem = egress_problem(request.url, self.allowed_netlocs(), self.private_hosts)
        if problem:
            self.crawler.stats.inc_value(f"interdict/egress_blocked/{problem}")
            raise EgressBlocked(problem, request.url)
        return None
