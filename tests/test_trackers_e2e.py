"""Trackers end to end: set up on the demo index (both markets crawled at epoch 0), the demo
markets move to epoch 5 (prices moved, listings withdrawn, new listings, a Sable vendor opening
on Vesper), and one crawl raises exactly the alerts the catalog's ground truth calls for,
delivered while it runs to a webhook receiver and an SMTP server (STARTTLS, AUTH) on loopback."""

from __future__ import annotations

import json
import shutil

import pytest

from alert_receivers import SmtpServer, WebhookReceiver
from conftest import run_cli
from contracts.documents import listing_id
from interdict.demo.catalog import GROWTH_FROM, Catalog
from interdict.trackers import TrackerBook

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]
PASSWORD = "s3cret-Pa55"


def moved(before: Catalog, after: Catalog, percent: float) -> set[str]:
    """Listing ids whose shown price moved by ``percent`` or more between two epochs."""
    found = set()
    for market, shown in after.markets.items():
        for key, spec in shown.by_key.items():
            old = before.markets[market].by_key.get(key)
            if old is not None and round(abs(spec.price - old.price) / old.price * 100, 2) >= percent:
                found.add(listing_id(market, key))
    return found


def test_a_crawl_of_the_next_epoch_raises_and_delivers_exactly_the_expected_alerts(demo_crawl, catalog, tmp_path):
    from index import Query
    from index.embedded import EmbeddedStore
    from interdict.demo.run import demo_markets

    later = Catalog(catalog.seed, GROWTH_FROM)
    newcomer = later.newcomer
    store_path = tmp_path / "store.db"
    shutil.copy(demo_crawl, store_path)
    with WebhookReceiver() as hook, SmtpServer(tmp_path, password=PASSWORD) as smtp:
        config = tmp_path / "operator.toml"
        config.write_text("\n".join([
            "[api]", f'path = "{tmp_path / "api.db"}"', f'audit_key_file = "{tmp_path / "audit.key"}"',
            f'audit_head_file = "{tmp_path / "head.json"}"', "[evidence]", "enabled = false",
            "[alerts]", f'allow_private_targets = ["127.0.0.1:{hook.port}"]', 'base_url = "http://127.0.0.1:8760"',
            "[alerts.webhooks.soc]", f'url = "{hook.url}"', 'secret = "soc-secret"',
            "[alerts.smtp]", 'host = "127.0.0.1"', f"port = {smtp.port}", 'username = "alerts"',
            f'ca_file = "{smtp.cert}"']) + "\n")
        env = {"INTERDICT_CONFIG": str(config), "INTERDICT_ALERTS__SMTP__PASSWORD": PASSWORD,
               "INTERDICT_STORE__PATH": str(store_path)}

        def add(*args: str) -> dict:
            made = run_cli("trackers", "add", *args, "--json", env=env)
            assert made.returncode == 0, made.stderr
            return json.loads(made.stdout)

        vendor = add("newcomer", "--vendor", newcomer, "--on", "new_listing,price_change,new_market",
                     "--deliver", "webhook:soc", "--deliver", "email:lead@agency.example")
        mdma = add("mdma", "--search", "mdma", "--deliver", "webhook:soc")
        assert vendor["known_markets"] == ["sable"]
        with demo_markets("127.0.0.1", {"sable": 0, "vesper": 0}, catalog.seed, GROWTH_FROM) as urls:
            crawl = run_cli("crawl", "sable", "vesper", *[f"--base-url={m}={u}" for m, u in urls.items()], env=env)
        assert crawl.returncode == 0, crawl.stderr[-3000:]

    new = {listing_id(m, k) for m, shown in later.markets.items() for k in shown.by_key
           if k not in catalog.markets[m].by_key}
    prices = moved(catalog, later, 10)
    theirs = {listing_id(m, l.key) for m, shown in later.markets.items() for l in shown.listings if l.vendor == newcomer}
    on_vesper = {listing_id("vesper", l.key) for l in later.markets["vesper"].listings if l.vendor == newcomer}
    with EmbeddedStore(store_path) as store:
        assert {d.id for d in store.iter_listings()} >= new  # the crawl read them all
        answering = {h.document.id for h in store.search(Query(text="mdma", limit=1000)).hits}
    with TrackerBook(tmp_path / "api.db") as book:
        raised = {t["id"]: {(a.kind, a.listing_id) for a in book.alerts([t["id"]], limit=100_000)} for t in (vendor, mdma)}
        deliveries = book.deliveries()
    assert new and prices & answering and on_vesper  # the epoch has news for both trackers
    new_market = [i for kind, i in raised[vendor["id"]] if kind == "new_market"]
    assert len(new_market) == 1 and new_market[0] in on_vesper
    assert {(k, i) for k, i in raised[vendor["id"]] if k != "new_market"} == \
        {("new_listing", i) for i in new & theirs} | {("price_change", i) for i in prices & theirs}
    assert raised[mdma["id"]] == {("new_listing", i) for i in new & answering} | \
        {("price_change", i) for i in prices & answering}

    # every alert went where its tracker sends it, once, signed
    sent = {(r.json["alert"]["tracker_id"], r.json["alert"]["kind"], r.json["alert"]["listing_id"]) for r in hook.received}
    assert len(sent) == len(hook.received) == sum(len(v) for v in raised.values())
    assert sent == {(t, k, i) for t, alerts in raised.items() for k, i in alerts}
    assert all(r.headers["x-interdict-signature"].startswith("sha256=") for r in hook.received)
    assert len(smtp.messages) == len(raised[vendor["id"]]) and smtp.logins[0] == ("alerts", True)
    assert all(m["To"] == "lead@agency.example" for m in smtp.messages)
    assert {d.status for d in deliveries} == {"sent"}


def test_epoch_5_grows_the_markets_and_leaves_the_earlier_epochs_as_they_were(catalog):
    """Epochs 0-4 keep their listings and vendors (counts as before epoch 5 existed); epoch 5
    adds new listings on both markets and the newcomer's on Vesper, every earlier one kept."""
    counts = {e: [(len(m.listings), len(m.vendors)) for m in Catalog(catalog.seed, e).markets.values()]
              for e in range(GROWTH_FROM + 1)}
    assert {e: counts[e] for e in range(GROWTH_FROM)} == {
        0: [(1150, 125), (950, 80)], 1: [(1150, 125), (950, 80)], 2: [(1117, 123), (885, 77)],
        3: [(1117, 123), (885, 77)], 4: [(1119, 125), (919, 80)]}
    before, later = Catalog(catalog.seed, GROWTH_FROM - 1), Catalog(catalog.seed, GROWTH_FROM)
    for market in ("sable", "vesper"):
        old, new = before.markets[market].by_key, later.markets[market].by_key
        assert set(old) <= set(new)
        assert all((new[k].title, new[k].vendor) == (old[k].title, old[k].vendor) for k in old)  # prices move
    assert counts[GROWTH_FROM] == [(1142, 125), (944, 81)]
    assert later.newcomer in later.markets["vesper"].vendors and later.newcomer not in before.markets["vesper"].vendors
