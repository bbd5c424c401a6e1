"""A vendor as an analyst sees it: the profile, the aliases that share an identifier with it
(the same PGP key, wallet or email under another name, on any market, on a profile or in a
listing), the same name on other markets, and the listings of them all (index.vendor_search).
A vendor whose profile page was never crawled is still known by its listings (each carries
the vendor's blocking key, index.profiles)."""

from __future__ import annotations

from contracts.documents import vendor_id
from contracts.listings import Identifier
from index.query import Query
from index.store import Store
from index.vendor_search import vendor_identifiers, vendor_links


def vendor_profile(store: Store, doc_id: str, limit: int = 200) -> dict | None:
    vendor = store.get_vendor(doc_id)
    if vendor is not None:
        shown = vendor.data.vendor
        about = {"id": vendor.id, "market": vendor.market, "name": vendor.name, "profile_crawled": True,
                 "first_seen": vendor.first_seen, "last_seen": vendor.last_seen, "profile": shown.profile,
                 "rating": shown.rating, "sales": shown.sales, "joined": shown.joined,
                 "status": vendor.status, "absences": [a.model_dump(mode="json") for a in vendor.absences]}
        identifiers = [i for i in vendor.data.enrichment.identifiers if i.valid]
    else:
        listed = store.candidates([f"v:{doc_id}"], 1).get(f"v:{doc_id}")
        listing = store.get_listing(listed[0]) if listed else None
        if listing is None:
            return None
        about = {"id": doc_id, "market": listing.market, "name": listing.data.listing.vendor.name,
                 "profile_crawled": False, "first_seen": listing.first_seen, "last_seen": listing.last_seen,
                 "profile": "", "rating": listing.data.listing.vendor.rating,
                 "sales": listing.data.listing.vendor.sales, "joined": None, "status": listing.status,
                 "absences": []}
        identifiers = []
    found_identifiers = vendor_identifiers(store, doc_id)  # its profile's and its listings'
    if not identifiers:  # a vendor known from its listings: what they state
        identifiers = [Identifier(kind=kind, value=value, valid=True) for kind, value in found_identifiers]
    links = vendor_links(store, doc_id, str(about["name"]), found_identifiers)
    aliases = [link for link in links if link["relation"] == "alias"]
    elsewhere = [link for link in links if link["relation"] == "same name"]
    related = {doc_id: "this vendor", **{a["id"]: "alias (shared identifier)" for a in aliases},
               **{e["id"]: "same name on another market" for e in elsewhere}}
    found = store.search(Query(filters={"vendor_id": sorted(related)}, sort="-last_seen", limit=limit,
                               facets=["market", "category"]))
    listings = []
    for hit in found.hits:
        doc = hit.document
        item = doc.data.listing
        listings.append({"id": doc.id, "market": doc.market, "title": item.title, "vendor": item.vendor.name,
                         "relation": related.get(vendor_id(doc.market, item.vendor.name), "same name on another market"),
                         "price": item.price.amount if item.price else None,
                         "currency": item.price.currency if item.price else None,
                         "price_usd": doc.data.enrichment.price_usd, "category": doc.data.enrichment.category,
                         "ships_from": doc.data.enrichment.ships_from, "first_seen": doc.first_seen,
                         "last_seen": doc.last_seen})
    return {"vendor": about, "identifiers": [i.model_dump() for i in identifiers], "aliases": aliases,
            "elsewhere": elsewhere,
            "listings": listings, "listings_total": found.total,
            "facets": {f: [c.model_dump() for c in counts] for f, counts in found.facets.items()}}
