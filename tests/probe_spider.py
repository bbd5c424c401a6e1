"""A spider for transport tests: fetches the paths it is given from a configured market
and records what came back. Run with `scrapy runspider` so the project's settings apply."""

import scrapy

from config import load_config
from crawlers.transport.mirrors import origin


class ProbeSpider(scrapy.Spider):
    name = "probe"

    def __init__(self, market: str = "probe", paths: str = "/", follow: str = "", **kwargs):
        super().__init__(**kwargs)
        self.market = load_config().market(market)
        self.market_name = self.market.name
        self.mirrors = {origin(u) for u in self.market.base_urls}  # the market's own hosts, as a market spider has
        self.paths = [p for p in paths.split(",") if p]
        self.follow = bool(follow)

    async def start(self):
        for path in self.paths:
            # dont_filter: the same path may be asked for twice (cookies set, then echoed)
            # dont_obey_robotstxt: a transport probe; robots.txt is tested with the shop spider
            yield scrapy.Request(self.market.base_url + path, callback=self.parse, errback=self.failed,
                                 dont_filter=True, priority=-self.paths.index(path), meta={"dont_obey_robotstxt": True})

    def parse(self, response):
        yield {"url": response.url, "status": response.status, "body": response.text[:2000],
               "length": len(response.body), "flags": response.flags}
        if self.follow:
            for href in response.css("a::attr(href)").getall():
                yield response.follow(href, callback=self.parse, errback=self.failed, meta={"dont_obey_robotstxt": True})

    def failed(self, failure):
        yield {"url": failure.request.url, "error": type(failure.value).__name__, "message": str(failure.value)}
