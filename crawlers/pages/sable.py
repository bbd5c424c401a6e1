"""Sable Harbor (demo market): tables of label/value rows, USD prices, ?page= pagination."""

from __future__ import annotations

import re
from functools import cached_property

from contracts.listings import Feedback, Money, PriceTier, ShippingOption, VendorRef
from crawlers.pages.base import (
    IndexPage, ListingPage, MarketProfile, VendorPage, field, parse_money, path_tail, price_tiers_of, text_of)

_RATING_RE = re.compile(r"\((?P<rating>[\d.]+)★,\s*(?P<sales>\d+) sales\)")
_SHIPPING_COST_RE = re.compile(r"\s*\(\+(?P<cost>[^)]*)\)\s*$")


def _shipping_option(text: str) -> ShippingOption:
    """'DHL Paket (tracked) (+USD 12.00)' -> the option and what it adds."""
    cost = _SHIPPING_COST_RE.search(text)
    return ShippingOption(name=_SHIPPING_COST_RE.sub("", text), price=parse_money(cost["cost"]) if cost else None)


class SableListingPage(ListingPage):
    def _row(self, label: str) -> str:
        return text_of(self.sel, f"table.listing-info tr:has(th:contains('{label}')) td")

    @field
    def listing_key(self) -> str:
        return self.sel.css("div.listing::attr(data-listing-id)").get() or path_tail(self.url)

    @field
    def title(self) -> str:
        return text_of(self.sel, "h1.listing-title")

    @field
    def description(self) -> str:
        return "\n".join(p.strip() for p in self.sel.css("div.description p").xpath("string()").getall())

    @field
    def price(self) -> Money | None:
        return parse_money(text_of(self.sel, "td.price"))

    @field
    def price_tiers(self) -> list[PriceTier]:
        rows = ([" ".join(c.css("::text").getall()).strip() for c in row.css("td")] for row in self.sel.css("table.tiers tr"))
        return price_tiers_of((cells[0], cells[1]) for cells in rows if len(cells) == 2)

    @field
    def vendor(self) -> VendorRef | None:
        name = text_of(self.sel, "a.vendor")
        if not name:
            return None
        rating = _RATING_RE.search(self._row("Vendor"))
        href = self.sel.css("a.vendor::attr(href)").get()
        return VendorRef(name=name, url=self.absolute(href) if href else None,
                         rating=float(rating["rating"]) if rating else None,
                         sales=int(rating["sales"]) if rating else None)

    @field
    def category_path(self) -> list[str]:
        return [p.strip() for p in self.sel.css("div.crumbs").xpath("string()").get("").split("›") if p.strip()]

    @field
    def ships_from(self) -> str | None:
        return self._row("Ships from") or None

    @field
    def ships_to(self) -> list[str]:
        return [d.strip() for d in self._row("Ships to").split(",") if d.strip()]  # "Europe, United States"

    @field
    def shipping_options(self) -> list[ShippingOption]:
        return [_shipping_option(o) for o in self.sel.css("select[name=shipping] option::text").getall()]

    @field
    def payment_terms(self) -> str | None:
        return self._row("Payment") or None

    @field
    def image_urls(self) -> list[str]:
        return self.links("div.listing img::attr(src)")


class SableVendorPage(VendorPage):
    name_css, profile_css, pgp_css = "h1.vendor-name", "div.about::text", "pre.pgp::text"

    @cached_property
    def _stats(self) -> str:
        return text_of(self.sel, "p.stats")  # "Rating 4.81 · 497 sales · member since 2026-01-25"

    @field
    def rating(self) -> float | None:
        found = re.search(r"Rating ([\d.]+)", self._stats)
        return float(found.group(1)) if found else None

    @field
    def sales(self) -> int | None:
        found = re.search(r"(\d+) sales", self._stats)
        return int(found.group(1)) if found else None

    @field
    def joined(self) -> str | None:
        found = re.search(r"member since (\S+)", self._stats)
        return found.group(1) if found else None

    @field
    def feedback(self) -> list[Feedback]:
        out = []
        for row in self.sel.css("table.feedback tr"):
            cells = [c.xpath("string()").get().strip() for c in row.css("td")]
            if len(cells) == 3:
                out.append(Feedback(rating=float(cells[0].split("/")[0]), text=cells[1], date=cells[2]))
        return out


class SableIndexPage(IndexPage):
    listing_links_css = "table.results a[href*='/listing/']::attr(href)"
    follow_links_css = ("ul.cats a::attr(href), div.pager a.next::attr(href), div.nav a::attr(href), "
                        "a[href='/members/']::attr(href), ul.members a::attr(href)")


class SableProfile(MarketProfile):
    name = "sable"
    listing_page, vendor_page, index_page = SableListingPage, SableVendorPage, SableIndexPage
    url_kinds = ((r"/c/", "index"), (r"/(?:members/)?listing/", "listing"), (r"/vendor/", "vendor"),
                 (r"/members/$", "index"))
    marker = "| Sable Harbor</title>"
