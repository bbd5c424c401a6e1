"""The demo catalog as acquisition records (Listing, VendorProfile), without crawling it:
for tests and benchmarks that need an index of realistic listings fast. A crawl of the demo
markets yields the same records (tests/test_demo_e2e.py checks the crawl against the catalog)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from contracts.listings import Listing, VendorProfile
from interdict.demo.catalog import Catalog


def catalog_listings(catalog: Catalog, crawled_at: datetime, with_faults: bool = False) -> list[Listing]:
    out = []
    for market in catalog.markets.values():
        for spec in market.listings:
            if spec.key in market.faults and not with_faults:
                continue
            out.append(Listing(
                market=spec.market, url=f"http://127.0.0.1/{spec.market}/listing/{spec.key}", listing_key=spec.key,
                title=spec.title, description=spec.description,
                price={"amount": spec.price, "currency": spec.currency},
                price_tiers=[{"quantity": q, "price": {"amount": p, "currency": spec.currency}} for q, p in spec.tiers],
                vendor={"name": spec.vendor}, category_path=list(spec.category_path), ships_from=spec.ships_from,
                ships_to=list(spec.ships_to),
                shipping_options=[{"name": n, "price": {"amount": p, "currency": spec.currency}} for n, p in spec.shipping],
                crawled_at=crawled_at))
    return out


def catalog_vendor_profiles(catalog: Catalog, crawled_at: datetime) -> list[VendorProfile]:
    return [VendorProfile(market=m, name=v.name, url=f"http://127.0.0.1/{m}/vendor/{v.name}", profile=v.profile,
                          pgp_key=v.pgp_key, rating=v.rating, sales=v.sales, joined=v.joined, crawled_at=crawled_at)
            for v in catalog.vendors for m in v.markets]


def index_catalog(store, enricher, catalog: Catalog, start: datetime, seed: int = 1, days: int = 300) -> int:
    """Index the catalog as months of crawls would have: each listing first seen on its own
    day within ``days`` of ``start`` and last seen 2 to 26 weeks later (markets churn), every
    vendor profile at ``start``. Returns the number of listings indexed."""
    rng = random.Random(seed)
    enriched = list(enricher.enrich_listings(catalog_listings(catalog, start)))
    first, last = [], []
    for item in enriched:
        seen = start + timedelta(days=rng.randint(0, days), hours=rng.randint(0, 23))
        first.append(_seen_at(item, seen))
        last.append(_seen_at(item, seen + timedelta(days=rng.randint(14, 182))))
    store.upsert_listings(first)
    store.upsert_listings(last)
    store.upsert_vendors(enricher.enrich_vendors(catalog_vendor_profiles(catalog, start)))
    return len(enriched)


def _seen_at(item, when: datetime):
    return item.model_copy(update={"listing": item.listing.model_copy(update={"crawled_at": when})})
