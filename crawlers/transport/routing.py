"""Which route a request takes. Decided from the market's configuration and the URL, never
from anything a crawled page or a request's meta can set: a Tor market cannot be talked
into a direct fetch."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from scrapy import Request

Route = Literal["tor", "direct"]
ISOLATION_META = "interdict_isolation"  # the only Tor-related value that travels with a request


def route_for(request: Request, market) -> Route:
    host = (urlsplit(request.url).hostname or "").lower()
    if host.endswith(".onion"):
        return "tor"  # an onion name must never reach a local resolver
    if market is not None and market.transport == "tor":
        return "tor"
    return "direct"


def market_of(crawler):
    spider = getattr(crawler, "spider", None)
    return getattr(spider, "market", None)
