"""Vesper Bazaar (demo market): cards, <dl> details, EUR in European number format."""

from __future__ import annotations

import re
from functools import cached_property

from contracts.listings import Feedback, Money, PriceTier, ShippingOption, VendorRef
from crawlers.pages.base import (
    IndexPage, ListingPage, MarketProfile, VendorPage, field, parse_money, path_tail, price_tiers_of, text_of)

_TIER_RE = re.compile(r"^(?P<qty>.+?)\s+—\s+(?P<price>.+)$")


def _shipping_option(text: str) -> ShippingOption:
    """'Australia Post Express — 5,17 EUR' -> the option and its cost."""
    match = _TIER_RE.match(text)
    if not match:
        return ShippingOption(name=text)
    return ShippingOption(name=match["qty"], price=parse_money(match["price"]))


def _rating_of_trust(text: str) -> float | None:
    """Vesper shows trust as percent positive; the contract's rating is out of 5."""
    trust = re.search(r"([\d.]+)% positive", text)
    return round(float(trust.group(1)) / 20, 2) if trust else None


def _deals(text: str) -> int | None:
    deals = re.search(r"(\d+) deals", text)
    return int(deals.group(1)) if deals else None


class VesperListingPage(ListingPage):
    def _meta(self, label: str) -> str:
        return text_of(self.sel, f"dl.offer-meta dt:contains('{label}') + dd")

    @field
    def listing_key(self) -> str:
        section_id = self.sel.css("section.offer::attr(id)").get() or ""
        return section_id.removeprefix("offer-") or path_tail(self.url)

    @field
    def title(self) -> str:
        return text_of(self.sel, "h2.offer-name")

    @field
    def description(self) -> str:
        return text_of(self.sel, "article.offer-desc")

    @field
    def price(self) -> Money | None:
        return parse_money(text_of(self.sel, "div.offer-price"))

    @field
    def price_tiers(self) -> list[PriceTier]:
        shown = (_TIER_RE.match(" ".join(item.xpath("string()").get().split())) for item in self.sel.css("ul.bulk li"))
        return price_tiers_of((match["qty"], match["price"]) for match in shown if match)

    @field
    def vendor(self) -> VendorRef | None:
        name = text_of(self.sel, "div.seller a")
        if not name:
            return None
        seller = text_of(self.sel, "div.seller")
        href = self.sel.css("div.seller a::attr(href)").get()
        return VendorRef(name=name, url=self.absolute(href) if href else None, rating=_rating_of_trust(seller),
                         sales=_deals(seller))

    @field
    def category_path(self) -> list[str]:
        return [p.strip() for p in self._meta("Category").split("/") if p.strip()]

    @field
    def ships_from(self) -> str | None:
        return self._meta("Origin") or None

    @field
    def ships_to(self) -> list[str]:
        return [d.strip() for d in self._meta("Destinations").split(" / ") if d.strip()]

    @field
    def shipping_options(self) -> list[ShippingOption]:
        return [_shipping_option(" ".join(li.xpath("string()").get().split())) for li in self.sel.css("ul.postage li")]

    @field
    def payment_terms(self) -> str | None:
        return self._meta("Payment") or None

    @field
    def image_urls(self) -> list[str]:
        return self.links("section.offer figure.photos img::attr(src)")  # not the seller's badge


class VesperVendorPage(VendorPage):
    name_css, profile_css, pgp_css = "h2.vname", "div.bio::text", "textarea.pgp::text"

    @cached_property
    def _since(self) -> str:
        return text_of(self.sel, "p.since")  # "Joined 2026-01-11 · 5255 deals · 85.8% positive"

    @field
    def rating(self) -> float | None:
        return _rating_of_trust(self._since)

    @field
    def sales(self) -> int | None:
        return _deals(self._since)

    @field
    def joined(self) -> str | None:
        joined = re.search(r"Joined (\S+)", self._since)
        return joined.group(1) if joined else None

    @field
    def feedback(self) -> list[Feedback]:
        out = []
        for item in self.sel.css("ol.reviews li"):
            stars = item.css("span.stars::text").get("")
            text = " ".join(t.strip() for t in item.xpath("text()").getall() if t.strip())
            out.append(Feedback(rating=float(stars.split("/")[0]) if stars else None, text=text,
                                date=item.css("time::text").get()))
        return out


class VesperIndexPage(IndexPage):
    listing_links_css = "div.card a.card-link::attr(href)"
    follow_links_css = "ul.cats a::attr(href), nav.pager a::attr(href)"


class VesperProfile(MarketProfile):
    name = "vesper"
    listing_page, vendor_page, index_page = VesperListingPage, VesperVendorPage, VesperIndexPage
    url_kinds = ((r"/browse/", "index"), (r"/item/", "listing"), (r"/u/", "vendor"))
    marker = "<title>Vesper Bazaar ::"
