"""Sable Harbor (demo market): tables of label/value rows, USD prices, ?page= pagination."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from contracts.listings import Feedback, PriceTier, ShippingOption
from crawlers.pages.base import (
    IndexPage,
    ListingPage,
    MarketProfile,
    VendorPage,
    parse_money,
    text_of,
)

_RATING_RE = re.compile(r"\((?P<rating>[\d.]+)★,\s*(?P<sales>\d+) sales\)")
_SHIPPING_COST_RE = re.compile(r"\s*\(\+(?P<cost>[^)]*)\)\s*$")


def _shipping_option(text: str) -> ShippingOption:
    """'DHL Paket (tracked) (+USD 12.00)' -> the option and what it adds."""
    cost = _SHIPPING_COST_RE.search(text)
    return ShippingOption(name=_SHIPPING_COST_RE.sub("", text), price=parse_money(cost["cost"]) if cost else None)


class SableListingPage(ListingPage):
    def _row(self, label: str) -> str:
        return text_of(self.sel, f"table.listing-info tr:has(th:contains('{label}')) td")

    def fields(self) -> dict:
        sel = self.sel
        key = sel.css("div.listing::attr(data-listing-id)").get() or urlsplit(self.url).path.rsplit("/", 1)[-1]
        vendor_name = text_of(sel, "a.vendor")
        rating = _RATING_RE.search(self._row("Vendor"))
        tiers = []
        for row in sel.css("table.tiers tr"):
            cells = [" ".join(c.css("::text").getall()).strip() for c in row.css("td")]
            money = parse_money(cells[1]) if len(cells) == 2 else None
            if money:
                tiers.append(PriceTier(quantity=cells[0], price=money))
        ships_to = self._row("Ships to")  # "Europe, United States"
        return {
            "listing_key": key,
            "title": text_of(sel, "h1.listing-title"),
            "description": "\n".join(p.strip() for p in sel.css("div.description p").xpath("string()").getall()),
            "price": parse_money(text_of(sel, "td.price")),
            "price_tiers": tiers,
            "vendor": {"name": vendor_name, "url": self.vendor_url(),
                       "rating": float(rating["rating"]) if rating else None,
                       "sales": int(rating["sales"]) if rating else None} if vendor_name else None,
            "category_path": [p.strip() for p in sel.css("div.crumbs").xpath("string()").get("").split("›")
                              if p.strip()],
            "ships_from": self._row("Ships from") or None,
            "ships_to": [d.strip() for d in ships_to.split(",") if d.strip()],
            "shipping_options": [_shipping_option(o) for o in sel.css("select[name=shipping] option::text").getall()],
            "payment_terms": self._row("Payment") or None,
            "image_urls": self.links("div.listing img::attr(src)"),
        }

    def vendor_url(self) -> str | None:
        href = self.sel.css("a.vendor::attr(href)").get()
        return self.absolute(href) if href else None


class SableVendorPage(VendorPage):
    name_css, profile_css, pgp_css = "h1.vendor-name", "div.about::text", "pre.pgp::text"

    def stats(self) -> dict:
        stats = text_of(self.sel, "p.stats")  # "Rating 4.81 · 497 sales · member since 2026-01-25"
        rating = re.search(r"Rating ([\d.]+)", stats)
        sales = re.search(r"(\d+) sales", stats)
        joined = re.search(r"member since (\S+)", stats)
        return {"rating": float(rating.group(1)) if rating else None,
                "sales": int(sales.group(1)) if sales else None,
                "joined": joined.group(1) if joined else None}

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
    title_marker = "| Sable Harbor</title>"
