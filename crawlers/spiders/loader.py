"""Scrapy's spider loader for Interdict (SPIDER_LOADER_CLASS): one spider class,
MarketSpider, known under the name of each way of reading a market — every page-object
profile (crawlers/pages) and the generic readers — so `scrapy list`, `scrapy crawl sable -a
market=sable`, `scrapy check` and Scrapyd's spider=sable work with no spider module per
market. A new market is a page-object module and a config entry, nothing here."""

from __future__ import annotations

from crawlers.pages import PROFILES
from crawlers.spiders.market import MarketSpider

# Markets without page objects are read by the generic extractor; "shop" names the clearnet
# shops among them (markets.toml), read the same way.
GENERIC_READERS = ("generic", "shop")


class MarketSpiderLoader:
    def __init__(self) -> None:
        self._spiders: dict[str, type[MarketSpider]] = {
            name: type(f"{name.title().replace('_', '')}Spider", (MarketSpider,),
                       {"name": name, "profile_name": name, "__module__": __name__,
                        "__doc__": f"MarketSpider reading markets of profile {name!r}."})
            for name in (*PROFILES, *GENERIC_READERS)}

    @classmethod
    def from_settings(cls, settings) -> "MarketSpiderLoader":
        return cls()

    def load(self, spider_name: str) -> type[MarketSpider]:
        try:
            return self._spiders[spider_name]
        except KeyError:
            raise KeyError(f"Spider not found: {spider_name}") from None

    def list(self) -> list[str]:
        return sorted(self._spiders)

    def find_by_request(self, request) -> list[str]:
        return []  # a request names no spider by itself: crawls name their market's profile
