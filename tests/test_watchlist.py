"""Watchlist terms for risk engines: derived from the index with their statistics, curated
terms from the configuration, increments by cursor, CSV that no spreadsheet runs as a
formula, and the export command (strict STIX 2.1 and MISP: tests/test_feeds.py)."""

from __future__ import annotations

import csv
import io
import json
import re
import shutil
from datetime import UTC, datetime, timedelta

import pytest
import stix2

from config import CuratedTerm, WatchlistSettings
from conftest import make_listing, run_cli
from contracts.listings import VendorProfile
from index.embedded import EmbeddedStore
from matching.watchlist import csv_safe, derive_terms, make_cursor, since, to_csv, to_json, to_stix

SETTINGS = WatchlistSettings()


@pytest.fixture(scope="module")
def terms(matching_db):
    with EmbeddedStore(matching_db) as store:
        return derive_terms(store, SETTINGS)


def by(terms, kind, term):
    return next(t for t in terms if t.kind == kind and t.term == term)


def test_every_kind_of_term_with_its_statistics(terms, catalog):
    kinds = {t.kind for t in terms}
    assert kinds == {"product", "slang", "vendor", "identifier", "route", "concealment", "declaration"}
    vendor = next(v for v in catalog.vendors if len(v.markets) == 2)
    email = by(terms, "identifier", vendor.email)
    assert email.subkind == "email" and email.markets == ["sable", "vesper"] and email.listing_count > 0
    assert vendor.name in email.vendors and len(email.examples) == SETTINGS.examples
    pgp = by(terms, "identifier", vendor.fingerprint)
    assert pgp.subkind == "pgp" and pgp.first_seen <= pgp.last_seen
    cocaine = by(terms, "product", "cocaine")
    assert cocaine.hs_codes == ["2939.72"] and cocaine.categories == ["drugs.stimulants"]
    assert cocaine.listing_count > 20 and "NL" in cocaine.countries and "EU" not in cocaine.countries
    route = next(t for t in terms if t.kind == "route" and t.term.startswith("NL -> "))
    assert route.subkind is None and route.categories and route.listing_count >= 1  # one per direction
    assert any(t.kind == "slang" and t.subkind == "cocaine" for t in terms)  # "charlie", "coke", "kokain"...
    assert by(terms, "concealment", "vacuum sealed").listing_count > 10


def test_curated_terms_and_exclusions(matching_db):
    settings = WatchlistSettings(include=[CuratedTerm(term="yaba", kind="product", note="seen at the border")],
                                 exclude=["Vacuum Sealed"])
    with EmbeddedStore(matching_db) as store:
        terms = derive_terms(store, settings)
    yaba = by(terms, "product", "yaba")
    assert (yaba.source, yaba.note, yaba.listing_count, yaba.last_seen) == ("curated", "seen at the border", 0, None)
    assert not any(t.term == "vacuum sealed" for t in terms)


def test_vendors_sharing_an_identifier_are_linked(matching_db, enricher, catalog, tmp_path):
    path = tmp_path / "index.db"
    shutil.copy(matching_db, path)
    spec = catalog.vendors[0]
    alias = VendorProfile(market="vesper", name="TotallyNewName", url="http://127.0.0.1/v/x", profile=spec.profile,
                          pgp_key=spec.pgp_key, crawled_at=datetime(2026, 5, 1, tzinfo=UTC))
    with EmbeddedStore(path) as store:
        store.upsert_vendors(enricher.enrich_vendors([alias]))
        terms = derive_terms(store, SETTINGS)
    assert {spec.name, "TotallyNewName"} <= set(by(terms, "vendor", spec.name).vendors)
    assert {spec.name, "TotallyNewName"} <= set(by(terms, "identifier", spec.fingerprint).vendors)
    bundle = stix2.parse(to_stix([by(terms, "vendor", spec.name), by(terms, "identifier", spec.fingerprint)], SETTINGS),
                         allow_custom=False)
    actor = next(o for o in bundle.objects if o.type == "threat-actor")
    assert actor.name == spec.name and "TotallyNewName" in actor.aliases
    key = next(o for o in bundle.objects if o.type == "indicator")
    assert key.pattern == f"[pgp-key:fingerprint = '{spec.fingerprint}']"
    # the key "indicates" the vendor that showed it
    assert [(r.source_ref, r.relationship_type, r.target_ref) for r in bundle.objects if r.type == "relationship"] == [
        (key.id, "indicates", actor.id)]


def test_increments_by_cursor(matching_db, enricher, tmp_path):
    path = tmp_path / "index.db"
    shutil.copy(matching_db, path)
    with EmbeddedStore(path) as store:
        terms = derive_terms(store, SETTINGS)
        cursor = make_cursor(terms, SETTINGS)
        assert since(terms, cursor, SETTINGS) == []
        latest = max(t.last_seen for t in terms if t.last_seen)
        fresh = make_listing(market="sable", listing_key="new-1", title="Blue Dream weed 28g", vendor={"name": "FreshFarm"},
                             ships_from="Spain", ships_to=["Worldwide"], crawled_at=latest + timedelta(days=1))
        store.upsert_listings(enricher.enrich_listings([fresh]))
        changed = since(derive_terms(store, SETTINGS), cursor, SETTINGS)
    found = {(t.kind, t.term) for t in changed}
    assert ("vendor", "FreshFarm") in found and ("product", "cannabis herb") in found
    assert all(t.last_seen > latest for t in changed)
    assert len(changed) < len(terms) / 20  # only what the new crawl touched
    curated = WatchlistSettings(include=[CuratedTerm(term="yaba", kind="product")])
    assert [t.term for t in since(terms + derive_terms_curated(curated), cursor, curated) if t.source == "curated"] == ["yaba"]


def derive_terms_curated(settings):
    from contracts.watchlist import WatchlistTerm
    from matching.watchlist import term_id

    return [WatchlistTerm(id=term_id(t.kind, t.subkind, t.term), term=t.term, kind=t.kind, source="curated")
            for t in settings.include]


def test_csv_cells_never_start_a_formula(store, enricher):
    hostile = [make_listing(listing_key=str(i), title=f"MDMA crystals {i}", vendor={"name": name})
               for i, name in enumerate(["=HYPERLINK(\"http://x\",\"y\")", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
                                         "Plain Vendor"])]
    store.upsert_listings(enricher.enrich_listings(hostile))
    rows = list(csv.DictReader(io.StringIO(to_csv(derive_terms(store, SETTINGS)))))
    vendors = {r["term"] for r in rows if r["kind"] == "vendor"}
    assert vendors == {"'=HYPERLINK(\"http://x\",\"y\")", "'+cmd|' /C calc'!A0", "'-2+3", "'@SUM(A1)", "Plain Vendor"}
    for row in rows:
        assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())
    # crawled text loses leading whitespace in the contracts; curated or future fields might not
    assert (csv_safe("\tx"), csv_safe("\r=1"), csv_safe("a=b")) == ("'\tx", "'\r=1", "a=b")


def test_export_command(matching_db, tmp_path):
    out = tmp_path / "feed.json"
    done = run_cli("watchlist", "export", "--store", str(matching_db), "--out", str(out))
    assert done.returncode == 0, done.stderr
    feed = json.loads(out.read_text())
    assert feed["count"] == len(feed["terms"]) > 1000
    cursor = re.search(r"--since (\S+)", done.stderr).group(1)
    assert cursor == feed["cursor"]
    again = run_cli("watchlist", "export", "--store", str(matching_db), "--since", cursor, "--format", "csv")
    assert again.returncode == 0 and again.stdout.splitlines() == [",".join(
        ["id", "term", "kind", "subkind", "source", "weight", "qualifiers", "first_seen", "last_seen", "listing_count",
         "markets", "countries", "hs_codes", "categories", "vendors", "examples", "note", "excluded"])]
    stix = run_cli("watchlist", "export", "--store", str(matching_db), "--format", "stix")
    assert stix.returncode == 0 and stix2.parse(stix.stdout, allow_custom=False).type == "bundle"
    assert cursor not in stix.stdout and f"--since {cursor}" in stix.stderr  # the cursor travels beside it
    bad = run_cli("watchlist", "export", "--store", str(matching_db), "--since", "nonsense")
    assert bad.returncode == 2 and "not a watchlist cursor" in bad.stderr
    assert to_json([], cursor).startswith("{")
