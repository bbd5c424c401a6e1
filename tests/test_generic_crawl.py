"""The demo markets crawled as if nobody had written their page objects: the generic spider
must find every listing the catalog (the ground truth the demo serves) holds, with the same
title, price, vendor, origin and category — and index nothing else but the planted pages."""

import json
from urllib.parse import urlsplit

import pytest

from conftest import run_cli
from interdict.demo.run import demo_markets, free_port

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def generic_crawl(tmp_path_factory, catalog):
    tmp = tmp_path_factory.mktemp("generic")
    ports = {"sable": free_port(), "vesper": free_port()}
    with demo_markets("127.0.0.1", ports, catalog.seed, 0) as urls:
        config = tmp / "generic.toml"
        config.write_text("".join(
            f'[markets.{name}_generic]\nprofile = "generic"\nbase_urls = ["{url}"]\ntransport = "clearnet"\n'
            f"concurrency = 8\nallow_private_targets = true\n\n" for name, url in urls.items()))
        output = tmp / "listings.jsonl"
        proc = run_cli("--config", str(config), "crawl", "sable_generic", "vesper_generic",
                       "--store", str(tmp / "store.db"), "-o", str(output))
    assert proc.returncode == 0, proc.stderr[-3000:]
    listings = [json.loads(line)["listing"] for line in output.read_text().splitlines()]
    return proc, listings


def test_generic_spider_finds_every_demo_listing_with_its_facts(generic_crawl, catalog):
    proc, listings = generic_crawl
    found = {(l["market"].removesuffix("_generic"), urlsplit(l["url"]).path.rsplit("/", 1)[-1]): l for l in listings}
    for market in ("sable", "vesper"):
        specs = catalog.markets[market].listings
        assert len(specs) > 900
        mismatches = []
        for spec in specs:
            got = found.get((market, spec.key))
            assert got is not None, f"{market} listing {spec.key} not found"
            expected = (spec.title, round(spec.price, 2), spec.currency, spec.vendor, spec.ships_from,
                        list(spec.category_path))
            actual = (got["title"], round(got["price"]["amount"], 2), got["price"]["currency"], got["vendor"]["name"],
                      got["ships_from"], got["category_path"])
            if actual != expected:
                mismatches.append((spec.key, expected, actual))
        assert mismatches == [], mismatches[:3]
        # Nothing else was indexed but the planted no-price pages, whose tier table has a price.
        extra = {k for (m, k) in found if m == market} - {s.key for s in specs}
        assert extra <= set(catalog.markets[market].faults), extra


def test_generic_spider_counts_what_it_did_not_index(generic_crawl):
    proc, _ = generic_crawl
    for market in ("sable_generic", "vesper_generic"):
        dropped = next(l for l in proc.stderr.splitlines() if l.startswith(f"{market}: dropped "))
        assert "front_page 1" in dropped and "http_500 1" in dropped and "too_large 1" in dropped
        # vendor profiles are pages with a heading and no price: dropped, counted
        assert "no_listing_price" in dropped
