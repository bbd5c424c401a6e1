"""Vendor search by name, alias and identifier, and a vendor's links across markets
(index.vendor_search), on both stores and through `interdict vendors`."""

import json
from datetime import UTC, datetime

import pytest

from conftest import make_listing, run_cli
from contracts.listings import VendorProfile
from index import vendor_id

T0 = datetime(2026, 11, 2, 12, tzinfo=UTC)


@pytest.fixture
def store(each_store):
    return each_store


@pytest.fixture
def vendors(store, enricher, catalog):
    """HappyTiger's profile on sable (PGP key, e-mail, wickr, wallet) and two listings there;
    the same name on vesper; TigerTwo on vesper, whose listing gives HappyTiger's e-mail; a stranger."""
    spec = catalog.vendors[0]
    store.upsert_vendors(enricher.enrich_vendors([VendorProfile(
        market="sable", name=spec.name, url="http://127.0.0.1/v", profile=spec.profile, pgp_key=spec.pgp_key,
        crawled_at=T0)]))
    listings = [
        make_listing(crawled_at=T0, market="sable", listing_key="s1", vendor={"name": spec.name}, title="Ketamine 5g"),
        make_listing(crawled_at=T0, market="sable", listing_key="s2", vendor={"name": spec.name}, title="MDMA 10g"),
        make_listing(crawled_at=T0, market="vesper", listing_key="v1", vendor={"name": spec.name.upper()},
                     title="Ketamine 10g"),
        make_listing(crawled_at=T0, market="vesper", listing_key="v2", vendor={"name": "TigerTwo"}, title="Speed 10g",
                     description=f"Orders: Email....{spec.email}"),
        make_listing(crawled_at=T0, market="vesper", listing_key="v3", vendor={"name": "Stranger"}, title="Hash 5g"),
    ]
    store.upsert_listings(enricher.enrich_listings(listings))
    return spec


def ids(hits):
    return {(h.name.casefold(), h.market) for h in hits}


def test_by_name_finds_every_market_and_the_aliases(store, vendors):
    from index.vendor_search import find_vendors

    hits = find_vendors(store, vendors.name.lower())
    assert ids(hits) == {(vendors.name.casefold(), "sable"), (vendors.name.casefold(), "vesper"), ("tigertwo", "vesper")}
    by = {(h.name.casefold(), h.market): h for h in hits}
    assert by[vendors.name.casefold(), "sable"].listings == 2 and by[vendors.name.casefold(), "sable"].profile
    assert any("shares email " + vendors.email in why for why in by["tigertwo", "vesper"].why)


@pytest.mark.parametrize("written", ["fingerprint", "spaced", "keyid", "email", "handle", "wallet"])
def test_by_any_identifier_in_any_form(store, vendors, written):
    from index.vendor_search import find_vendors

    fp = vendors.fingerprint
    query = {"fingerprint": fp.lower(), "spaced": " ".join(fp[i:i + 4] for i in range(0, 40, 4)),
             "keyid": "0x" + fp[-16:], "email": "EMAIL:" + vendors.email.upper(), "handle": "@" + vendors.handle,
             "wallet": vendors.btc_address.upper()}[written]
    hits = find_vendors(store, query)
    assert hits[0].name == vendors.name and hits[0].market == "sable"
    assert (vendors.name.casefold(), "vesper") not in ids(hits) or written == "handle"  # a name is no identifier
    assert ("stranger", "vesper") not in ids(hits)


def test_a_market_keeps_to_its_vendors(store, vendors):
    from index.vendor_search import find_vendors

    assert ids(find_vendors(store, vendors.email, markets=["vesper"])) == {("tigertwo", "vesper")}
    assert find_vendors(store, "nobody@example.org") == []


def test_a_vendors_links_name_what_links_them(store, vendors):
    from index.vendor_search import vendor_links

    links = vendor_links(store, vendor_id("sable", vendors.name), vendors.name)
    by = {(link["name"].casefold(), link["market"]): link for link in links}
    assert set(by) == {(vendors.name.casefold(), "vesper"), ("tigertwo", "vesper")}
    assert by["tigertwo", "vesper"]["relation"] == "alias"
    assert by["tigertwo", "vesper"]["shared"] == [f"email {vendors.email}"]
    assert by[vendors.name.casefold(), "vesper"]["relation"] == "same name"


def test_the_vendors_command(tmp_path, enricher, catalog):
    from index.embedded import EmbeddedStore

    with EmbeddedStore(tmp_path / "store.db") as store:
        spec = catalog.vendors[0]
        store.upsert_vendors(enricher.enrich_vendors([VendorProfile(
            market="sable", name=spec.name, url="http://127.0.0.1/v", profile=spec.profile, pgp_key=spec.pgp_key,
            crawled_at=T0)]))
        store.upsert_listings(enricher.enrich_listings([make_listing(
            crawled_at=T0, market="sable", listing_key="s1", vendor={"name": spec.name}, title="Ketamine 5g")]))
    spaced = " ".join(spec.fingerprint[i:i + 4] for i in range(0, 40, 4))
    human = run_cli("vendors", spaced, "--store", str(tmp_path / "store.db"))
    assert human.returncode == 0, human.stderr
    assert human.stdout.splitlines()[0] == "1 vendor(s) match"
    assert f"{spec.name}  [sable]  1 listing(s) · profile crawled" in human.stdout
    rows = [json.loads(line) for line in run_cli("vendors", spec.email, "--store", str(tmp_path / "store.db"),
                                                 "--json").stdout.splitlines()]
    assert [(r["name"], r["market"], r["listings"]) for r in rows] == [(spec.name, "sable", 1)]
    empty = run_cli("vendors", "  ", "--store", str(tmp_path / "store.db"))
    assert empty.returncode == 2 and "give a name or an identifier" in empty.stderr
