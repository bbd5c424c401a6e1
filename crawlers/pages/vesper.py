"""Vesper Bazaar (demo market): cards, <dl> details, EUR in European number format."""

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

_TIER_RE = re.compile(r"^(?P<qty>.+?)\s+—\s+(?P<price>.+)$")


def _shipping_option(text: str) -> ShippingOption:
    """'Australia Post Express — 5,17 EUR' -> the option and its cost."""
    match = _TIER_RE.match(text)
    if not match:
        return ShippingOption(name=text)
    return ShippingOption(name=match["qty"], price=parse_money(match["price"]))


class VesperListingPage(ListingPage):
    def _meta(self, label: str) -> str:
        return text_of(self.sel, f"dl.offer-meta dt:contains('{label}') + dd")

    def fields(self) -> dict:
        sel = self.sel
        section_id = sel.css("section.offer::attr(id)").get() or ""
        key = section_id.removeprefix("offer-") or urlsplit(self.url).path.rsplit("/", 1)[-1]
        vendor_name = text_of(sel, "div.seller a")
        trust = re.search(r"([\d.]+)% positive", text_of(sel, "div.seller"))
        deals = re.search(r"(\d+) deals", text_of(sel, "div.seller"))
        tiers = []
        for item in sel.css("ul.bulk li"):
            match = _TIER_RE.match(" ".join(item.xpath("string()").get().split()))
            money = parse_money(match["price"]) if match else None
            if match and money:
                tiers.append(PriceTier(quantity=match["qty"], price=money))
        destinations = self._meta("Destinations")
        return {
            "listing_key": key,
            "title": text_of(sel, "h2.offer-name"),
            "description": text_of(sel, "article.offer-desc"),
            "price": parse_money(text_of(sel, "div.offer-price")),
            "price_tiers": tiers,
            # Vesper shows trust as percent positive; the contract's rating is out of 5.
            "vendor": {"name": vendor_name, "url": self.vendor_url(),
                       "rating": round(float(trust.group(1)) / 20, 2) if trust else None,
                       "sales": int(deals.group(1)) if deals else None} if vendor_name else None,
            "category_path": [p.strip() for p in self._meta("Category").split("/") if p.strip()],
            "ships_from": self._meta("Origin") or None,
            "ships_to": [d.strip() for d in destinations.split(" / ") if d.strip()],
            "shipping_options": [_shipping_option(" ".join(li.xpath("string()").get().split()))
                                 for li in sel.css("ul.postage li")],
            "payment_terms": self._meta("Payment") or None,
        }

    def vendor_url(self) -> str | None:
        href = self.sel.css("div.seller a::attr(href)").get()
        return self.absolute(href) if href else None


class VesperVendorPage(VendorPage):
    name_css, profile_css, pgp_css = "h2.vname", "div.bio::text", "textarea.pgp::text"

    def stats(self) -> dict:
        since = text_of(self.sel, "p.since")  # "Joined 2026-01-11 · 5255 deals · 85.8% positive"
        joined = re.search(r"Joined (\S+)", since)
        deals = re.search(r"(\d+) deals", since)
        trust = re.search(r"([\d.]+)% positive", since)
        return {"rating": round(float(trust.group(1)) / 20, 2) if trust else None,
                "sales": int(deals.group(1)) if deals else None,
                "joined": joined.group(1) if joined else None}

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
    title_marker = "<title>Vesper Bazaar ::"
