"""/api/trackers and /api/alerts over real HTTP (a uvicorn server on loopback): a key owns
its trackers and sees only them and their alerts, an admin sees all; alerts raised by an ingest
are listed, counted unread and marked read; bad definitions are refused with the reason."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import httpx
import pytest

from conftest import make_listing
from servers import make_app, serving

pytestmark = pytest.mark.timeout(600)
T0 = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture
def service(tmp_path, enricher):
    from index.embedded import EmbeddedStore
    from interdict.web.access import AccessStore

    store_path, state = tmp_path / "store.db", tmp_path / "api.db"
    with EmbeddedStore(store_path) as store:
        store.upsert_listings(enricher.enrich_listings([
            make_listing(listing_key="a1", url="http://127.0.0.1/a1", title="MDMA crystals 1g", crawled_at=T0),
            make_listing(listing_key="a2", url="http://127.0.0.1/a2", title="Ketamine 5g", crawled_at=T0)]))
    access = AccessStore(state)
    keys = {name: access.create_key(name, role)[1] for name, role in
            (("ana", "analyst"), ("bob", "analyst"), ("boss", "admin"), ("engine", "risk-engine"))}
    access.close()
    with serving(make_app(partial(EmbeddedStore, store_path), state)) as url:
        yield url, keys, store_path, state


def client(url: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60)


def test_trackers_belong_to_their_key_and_their_alerts_come_from_ingests(service, enricher):
    from index import SpooledWriter
    from index.embedded import EmbeddedStore
    from index.spool import Spool
    from interdict.trackers import TrackerBook, TrackerEvaluator

    url, keys, store_path, state = service
    with client(url, keys["ana"]) as ana, client(url, keys["bob"]) as bob, client(url, keys["boss"]) as boss:
        made = ana.post("/api/trackers", json={"name": "mdma", "kind": "search", "query": {"text": "mdma"},
                                               "price_change_percent": 20})
        assert made.status_code == 201, made.text
        mine = made.json()
        assert mine["on"] == ["new_listing", "price_change", "back_in_stock"] and mine["unread"] == 0
        theirs = bob.post("/api/trackers", json={"name": "ketamine", "kind": "regex", "pattern": r"ketamine\s+\d+g"})
        assert theirs.status_code == 201, theirs.text
        assert [t["id"] for t in ana.get("/api/trackers").json()] == [mine["id"]]
        assert bob.get(f"/api/trackers/{mine['id']}").status_code == 404  # another's is as unknown as none
        assert bob.delete(f"/api/trackers/{mine['id']}").status_code == 404
        assert {t["id"] for t in boss.get("/api/trackers").json()} == {mine["id"], theirs.json()["id"]}
        tested = ana.get(f"/api/trackers/{mine['id']}/test").json()
        assert tested["total"] == 1 and tested["hits"][0]["title"] == "MDMA crystals 1g"

        for wrong, why in (({"kind": "regex", "pattern": "(?<=x)y"}, "not an RE2 expression"),
                           ({"kind": "search", "query": {"text": "x"}, "deliver": ["webhook:nowhere"]}, "webhook:NAME"),
                           ({"kind": "search", "query": {"filters": {"colour": ["red"]}}}, "unknown filter field"),
                           ({"kind": "vendor"}, "needs the vendor's name")):
            refused = ana.post("/api/trackers", json={"name": "bad", **wrong})
            assert refused.status_code == 422 and why in refused.text, (wrong, refused.text)

        # an ingest (as a crawl, `index` or `import` writes) raises the alerts
        with EmbeddedStore(store_path) as store, TrackerBook(state) as book:
            writer = SpooledWriter(store, Spool(store_path.parent / "spool"), TrackerEvaluator(book, store))
            writer.write("listings", list(enricher.enrich_listings([
                make_listing(listing_key="a1", url="http://127.0.0.1/a1", title="MDMA crystals 1g",
                             price={"amount": 5, "currency": "USD"}, crawled_at=T0 + timedelta(days=1)),
                make_listing(listing_key="a3", url="http://127.0.0.1/a3", title="MDMA <b>pills</b>",
                             crawled_at=T0 + timedelta(days=1)),
                make_listing(listing_key="a4", url="http://127.0.0.1/a4", title="Ketamine 10g",
                             crawled_at=T0 + timedelta(days=1))])))
        seen = ana.get("/api/alerts").json()
        assert seen["unread"] == 2 and sorted(a["kind"] for a in seen["alerts"]) == ["new_listing", "price_change"]
        assert "MDMA <b>pills</b>" in {a["title"] for a in seen["alerts"]}  # JSON: the text as crawled
        assert [a["title"] for a in bob.get("/api/alerts").json()["alerts"]] == ["Ketamine 10g"]
        assert boss.get("/api/alerts", params={"unread": True}).json()["unread"] == 3
        assert ana.get(f"/api/trackers/{mine['id']}").json()["unread"] == 2

        others = bob.get("/api/alerts").json()["alerts"][0]["id"]
        assert ana.post("/api/alerts/read", json={"ids": [others]}).status_code == 404
        first = seen["alerts"][0]["id"]
        assert ana.post("/api/alerts/read", json={"ids": [first]}).json() == {"changed": 1}
        assert ana.get("/api/alerts", params={"unread": True}).json()["unread"] == 1
        assert [a["id"] for a in ana.get("/api/alerts", params={"unread": True}).json()["alerts"]] != [first]

        removed = ana.delete(f"/api/trackers/{mine['id']}").json()
        assert removed == {"removed": mine["id"], "alerts": 2}
        assert ana.get("/api/trackers").json() == [] and ana.get("/api/alerts").json()["alerts"] == []
    with client(url, keys["engine"]) as engine:
        assert engine.get("/api/alerts").status_code == 403
    with client(url, keys["boss"]) as boss:
        trail = [r for r in boss.get("/api/audit", params={"limit": 500}).json() if r["action"] in ("trackers", "alerts")]
    assert {r["key_name"] for r in trail} >= {"ana", "bob", "boss"}
