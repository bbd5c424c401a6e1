"""Page objects: extraction kept apart from crawling (the web-poet idea, without the
framework). A page object gets a URL and HTML, knows nothing of Scrapy, and is tested
against saved pages in tests/fixtures/html."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal
from urllib.parse import unquote, urljoin, urlsplit

from parsel import Selector
from pydantic import ValidationError

from contracts.listings import Listing, Money, VendorProfile
from contracts.money import price_cell

PageKind = Literal["home", "index", "listing", "vendor", "other"]


class PageError(Exception):
    """A page that cannot yield a valid record; ``reason`` is a short counter name."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def parse_money(text: str | None) -> Money | None:
    """'USD 1,234.50', '238,97 EUR', '€ 12' -> Money; None when no amount with currency."""
    found = price_cell(text) if text else None
    return Money(amount=found[0], currency=found[1]) if found else None


def text_of(selector: Selector, css: str) -> str:
    """All text under the first match of ``css``, whitespace-collapsed."""
    node = selector.css(css)
    if not node:
        return ""
    return " ".join(" ".join(node[0].css("::text").getall()).split())


def _validation_reason(error: ValidationError) -> str:
    first = error.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else "record"
    return f"invalid_{field}" if first["type"] != "missing" else f"missing_{field}"


class MarketPage:
    """A fetched page of one market."""

    def __init__(self, url: str, html: str, market: str, crawled_at: datetime,
                 transport: Literal["tor", "clearnet"] = "clearnet"):
        self.url, self.market, self.crawled_at, self.transport = url, market, crawled_at, transport
        self.sel = Selector(text=html)

    def absolute(self, href: str) -> str:
        return urljoin(self.url, href)

    def links(self, css: str) -> list[str]:
        return [self.absolute(h) for h in self.sel.css(css).getall()]


class ListingPage(MarketPage):
    def fields(self) -> dict:
        """The listing's fields as found on the page (market-specific)."""
        raise NotImplementedError

    def vendor_url(self) -> str | None:
        raise NotImplementedError

    def to_listing(self) -> Listing:
        fields = self.fields()
        for required in ("title", "price", "vendor"):
            if not fields.get(required):
                raise PageError(f"missing_{required}", self.url)
        try:
            return Listing(market=self.market, url=self.url, crawled_at=self.crawled_at,
                           transport=self.transport, **fields)
        except ValidationError as exc:
            raise PageError(_validation_reason(exc), self.url) from None


class VendorPage(MarketPage):
    """Vendor profile pages. Markets name where the common parts are; ``stats`` and
    ``feedback`` read what each market shows differently."""

    name_css: str
    profile_css: str  # text nodes of the profile
    pgp_css: str  # text of the element holding the armored key

    def stats(self) -> dict:
        return {}

    def feedback(self) -> list:
        return []

    def fields(self) -> dict:
        sel = self.sel
        return {
            "name": text_of(sel, self.name_css) or unquote(urlsplit(self.url).path.rsplit("/", 1)[-1]),
            "profile": "\n".join(t.strip() for t in sel.css(self.profile_css).getall() if t.strip()),
            "pgp_key": sel.css(self.pgp_css).get(),
            "feedback": self.feedback(),
            **self.stats(),
        }

    def to_vendor(self) -> VendorProfile:
        fields = self.fields()
        if not fields.get("name"):
            raise PageError("missing_vendor_name", self.url)
        try:
            return VendorProfile(market=self.market, url=self.url, crawled_at=self.crawled_at,
                                 transport=self.transport, **fields)
        except ValidationError as exc:
            raise PageError(_validation_reason(exc), self.url) from None


class IndexPage(MarketPage):
    """Home and category pages: where the listings, vendors and further pages are."""

    listing_links_css: str  # hrefs of listings
    follow_links_css: str  # hrefs of categories and further pages

    def listing_urls(self) -> list[str]:
        return self.links(self.listing_links_css)

    def follow_urls(self) -> list[str]:
        return self.links(self.follow_links_css)


class MarketProfile:
    """How to read one market family: which page object serves which URL."""

    name: str
    listing_page: type[ListingPage]
    vendor_page: type[VendorPage]
    index_page: type[IndexPage]
    url_kinds: tuple[tuple[str, PageKind], ...]  # (path regex, kind), first match wins
    title_marker: str  # a string in <title> that only this market's pages carry

    def kind(self, url: str) -> PageKind:
        path = urlsplit(url).path or "/"
        if path == "/":
            return "home"
        return next((kind for pattern, kind in self.url_kinds if re.match(pattern, path)), "other")

    def recognises(self, html: str) -> bool:
        """Whether a saved page looks like this market (for `interdict parse`)."""
        return self.title_marker in html
