"""The MatchIndex contract (index/match_index.py): what the matcher blocks and scores on,
the same in every store."""

from datetime import timedelta

import pytest

from conftest import make_listing
from index import listing_id
from store_contract.corpus import T0


def test_candidates_by_blocking_key(loaded):
    """Blocking keys (index.profiles) find the same listings in every store; profiles by id."""
    found = loaded.candidates(["p:mdma@NL", "w:rolex@CN", "w:submariner@CN", "p:mdma@DE", "w:nothing@NL"], per_key=10)
    assert set(found) == {"p:mdma@NL", "w:rolex@CN", "w:submariner@CN"}
    assert sorted(found["p:mdma@NL"]) == sorted([listing_id("alpha", "a1"), listing_id("beta", "b2")])
    assert found["w:rolex@CN"] == found["w:submariner@CN"] == [listing_id("beta", "b1")]
    profiles = loaded.profiles([listing_id("beta", "b1"), listing_id("alpha", "a2"), "0" * 32])
    assert set(profiles) == {listing_id("beta", "b1"), listing_id("alpha", "a2")}
    watch = profiles[listing_id("beta", "b1")]
    assert (watch.market, watch.vendor, watch.title) == ("beta", "WatchKing", "Rolex Submariner replica")
    assert watch.ships_from == ("CN",) and set(watch.ships_to) == {"US", "DE"}
    assert watch.price_usd == 350 and watch.first_seen == T0.date() == watch.last_seen
    cocaine = profiles[listing_id("alpha", "a2")]
    assert loaded.candidates(["p:cocaine@DE"], per_key=10)["p:cocaine@DE"] == [cocaine.id]
    assert cocaine.hs_codes == ("293972",) and cocaine.offers[0].unit == "g" and cocaine.offers[0].amount == 1
    assert cocaine.offers[0].price_usd > 80  # EUR 80 in USD
    assert len(loaded.candidates(["p:mdma@NL"], per_key=1)["p:mdma@NL"]) == 1
    assert loaded.candidates([], per_key=5) == {} and loaded.profiles([]) == {}
    assert sorted(p.id for p in loaded.iter_profiles()) == sorted(d.id for d in loaded.iter_listings())


def test_title_word_counts_market_lifetimes_and_candidates_around_a_date(loaded, enrich):
    """Document frequencies of title words (the matcher's IDF), how long each market's
    listings live, and the candidates nearest a parcel's date, the same in every store."""
    from index import vendor_id

    counts = loaded.key_counts(["t:mdma", "t:rolex", "t:pills", "t:nothing", "t:mdma"])
    assert counts == {"t:mdma": 2, "t:rolex": 1, "t:pills": 1}
    assert loaded.key_counts([]) == {}
    assert loaded.lifetimes() == {}  # every listing seen once
    # Market gamma: listings seen over 3, 11 and 31 days and one seen once (not counted).
    for key, days in (("g1", 3), ("g2", 11), ("g3", 31), ("g4", 0)):
        for when in {T0, T0 + timedelta(days)}:
            loaded.upsert_listings(enrich(make_listing(crawled_at=when, listing_key=key, market="gamma",
                                                       title=f"Hash {key}")))
    lifetimes = loaded.lifetimes()
    assert set(lifetimes) == {"gamma"} and lifetimes["gamma"] == pytest.approx(11, abs=0.01)
    # Candidates around a date: those on sale that day, then by days from their life to it.
    loaded.upsert_listings(enrich(make_listing(crawled_at=T0 + timedelta(60), listing_key="g5", market="gamma",
                                               title="Hash g5")))
    key = f"v:{vendor_id('gamma', 'Vendor')}"
    ids = {k: listing_id("gamma", k) for k in ("g1", "g2", "g3", "g4", "g5")}
    around = (T0 + timedelta(20)).date()
    assert loaded.candidates([key], per_key=10, around=around)[key] == [ids[k] for k in ("g3", "g2", "g1", "g4", "g5")]
    assert loaded.candidates([key], per_key=2, around=around)[key] == [ids["g3"], ids["g2"]]
    assert loaded.candidates([key], per_key=1, around=(T0 + timedelta(70)).date())[key] == [ids["g5"]]
    assert sorted(loaded.candidates([key], per_key=10)[key]) == sorted(ids.values())


def test_vendors_found_by_identifier(store, enricher, catalog):
    from contracts.listings import VendorProfile
    from index import vendor_id

    spec = catalog.vendors[0]
    profile = VendorProfile(market="sable", name=spec.name, url="http://127.0.0.1/v", profile=spec.profile,
                            pgp_key=spec.pgp_key, crawled_at=T0)
    store.upsert_vendors(enricher.enrich_vendors([profile]))
    found = store.vendors_with_identifiers([spec.email.upper(), spec.fingerprint.lower(), "nobody@example.org"])
    assert found == {spec.email.lower(): [vendor_id("sable", spec.name)], spec.fingerprint: [vendor_id("sable", spec.name)]}
