"""HTTP requests to addresses an operator configured (alert webhooks), under the crawl's egress
rules (crawlers/transport/egress.py): loopback, private, link-local (cloud metadata),
multicast and reserved addresses and local-only names are refused unless the receiver's
host:port is explicitly allowed. The address a name resolves to is checked and then connected
to as it is — no second lookup between check and connect — so a name that rebinds to
127.0.0.1 gets nowhere; TLS still verifies the certificate against the name."""

from __future__ import annotations

import ipaddress
import socket

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from crawlers.transport.egress import egress_problem, is_internal_ip


class EgressRefused(NewConnectionError):
    """The receiver is somewhere requests of this kind may not go."""


def vetted_address(host: str, port: int, allowed: frozenset[str]) -> str:
    """The first address of ``host`` a request may connect to."""
    if f"{host}:{port}" in allowed:
        return host
    refused = []
    for *_, address in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        ip = ipaddress.ip_address(str(address[0]).split("%", 1)[0])
        if not is_internal_ip(ip):
            return str(ip)
        refused.append(str(ip))
    raise ValueError(f"{host} resolves only to loopback or private addresses ({', '.join(refused)}): "
                     f"allow {host}:{port} in [alerts] allow_private_targets if it is meant")


class _Vetted:
    """Mixed into urllib3's connections: they give host, port and _dns_host."""

    allowed: frozenset[str] = frozenset()
    host: str
    port: int
    _dns_host: str

    def _new_conn(self):
        try:
            self._dns_host = vetted_address(self.host, self.port, self.allowed)
        except ValueError as exc:
            raise EgressRefused(self, f"egress refused: {exc}") from None
        except socket.gaierror as exc:
            raise NewConnectionError(self, f"cannot resolve {self.host}: {exc}") from None
        return super()._new_conn()


class _VettedAdapter(HTTPAdapter):
    def __init__(self, allowed: frozenset[str]):
        self.allowed = allowed
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        plain = type("VettedHTTPConnection", (_Vetted, HTTPConnection), {"allowed": self.allowed})
        tls = type("VettedHTTPSConnection", (_Vetted, HTTPSConnection), {"allowed": self.allowed})
        self.poolmanager.pool_classes_by_scheme = {
            "http": type("VettedPool", (HTTPConnectionPool,), {"ConnectionCls": plain}),
            "https": type("VettedTLSPool", (HTTPSConnectionPool,), {"ConnectionCls": tls})}


def egress_session(allowed_targets: list[str]) -> requests.Session:
    """A session whose every connection obeys the egress rules (no proxies from the
    environment); its callers follow no redirects (a receiver cannot send the request elsewhere)."""
    allowed = frozenset(t.lower() for t in allowed_targets)
    session = requests.Session()
    session.trust_env = False
    adapter = _VettedAdapter(allowed)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


def refused_url(url: str, allowed_targets: list[str]) -> str | None:
    """Why ``url`` may not be requested at all (scheme, local name, private address literal),
    or None; names are judged again by what they resolve to when connecting."""
    return egress_problem(url, frozenset(t.lower() for t in allowed_targets))
