"""Clearnet shops: product pages read from their schema.org data (JSON-LD, microdata, RDFa),
the generic extractor where a page has none, robots.txt honoured unless the market's config
says otherwise. The shop is a folder of made-up pages (tests/fixtures/shop) served on loopback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import FIXTURES, run_cli
from crawlers.extract import read_listings
from servers import FileServer

SHOP = FIXTURES / "shop"


def test_each_syntax_gives_the_same_listing_fields():
    read = {name: read_listings((SHOP / "p" / f"{name}.html").read_bytes(), f"http://shop.test/p/{name}.html")
            for name in ("pill-press", "scale", "vacuum-sealer", "mylar", "binder")}
    press = read["pill-press"].listings[0]
    assert (press.title, press.price.amount, press.price.currency, press.vendor) == (
        "TDP-5 single punch tablet press", 1450.0, "USD", "Shenzhen Tabletech")
    assert [(t.quantity, t.price.amount) for t in press.price_tiers] == [("1 unit", 1450.0), ("2 units", 2600.0)]
    assert (press.ships_from, press.ships_to) == ("CN", ["US", "DE"])
    assert press.shipping_options[0].price.amount == 120.0 and press.extractor == "schema.org"
    scale, sealer = read["scale"].listings[0], read["vacuum-sealer"].listings[0]  # microdata, RDFa
    assert (scale.price.amount, scale.price.currency, scale.vendor) == (39.9, "EUR", "Waagen Direkt GmbH")
    assert (sealer.title, sealer.price.amount, sealer.price.currency, sealer.vendor) == (
        "Vacuum sealer VS-200", 64.5, "GBP", "Sealright Ltd")
    mylar = read["mylar"].listings[0]  # an AggregateOffer beside a WebPage node
    assert (mylar.price.amount, mylar.price_max, mylar.vendor) == (9.0, 49.0, "StealthPack")
    binder = read["binder"].listings[0]  # no structured data: the generic extractor
    assert binder.extractor == "generic" and (binder.vendor, binder.price.amount) == ("chemdepot", 24.0)


def crawl_shop(tmp_path: Path, obey: bool | None):
    server = FileServer(SHOP)
    try:
        config = tmp_path / "shop.toml"
        config.write_text(f'[markets.lumen]\nprofile = "shop"\nbase_urls = ["{server.url}"]\ntransport = "clearnet"\n'
                          f"allow_private_targets = true\n" + (f"obey_robots_txt = {str(obey).lower()}\n" if obey is not None else ""))
        out = tmp_path / "out.jsonl"
        proc = run_cli("--config", str(config), "crawl", "lumen", "--store", str(tmp_path / "s.db"), "-o", str(out))
        assert proc.returncode == 0, proc.stderr[-2000:]
        titles = sorted(json.loads(line)["listing"]["title"] for line in out.read_text().splitlines())
        return titles, server.paths()
    finally:
        server.close()


@pytest.mark.e2e
def test_shop_crawl_honours_robots_txt(tmp_path):
    titles, paths = crawl_shop(tmp_path, obey=None)
    assert titles == ["Digital milligram scale 0.001 g", "Microcrystalline cellulose binder 1 kg",
                      "Smell-proof mylar bags (100)", "TDP-5 single punch tablet press", "Vacuum sealer VS-200"]
    assert "/robots.txt" in paths
    assert not any(p.startswith("/private/") for p in paths)  # disallowed: never fetched
    assert not any(p.startswith("/cart/") for p in paths)  # actions are not followed


@pytest.mark.e2e
def test_market_config_can_waive_robots_txt(tmp_path):
    titles, paths = crawl_shop(tmp_path, obey=False)
    assert "Staff-only item" in titles and "/private/staff-only.html" in paths
    assert "/robots.txt" not in paths
