"""Trends (index.trends) on both stores: prices per unit by month and origin, listings and
vendors active per month, date bounds, weeks, the "other" series — against figures worked out
by hand from the sightings planted here."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from conftest import make_listing
from index.trends import TrendQuery


def at(month: int, day: int) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


# (market, key, vendor, title, ships from, [(month, day, price USD)])
SIGHTINGS = [
    ("alpha", "l1", "Anvil", "Cocaine 5g", "Netherlands", [(1, 10, 250), (2, 15, 200), (4, 5, 200)]),
    ("beta", "l2", "Brass", "Cocaine 10g", "Germany", [(2, 1, 600), (3, 20, 500), (3, 25, 500)]),
    ("alpha", "l3", "Anvil", "Cocaine 1g", "Netherlands", [(3, 3, 90)]),
    ("alpha", "l4", "Cobalt", "MDMA pills x10", "Netherlands", [(2, 2, 80), (3, 2, 80)]),
    ("beta", "l5", "Anvil", "Cocaine 2g", "Germany", [(4, 10, 100)]),
]


@pytest.fixture
def sighted(store, enrich):
    for market, key, vendor, title, origin, seen in SIGHTINGS:
        for month, day, price in seen:
            store.upsert_listings(enrich(make_listing(
                market=market, listing_key=key, url=f"http://127.0.0.1/{market}/{key}", title=title,
                vendor={"name": vendor}, ships_from=origin, price={"amount": price, "currency": "USD"},
                crawled_at=at(month, day))))
    return store


def table(result) -> dict[str, list]:
    return {s.label: list(zip(s.values, s.counts)) for s in result.series}


def test_price_per_unit_by_month_and_origin(sighted):
    result = sighted.trends(TrendQuery(measure="unit_price", filters={"product": ["cocaine"]}, by="ships_from"))
    assert result.periods == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert [s.key for s in result.series] == ["DE", "NL"]  # two listings each: ties by key
    assert {s.unit for s in result.series} == {"g"}
    got = {label: [(round(v, 6) if v is not None else None, c) for v, c in rows] for label, rows in table(result).items()}
    # l1: 50 $/g from Jan 10, 40 from Feb 15 on; l3: 90 in March; l2: 60, 50 from Mar 20; l5: 50 in April
    assert got["NL"] == [(50, 1), (45, 2), (65, 2), (40, 1)]
    assert got["DE"] == [(None, 0), (60, 1), (55, 2), (50, 1)]


def test_listings_and_vendors_active_per_month(sighted):
    listings = sighted.trends(TrendQuery(measure="listings", by="market"))
    assert table(listings) == {"alpha": [(1, 1), (2, 2), (3, 3), (1, 1)], "beta": [(0, 0), (1, 1), (1, 1), (1, 1)]}
    vendors = sighted.trends(TrendQuery(measure="vendors"))
    # Anvil on alpha Jan-Apr, Cobalt Feb-Mar, Brass Feb-Mar, Anvil on beta (another vendor) in April
    assert table(vendors) == {"": [(1, 1), (3, 3), (3, 3), (2, 2)]}
    timeline = sighted.trends(TrendQuery(measure="listings", filters={"vendor": ["Anvil"], "market": ["alpha"]}))
    assert [c for _, c in table(timeline)[""]] == [1, 1, 2, 1]


def test_bounds_weeks_and_the_rest_of_a_split(sighted):
    bounded = sighted.trends(TrendQuery(measure="listings", date_from=at(2, 1), date_to=at(3, 31)))
    assert bounded.periods == ["2026-02", "2026-03"] and table(bounded) == {"": [(3, 3), (4, 4)]}
    weekly = sighted.trends(TrendQuery(measure="listings", filters={"market": ["beta"]}, interval="week"))
    assert weekly.periods[0] == "2026-W05" and weekly.periods[-1] == "2026-W15"  # Feb 1 (a Sunday) .. Apr 10
    assert sum(c for _, c in table(weekly)[""]) == 9 + 1  # l2 spans nine weeks (W05-W13), l5 one
    split = sighted.trends(TrendQuery(measure="listings", by="ships_from", top=1))
    assert [s.label for s in split.series] == ["NL", "other"]
    assert table(split)["other"] == [(0, 0), (1, 1), (1, 1), (1, 1)]
    assert sighted.trends(TrendQuery(measure="unit_price", filters={"product": ["heroin"]})).series == []
