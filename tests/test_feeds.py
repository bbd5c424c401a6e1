"""Feeds that risk engines and CTI platforms ingest as they are: strict STIX 2.1 (the stix2
library without custom content, in a process that imports nothing of Interdict, and the OASIS
validator), a TAXII 2.1 server pulled by taxii2-client (incremental pulls give exactly what
changed), and MISP events and feeds loaded by PyMISP."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import time
import warnings
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path

import httpx
import pytest
import stix2
from stix2validator import ValidationOptions, validate_string

from config import WatchlistSettings, load_config
from conftest import make_listing, run_cli
from index.embedded import EmbeddedStore
from matching import stix
from matching.watchlist import derive_terms, feed, to_stix
from servers import make_app, serving

SETTINGS = WatchlistSettings()
REFRESH = 3.0  # seconds between refreshes of the TAXII feed in these tests
# What the OASIS validator may still warn about, and why it stays (the closing note lists them):
# 202 "indicator based-on email-addr/user-account/domain-name is permitted but not suggested" —
#     the way OpenCTI and MISP link an indicator to its observable;
# 244 "account_type 'telegram'/'wickr'/... is not in account-type-ov" — an open vocabulary,
#     and those messengers are what the vendors use.
EXPECTED_WARNINGS = {"202", "244"}
# The values of MISP's dark-web taxonomy the feed may tag with (misp-taxonomies dark-web/machinetag.json, v3).
DARK_WEB_TOPICS = {"drugs-narcotics", "extremism", "finance", "cash-in", "cash-out", "escrow", "hacking",
                   "identification-credentials", "intellectual-property-copyright-materials", "pornography-adult",
                   "search-engine-index", "unclear", "violence", "weapons", "softwares", "credit-card",
                   "counteir-feit-materials", "gambling", "library", "other-not-illegal", "legitimate", "chat",
                   "mixer", "mystery-box", "anonymizer", "vpn-provider", "email-provider"}


@pytest.fixture(scope="module")
def terms(matching_db):
    with EmbeddedStore(matching_db) as store:
        return feed(derive_terms(store, SETTINGS))


@pytest.fixture(scope="module")
def bundle_text(terms):
    return to_stix(terms, SETTINGS)


# -- strict STIX 2.1 -------------------------------------------------------------------------
def test_the_bundle_is_strict_stix_for_a_reader_that_knows_nothing_of_interdict(bundle_text, tmp_path):
    path = tmp_path / "bundle.json"
    path.write_text(bundle_text)
    ours = {"interdict", "matching", "contracts", "index", "enrichment", "crawlers", "config"}
    script = ("import json, sys, stix2\n"
              "bundle = stix2.parse(open(sys.argv[1]).read(), allow_custom=False)\n"
              f"assert not {{m.split('.')[0] for m in sys.modules}} & {ours!r}\n"
              "print(len(bundle.objects))\n")
    # -I: isolated (no PYTHONPATH, no working directory on the path), in an empty folder
    done = subprocess.run([sys.executable, "-I", "-c", script, str(path)], capture_output=True, text=True,
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert int(done.stdout) == len(json.loads(bundle_text)["objects"]) > 2000


def test_the_oasis_validator_finds_no_error(bundle_text):
    results = validate_string(bundle_text, ValidationOptions(version="2.1"))
    assert results.is_valid and not results.errors, [str(e) for e in results.errors][:20]
    codes = {str(w).split("{")[1].split("}")[0] for w in results.warnings}
    assert codes <= EXPECTED_WARNINGS, codes - EXPECTED_WARNINGS


def test_indicators_carry_what_a_risk_engine_weighs(bundle_text, terms):
    doc = json.loads(bundle_text)
    assert set(doc) == {"type", "id", "objects"}  # no cursor, nothing custom on the bundle
    objects = doc["objects"]
    assert not [k for o in objects for k in _keys(o) if k.startswith("x_")]
    assert not [o["type"] for o in objects if o["type"].startswith("x-")]
    by_id = {o["id"]: o for o in objects}
    amber = stix.TLP["amber"]
    assert by_id[amber]["definition"] == {"tlp": "amber"}
    declared = {o["name"] for o in objects if o["type"] == "extension-definition"}
    assert {"cryptocurrency-wallet observable", "pgp-key observable", "consignment observable"} <= declared
    checked = 0
    for term in terms:
        found = by_id[stix.indicator_id(term)]
        assert found["confidence"] == round(term.weight * 100)
        assert found["object_marking_refs"] == [amber] and found["created_by_ref"] == stix.PRODUCER
        assert stix.KIND_LABELS[term.kind] in found["labels"]
        assert [r["external_id"] for r in found.get("external_references", [])] == term.examples
        extension = found["extensions"][stix.TERM_EXTENSION]
        assert (extension["term_id"], extension["kind"], extension["listing_count"]) == (
            term.id, term.kind, term.listing_count)
        if found["type"] == "indicator":
            assert found["valid_from"] == stix.stix_time(term.first_seen)
            until = datetime.fromisoformat(found["valid_until"].replace("Z", "+00:00"))
            assert until == term.last_seen.replace(microsecond=term.last_seen.microsecond // 1000 * 1000) + timedelta(
                days=SETTINGS.valid_days) or term.first_seen == term.last_seen
            checked += 1
    assert checked > 900
    patterns = {o["pattern"].split(":")[0].lstrip("[") for o in objects
                if o["type"] == "indicator" and o["pattern_type"] == "stix"}
    assert patterns == {"email-addr", "user-account", "pgp-key", "cryptocurrency-wallet", "consignment"}
    wallet = next(o for o in objects if o["type"] == "indicator" and "cryptocurrency-wallet" in o["pattern"])
    assert " AND cryptocurrency-wallet:currency = 'btc'" in wallet["pattern"] or "'xmr'" in wallet["pattern"]
    assert wallet["indicator_types"] == ["attribution"]


def test_tlp_and_evidence_links_are_configurable(terms):
    settings = WatchlistSettings(tlp="green", evidence_url="https://interdict.example/")
    doc = json.loads(to_stix(terms[:20], settings))
    markings = {ref for o in doc["objects"] for ref in o.get("object_marking_refs", [])}
    assert markings == {stix.TLP["green"]}
    urls = [r["url"] for o in doc["objects"] for r in o.get("external_references", [])]
    assert urls and all(u.startswith("https://interdict.example/listings/") for u in urls)
    with pytest.raises(ValueError):
        WatchlistSettings(tlp="purple")


def test_hostile_terms_stay_data(tmp_path, enricher):
    """A vendor name with quotes and backslashes cannot break out of a pattern or the JSON."""
    with EmbeddedStore(tmp_path / "i.db") as store:
        store.upsert_listings(enricher.enrich_listings([make_listing(
            title="MDMA crystals 10g", vendor={"name": "x' OR 1=1 \\ ]"},
            description="contact evil'o\\@protonmail.com or x'y@mail.com", crawled_at=datetime.fromisoformat(
                "2026-11-01T00:00:00+00:00"))]))
        terms = derive_terms(store, SETTINGS)
    text = to_stix(terms, SETTINGS)
    assert stix2.parse(text, allow_custom=False)
    assert validate_string(text, ValidationOptions(version="2.1")).is_valid


def _keys(value, depth=0):
    if isinstance(value, dict):
        for key, inner in value.items():
            if depth > 0 or key != "extensions":
                yield key
            yield from _keys(inner, depth + 1)
    elif isinstance(value, list):
        for inner in value:
            yield from _keys(inner, depth + 1)


# -- MISP ------------------------------------------------------------------------------------
def _check_misp_event(doc: dict) -> "object":
    import jsonschema
    import pymisp
    from pymisp import MISPEvent, MISPObject

    data = Path(pymisp.__file__).parent / "data"
    jsonschema.validate(doc, json.loads((data / "schema-lax.json").read_text()))  # the schema MISPEvent uses
    event = MISPEvent()
    with warnings.catch_warnings():  # PyMISP 2.5 deprecates validate=; the schema check above does its work
        warnings.simplefilter("ignore", UserWarning)
        event.load(json.dumps(doc), validate=True)
    mappings = json.loads((data / "describeTypes.json").read_text())["result"]["category_type_mappings"]
    for attribute in event.attributes + [a for o in event.objects for a in o.attributes]:
        assert attribute.type in mappings[attribute.category], (attribute.category, attribute.type)
    for obj in event.objects:  # each object as its MISP template defines it
        strict = MISPObject(obj.name, strict=True)
        assert strict.template_uuid == obj.template_uuid and str(strict.template_version) == str(obj.template_version)
        for attribute in obj.attributes:
            strict.add_attribute(attribute.object_relation, value=attribute.value, type=attribute.type)
        strict.to_dict(strict=True)  # raises when a required relation is missing
    tags = {t.name for t in event.tags} | {t.name for a in event.attributes for t in a.tags}
    topics = {t.split('"')[1] for t in tags if t.startswith("dark-web:topic=")}
    assert topics and topics <= DARK_WEB_TOPICS
    return event


def test_the_misp_export_loads_in_pymisp(matching_db, terms, tmp_path):
    out = tmp_path / "event.json"
    done = run_cli("watchlist", "export", "--format", "misp", "--store", str(matching_db), "--out", str(out))
    assert done.returncode == 0, done.stderr
    event = _check_misp_event(json.loads(out.read_text()))
    assert {t.name for t in event.tags} == {"tlp:amber", 'dark-web:motivation="marketplace-for-sale"'}
    values = {a.value for a in event.attributes} | {a.value for o in event.objects for a in o.attributes}
    assert {t.term for t in terms} <= values
    types = {(a.type, a.category) for a in event.attributes}
    assert {("email", "Social network"), ("threat-actor", "Attribution"), ("text", "Other")} <= types
    objects = {o.name for o in event.objects}
    assert {"coin-address", "pgp-meta", "user-account"} <= objects
    wallet = next(o for o in event.objects if o.name == "coin-address")
    assert {a.object_relation for a in wallet.attributes} >= {"symbol"} and wallet.attributes[0].to_ids
    again = json.loads(run_cli("watchlist", "export", "--format", "misp", "--store", str(matching_db)).stdout)
    assert again == json.loads(out.read_text())  # stable: a MISP that pulls again updates, never duplicates


def test_the_misp_feed_folder(matching_db, tmp_path):
    folder = tmp_path / "feed"
    done = run_cli("watchlist", "export", "--format", "misp-feed", "--store", str(matching_db), "--out", str(folder))
    assert done.returncode == 0, done.stderr
    manifest = json.loads((folder / "manifest.json").read_text())
    assert len(manifest) == 6 and {p.name for p in folder.glob("*-*.json")} == {f"{u}.json" for u in manifest}
    hashes = (folder / "hashes.csv").read_text().splitlines()
    for uuid, head in manifest.items():
        doc = json.loads((folder / f"{uuid}.json").read_text())
        event = _check_misp_event(doc)
        assert (event.uuid, event.info, str(int(event.timestamp.timestamp()))) == (uuid, head["info"], head["timestamp"])
        values = [a.value for a in event.attributes] + [a.value for o in event.objects for a in o.attributes]
        assert {f"{hashlib.md5(v.encode()).hexdigest()},{uuid}" for v in values} <= set(hashes)
    refused = run_cli("watchlist", "export", "--format", "misp-feed", "--store", str(matching_db))
    assert refused.returncode == 2 and "--out DIR" in refused.stderr


# -- the TAXII 2.1 server --------------------------------------------------------------------
@pytest.fixture
def taxii_service(matching_db, tmp_path):
    """The service on a copy of the demo index (the test changes it), refreshing its feed when
    it is REFRESH seconds old (the pages of one pull share a refresh), with a key of each role."""
    from interdict.web.access import AccessStore

    index = tmp_path / "index.db"
    shutil.copy(matching_db, index)
    state = tmp_path / "api.db"
    access = AccessStore(state)
    keys = {role: access.create_key(f"test {role}", role)[1] for role in ("risk-engine", "analyst")}
    access.close()
    config = load_config()
    config = config.model_copy(update={"watchlist": config.watchlist.model_copy(update={
        "taxii_refresh_seconds": REFRESH, "taxii_refresh_wait_seconds": 300})})
    with serving(make_app(partial(EmbeddedStore, index), state, config=config)) as url:
        yield url, keys, index, state


def _pull(collection, **filters) -> dict[str, dict]:
    from taxii2client.v21 import as_pages

    found: dict[str, dict] = {}
    for envelope in as_pages(collection.get_objects, per_request=1000, **filters):
        for obj in envelope.get("objects", []):
            assert obj["id"] not in found, "an object twice in one pull"
            found[obj["id"]] = obj
    return found


def test_a_risk_engine_pulls_the_demo_index_with_taxii2_client(taxii_service, terms):
    from taxii2client.common import TokenAuth
    from taxii2client.v21 import Server, as_pages

    url, keys, _, _ = taxii_service
    server = Server(f"{url}/taxii2/", auth=TokenAuth(keys["risk-engine"]))
    assert server.default.url == f"{url}/taxii2/watchlist/" and len(server.api_roots) == 1
    root = server.api_roots[0]
    assert root.versions == ["application/taxii+json;version=2.1"]
    collections = {c.title: c for c in root.collections}
    assert set(collections) == {"Watchlist", "Products", "Product slang", "Vendors", "Vendor identifiers",
                                "Shipping routes", "Concealment methods", "False declarations"}
    assert all(c.can_read and not c.can_write for c in collections.values())
    everything = _pull(collections["Watchlist"])
    bundle = {"type": "bundle", "id": "bundle--8e1d8f3e-7d16-4a8e-9f0e-2b1b8f3f1a11", "objects": list(everything.values())}
    assert stix2.parse(json.dumps(bundle), allow_custom=False)  # what a TAXII pull gives is strict STIX too
    assert {stix.indicator_id(t) for t in terms} <= set(everything)
    vendors = _pull(collections["Vendors"])
    assert {o["type"] for o in vendors.values()} == {"threat-actor", "identity", "marking-definition",
                                                     "extension-definition"}
    assert len([o for o in vendors.values() if o["type"] == "threat-actor"]) == len([t for t in terms
                                                                                     if t.kind == "vendor"])
    only = _pull(collections["Vendor identifiers"], type="email-addr")
    assert only and {o["type"] for o in only.values()} == {"email-addr"}
    # pages: small ones give the same objects, each once
    paged: dict[str, dict] = {}
    pages = 0
    for envelope in as_pages(collections["Shipping routes"].get_objects, per_request=7):
        pages += 1
        for obj in envelope.get("objects", []):
            assert obj["id"] not in paged
            paged[obj["id"]] = obj
    assert pages > 2 and paged == _pull(collections["Shipping routes"])
    manifest = [r for e in as_pages(collections["Shipping routes"].get_manifest, per_request=50)
                for r in e.get("objects", [])]
    assert sorted(r["id"] for r in manifest) == sorted(paged)
    assert all(r["media_type"] == "application/stix+json;version=2.1" for r in manifest)


def test_incremental_pulls_give_exactly_what_changed(taxii_service, enricher):
    from taxii2client.common import TokenAuth
    from taxii2client.v21 import Server, as_pages

    url, keys, index, state = taxii_service
    root = Server(f"{url}/taxii2/", auth=TokenAuth(keys["risk-engine"])).api_roots[0]
    everything = next(c for c in root.collections if c.title == "Watchlist")
    before = _pull(everything)
    last_added = max(r["date_added"] for e in as_pages(everything.get_manifest, per_request=1000)
                     for r in e.get("objects", []))
    assert _pull(everything, added_after=last_added) == {}  # nothing changed: nothing to pull
    with EmbeddedStore(index) as store:
        terms = derive_terms(store, SETTINGS)
        latest = max(t.last_seen for t in terms if t.last_seen)
        # a vendor with a single listing leaves the feed when that listing is taken down
        lonely = next(t for t in feed(terms) if t.kind == "vendor" and t.listing_count == 1 and len(t.vendors) == 1)
        assert store.delete_listing(lonely.examples[0])
        store.upsert_listings(enricher.enrich_listings([make_listing(
            market="sable", listing_key="taxii-new", url="http://127.0.0.1/l/taxii-new",
            title="Blue Dream weed 28g stealth shipping", vendor={"name": "FreshFarmTaxii"},
            description="Contact freshfarm.taxii@protonmail.com", ships_from="Spain", ships_to=["Germany"],
            crawled_at=latest + timedelta(days=1))]))
    time.sleep(REFRESH)  # the next pull refreshes the feed
    after = _pull(everything)
    changed = {i: o for i, o in after.items() if before.get(i) != o}
    increment = _pull(everything, added_after=last_added)
    assert increment == changed  # exactly what changed: new objects, new versions, revocations
    assert _pull(everything, added_after=max(r["date_added"] for e in as_pages(
        everything.get_manifest, per_request=1000) for r in e.get("objects", []))) == {}
    names = {o.get("name") for o in increment.values()}
    assert {"FreshFarmTaxii", "freshfarm.taxii@protonmail.com", "cannabis herb"} <= names
    assert increment[stix.indicator_id(lonely)]["revoked"] is True
    assert len(increment) < len(before) / 10
    # the versions of a changed object, and its first version still there
    cannabis = next(i for i, o in increment.items() if o.get("name") == "cannabis herb")
    assert before[cannabis]["modified"] < increment[cannabis]["modified"]
    versions = everything.object_versions(cannabis)["versions"]
    assert versions == [before[cannabis]["modified"], increment[cannabis]["modified"]]
    first = everything.get_object(cannabis, version="first")["objects"]
    assert first == [before[cannabis]]
    both = everything.get_object(cannabis, version="all")["objects"]
    assert [o["modified"] for o in both] == versions


def test_taxii_access_errors_and_audit(taxii_service):
    import requests
    from taxii2client.v21 import Server

    url, keys, _, state = taxii_service
    # HTTP Basic with the key as password: for TAXII clients that know no other scheme
    basic = Server(f"{url}/taxii2/", user="risk-engine", password=keys["risk-engine"])
    assert basic.title == "Interdict TAXII server"
    collection_url = f"{url}/taxii2/watchlist/collections/"
    taxii = {"Accept": "application/taxii+json;version=2.1"}
    with httpx.Client(timeout=120) as client:
        anonymous = client.get(collection_url, headers=taxii)
        analyst = client.get(collection_url, headers={**taxii, "Authorization": f"Bearer {keys['analyst']}"})
        engine = {**taxii, "Authorization": f"Bearer {keys['risk-engine']}"}
        html = client.get(collection_url, headers={**engine, "Accept": "text/html"})
        missing = client.get(f"{collection_url}00000000-0000-4000-8000-000000000000/objects/", headers=engine)
        other_root = client.get(f"{url}/taxii2/elsewhere/", headers=engine)
        post = client.post(f"{collection_url}{stix.stable_uuid('taxii-collection:all')}/objects/", headers=engine,
                           content=b"{}")
        bad_limit = client.get(f"{collection_url}{stix.stable_uuid('taxii-collection:all')}/objects/",
                               params={"limit": "lots"}, headers=engine)
        bad_time = client.get(f"{collection_url}{stix.stable_uuid('taxii-collection:all')}/objects/",
                              params={"added_after": "yesterday"}, headers=engine)
        fine = client.get(collection_url, headers=engine)
    for response, status in ((anonymous, 401), (analyst, 403), (html, 406), (missing, 404), (other_root, 404),
                             (post, 403), (bad_limit, 400), (bad_time, 400), (fine, 200)):
        assert response.status_code == status, (response.request.url, response.text)
        assert response.headers["content-type"] == "application/taxii+json;version=2.1"
        assert response.headers["cache-control"] == "no-store"
        if status != 200:
            assert response.json()["http_status"] == str(status) and response.json()["title"]
    assert "risk-engine" in analyst.json()["title"]
    with pytest.raises(requests.HTTPError) as refused:
        Server(f"{url}/taxii2/", user="x", password="idk_wrong_key").refresh()
    assert refused.value.response.status_code == 401
    from interdict.web.access import AccessStore

    access = AccessStore(state)
    records = access.audit(limit=1000)
    access.close()
    actions = [(r.action, r.status) for r in records if r.target.startswith(("watchlist", "discovery", "/taxii2/"))]
    assert ("taxii", 200) in actions and ("denied", 401) in actions and ("denied", 403) in actions
    assert base64.b64encode(keys["risk-engine"].encode()).decode() not in json.dumps([r.__dict__ for r in records],
                                                                                     default=str)


def test_a_misp_instance_pulls_the_feed_through_the_api(taxii_service):
    """As MISP fetches a feed: manifest.json, then each event it names, with the header its feed
    configuration holds; and the single event of ?format=misp."""
    url, keys, _, _ = taxii_service
    headers = {"Authorization": f"Bearer {keys['risk-engine']}"}
    with httpx.Client(base_url=f"{url}/api/watchlist", headers=headers, timeout=120) as client:
        manifest = client.get("/misp-feed/manifest.json")
        assert manifest.status_code == 200 and manifest.headers["cache-control"] == "no-cache"
        for uuid, head in manifest.json().items():
            event = client.get(f"/misp-feed/{uuid}.json")
            assert event.status_code == 200
            assert _check_misp_event(event.json()).info == head["info"]
        hashes = client.get("/misp-feed/hashes.csv")
        assert hashes.headers["content-type"].startswith("text/csv") and hashes.text.count("\n") > 1000
        unchanged = client.get("/misp-feed/manifest.json", headers={"If-None-Match": manifest.headers["etag"]})
        missing = client.get("/misp-feed/nothing.json")
        single = httpx.get(f"{url}/api/watchlist", params={"format": "misp"}, headers=headers, timeout=120)
    assert unchanged.status_code == 304 and missing.status_code == 404
    assert single.status_code == 200 and single.headers["x-interdict-cursor"]
    assert len(manifest.json()) == 6 and _check_misp_event(single.json()).info.startswith("Interdict watchlist")
    with httpx.Client(base_url=url, timeout=120) as client:
        assert client.get("/api/watchlist/misp-feed/manifest.json").status_code == 401


def test_a_pull_waits_for_a_refresh_no_longer_than_configured(matching_db, tmp_path):
    """A pull on a large index is answered from what was published; what the refresh adds
    after, the next pull gets (its versions are added later)."""
    from contextlib import contextmanager
    from types import SimpleNamespace

    from matching.feed_ledger import FeedLedger

    @contextmanager
    def checkout():
        with EmbeddedStore(matching_db) as store:
            yield SimpleNamespace(store=store)

    ledger = FeedLedger(tmp_path / "api.db")
    try:
        hurried = WatchlistSettings(taxii_refresh_seconds=0, taxii_refresh_wait_seconds=0)
        assert ledger.refresh_soon(checkout, hurried) is False  # not waited for: it derives the terms first
        patient = WatchlistSettings(taxii_refresh_seconds=0, taxii_refresh_wait_seconds=300)
        assert ledger.refresh_soon(checkout, patient) is True  # the one running is waited for
        published = ledger.versions(None, limit=10_000)
        assert len(published) > 2000
        # unchanged index: later refreshes add nothing, and nothing was published twice
        assert ledger.refresh_soon(checkout, patient) is True
        assert ledger.versions(None, limit=10_000, which={"all"}) == published
    finally:
        ledger.close()
