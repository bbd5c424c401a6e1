"""The listing lifecycle end to end: real crawls of the demo market Sable at epochs where
listings are withdrawn and vendors go away and come back (interdict/demo/catalog.py)."""

import pytest

from conftest import run_cli
from index import listing_id, vendor_id
from index.embedded import EmbeddedStore
from interdict.demo.catalog import Catalog
from interdict.demo.run import demo_markets, free_port

pytestmark = pytest.mark.e2e
MARKET = "sable"


def crawl_epoch(store_path, port, seed, epoch, *extra):
    with demo_markets("127.0.0.1", {"sable": port, "vesper": free_port()}, seed, epoch) as urls:
        proc = run_cli("crawl", MARKET, "--store", str(store_path), f"--base-url={MARKET}={urls[MARKET]}", *extra,
                       env={"INTERDICT_CRAWL__INACTIVE_AFTER": "2"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    with EmbeddedStore(store_path) as store:
        return ({d.id: d for d in store.iter_listings()}, {v.id: v for v in store.iter_vendors()},
                store.jobs(market=MARKET, limit=1)[0])


@pytest.fixture(scope="module")
def epochs(tmp_path_factory, catalog):
    """Full crawls at epochs 0 (all there), 2 (withdrawals, vendors away), 3 (still gone: the
    second miss), 4 (the vendors are back)."""
    store_path = tmp_path_factory.mktemp("lifecycle") / "store.db"
    port = free_port()
    return {epoch: crawl_epoch(store_path, port, catalog.seed, epoch) for epoch in (0, 2, 3, 4)}


def test_listings_unseen_in_two_full_crawls_become_inactive_and_stay_kept(epochs, catalog):
    everything = {listing_id(MARKET, l.key) for l in catalog.markets[MARKET].listings}
    shown_later = {listing_id(MARKET, l.key) for l in Catalog(catalog.seed, 3).markets[MARKET].listings}
    gone = everything - shown_later
    assert len(gone) > 30
    listings, _, job = epochs[2]
    assert set(listings) == everything  # nothing deleted, nothing added
    assert all(listings[i].status == "active" and listings[i].missed_crawls == 1 for i in gone)
    assert job.listings_missed == len(gone) and job.listings_inactivated == 0
    listings, _, job = epochs[3]
    assert {i for i, d in listings.items() if d.status == "inactive"} == gone
    assert job.listings_inactivated == len(gone) and job.listings_missed == len(gone)
    first_listings = epochs[0][0]
    for doc_id in gone:
        doc = listings[doc_id]
        assert doc.absences[0].last_seen == first_listings[doc_id].last_seen == doc.last_seen
        assert doc.inactive_since == job.ended and doc.absences[0].returned is None
    assert all(listings[i].missed_crawls == 0 for i in shown_later)


def test_vendors_away_disappear_and_reappear_with_dates(epochs, catalog):
    away = Catalog(catalog.seed, 2).away & set(catalog.markets[MARKET].vendors)
    assert away
    back_at = Catalog(catalog.seed, 4)
    _, vendors, job = epochs[3]
    inactive = {v.name for v in vendors.values() if v.status == "inactive"}
    assert away <= inactive and job.vendors_disappeared == len(inactive)
    # a vendor is gone from a market when none of its listings is shown there any more
    assert inactive == set(catalog.markets[MARKET].vendors) - set(Catalog(catalog.seed, 3).markets[MARKET].vendors)
    listings, vendors, job = epochs[4]
    for name in away:
        vendor = vendors[vendor_id(MARKET, name)]
        assert vendor.status == "active" and vendor.missed_crawls == 0
        [absence] = vendor.absences
        assert absence.last_seen == epochs[0][1][vendor.id].last_seen
        assert absence.noticed == epochs[3][2].ended and epochs[3][2].ended < absence.returned == vendor.last_seen
        # their listings are back too, the absence closed
        for spec in back_at.markets[MARKET].listings:
            if spec.vendor == name:
                doc = listings[listing_id(MARKET, spec.key)]
                assert doc.status == "active" and doc.absences[-1].returned == doc.last_seen
    withdrawn_for_good = [d for d in listings.values() if d.status == "inactive"]
    assert withdrawn_for_good and all(d.absences[-1].returned is None for d in withdrawn_for_good)
    assert job.listings_inactivated == 0  # already inactive: left as they are
