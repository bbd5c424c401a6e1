"""Watchlist weights for risk engines (issue 20, part 6): every term weighed, the default feed
without common words, generic English words and cover phrases, ordinary vendor names only
with a qualifier, one route per direction between places that exist, STIX confidence from
the weight, and `interdict eval watchlist` on the result."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import stix2

from config import WatchlistSettings
from conftest import make_listing, run_cli
from index.embedded import EmbeddedStore
from matching.term_weights import Weigher, zipf_any
from matching.watchlist import derive_terms, feed, to_stix

SETTINGS = WatchlistSettings()
T0 = datetime(2026, 10, 1, tzinfo=UTC)


def listing(key: str, title: str, vendor: str, market: str = "sable", **extra):
    return make_listing(listing_key=key, title=title, vendor={"name": vendor}, market=market, crawled_at=T0, **extra)


@pytest.fixture(scope="module")
def terms(tmp_path_factory, enricher):
    """Listings as real markets write them: drug names and slang, cover words, a vendor named
    "fake" and one named "Unknown", routes to and from places, a gift-card seller."""
    rows = []
    for i in range(12):
        rows.append(listing(f"f{i}", f"Fentanyl 1g pure #{i} - vacuum sealed, stealth", f"OpiateKing{i % 4}",
                            market=("sable", "vesper")[i % 2], ships_from="Netherlands", ships_to=["United States"],
                            description="Declared as gift. Sent in a letter with a decoy."))
    for i in range(6):
        rows.append(listing(f"m{i}", f"MDMA crystals 84% 5g, tina too #{i}", "fake", ships_from="Germany",
                            ships_to=["Worldwide"], description="Wickr: fakeshop99"))
    for i in range(4):
        rows.append(listing(f"g{i}", f"Starbucks gift card $50 #{i}", "Unknown", ships_from="NA", ships_to=["NA"]))
    path = tmp_path_factory.mktemp("weights") / "index.db"
    with EmbeddedStore(path) as store:
        store.upsert_listings(enricher.enrich_listings(rows))
        return path, derive_terms(store, SETTINGS)


def term(terms, kind, text):
    return next(t for t in terms[1] if t.kind == kind and t.term.casefold() == text.casefold())


def test_every_derived_term_has_a_weight_and_the_feed_keeps_the_distinctive_ones(terms):
    assert all(0 <= t.weight <= 1 for t in terms[1])
    fentanyl = term(terms, "product", "fentanyl")
    assert fentanyl.excluded is None and fentanyl.weight >= 0.75  # 12 listings, 4 vendors, 2 markets
    assert term(terms, "identifier", "fakeshop99").excluded is None
    in_feed = {(t.kind, t.term.casefold()) for t in feed(terms[1])}
    assert ("concealment", "decoy") in in_feed and ("product", "mdma") in in_feed


@pytest.mark.parametrize("kind, text, reason", [
    ("concealment", "letter", "listed as a common term"),
    ("declaration", "gift", "listed as a common term"),
])
def test_cover_words_stay_out_of_the_feed_with_their_reason(terms, kind, text, reason):
    found = term(terms, kind, text)
    assert found.excluded and found.excluded.startswith(reason)
    assert found not in feed(terms[1]) and found in feed(terms[1], everything=True)


def test_a_generic_word_is_left_out_and_says_why(terms):
    weigher = Weigher(SETTINGS)
    _, why = weigher.weigh("slang", "MDMA", "party", 6, 1, 1, ["drugs.empathogens"])
    assert why == f"generic word (Zipf {zipf_any('party'):.1f})"
    _, why = weigher.weigh("slang", "fake certificate", "factura", 6, 1, 1, ["counterfeits.documents"])
    assert why and why.startswith("generic word")  # Spanish for "invoice"
    _, why = weigher.weigh("slang", "software", "v2.3", 6, 1, 1, ["digital.software"])
    assert why == "a version number"
    weight, why = weigher.weigh("slang", "MDMA", "mandy", 6, 1, 1, ["drugs.empathogens"])
    assert why is None and weight > SETTINGS.min_weight


def test_a_carrier_named_as_vendor_is_a_common_term_however_written():
    weigher = Weigher(SETTINGS)
    for written in ("royalmail", "Royal-Mail", "POSTNL"):
        assert weigher.weigh("vendor", None, written, 5, 1, 1, [])[1].startswith("listed as a common term")


def test_an_ordinary_vendor_name_is_kept_only_with_its_qualifiers(terms):
    fake = term(terms, "vendor", "fake")
    assert fake.qualifiers == ["market:sable", "wickr:fakeshop99"]
    unknown = term(terms, "vendor", "Unknown")
    assert unknown.excluded and unknown not in feed(terms[1])
    assert term(terms, "vendor", "OpiateKing1").qualifiers == []


def test_one_route_per_direction_and_never_an_absent_country(terms):
    routes = [t for t in terms[1] if t.kind == "route"]
    assert len({t.term for t in routes}) == len(routes)
    assert {t.term for t in routes} == {"NL -> US", "DE -> WORLDWIDE"}
    assert term(terms, "route", "NL -> US").weight > term(terms, "route", "DE -> WORLDWIDE").weight


def test_stix_confidence_is_the_weight(terms):
    kept = feed(terms[1])
    bundle = stix2.parse(to_stix(kept, WatchlistSettings()), allow_custom=False)
    by_name = {o.name: o for o in bundle.objects if o.type in ("indicator", "threat-actor")}
    for t in kept:
        assert by_name[t.term].confidence == round(t.weight * 100)


def test_eval_watchlist_command(terms, tmp_path):
    path = str(terms[0])
    report = run_cli("eval", "watchlist", "--store", path)
    assert report.returncode == 0, report.stderr
    out = report.stdout
    assert "generic English words in the feed (Zipf >= 4.0, unqualified): 0.0%" in out
    assert "heaviest product: fentanyl" in out and "left out:" in out
    drawn = [json.loads(line) for line in run_cli("eval", "watchlist", "--store", path, "--draw", "5").stdout.splitlines()]
    assert len(drawn) == 5 and all(d["verdict"] is None for d in drawn)
    assert drawn == [json.loads(line) for line in run_cli("eval", "watchlist", "--store", path, "--draw", "5")
                     .stdout.splitlines()]  # the same draw every time
    empty = run_cli("eval", "watchlist", "--store", str(tmp_path / "none.db"))
    assert empty.returncode == 2 and "the store is empty" in empty.stderr
