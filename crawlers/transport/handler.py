"""The download handler for http and https: each request goes through Tor or directly,
as routing.route_for decides. There is no fallback from one route to the other."""

from __future__ import annotations

from scrapy import Request
from scrapy.core.downloader.handlers.http11 import HTTP11DownloadHandler
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.misc import build_from_crawler

from crawlers.transport.routing import market_of, route_for


class RoutingDownloadHandler:
    lazy = False

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.direct = build_from_crawler(HTTP11DownloadHandler, crawler)
        self._tor = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "RoutingDownloadHandler":
        return cls(crawler)

    @property
    def tor(self):
        if self._tor is None:
            from crawlers.transport.socks_handler import TorSocksDownloadHandler

            self._tor = build_from_crawler(TorSocksDownloadHandler, self.crawler)
        return self._tor

    async def download_request(self, request: Request) -> Response:
        route = route_for(request, market_of(self.crawler))
        self.crawler.stats.inc_value(f"interdict/route/{route}")
        if route == "tor":
            request.meta.pop("proxy", None)  # an HTTP proxy would be a second, unvetted route
            return await self.tor.download_request(request)
        return await self.direct.download_request(request)

    async def close(self) -> None:
        await self.direct.close()
        if self._tor is not None:
            await self._tor.close()
