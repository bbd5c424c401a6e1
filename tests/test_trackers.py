"""Trackers tried on what an ingest writes (interdict/trackers): each kind of tracker, each kind
of change, once per (tracker, listing, kind), on a real embedded store written through the
spool as every ingest writes; and the `interdict trackers` command around `interdict index`."""

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from conftest import make_listing, run_cli
from contracts.documents import listing_id
from index import SpooledWriter
from index.spool import Spool
from interdict.trackers import TrackerBook, TrackerDefinitionError, TrackerEvaluator, make_tracker

T0 = datetime(2026, 10, 1, tzinfo=UTC)
EMAIL = "NorthStar@protonmail.com"


def sighting(key: str, at: datetime, market: str = "alpha", vendor: str = "NorthStar", price: float | None = 100,
             currency: str = "USD", title: str = "MDMA crystals 1g", description: str = "pure, tested"):
    return make_listing(market=market, listing_key=key, url=f"http://127.0.0.1/{market}/{key}", title=title,
                        description=description, vendor={"name": vendor}, crawled_at=at,
                        price={"amount": price, "currency": currency} if price is not None else None)


@pytest.fixture
def watched(tmp_path, store, enricher):
    """A store holding two listings of NorthStar on alpha and one of another vendor, the book
    of trackers beside it, and a writer that tells the evaluator of every batch."""
    store.upsert_listings(enricher.enrich_listings([
        sighting("a1", T0), sighting("a2", T0, title="Ketamine shards 5g", description=f"contact {EMAIL}"),
        sighting("b1", T0, vendor="Other", title="Cocaine 1g", description="free shipping")]))
    book = TrackerBook(tmp_path / "api.db")
    writer = SpooledWriter(store, Spool(tmp_path / "spool"), TrackerEvaluator(book, store))

    def write(*listings):
        return writer.write("listings", list(enricher.enrich_listings(listings)))

    write.vendors = lambda *profiles: writer.write("vendors", list(enricher.enrich_vendors(profiles)))

    def add(name: str, **fields):
        return book.add(make_tracker(store, "cli", name=name, **fields))

    yield write, add, book
    book.close()


def raised(book, tracker):
    return sorted((a.kind, a.listing_id) for a in book.alerts([tracker.id]))


def test_each_kind_of_change_once_per_tracker_listing_and_kind(watched, store):
    write, add, book = watched
    search = add("mdma", kind="search", query={"text": "mdma"}, price_change_percent=15)
    vendor = add("northstar", kind="vendor", vendors=["northstar", "N0rthStar"], price_change_percent=15)
    assert vendor.known_markets == ["alpha"] and "northstar@protonmail.com" in vendor.known_identifiers
    t1 = T0 + timedelta(days=1)
    # a 10% drop is below the search tracker's 15%; a new listing; NorthStar on a new market
    write(sighting("a1", t1, price=90), sighting("a3", t1, title="MDMA pills x10"),
          sighting("c1", t1, market="beta", vendor="N0rthStar", title="Speed paste"))
    a1, a3, c1 = listing_id("alpha", "a1"), listing_id("alpha", "a3"), listing_id("beta", "c1")
    assert raised(book, search) == [("new_listing", a3)]
    assert raised(book, vendor) == sorted([("new_listing", a3), ("new_listing", c1), ("new_market", c1)])
    # the same sightings again (a re-crawl, a replayed batch): nothing new
    write(sighting("a1", t1, price=90), sighting("a3", t1, title="MDMA pills x10"))
    assert len(book.alerts()) == 4
    # a 30% drop: a price change for both; a new identifier shown by NorthStar
    t2 = t1 + timedelta(days=1)
    write(sighting("a1", t2, price=70), sighting("a2", t2, title="Ketamine shards 5g",
                                                 description=f"contact {EMAIL} wickr northstar_ops"))
    assert ("price_change", a1) in raised(book, search) and ("price_change", a1) in raised(book, vendor)
    change = next(a for a in book.alerts([search.id]) if a.kind == "price_change")
    assert change.detail == "price 90.00 USD -> 70.00 USD (-22.2%)" and not change.read
    identifier = next(a for a in book.alerts([vendor.id]) if a.kind == "new_identifier")
    assert identifier.listing_id == listing_id("alpha", "a2") and "northstar_ops" in identifier.detail
    assert book.get(vendor.id).known_markets == ["alpha", "beta"]  # what it learnt is kept


def test_a_later_change_of_the_same_kind_updates_its_alert_and_makes_it_unread(watched):
    write, add, book = watched
    tracker = add("mdma", kind="search", query={"text": "mdma"})
    write(sighting("a1", T0 + timedelta(days=1), price=50))
    first = book.alerts([tracker.id])
    assert [a.kind for a in first] == ["price_change"]
    book.mark_read([first[0].id])
    write(sighting("a1", T0 + timedelta(days=1, hours=1), price=50))  # seen again at that price: no news
    assert book.alerts([tracker.id], unread=True) == []
    write(sighting("a1", T0 + timedelta(days=2), price=80))
    again = book.alerts([tracker.id])
    assert len(again) == 1 and again[0].id == first[0].id and not again[0].read
    assert again[0].detail.startswith("price 50.00 USD -> 80.00 USD")


def test_back_in_stock_after_a_full_crawl_missed_it(watched, store):
    write, add, book = watched
    tracker = add("ketamine", kind="search", query={"text": "ketamine"}, on=["back_in_stock"])
    crawl = T0 + timedelta(days=3)
    store.record_missed("alpha", crawl, crawl + timedelta(hours=1), after=1)
    assert store.get_listing(listing_id("alpha", "a2")).status == "inactive"
    write(sighting("a2", crawl + timedelta(days=1), title="Ketamine shards 5g", description=f"contact {EMAIL}"))
    [alert] = book.alerts([tracker.id])
    assert alert.kind == "back_in_stock" and alert.listing_id == listing_id("alpha", "a2")
    assert "withdrawn since" in alert.detail


def test_regex_identifier_and_product_trackers(watched, enricher):
    write, add, book = watched
    regex = add("free shipping", kind="regex", pattern=r"free\s+ship(ping)?", on=["new_listing"])
    identifier = add("email", kind="identifier", query={"filters": {"identifier": [EMAIL.lower()]}})
    product = add("cocaine from NL", kind="product", query={"filters": {"product": ["cocaine"], "ships_from": ["NL"]}})
    t1 = T0 + timedelta(days=1)
    write(sighting("r1", t1, vendor="Other", title="Coke", description="FREE   SHIPPING worldwide"),
          sighting("r2", t1, vendor="Other", title="Coke", description="free ship.. no"),
          sighting("r3", t1, vendor="Other", title="Coke", description="shipping is free"),
          sighting("p1", t1, vendor="NorthStar", title="new stuff", description=f"mail {EMAIL.upper()}"),
          make_listing(market="alpha", listing_key="n1", url="http://127.0.0.1/n1", title="Cocaine 90% 1g",
                       ships_from="Netherlands", crawled_at=t1),
          make_listing(market="alpha", listing_key="n2", url="http://127.0.0.1/n2", title="Cocaine 90% 1g",
                       ships_from="Germany", crawled_at=t1))
    assert raised(book, regex) == sorted([("new_listing", listing_id("alpha", "r1")),
                                          ("new_listing", listing_id("alpha", "r2"))])
    assert raised(book, identifier) == [("new_listing", listing_id("alpha", "p1"))]
    assert raised(book, product) == [("new_listing", listing_id("alpha", "n1"))]


@pytest.mark.timeout(60)
def test_a_pathological_pattern_cannot_hang_an_ingest_and_a_bad_one_is_refused(watched, store):
    """(a+)+$ takes Python's backtracking engine exponential time on 'aaa…b'; RE2 is linear.
    A pattern RE2 cannot run (a look-behind) is refused when the tracker is made."""
    write, add, book = watched
    tracker = add("evil", kind="regex", pattern=r"(a+)+$")
    write(sighting("e1", T0 + timedelta(days=1), title="aaaa", description="a" * 5000 + "b"),
          sighting("e2", T0 + timedelta(days=1), title="aaaa", description="a" * 5000))
    assert raised(book, tracker) == [("new_listing", listing_id("alpha", "e2"))]
    with pytest.raises(TrackerDefinitionError, match="not an RE2 expression"):
        make_tracker(store, "cli", name="x", kind="regex", pattern=r"(?<=pgp)\w+")


def test_a_tracker_added_while_an_ingest_runs_is_tried_on_its_next_batch(watched, store):
    write, add, book = watched
    write(sighting("x1", T0 + timedelta(days=1), title="Xanax bars"))
    tracker = add("xanax", kind="search", query={"text": "xanax"})
    write(sighting("x2", T0 + timedelta(days=1), title="Xanax bars 2mg"))
    assert raised(book, tracker) == [("new_listing", listing_id("alpha", "x2"))]
    book.remove(tracker.id)
    write(sighting("x3", T0 + timedelta(days=1), title="Xanax bars 1mg"))
    assert book.alerts() == []


def test_the_trackers_command_around_an_index_run(tmp_path, store, enricher):
    """`interdict trackers add|list|show|test|alerts|rm` and the alerts an `interdict index` raises."""
    env = {"INTERDICT_API__PATH": str(tmp_path / "api.db"), "INTERDICT_STORE__PATH": str(tmp_path / "store.db")}
    first = [sighting("a1", T0), sighting("a2", T0, title="Ketamine shards 5g")]
    later = [sighting("a1", T0 + timedelta(days=1), price=50), sighting("a3", T0 + timedelta(days=1), title="MDMA 2g")]
    (tmp_path / "first.jsonl").write_text("".join(e.model_dump_json() + "\n" for e in enricher.enrich_listings(first)))
    (tmp_path / "later.jsonl").write_text("".join(e.model_dump_json() + "\n" for e in enricher.enrich_listings(later)))
    assert run_cli("index", str(tmp_path / "first.jsonl"), env=env).returncode == 0

    added = run_cli("trackers", "add", "mdma watch", "--search", "mdma", "--price-change", "20", "--json", env=env)
    assert added.returncode == 0, added.stderr
    tracker = json.loads(added.stdout)
    assert tracker["kind"] == "search" and tracker["on"] == ["new_listing", "price_change", "back_in_stock"]
    tested = run_cli("trackers", "test", tracker["id"], env=env)
    assert tested.stdout.startswith("1 listing(s) answer") and "MDMA crystals" in tested.stdout
    bad = run_cli("trackers", "add", "bad", "--regex", "(?<=x)y", env=env)
    assert bad.returncode == 2 and "not an RE2 expression" in bad.stderr

    indexed = run_cli("index", str(tmp_path / "later.jsonl"), env=env)
    assert indexed.returncode == 0 and "2 alert(s) raised" in indexed.stderr, indexed.stderr
    alerts = [json.loads(line) for line in run_cli("trackers", "alerts", "--unread", "--json", env=env).stdout.split("\n")
              if line]
    assert sorted(a["kind"] for a in alerts) == ["new_listing", "price_change"]
    assert run_cli("trackers", "alerts", "--unread", "--mark-read", env=env).returncode == 0
    assert run_cli("trackers", "alerts", "--unread", env=env).stdout.strip() == "no alerts"
    again = run_cli("index", str(tmp_path / "later.jsonl"), env=env)
    assert "0 alert(s) raised" in again.stderr
    shown = run_cli("trackers", "show", tracker["id"], env=env).stdout
    assert "price 100.00 USD -> 50.00 USD (-50.0%)" in shown and "new listing on alpha at 100.00 USD: MDMA 2g" in shown
    listed = run_cli("trackers", "list", env=env).stdout
    assert tracker["id"] in listed and "0 unread" in listed
    removed = run_cli("trackers", "rm", tracker["id"], env=env)
    assert removed.returncode == 0 and "2 alert(s)" in removed.stderr
    assert run_cli("trackers", "show", tracker["id"], env=env).returncode == 2


def test_the_book_keeps_one_alert_per_tracker_listing_and_kind_whoever_raises_it(tmp_path):
    """Two ingests may raise the same change (two processes writing the same new listing): the
    second finds it recorded and delivers nothing; another change of that kind updates it."""
    from interdict.trackers import Raised

    with TrackerBook(tmp_path / "api.db") as book, TrackerBook(tmp_path / "api.db") as other:
        raised_once = Raised("trk_1", "l1", "new_listing", "new", "new listing", "alpha", "t", "http://127.0.0.1/l1")
        assert [a.kind for a in book.record([raised_once])] == ["new_listing"]
        assert other.record([raised_once]) == []
        moved = Raised("trk_1", "l1", "price_change", "1 -> 2", "price 1 -> 2", "alpha", "t", "http://127.0.0.1/l1")
        [first] = book.record([moved])
        book.mark_read([first.id])
        assert other.record([moved]) == [] and book.alert(first.id).read
        [again] = other.record([replace(moved, change="2 -> 3", detail="price 2 -> 3")])
        assert again.id == first.id and not again.read and again.detail == "price 2 -> 3"
        assert len(book.alerts()) == 2 and book.unread_count() == 2


@pytest.mark.e2e
def test_crawls_raise_the_alerts_of_what_they_write(tmp_path, catalog):
    """Trackers made before a crawl of a demo market into an empty store alert on every listing
    that answers them (each new); a crawl of the market's next epoch (prices moved, listings
    withdrawn) alerts on exactly the listings whose price moved by the tracker's share."""
    from index import Query
    from index.embedded import EmbeddedStore
    from interdict.demo.run import demo_markets

    store_path = tmp_path / "store.db"
    env = {"INTERDICT_API__PATH": str(tmp_path / "api.db"), "INTERDICT_EVIDENCE__ENABLED": "false"}
    made = [json.loads(run_cli("trackers", "add", name, *how, "--json", env=env).stdout)
            for name, how in (("mdma", ("--search", "mdma")), ("pills", ("--regex", r"\bpills?\b")))]
    for epoch in (0, 1):
        with demo_markets("127.0.0.1", {"sable": 0, "vesper": 0}, catalog.seed, epoch) as urls:
            crawl = run_cli("crawl", "vesper", "--store", str(store_path), f"--base-url=vesper={urls['vesper']}",
                            env=env)
        assert crawl.returncode == 0, crawl.stderr[-2000:]
        if epoch == 0:
            with EmbeddedStore(store_path) as store:
                mdma = {h.document.id for h in store.search(Query(text="mdma", limit=1000)).hits}
                pills = {d.id for d in store.iter_listings()
                         if re.search(r"\bpills?\b", f"{d.data.listing.title}\n{d.data.listing.description}", re.I)}
    with TrackerBook(tmp_path / "api.db") as book:
        alerts = {t["id"]: [a.model_dump() for a in book.alerts([t["id"]], limit=100_000)] for t in made}
    assert mdma and pills
    for tracker, expected in zip(made, (mdma, pills)):
        new = {a["listing_id"] for a in alerts[tracker["id"]] if a["kind"] == "new_listing"}
        assert new == expected
    with EmbeddedStore(store_path) as store:
        moved = {d.id for d in store.iter_listings() if len(d.price_history) > 1
                 and round(abs(d.price_history[-1].amount / d.price_history[-2].amount - 1) * 100, 2) >= 10}
    assert moved
    for tracker, watched in zip(made, (mdma, pills)):
        changed = {a["listing_id"] for a in alerts[tracker["id"]] if a["kind"] == "price_change"}
        assert changed == moved & watched, (tracker["name"], changed - moved, changed - watched)


def test_a_watched_vendors_profile_on_a_new_market_or_with_a_new_identifier(watched, enricher):
    """Vendor profiles are tried too: the vendor opening a profile on another market, and a
    profile that shows an identifier the tracker did not know (the alert names the vendor)."""
    from contracts.documents import vendor_id
    from contracts.listings import VendorProfile

    write, add, book = watched
    tracker = add("northstar", kind="vendor", vendors=["NorthStar"], on=["new_market", "new_identifier"])

    def profile(market: str, text: str, day: int):
        return VendorProfile(market=market, name="NorthStar", url=f"http://127.0.0.1/{market}/v", profile=text,
                             crawled_at=T0 + timedelta(days=day))

    write.vendors(profile("alpha", f"mail {EMAIL}", 1))  # what it knew already: nothing new
    assert book.alerts([tracker.id]) == []
    write.vendors(profile("beta", f"mail {EMAIL}", 2), profile("alpha", f"mail {EMAIL} or wickr north_ops", 3))
    alerts = sorted((a.kind, a.listing_id, a.subject) for a in book.alerts([tracker.id]))
    assert alerts == [("new_identifier", vendor_id("alpha", "NorthStar"), "vendor"),
                      ("new_market", vendor_id("beta", "NorthStar"), "vendor")]
    identifier = next(a for a in book.alerts([tracker.id]) if a.kind == "new_identifier")
    assert "north_ops" in identifier.detail and identifier.title == "vendor NorthStar"
    write.vendors(profile("beta", f"mail {EMAIL}", 4))  # seen again as it was: nothing
    assert len(book.alerts([tracker.id])) == 2


def test_a_failure_of_what_watches_the_changes_never_fails_the_write(tmp_path, store, enricher, caplog):
    """The batch is in the store before trackers look at it: if they fail (a bug, their file
    locked, a cluster gone meanwhile), the write still reports what it did and spools nothing."""
    def broken(changes):
        raise RuntimeError("tracker file locked")

    writer = SpooledWriter(store, Spool(tmp_path / "spool"), broken)
    report = writer.write("listings", list(enricher.enrich_listings([sighting("w1", T0)])))
    assert report is not None and report.new == 1 and writer.spool.batches() == []
    assert store.get_listing(listing_id("alpha", "w1")) is not None
    assert "tracker file locked" in caplog.text and "the batch is stored" in caplog.text
