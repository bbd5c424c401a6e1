"""Listings out of saved or fetched pages: a market's page object where one exists, the
generic extractor everywhere else (and on page kinds the page object does not read)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, Mapping

from pydantic import ValidationError

from contracts.listings import PARSED_FIELDS, Listing, ParsedListing
from crawlers.extract.dom import Page
from crawlers.extract.generic import ExtractedPage, extract
from crawlers.extract.structured import product_listing, products
from crawlers.extract.walls import Wall, wall_of
from crawlers.pages.base import MarketProfile, PageError, listing_key, listing_of

__all__ = ["ExtractedPage", "Wall", "extract", "listing_key", "parse_page", "read_listings", "to_listing", "wall_of"]

MIN_FIELD_CONFIDENCE = 0.5  # below this a generic field is left out of an indexed listing


def from_page_object(listing: Listing, profile: str, source: str) -> ParsedListing:
    found = {
        "title": listing.title, "url": listing.url, "price": listing.price, "price_tiers": listing.price_tiers,
        "vendor": listing.vendor.name, "vendor_url": listing.vendor.url, "ships_from": listing.ships_from,
        "ships_to": listing.ships_to, "category": " / ".join(listing.category_path) or None,
        "description": listing.description, "stock": None,
        "shipping_options": listing.shipping_options, "variants": listing.variants,
    }
    return ParsedListing(**found, confidence={f: 1.0 if found.get(f) else 0.0 for f in PARSED_FIELDS},
                         image_urls=listing.image_urls, extractor=f"page-object:{profile}", page_kind="listing",
                         source=source)


def parse_page(html: str, url: str, profile: MarketProfile | None = None, market: str = "",
               crawled_at: datetime | None = None, wall_markers: Mapping | None = None, *,
               language: bool = True) -> ExtractedPage:
    """The listings on one page. A page object reads listing pages of its market; whatever it
    cannot read as a listing is read from its schema.org data or by the generic extractor."""
    if profile is not None:
        page = profile.listing_page(url, html)
        try:
            listing = listing_of(page, market=market or profile.name, crawled_at=crawled_at or datetime.now())
        except PageError:
            pass
        else:
            return ExtractedPage(url, "listing", [from_page_object(listing, profile.name, url)],
                                 page_object_listings=[listing])
    return read_listings(html, url, wall_markers, language=language)


def read_listings(html: str | bytes, url: str, wall_markers: Mapping | None = None, *,
                  language: bool = True) -> ExtractedPage:
    """schema.org Product data where the page carries it, the generic extractor otherwise."""
    marker = "schema.org" if isinstance(html, str) else b"schema.org"
    if marker in html:  # extruct is slow; most market pages carry none
        raw = html.encode("utf-8", "replace") if isinstance(html, str) else html
        found = [p for p in (product_listing(node, url) for node in products(raw, url)) if p is not None]
        if found:
            return ExtractedPage(url, "listing", found, links=Page(raw, url).internal_links())
    return extract(html, url, wall_markers, language=language)


def to_listing(parsed: ParsedListing, market: str, crawled_at: datetime,
               transport: Literal["tor", "clearnet"] = "clearnet") -> Listing:
    """The crawl contract for a generically read listing; fields read with low confidence are
    left out, and a listing without a confident title and vendor is not one (one without a
    confident price is: it shows none, or none that can be trusted)."""
    confident = {f for f, c in parsed.confidence.items() if c >= MIN_FIELD_CONFIDENCE}
    for required in ("title", "vendor"):
        if required not in confident or getattr(parsed, required) is None:
            raise PageError(f"unsure_{required}", parsed.url or parsed.source)
    url = parsed.url or parsed.source
    try:
        return Listing(
            market=market, url=url, listing_key=listing_key(url), title=parsed.title,
            description=parsed.description if "description" in confident else "",
            price=parsed.price if "price" in confident else None, price_tiers=parsed.price_tiers if "price_tiers" in confident else [],
            vendor={"name": parsed.vendor, "url": parsed.vendor_url if "vendor_url" in confident else None},
            category_path=[p.strip() for p in (parsed.category or "").split("/") if p.strip()]
            if "category" in confident else [],
            ships_from=parsed.ships_from if "ships_from" in confident else None,
            ships_to=parsed.ships_to if "ships_to" in confident else [],
            shipping_options=parsed.shipping_options if "shipping_options" in confident else [],
            variants=parsed.variants if "variants" in confident else [],
            image_urls=parsed.image_urls, crawled_at=crawled_at, transport=transport)
    except ValidationError as exc:
        raise PageError("invalid_listing", str(exc.errors()[0]["msg"])) from None
