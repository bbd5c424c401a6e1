"""Where a crawl reads and enriches its pages does not change what it indexes: worker
processes (the default: crawlers/reading.py, which enrich what they read) and the crawl's
own process (``crawl.page_workers = 0``: enriched by the item pipeline, in batches) give the
same listings, vendors and enrichments. Real crawls of both demo markets."""

from conftest import FIXTURES, REPO, run_cli
from index.embedded import EmbeddedStore

HTML = FIXTURES / "html"
MOMENTS = {"data": {"listing": {"crawled_at", "evidence"}, "vendor": {"crawled_at", "evidence"},
                    "enrichment": {"enriched_at"}}, "first_seen": True, "last_seen": True, "price_history": True}


def indexed(path):
    store = EmbeddedStore(path)
    try:
        return ({doc.id: doc.model_dump(exclude=MOMENTS) for doc in store.iter_listings()},
                {doc.id: doc.model_dump(exclude=MOMENTS) for doc in store.iter_vendors()})
    finally:
        store.close()


def test_pages_read_in_the_crawl_process_index_what_worker_processes_index(catalog, tmp_path):
    from interdict.demo.run import demo_markets

    stores = {workers: tmp_path / f"workers-{workers}.db" for workers in ("0", "-1")}
    with demo_markets("127.0.0.1", {"sable": 0, "vesper": 0}, catalog.seed, 0) as urls:
        for workers, store in stores.items():
            proc = run_cli("crawl", "sable", "vesper", "--store", str(store),
                           *[f"--base-url={m}={u}" for m, u in urls.items()],
                           env={"INTERDICT_EVIDENCE__ENABLED": "false", "INTERDICT_CRAWL__PAGE_WORKERS": workers})
            assert proc.returncode == 0, proc.stderr[-3000:]
    listings, vendors = indexed(stores["0"])
    by_workers_listings, by_workers_vendors = indexed(stores["-1"])
    assert len(listings) == len(by_workers_listings) > 2000 and len(vendors) == len(by_workers_vendors) > 10
    assert listings == by_workers_listings
    assert vendors == by_workers_vendors
    # enrichment is there to compare: products were found
    assert sum(bool(doc["data"]["enrichment"]["products"]) for doc in listings.values()) > len(listings) / 2


def read_saved_pages(settings, *pages: tuple[str, str]):
    """Saved sable pages (file name, URL) read by one worker process that enriches."""
    from datetime import UTC, datetime

    from crawlers.reading import PageReaders, PageTask

    readers = PageReaders(1, settings)
    assert readers.enriches
    try:
        tasks = [PageTask(url=url, canonical=url, body=(body := (HTML / "sable" / name).read_bytes()),
                          text=body.decode("utf-8", "replace"), html=True, profile="sable", market="sable",
                          transport="clearnet", crawled_at=datetime(2026, 12, 1, tzinfo=UTC), wall_words=frozenset(),
                          wall_markers={}, enrich=True) for name, url in pages]
        return [readers.submit(task).result(timeout=120) for task in tasks]
    finally:
        readers.pool.shutdown()


def test_a_worker_enriches_what_it_reads_as_the_enricher_does_in_process(enricher):
    """A page read in a worker process (its own spaCy pipeline, loaded when the pool starts)
    comes back with each listing's and vendor's enrichment, equal to the in-process one."""
    from config import EnrichmentSettings

    page, vendor_page = read_saved_pages(EnrichmentSettings(), ("listing.html", "http://sable.test/listing/34837"),
                                         ("vendor.html", "http://sable.test/vendor/GreenTiger"))
    assert len(page.listings) == len(page.listing_enrichments) == 1
    assert len(vendor_page.vendors) == len(vendor_page.vendor_enrichments) == 1
    here = next(enricher.enrich_listings(page.listings)).enrichment
    assert page.listing_enrichments[0].model_dump(exclude={"enriched_at"}) == here.model_dump(exclude={"enriched_at"})
    assert page.listing_enrichments[0].products  # there was something to compare
    vendor_here = next(enricher.enrich_vendors(vendor_page.vendors)).enrichment
    assert vendor_page.vendor_enrichments[0].model_dump(exclude={"enriched_at"}) == vendor_here.model_dump(
        exclude={"enriched_at"})


def test_a_worker_that_cannot_load_the_enricher_still_reads_and_leaves_enrichment_to_the_pipeline(tmp_path):
    """A pipeline config that does not load in the worker does not lose the page: its listings
    come back without enrichment, for the item pipeline (which reports the failure, as before)."""
    from config import EnrichmentSettings

    broken = tmp_path / "broken.cfg"
    broken.write_text("[nlp\nlang = \n")  # not even a config file
    page, = read_saved_pages(EnrichmentSettings(config=str(broken)), ("listing.html", "http://sable.test/listing/34837"))
    assert [listing.listing_key for listing in page.listings] == ["34837"] and page.listing_enrichments == []


def test_the_workers_of_a_crawl_killed_with_sigkill_end_with_it():
    """A crawl killed with SIGKILL cannot stop its page readers; each notices its crawl is gone
    and ends, and with them the fork server (before, they waited for work forever)."""
    import os
    import signal
    import subprocess
    import sys
    import time
    from pathlib import Path

    code = ("import os, sys, time\n"
            "from crawlers.reading import PageReaders\n"
            "readers = PageReaders(2)\n"
            "while len(readers.pool._processes) < 2: time.sleep(0.05)\n"
            "print(' '.join(map(str, readers.pool._processes)), flush=True)\n"
            "time.sleep(600)\n")
    crawl = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=REPO)
    workers = [int(pid) for pid in crawl.stdout.readline().split()]
    server = {int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1]) for pid in workers}
    assert len(workers) == 2 and len(server) == 1 and all(Path(f"/proc/{pid}").exists() for pid in workers)
    os.kill(crawl.pid, signal.SIGKILL)
    crawl.wait()
    deadline = time.monotonic() + 30
    alive = [pid for pid in [*workers, *server] if Path(f"/proc/{pid}").exists()]
    while alive and time.monotonic() < deadline:
        time.sleep(0.2)
        alive = [pid for pid in alive if Path(f"/proc/{pid}").exists()
                 and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
    assert alive == [], "page readers (or their fork server) outlived their crawl"
