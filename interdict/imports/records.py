"""Records from datasets (CSV, JSON Lines, SQL dumps) and raw records as `enrich` takes them,
turned into the crawl contract (``Listing``, ``VendorProfile``) so that they can be indexed.

A dataset's columns are mapped to fields by ``--map FIELD=COLUMN``; unmapped fields are
guessed from common column names (ALIASES) and the guess is printed so the user can correct
it. A listing needs a title and a vendor (the index files listings under their vendor); its
key is the listing URL's, or a stable hash of market, title and vendor.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from contracts.listings import Listing, RawListing, VendorProfile
from crawlers.extract import listing_key
from enrichment.fields import price_of, vendor_name

# field -> column names that usually hold it (lower case, compared without spaces, - and _)
ALIASES: dict[str, tuple[str, ...]] = {
    "title": ("title", "product", "listingtitle", "productname", "name", "item", "listing", "producttitle"),
    "vendor": ("vendor", "seller", "listingvendor", "vendorname", "sellername", "user", "username", "merchant"),
    "price": ("price", "priceinusd", "pricein$", "priceusd", "listingprice", "detailprice", "cost", "amount"),
    "currency": ("currency", "cur"),
    "description": ("description", "desc", "details", "productdescription", "body", "text"),
    "ships_from": ("shipsfrom", "shippingfrom", "from", "origin", "shipfrom", "origincountry", "location"),
    "ships_to": ("shipsto", "shippingto", "to", "destination", "shipto", "destinations"),
    "category": ("category", "cat", "subcat", "subsubcat", "categorylevel1", "categorylevel2", "categorylevel3",
                 "categorylink", "subcategorylink", "categories"),
    "url": ("url", "link", "producturl", "listinglink", "href", "listingurl"),
    "date": ("date", "crawldate", "scrapedat", "captured", "timestamp", "crawledat", "seen"),
    "market": ("market", "marketname", "site"),
    # vendor profiles (--kind vendors)
    "name": ("sellername", "vendor", "seller", "name", "vendorname", "username"),
    "profile": ("description", "profile", "about", "bio", "profiletext"),
    "pgp_key": ("pgp", "pgpkey", "publickey", "pgppublickey"),
    "contact": ("contact", "contacts"),
    "joined": ("membersince", "joined", "since", "registered"),
}
LISTING_FIELDS = ("title", "vendor", "price", "currency", "description", "ships_from", "ships_to", "category", "url",
                  "date", "market")
VENDOR_FIELDS = ("name", "profile", "pgp_key", "contact", "joined", "url", "date", "market")
MULTI_COLUMN = {"category"}  # several columns (cat, subcat, subsubcat) make one path
_MISSING = {"", "na", "n/a", "nan", "null", "none", "-", "--"}
_PATH_SPLIT_RE = re.compile(r"\s*(?:/|>|›|»|\|)\s*")


class Incomplete(ValueError):
    """A row that describes no listing (or vendor): it lacks the title or the vendor. Real
    datasets hold such rows; they are counted and named, not errors of the input."""


def _bare(column: str) -> str:
    return re.sub(r"[\s_\-.]+", "", column.strip().lower())


def guess_mapping(columns: list[str], given: dict[str, str], kind: str = "listings") -> dict[str, list[str]]:
    """field -> the columns that fill it: the user's --map first, then the aliases."""
    fields = VENDOR_FIELDS if kind == "vendors" else LISTING_FIELDS
    by_bare = {}
    for column in columns:
        by_bare.setdefault(_bare(column), column)
    mapping: dict[str, list[str]] = {}
    taken = set()
    for field, column in given.items():
        mapping[field] = [c.strip() for c in column.split("+")]
        taken.update(mapping[field])
    for field in fields:
        if field in mapping:
            continue
        found = [by_bare[a] for a in ALIASES[field] if a in by_bare and by_bare[a] not in taken]
        if found:
            mapping[field] = found if field in MULTI_COLUMN else found[:1]
            taken.update(mapping[field])
    return mapping


def describe_mapping(mapping: dict[str, list[str]]) -> str:
    return " ".join(f"{field}={'+'.join(columns)}" for field, columns in mapping.items())


def _value(row: dict[str, Any], columns: list[str]) -> Any:
    values = []
    for column in columns:
        value = row.get(column)
        if isinstance(value, str):
            value = " ".join(value.split())
            if value.lower() in _MISSING:
                continue
        if value is not None:
            values.append(value)
    if not values:
        return None
    return values if len(values) > 1 else values[0]


def mapped(row: dict[str, Any], mapping: dict[str, list[str]]) -> dict[str, Any]:
    """The row's fields, null and missing-value markers ("NA", "") as absent."""
    out = {}
    for field, columns in mapping.items():
        value = _value(row, columns)
        if value is not None:
            out[field] = value
    return out


def parse_date(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    for candidate in (text, text[:10]):
        try:
            found = datetime.fromisoformat(candidate)
        except ValueError:
            continue
        return found if found.tzinfo else found.replace(tzinfo=UTC)
    return None


def stable_key(market: str, title: str, vendor: str) -> str:
    return hashlib.sha1(f"{market}\x1f{title.casefold()}\x1f{vendor.casefold()}".encode()).hexdigest()[:16]


def transport_of(url: str | None) -> str:
    return "tor" if url and (urlsplit(url).hostname or "").endswith(".onion") else "clearnet"


def listing_from_raw(raw: RawListing, market: str | None, captured: datetime | None) -> Listing:
    """The crawl contract for a raw record. ValueError names what is missing."""
    extra = raw.model_extra or {}
    market = raw.market or market
    if not market:
        raise ValueError("no market: give --market NAME, or a market field")
    vendor = vendor_name(raw.vendor) if raw.vendor else None
    if not vendor:
        raise Incomplete("no vendor: a listing is filed under its vendor (map one with --map vendor=COLUMN)")
    url = extra.get("url") if isinstance(extra.get("url"), str) and extra.get("url") else None
    key = listing_key(url) if url else stable_key(market, raw.title, vendor)
    price = price_of(raw.price, raw.currency)
    category = raw.category if isinstance(raw.category, list) else \
        [p for p in _PATH_SPLIT_RE.split(raw.category or "") if p]
    ships_to = raw.ships_to if isinstance(raw.ships_to, list) else [raw.ships_to] if raw.ships_to else []
    return Listing(
        market=market, url=url or f"urn:interdict:listing:{market}:{key}", listing_key=key, title=raw.title,
        description=raw.description, price={"amount": price[0], "currency": price[1]} if price else None,
        vendor={"name": vendor}, category_path=category, ships_from=raw.ships_from, ships_to=ships_to,
        crawled_at=raw.date or captured or datetime.now(UTC), transport=transport_of(url))


def raw_listing(fields: dict[str, Any]) -> RawListing:
    """A dataset row's mapped fields as a raw record (numbers become text, lists stay lists)."""
    record = dict(fields)
    if "date" in record:
        record["date"] = parse_date(record["date"])
    for name in ("title", "vendor", "description", "ships_from", "market", "currency"):
        if isinstance(record.get(name), list):
            record[name] = " ".join(str(v) for v in record[name])
        elif record.get(name) is not None and not isinstance(record[name], str):
            record[name] = str(record[name])
    return RawListing.model_validate(record)


def vendor_from_row(fields: dict[str, Any], market: str | None, captured: datetime | None) -> VendorProfile:
    market = fields.get("market") or market
    if not market:
        raise ValueError("no market: give --market NAME, or a market field")
    name = vendor_name(str(fields.get("name") or ""))
    if not name:
        raise Incomplete("no vendor name (map one with --map name=COLUMN)")
    text = "\n".join(str(fields[f]) for f in ("profile", "contact") if fields.get(f))
    return VendorProfile(market=str(market), name=name, url=str(fields.get("url") or f"urn:interdict:vendor:{market}:{name}"),
                         profile=text, pgp_key=str(fields["pgp_key"]) if fields.get("pgp_key") else None,
                         joined=str(fields["joined"]) if fields.get("joined") else None,
                         crawled_at=parse_date(fields.get("date")) or captured or datetime.now(UTC),
                         transport=transport_of(str(fields.get("url") or "")))
