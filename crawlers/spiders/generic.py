"""Markets without a page object: every page is read from its schema.org Product data where
it has some (clearnet shops), by the generic extractor otherwise.

Index pages give their listing blocks' links (and every other link on the market's hosts
except actions such as logout or buy); listing pages give listings when title, price and
vendor were read confidently; walls, errors and other pages are counted drops.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

from scrapy.http import Response

from crawlers.extract import read_listings, to_listing
from crawlers.pages import PageError
from crawlers.spiders.market import MarketSpider
from crawlers.transport.mirrors import origin


class GenericSpider(MarketSpider):
    name = "generic"
    profile_name = "generic"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.deny = re.compile(r"(?:^|[/_\-.?=&])(?:" + "|".join(map(re.escape, self.market.deny_words)) + r")(?:$|[/_\-.?=&])", re.I)

    def parse(self, response: Response):
        url = self._canonical(response.url)
        result = read_listings(response.body, url, self.wall_markers, language=False)  # listings carry none
        self._count(f"pages/{result.kind}")
        for reason, count in result.drops.items():
            self._count(f"dropped/{reason}", count)
        self._stop_at_wall(result.wall, response.url)
        if result.wall is not None:
            return  # nothing behind a wall is the market's
        if result.kind == "listing":
            crawled_at = datetime.now(UTC)
            for parsed in result.listings:
                try:
                    listing = to_listing(parsed, self.market_name, crawled_at, self.market.transport)
                except PageError as exc:
                    self._drop(exc.reason, response.url)
                    continue
                self._count("listings/scraped")
                yield listing.model_copy(update={"evidence": self._evidence(response)})
        for link in result.links:
            if self._followable(link) and not self._seen_recently(link):
                yield self._follow(link)

    def _followable(self, url: str) -> bool:
        parts = urlsplit(url)
        if origin(url) not in self.mirrors or parts.scheme not in ("http", "https"):
            return False
        return not self.deny.search(parts.path + ("?" + parts.query if parts.query else ""))


class ShopSpider(GenericSpider):
    """Clearnet shops and marketplaces: the same reading (schema.org data first); as a
    clearnet market it honours robots.txt unless its config says otherwise."""

    name = "shop"
    profile_name = "shop"
