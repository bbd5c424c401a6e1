"""Page objects: extraction kept apart from crawling, the web-poet way. A page object gets
a URL and HTML and nothing else (the spider adds the market, the crawl time, the transport
and the evidence), knows nothing of Scrapy, and shows what it reads as fields: typed
methods marked ``@field``, each returning its part of the contract. Each market's page
objects are tested against saved pages (tests/fixtures/page_objects; docs/adding-a-market.md)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urljoin, urlsplit

from parsel import Selector
from pydantic import ValidationError

from contracts.listings import (
    Feedback, Listing, Money, PriceTier, ShippingOption, Variant, VendorProfile, VendorRef)
from contracts.money import price_cell

PageKind = Literal["home", "index", "listing", "vendor", "other"]
Transport = Literal["tor", "clearnet"]
F = TypeVar("F", bound=Callable[..., Any])


def field(method: F) -> F:
    """Marks a method as one field of what the page yields (web-poet's ``@field``)."""
    method.page_field = True  # type: ignore[attr-defined]
    return method


class PageError(Exception):
    """A page that cannot yield a valid record; ``reason`` is a short counter name."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def parse_money(text: str | None) -> Money | None:
    """'USD 1,234.50', '238,97 EUR', '€ 12' -> Money; None when no amount with currency."""
    found = price_cell(text) if text else None
    return Money(amount=found[0], currency=found[1]) if found else None


def price_tiers_of(pairs: Iterable[tuple[str, str]]) -> list[PriceTier]:
    """Price tiers from (quantity, price as shown) pairs; a pair without a price is none."""
    tiers = []
    for quantity, shown in pairs:
        money = parse_money(shown)
        if money:
            tiers.append(PriceTier(quantity=quantity, price=money))
    return tiers


def text_of(selector: Selector, css: str) -> str:
    """All text under the first match of ``css``, whitespace-collapsed."""
    node = selector.css(css)
    if not node:
        return ""
    return " ".join(" ".join(node[0].css("::text").getall()).split())


def _validation_reason(error: ValidationError) -> str:
    first = error.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else "record"
    return f"invalid_{name}" if first["type"] != "missing" else f"missing_{name}"


def listing_key(url: str) -> str:
    """A market-independent key: the URL without scheme and host (mirrors share it). The
    generic extractor keys listings so; a page object that reads no id of its own does too,
    so that a listing read from its page and from a category page's card is one listing."""
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    return hashlib.sha1(path.encode()).hexdigest()[:16]


def path_tail(url: str) -> str:
    """The last part of a URL's path ("/listing/34837" -> "34837")."""
    return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]


class WebPage:
    """A fetched page: its URL and HTML are its only inputs."""

    def __init__(self, url: str, html: str):
        self.url = url
        self.sel = Selector(text=html)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        """The page's fields, in the order they are declared (a subclass may override one)."""
        names: dict[str, None] = {}
        for klass in reversed(cls.__mro__):
            names.update((name, None) for name, value in vars(klass).items() if getattr(value, "page_field", False))
        return tuple(names)

    def fields(self) -> dict[str, Any]:
        return {name: getattr(self, name)() for name in self.field_names()}

    def absolute(self, href: str) -> str:
        return urljoin(self.url, href)

    def links(self, css: str) -> list[str]:
        return [self.absolute(h) for h in self.sel.css(css).getall()]


class ListingPage(WebPage):
    """A listing's page. ``title``, ``price`` and ``vendor`` are what a market must show;
    the other fields are empty unless a market's page object reads them."""

    @field
    def listing_key(self) -> str:
        return listing_key(self.url)

    @field
    def title(self) -> str:
        raise NotImplementedError

    @field
    def description(self) -> str:
        return ""

    @field
    def price(self) -> Money | None:
        return None

    @field
    def price_tiers(self) -> list[PriceTier]:
        return []

    @field
    def vendor(self) -> VendorRef | None:
        return None

    @field
    def category_path(self) -> list[str]:
        return []

    @field
    def ships_from(self) -> str | None:
        return None

    @field
    def ships_to(self) -> list[str]:
        return []

    @field
    def shipping_options(self) -> list[ShippingOption]:
        return []

    @field
    def variants(self) -> list[Variant]:
        return []

    @field
    def payment_terms(self) -> str | None:
        return None

    @field
    def image_urls(self) -> list[str]:
        return []


class VendorPage(WebPage):
    """A vendor's profile page. Markets name where the common parts are (``name_css``,
    ``profile_css``, ``pgp_css``) and read what each shows differently."""

    name_css: str
    profile_css: str  # text nodes of the profile
    pgp_css: str  # text of the element holding the armored key

    @field
    def name(self) -> str:
        return text_of(self.sel, self.name_css) or unquote(urlsplit(self.url).path.rsplit("/", 1)[-1])

    @field
    def profile(self) -> str:
        return "\n".join(t.strip() for t in self.sel.css(self.profile_css).getall() if t.strip())

    @field
    def pgp_key(self) -> str | None:
        return self.sel.css(self.pgp_css).get()

    @field
    def rating(self) -> float | None:
        return None

    @field
    def sales(self) -> int | None:
        return None

    @field
    def joined(self) -> str | None:
        return None

    @field
    def feedback(self) -> list[Feedback]:
        return []


class IndexPage(WebPage):
    """Home and category pages: where the listings, vendors and further pages are."""

    listing_links_css: str  # hrefs of listings
    follow_links_css: str  # hrefs of categories and further pages

    def listing_urls(self) -> list[str]:
        return self.links(self.listing_links_css)

    def follow_urls(self) -> list[str]:
        return self.links(self.follow_links_css)


def _validated(page: WebPage) -> dict[str, Any]:
    try:
        return page.fields()
    except ValidationError as exc:  # a field built a contract part from bad values
        raise PageError(_validation_reason(exc), page.url) from None


def listing_of(page: ListingPage, *, market: str, crawled_at: datetime, transport: Transport = "clearnet") -> Listing:
    """The listing a page shows, with what the spider knows of it: market, crawl time, route."""
    fields = _validated(page)
    for required in ("title", "price", "vendor"):
        if not fields.get(required):
            raise PageError(f"missing_{required}", page.url)
    try:
        return Listing(market=market, url=page.url, crawled_at=crawled_at, transport=transport, **fields)
    except ValidationError as exc:
        raise PageError(_validation_reason(exc), page.url) from None


def vendor_of(page: VendorPage, *, market: str, crawled_at: datetime, transport: Transport = "clearnet") -> VendorProfile:
    fields = _validated(page)
    if not fields.get("name"):
        raise PageError("missing_vendor_name", page.url)
    try:
        return VendorProfile(market=market, url=page.url, crawled_at=crawled_at, transport=transport, **fields)
    except ValidationError as exc:
        raise PageError(_validation_reason(exc), page.url) from None


class MarketProfile:
    """How to read one market family: which page object serves which URL. A market without
    vendor pages of its own (or none read yet) leaves ``vendor_page`` None."""

    name: str
    listing_page: type[ListingPage]
    vendor_page: type[VendorPage] | None = None
    index_page: type[IndexPage]
    url_kinds: tuple[tuple[str, PageKind], ...]  # (path regex, kind), first match wins
    marker: str  # a string only this market's pages carry (in <title>, a meta tag...)

    def kind(self, url: str) -> PageKind:
        path = urlsplit(url).path or "/"
        if path == "/":
            return "home"
        kind = next((kind for pattern, kind in self.url_kinds if re.match(pattern, path)), "other")
        return "other" if kind == "vendor" and self.vendor_page is None else kind

    def recognises(self, html: str) -> bool:
        """Whether a saved page looks like this market (for `interdict parse` and imports)."""
        return self.marker in html
