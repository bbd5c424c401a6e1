"""Vendors as an analyst looks for them: by name, by any identifier (PGP fingerprint or key
id, wallet, e-mail, phone, handle, onion), within a market or across all; and the links of
one vendor — the same name on other markets, and aliases that share an identifier — each
with the identifiers that link them. Works on any Store through its search and vendor
lookups (vendor_id facets count a vendor's listings)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from contracts.identifiers import identifier_key, identifiers_in_text
from index.query import Query
from index.store import Store

MAX_VENDORS = 1000  # vendor_id facet size: more vendors than this share one name or key only in tests of scale
MAX_LINKED_IDENTIFIERS = 25  # identifiers of one vendor looked up one by one for its links


@dataclass
class VendorHit:
    id: str
    market: str
    name: str
    listings: int = 0
    profile: bool = False  # its profile page was crawled
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    why: list[str] = field(default_factory=list)  # "name", "pgp 1E94…", "alias of X: shares email …"

    def as_dict(self) -> dict:
        return {"id": self.id, "market": self.market, "name": self.name, "listings": self.listings,
                "profile_crawled": self.profile, "first_seen": self.first_seen, "last_seen": self.last_seen,
                "why": self.why}


def _split_label(label: str) -> tuple[str, str]:
    """index.query.filter_terms labels vendor ids "Name (market)"."""
    name, _, market = label.rpartition(" (")
    return name, market.removesuffix(")")


def _by_vendor(store: Store, filters: dict[str, list[str]]) -> dict[str, tuple[str, str, int]]:
    """vendor id -> (name, market, listings) over the listings the filters find."""
    found = store.search(Query(filters=filters, facets=["vendor_id"], facet_size=MAX_VENDORS, limit=0))
    return {c.value: (*_split_label(c.label), c.count) for c in found.facets["vendor_id"]}


class _Hits:
    def __init__(self, store: Store):
        self.store = store
        self.hits: dict[str, VendorHit] = {}

    def add(self, vid: str, why: str, name: str = "", market: str = "", listings: int | None = None) -> VendorHit:
        hit = self.hits.get(vid)
        if hit is None:
            profile = self.store.get_vendor(vid)
            hit = self.hits[vid] = VendorHit(id=vid, market=profile.market if profile else market,
                                             name=profile.name if profile else name, profile=profile is not None,
                                             first_seen=profile.first_seen if profile else None,
                                             last_seen=profile.last_seen if profile else None)
        if listings is not None:
            hit.listings = max(hit.listings, listings)
        if why not in hit.why:
            hit.why.append(why)
        return hit


def find_vendors(store: Store, text: str, markets: list[str] | None = None, limit: int = 50) -> list[VendorHit]:
    """Vendors whose name is ``text`` (any case and accents) or who show an identifier in it,
    then their aliases (vendors sharing an identifier with them); most listings first."""
    scope = {"market": list(markets)} if markets else {}
    keys, rest = identifiers_in_text(text)
    if rest and " " not in rest:  # one bare word may be a handle as well as a name
        keys.append(identifier_key(rest))
    hits = _Hits(store)
    if rest:
        for vid, (name, market, count) in _by_vendor(store, {"vendor": [rest], **scope}).items():
            hits.add(vid, "name", name, market, count)
    if keys:
        for vid, (name, market, count) in _by_vendor(store, {"identifier": keys, **scope}).items():
            hits.add(vid, "identifier in its listings or profile", name, market, count)
        for key, holders in store.vendors_with_identifiers(keys).items():
            for vid in holders:
                hit = hits.add(vid, f"profile shows {key}")
                if markets and hit.market not in markets:
                    del hits.hits[vid]
    for hit in list(hits.hits.values()):
        for link in vendor_links(store, hit.id, hit.name):
            if link["relation"] == "alias" and (not markets or link["market"] in markets):
                hits.add(link["id"], f"alias of {hit.name} ({hit.market}): shares {', '.join(link['shared'])}",
                         link["name"], link["market"], link["listings"])
    for hit in hits.hits.values():
        if not hit.listings:
            hit.listings = _by_vendor(store, {"vendor_id": [hit.id]}).get(hit.id, ("", "", 0))[2]
    return sorted(hits.hits.values(), key=lambda h: (-h.listings, h.name.casefold(), h.market))[:limit]


def vendor_identifiers(store: Store, vid: str) -> list[tuple[str, str]]:
    """(kind, value) of every valid identifier on the vendor's profile and in its listings."""
    found: dict[str, str] = {}
    profile = store.get_vendor(vid)
    if profile is not None:
        for i in profile.data.enrichment.identifiers:
            if i.valid:
                found.setdefault(i.value, i.kind)
    for hit in store.search(Query(filters={"vendor_id": [vid]}, limit=200, sort="-last_seen")).hits:
        for i in hit.document.data.enrichment.identifiers:
            if i.valid:
                found.setdefault(i.value, i.kind)
    return [(kind, value) for value, kind in found.items()]


def vendor_links(store: Store, vid: str, name: str,
                 identifiers: list[tuple[str, str]] | None = None) -> list[dict]:
    """The vendor's other selves: the same name on other markets ("same name") and vendors
    on any market sharing one of its identifiers ("alias"), with what they share.
    ``identifiers``: the vendor's (kind, value) pairs when the caller has them already."""
    links: dict[str, dict] = {}

    def link(other: str, other_name: str, market: str, listings: int, relation: str, shared: str | None) -> None:
        entry = links.setdefault(other, {"id": other, "name": other_name, "market": market, "listings": listings,
                                         "relation": relation, "shared": []})
        if relation == "alias":
            entry["relation"] = "alias"
        entry["listings"] = max(entry["listings"], listings)
        if shared and shared not in entry["shared"]:
            entry["shared"].append(shared)

    for other, (other_name, market, count) in _by_vendor(store, {"vendor": [name]}).items():
        if other != vid:
            link(other, other_name, market, count, "same name", None)
    if identifiers is None:
        identifiers = vendor_identifiers(store, vid)
    for kind, value in identifiers[:MAX_LINKED_IDENTIFIERS]:
        shown = f"{kind} {value}"
        for other, (other_name, market, count) in _by_vendor(store, {"identifier": [value]}).items():
            if other != vid:
                link(other, other_name, market, count, "alias", shown)
        for holder in store.vendors_with_identifiers([value]).get(identifier_key(value), []):
            if holder != vid:
                profile = store.get_vendor(holder)
                if profile is not None:
                    link(holder, profile.name, profile.market, 0, "alias", shown)
    return sorted(links.values(), key=lambda entry: (entry["relation"] != "alias", entry["name"].casefold(),
                                                     entry["market"]))
