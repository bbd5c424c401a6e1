"""Watchlist terms for risk engines, derived from the index: products and the slang listings
use for them, vendor names (with the aliases shared identifiers link them to), identifiers
(emails, phones, handles, wallets, PGP fingerprints, onion addresses), routes (origin →
destination with the product category), and concealment and declaration phrases — each with
when it was first and last seen, how many listings, which markets, countries, HS codes and
example listings — plus the terms analysts curate in the configuration ([watchlist]).

Exports are JSON, CSV (cells that a spreadsheet would run as a formula are neutralised),
strict STIX 2.1 (matching.stix) and MISP events (matching.misp). Each export comes with a cursor
(in the JSON document; beside the others: a header, stderr); `since=cursor` returns only the terms seen again or
new since that export (and the curated terms when their list changed), so a risk engine
pulls increments.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache

from contracts.regions import WORLDWIDE, load_region_members
from contracts.text import fold
from contracts.watchlist import WatchlistTerm
from index.store import ListingStore
from matching.term_weights import Weigher

PHRASE_KINDS = ("product", "slang", "route", "concealment", "declaration")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_COLUMNS = ("id", "term", "kind", "subkind", "source", "weight", "qualifiers", "first_seen", "last_seen",
               "listing_count", "markets", "countries", "hs_codes", "categories", "vendors", "examples", "note",
               "excluded")
MAX_VENDORS = 20


class CursorError(ValueError):
    pass


def term_id(kind: str, subkind: str | None, term: str) -> str:
    return hashlib.sha256(f"{kind}\x1f{subkind or ''}\x1f{fold(term)}".encode()).hexdigest()[:24]


@dataclass
class _Tally:
    term: str
    kind: str
    subkind: str | None
    first: datetime | None = None
    last: datetime | None = None
    listings: set[str] = field(default_factory=set)
    markets: set[str] = field(default_factory=set)
    countries: set[str] = field(default_factory=set)
    hs_codes: set[str] = field(default_factory=set)
    identifiers: set[str] = field(default_factory=set)  # a vendor's: "kind:value", its qualifiers
    categories: set[str] = field(default_factory=set)
    vendors: set[str] = field(default_factory=set)

    def seen(self, first: datetime, last: datetime) -> None:
        self.first = first if self.first is None else min(self.first, first)
        self.last = last if self.last is None else max(self.last, last)


class _Terms:
    def __init__(self) -> None:
        self.tallies: dict[tuple[str, str | None, str], _Tally] = {}

    def add(self, kind: str, subkind: str | None, term: str) -> _Tally:
        key = (kind, subkind, fold(term))
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = _Tally(term=term, kind=kind, subkind=subkind)
        return tally


@lru_cache(maxsize=512)
def _country(code: str) -> bool:
    import pycountry

    return len(code) == 2 and pycountry.countries.get(alpha_2=code) is not None


def _place(code: str, regions) -> bool:
    """A real country or region: a route never names an absent one ("NA" was a missing value)."""
    return code in regions or code == WORLDWIDE or _country(code)


def _present(*values: str | None) -> set[str]:
    return {v for v in values if v}


def derive_terms(store: ListingStore, settings, gps: bool = False) -> list[WatchlistTerm]:
    """Every term of the index with its weight and, for a term the default feed leaves out,
    why (matching.term_weights), with the curated ones, newest first. ``settings``: config.watchlist.
    ``gps``: the GPS positions of listing photos too (config images.export_gps, an analyst's export)."""
    terms = _Terms()
    regions = load_region_members()
    weigher = Weigher(settings)
    listings_of_vendor: dict[tuple[str, str], list[str]] = {}
    for doc in store.iter_listings():
        item, enr = doc.data.listing, doc.data.enrichment
        weigher.count_title(item.title)
        countries = {c for c in (*enr.ships_from, *enr.ships_to) if len(c) == 2 and c not in regions}
        hs_codes = {p.hs_code for p in enr.products if p.hs_code}
        categories = {enr.category} if enr.category else {p.category for p in enr.products}
        hs_of = {p.canonical: p.hs_code for p in enr.products}
        category_of = {p.canonical: p.category for p in enr.products}
        for product in enr.products:  # a product's own HS code, not its listing neighbours'
            if product.role == "topic":  # what a guide or a pipe is about is not on sale there
                continue
            _count(terms.add("product", None, product.canonical), doc, item, countries,
                   _present(product.hs_code), {product.category})
        for entity in enr.entities:
            if entity.label == "PRODUCT" and entity.value and fold(entity.text) != fold(entity.value):
                _count(terms.add("slang", entity.value, fold(entity.text)), doc, item, countries,
                       _present(hs_of.get(entity.value)), _present(category_of.get(entity.value)) or categories)
        vendor = terms.add("vendor", None, item.vendor.name)
        vendor.identifiers |= {f"{i.kind}:{i.value}" for i in enr.identifiers if i.valid}
        found: list[_Tally] = [vendor]
        found += [terms.add("identifier", i.kind, i.value) for i in enr.identifiers if i.valid]
        found += _image_identifiers(terms, item.images, gps)
        # One route per direction (its categories listed), between places that exist.
        found += [terms.add("route", None, f"{o} -> {d}") for o in enr.ships_from if len(o) == 2 and _place(o, regions)
                  for d in enr.ships_to if d != o and _place(d, regions)]
        found += [terms.add("concealment", None, phrase) for phrase in enr.stealth]
        found += [terms.add("declaration", None, phrase) for phrase in enr.declared_as]
        for tally in found:
            _count(tally, doc, item, countries, hs_codes, categories)
        listings_of_vendor.setdefault((doc.market, fold(item.vendor.name)), []).append(doc.id)
    _vendor_identifiers(store, terms, listings_of_vendor)
    excluded = {fold(t) for t in settings.exclude}
    out = []
    for (kind, _, folded), tally in terms.tallies.items():
        if folded in excluded or (kind in PHRASE_KINDS and len(tally.listings) < settings.min_listings):
            continue
        named_categories = sorted(tally.categories)
        weight, left_out = weigher.weigh(kind, tally.subkind, tally.term, len(tally.listings), len(tally.vendors),
                                         len(tally.markets), named_categories)
        qualifiers = []
        if kind == "vendor" and weigher.ordinary_name(tally.term):
            # "fake", "Unknown": only together with where it sells or what identifies it
            qualifiers = [f"market:{m}" for m in sorted(tally.markets)] + sorted(tally.identifiers)
        out.append(WatchlistTerm(
            id=term_id(kind, tally.subkind, tally.term), term=tally.term, kind=kind, subkind=tally.subkind,
            first_seen=tally.first, last_seen=tally.last, listing_count=len(tally.listings),
            markets=sorted(tally.markets), countries=sorted(tally.countries), hs_codes=sorted(tally.hs_codes),
            categories=named_categories, vendors=sorted(tally.vendors)[:MAX_VENDORS],
            examples=sorted(tally.listings)[:settings.examples], weight=weight, excluded=left_out,
            qualifiers=qualifiers))
    out += [WatchlistTerm(id=term_id(t.kind, t.subkind, t.term), term=t.term, kind=t.kind, subkind=t.subkind,
                          source="curated", note=t.note, weight=t.weight) for t in settings.include]
    out.sort(key=lambda t: (t.last_seen is None, -(t.last_seen.timestamp() if t.last_seen else 0), t.kind, t.term,
                            t.subkind or "", t.id))
    return out


def _image_identifiers(terms: _Terms, images, gps: bool) -> list[_Tally]:
    """A listing photo's digest (the same file offered again), the camera its EXIF names, and
    where it was taken (opt-in)."""
    found = []
    for image in images:
        if image.facts is None:
            continue
        found.append(terms.add("identifier", "image-sha256", image.facts.sha256))
        meta = image.facts.metadata
        camera = " ".join(p for p in (meta.make, meta.model) if p)
        if camera:
            found.append(terms.add("identifier", "exif-camera", camera))
        if meta.serial:  # one camera: the same phone behind two names is a strong link
            found.append(terms.add("identifier", "exif-serial", f"{camera} #{meta.serial}".strip()))
        if gps and meta.gps is not None:
            tally = terms.add("identifier", "exif-gps", f"{meta.gps.latitude:.5f},{meta.gps.longitude:.5f}")
            tally.countries |= {meta.gps.country} if meta.gps.country else set()
            found.append(tally)
    return found


def _count(tally: _Tally, doc, item, countries: set[str], hs_codes: set[str], categories: set[str]) -> None:
    tally.seen(doc.first_seen, doc.last_seen)
    tally.listings.add(doc.id)
    tally.markets.add(doc.market)
    tally.countries |= countries
    tally.hs_codes |= hs_codes
    tally.categories |= categories
    tally.vendors.add(item.vendor.name)


def _vendor_identifiers(store: ListingStore, terms: _Terms, listings_of_vendor: dict) -> None:
    """Identifiers in vendor profiles, and vendor aliases: vendors (on any market) that share
    an identifier — the same PGP key or wallet under two names — are linked."""
    holders: dict[str, set[str]] = {}
    for vendor in store.iter_vendors():
        enr = vendor.data.enrichment
        listings = listings_of_vendor.get((vendor.market, fold(vendor.name)), [])
        for identifier in enr.identifiers:
            if not identifier.valid:
                continue
            tally = terms.add("identifier", identifier.kind, identifier.value)
            tally.seen(vendor.first_seen, vendor.last_seen)
            tally.markets.add(vendor.market)
            tally.vendors.add(vendor.name)
            tally.listings.update(listings)
            holders.setdefault(fold(identifier.value), set()).add(vendor.name)
            terms.add("vendor", None, vendor.name).identifiers.add(f"{identifier.kind}:{identifier.value}")
    for names in holders.values():
        for name in names:
            held = terms.tallies.get(("vendor", None, fold(name)))
            if held is not None:
                held.vendors |= names


def feed(terms: list[WatchlistTerm], everything: bool = False) -> list[WatchlistTerm]:
    """The terms a risk engine gets: those the weighing keeps (``everything``: all of them)."""
    return list(terms) if everything else [t for t in terms if t.excluded is None]


# -- increments ------------------------------------------------------------------------------
def _curated_digest(settings) -> str:
    curated = json.dumps([t.model_dump() for t in settings.include], sort_keys=True)
    return hashlib.sha256(curated.encode()).hexdigest()[:16]


def make_cursor(terms: list[WatchlistTerm], settings) -> str:
    latest = max((t.last_seen for t in terms if t.last_seen), default=datetime(1970, 1, 1, tzinfo=UTC))
    raw = json.dumps({"v": 1, "t": latest.isoformat(), "c": _curated_digest(settings)}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def read_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return datetime.fromisoformat(data["t"]), data["c"]
    except (ValueError, KeyError, TypeError):
        raise CursorError(f"not a watchlist cursor: {cursor[:40]!r} (use the cursor an earlier export printed)") from None


def since(terms: list[WatchlistTerm], cursor: str, settings) -> list[WatchlistTerm]:
    """The terms new or seen again after the export that printed ``cursor``; the curated terms
    when their list changed since."""
    after, digest = read_cursor(cursor)
    curated_changed = digest != _curated_digest(settings)
    return [t for t in terms if (t.last_seen is not None and t.last_seen > after)
            or (t.source == "curated" and curated_changed)]


# -- formats ---------------------------------------------------------------------------------
def to_json(terms: list[WatchlistTerm], cursor: str) -> str:
    return json.dumps({"cursor": cursor, "count": len(terms),
                       "terms": [t.model_dump(mode="json") for t in terms]}, ensure_ascii=False, indent=1)


def csv_safe(value: str) -> str:
    """A cell a spreadsheet shows as text: one that would start a formula gets a leading quote."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def to_csv(terms: Iterable[WatchlistTerm]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for term in terms:
        data = term.model_dump(mode="json")
        writer.writerow([csv_safe(";".join(map(str, data[c])) if isinstance(data[c], list) else
                                  "" if data[c] is None else str(data[c])) for c in CSV_COLUMNS])
    return out.getvalue()


def to_stix(terms: list[WatchlistTerm], settings) -> str:
    """A strict STIX 2.1 bundle (matching.stix); the cursor travels beside it, not in it."""
    from matching import stix

    return stix.to_text(stix.bundle(terms, settings.tlp, settings.valid_days, settings.evidence_url))
