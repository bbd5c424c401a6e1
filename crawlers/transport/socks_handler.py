"""A download handler that sends requests through Tor's SOCKS5 port with remote DNS.

Built on Scrapy 2.19's streaming aiohttp handler (DOWNLOAD_TIMEOUT, DOWNLOAD_MAXSIZE,
dataloss, TLS handled there) and aiohttp-socks. Measured here, this route kept up with
Scrapy's own direct speed at the lowest CPU of the options tried. Scrapy is pinned to
2.19.x because these base classes are private; tests/test_transport.py fails if they move.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import aiohttp
from aiohttp_socks import ProxyConnectionError, ProxyConnector, ProxyError, ProxyTimeoutError, ProxyType
from scrapy import Request
from scrapy.core.downloader.handlers._aiohttp import AiohttpDownloadHandler, _ClientResponse
from scrapy.core.downloader.handlers._base_streaming import BaseStreamingDownloadHandler
from scrapy.crawler import Crawler
from scrapy.exceptions import DownloadFailedError, DownloadTimeoutError, NotConfigured
from scrapy.utils.ssl import _make_ssl_context

from crawlers.transport.errors import TorCircuitError, TorUnavailableError
from crawlers.transport.routing import ISOLATION_META

MAX_ISOLATION_GROUPS = 64  # each group is a Tor circuit; sessions beyond this are recycled
# Tor's extended SOCKS5 replies (ExtendedErrors), for messages an operator can act on.
SOCKS_REPLIES = {
    0x01: "general failure", 0x02: "not allowed by ruleset", 0x03: "network unreachable",
    0x04: "host unreachable", 0x05: "connection refused by destination", 0x06: "TTL expired (circuit timed out)",
    0xF0: "onion service descriptor not found", 0xF1: "onion service descriptor invalid",
    0xF2: "onion service introduction failed", 0xF3: "onion service rendezvous failed",
    0xF4: "onion service requires client authorization", 0xF5: "onion client authorization invalid",
    0xF6: "invalid onion address", 0xF7: "onion service introduction timed out",
}


def parse_socks_url(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    if parts.scheme not in ("socks5h", "socks5") or not parts.hostname or not parts.port:
        raise NotConfigured(f"tor.socks_url must look like socks5h://127.0.0.1:9050, not {url!r}")
    return parts.hostname, parts.port


class TorSocksDownloadHandler(AiohttpDownloadHandler):
    experimental = False
    supports_proxies = False  # the route is Tor; an HTTP proxy in meta would be a second route

    def __init__(self, crawler: Crawler):
        BaseStreamingDownloadHandler.__init__(self, crawler)
        self._ssl_context = _make_ssl_context(crawler.settings)
        self.socks_host, self.socks_port = parse_socks_url(crawler.settings.get("TOR_SOCKS_URL"))
        # Only a per-process secret: isolation comes from the username (the token).
        self._password = crawler.settings.get("TOR_SOCKS_PASSWORD") or "interdict"
        self._sessions: OrderedDict[str, aiohttp.ClientSession] = OrderedDict()

    @property
    def socks_address(self) -> str:
        return f"{self.socks_host}:{self.socks_port}"

    def _session(self, token: str) -> aiohttp.ClientSession:
        # Created lazily inside the running event loop (aiohttp needs one).
        if token in self._sessions:
            self._sessions.move_to_end(token)
            return self._sessions[token]
        if len(self._sessions) >= MAX_ISOLATION_GROUPS:
            _, oldest = self._sessions.popitem(last=False)
            asyncio.ensure_future(oldest.close())
        # No cap per host: a market's concurrency is its download slot's (DOWNLOAD_SLOTS, from
        # markets.toml). Scrapy's base handler caps connections per host at
        # CONCURRENT_REQUESTS_PER_DOMAIN (8), which held every onion market to 8 fetches at once
        # whatever its configured concurrency: the other requests queued here, counted in flight.
        connector = ProxyConnector(
            proxy_type=ProxyType.SOCKS5, host=self.socks_host, port=self.socks_port,
            username=token, password=self._password, rdns=True,
            limit=self._pool_size_total, limit_per_host=0,
        )
        session = aiohttp.ClientSession(
            connector=connector, cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=False,
            response_class=_ClientResponse, trust_env=False,
            skip_auto_headers=("Accept", "Accept-Encoding", "Content-Type", "User-Agent"),
        )
        self._sessions[token] = session
        return session

    @asynccontextmanager
    async def _make_request(self, request: Request, timeout: float):
        token = str(request.meta.get(ISOLATION_META) or "default")
        headers = self._request_headers(request).to_tuple_list()  # drops Proxy-Authorization
        try:
            async with await self._session(token).request(
                request.method, request.url, data=request.body, headers=headers,
                # sock_connect bounds the SOCKS handshake too
                timeout=aiohttp.ClientTimeout(total=timeout, sock_connect=timeout),
                ssl=self._ssl_context, allow_redirects=False,
            ) as response:
                yield response
        except ProxyConnectionError as exc:
            raise TorUnavailableError(
                f"Tor SOCKS proxy {self.socks_address} unreachable ({exc}); {request.url} not fetched") from exc
        except ProxyError as exc:
            reason = SOCKS_REPLIES.get(exc.error_code, f"SOCKS error {exc.error_code}")
            raise TorCircuitError(f"Tor could not reach {request.url}: {reason}") from exc
        except (ProxyTimeoutError, TimeoutError, asyncio.TimeoutError) as exc:
            raise DownloadTimeoutError(f"Getting {request.url} through Tor took longer than {timeout} s") from exc
        except aiohttp.ClientError as exc:
            raise DownloadFailedError(f"{request.url} through Tor: {exc}") from exc

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
        self._sessions.clear()
