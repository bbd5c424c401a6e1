"""The CrawlLedger contract (index/ledger.py): what crawls record in the store they index
into — jobs, listings missed by full crawls, URLs seen since — the same in every store."""

from datetime import timedelta

from conftest import make_listing
from index import Query, listing_id
from store_contract.corpus import CORPUS, T0, keys


def test_crawl_job_history(store):
    from datetime import timedelta

    from contracts.jobs import CrawlJob

    started = [CrawlJob(id=f"j{i}", market=m, started=T0 + timedelta(hours=i), runner="host:1")
               for i, m in enumerate(["sable", "vesper", "sable"])]
    for job in started:
        store.save_job(job)
    done = started[0].model_copy(update={"ended": T0 + timedelta(minutes=30), "status": "failed",
                                         "reason": "tor_unavailable: Tor unreachable for 600 s", "pages": 12,
                                         "listings_new": 3, "bans": 2, "mirror": "http://abc.onion"})
    store.save_job(done)  # the same id again: its outcome replaces the running record
    assert [j.id for j in store.jobs()] == ["j2", "j1", "j0"]
    assert [j.id for j in store.jobs(market="sable")] == ["j2", "j0"] and store.jobs(limit=1)[0].id == "j2"
    assert store.jobs(market="sable")[1] == done and done.seconds == 1800
    assert store.jobs(market="nowhere") == []


def test_listings_and_vendors_missed_by_full_crawls_become_inactive_and_return(loaded, enricher, catalog, enrich):
    """index.lifecycle on every store: misses counted per finished full crawl, inactive after N,
    kept and searchable, active again (with the absence's dates) when a crawl sees them."""
    from contracts.listings import VendorProfile
    from index import vendor_id

    spec = catalog.vendors[0]
    vendor = VendorProfile(market="alpha", name=spec.name, url="http://127.0.0.1/v", profile=spec.profile, crawled_at=T0)
    loaded.upsert_vendors(enricher.enrich_vendors([vendor]))
    crawls = [(T0 + timedelta(days=d), T0 + timedelta(days=d, hours=1)) for d in (1, 2, 3)]
    # crawl 1 sees a1 only; crawls 2 and 3 see nothing of alpha's
    loaded.upsert_listings(enrich(make_listing(crawled_at=crawls[0][0] + timedelta(minutes=5), **CORPUS[0])))
    reports = [loaded.record_missed("alpha", start, end, after=2) for start, end in crawls]
    assert [(r.listings_missed, r.listings_inactivated, r.vendors_missed, r.vendors_disappeared) for r in reports] == [
        (1, 0, 1, 0),  # a2 and the vendor missed crawl 1
        (2, 1, 1, 1),  # a2's second miss: inactive; a1's first; the vendor's second: gone
        (1, 1, 0, 0),  # a1's second miss; what is inactive already is left alone
    ]
    a1, a2 = loaded.get_listing(listing_id("alpha", "a1")), loaded.get_listing(listing_id("alpha", "a2"))
    assert (a1.status, a1.missed_crawls, a2.status, a2.missed_crawls) == ("inactive", 2, "inactive", 2)
    assert a2.absences[0].last_seen == T0 and a2.absences[0].noticed == crawls[1][1] == a2.inactive_since
    assert a1.absences[0].last_seen == crawls[0][0] + timedelta(minutes=5) and a1.absences[0].returned is None
    assert loaded.get_listing(listing_id("beta", "b1")).status == "active"  # another market's crawl
    gone = loaded.get_vendor(vendor_id("alpha", spec.name))
    assert gone.status == "inactive" and gone.absences[0].noticed == crawls[1][1]
    assert loaded.count_listings() == 5  # kept, never deleted
    assert keys(loaded.search(Query(filters={"status": ["inactive"]}))) == ["a1", "a2"]
    assert keys(loaded.search(Query(text="cocaine", filters={"status": ["active"]}))) == []
    assert loaded.search(Query(facets=["status"])).facets["status"][0].count == 3
    # seen again
    back = T0 + timedelta(days=4)
    assert loaded.upsert_listings(enrich(make_listing(crawled_at=back, **CORPUS[1]))).updated == 1
    loaded.upsert_vendors(enricher.enrich_vendors([vendor.model_copy(update={"crawled_at": back})]))
    a2 = loaded.get_listing(listing_id("alpha", "a2"))
    assert (a2.status, a2.missed_crawls, a2.inactive_since) == ("active", 0, None)
    assert [(a.last_seen, a.noticed, a.returned) for a in a2.absences] == [(T0, crawls[1][1], back)]
    returned = loaded.get_vendor(vendor_id("alpha", spec.name))
    assert returned.status == "active" and returned.absences[0].returned == back
    assert keys(loaded.search(Query(text="cocaine", filters={"status": ["active"]}))) == ["a2"]


def test_listing_urls_seen_since(loaded, enrich):
    later = T0 + timedelta(days=3)
    loaded.upsert_listings(enrich(make_listing(crawled_at=later, **{**CORPUS[2], "url": "http://127.0.0.1/l/b1"})))
    assert sorted(loaded.listing_urls("beta", T0)) == sorted(["http://127.0.0.1/l/1", "http://127.0.0.1/l/1",
                                                              "http://127.0.0.1/l/b1"])
    assert list(loaded.listing_urls("beta", later)) == ["http://127.0.0.1/l/b1"]
    assert list(loaded.listing_urls("beta", later + timedelta(seconds=1))) == []
    assert list(loaded.listing_urls("nowhere", T0)) == []
