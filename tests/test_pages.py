"""Page objects against saved pages of the demo markets (tests/fixtures/html)."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from crawlers.pages import PROFILES, PageError, profile_for_html
from crawlers.pages.base import listing_of, parse_money, vendor_of
from enrichment.pgp import parse_public_key

HTML = Path(__file__).parent / "fixtures" / "html"
NOW = datetime(2026, 11, 28, 12, tzinfo=UTC)


def page(market, kind, name, url):
    """A page object gets a URL and HTML, nothing else."""
    html = (HTML / market / name).read_bytes().decode("utf-8", "replace")
    return getattr(PROFILES[market], f"{kind}_page")(url, html)


def read_listing(market, name, url):
    """What the spider makes of a listing page: the page's fields and its market and crawl time."""
    return listing_of(page(market, "listing", name, url), market=market, crawled_at=NOW)


def read_vendor(market, name, url):
    return vendor_of(page(market, "vendor", name, url), market=market, crawled_at=NOW)


def collapse(text):
    return " ".join(text.split())


@pytest.mark.parametrize("text, amount, currency", [
    ("USD 1,234.50", 1234.5, "USD"), ("238,97 EUR", 238.97, "EUR"), ("1 238,97 EUR", 1238.97, "EUR"),
    ("€ 12", 12.0, "EUR"), ("0.0052 BTC", 0.0052, "BTC"), ("£7.5", 7.5, "GBP"),
])
def test_parse_money(text, amount, currency):
    money = parse_money(text)
    assert (money.amount, money.currency) == (amount, currency)


def test_parse_money_without_currency_or_amount():
    assert parse_money("call for price") is None
    assert parse_money("1234") is None


def test_sable_listing_page(catalog):
    listing = read_listing("sable", "listing.html", "http://127.0.0.1:8701/listing/34837")
    assert listing.listing_key == "34837"
    assert listing.title == "Amphetamine sulphate | 100g | top quality"
    assert (listing.price.amount, listing.price.currency) == (477.02, "USD")
    assert listing.vendor.name == "GreenTiger" and listing.vendor.url == "http://127.0.0.1:8701/vendor/GreenTiger"
    assert listing.vendor.rating == 5.0 and listing.vendor.sales == 6468
    assert listing.ships_from == "Germany" and listing.ships_to == ["Germany"]
    assert listing.category_path == ["Drugs", "Stimulants", "Speed"]
    assert [(t.quantity, t.price.amount) for t in listing.price_tiers] == [("100g", 477.02)]
    assert [(o.name, o.price.amount, o.price.currency) for o in listing.shipping_options] == [
        ("DHL Paket (tracked)", 12.0, "USD")]
    assert listing.payment_terms.startswith("Escrow")
    # the saved page is what the generator still produces for that key
    spec = catalog.markets["sable"].by_key["34837"]
    assert collapse(listing.description) == spec.description
    assert listing.title == spec.title and listing.vendor.name == spec.vendor


def test_vesper_listing_page(catalog):
    listing = read_listing("vesper", "listing.html", "http://127.0.0.1:8702/item/82c4ed9d269d")
    assert listing.listing_key == "82c4ed9d269d"
    assert listing.title == "K2 spice paper - 10g - fast shipping"
    assert (listing.price.amount, listing.price.currency) == (238.97, "EUR")
    assert listing.vendor.name == "GhostConnect" and listing.vendor.sales == 5255
    assert listing.vendor.rating == pytest.approx(85.8 / 20)
    assert listing.ships_from == "United States" and listing.ships_to == ["Worldwide"]
    assert listing.category_path == ["Drugs", "Cannabis"]
    assert [(o.name, o.price.amount) for o in listing.shipping_options] == [
        ("USPS Priority Mail", 3.88), ("USPS First Class", 21.55)]
    assert listing.payment_terms == "Multisig escrow"
    spec = catalog.markets["vesper"].by_key["82c4ed9d269d"]
    assert listing.description == spec.description


@pytest.mark.parametrize("market, name, reason", [
    ("sable", "listing-truncated.html", "missing_price"),
    ("sable", "listing-no-price.html", "missing_price"),
    ("vesper", "listing-no-price.html", "missing_price"),
    ("sable", "category.html", "missing_title"),
])
def test_unusable_pages_raise_with_a_reason(market, name, reason):
    with pytest.raises(PageError) as err:
        read_listing(market, name, "http://127.0.0.1/listing/1")
    assert err.value.reason == reason


def test_page_with_invalid_bytes_is_kept_with_replacements():
    listing = read_listing("sable", "listing-bad-bytes.html", "http://127.0.0.1/listing/38993")
    assert listing.title.startswith("Gucci Marmont bag replica")
    assert "\ufffd" in listing.description and listing.price.amount == 382.19


@pytest.mark.parametrize("market", ["sable", "vesper"])
def test_vendor_pages(market, catalog):
    url = "http://127.0.0.1/vendor/x"
    vendor = read_vendor(market, "vendor.html", url)
    spec = catalog.markets[market].vendors[vendor.name]
    assert parse_public_key(vendor.pgp_key).fingerprint == spec.fingerprint
    assert len(vendor.feedback) == len(spec.feedback)
    assert vendor.joined == spec.joined and vendor.sales == spec.sales
    assert spec.btc_address in vendor.profile and spec.email in vendor.profile


def test_index_pages_find_listings_and_pagination():
    sable = page("sable", "index", "category.html", "http://127.0.0.1:8701/c/counterfeits-fashion-bags?page=2")
    assert len(sable.listing_urls()) == 25
    assert "http://127.0.0.1:8701/c/counterfeits-fashion-bags?page=3" in sable.follow_urls()
    first = page("sable", "index", "category-first.html", "http://127.0.0.1:8701/c/chemicals-equipment-presses")
    assert {f"http://127.0.0.1:8701/listing/{k}" for k in ("99901", "99902", "99903", "99904")} <= set(first.listing_urls())
    vesper = page("vesper", "index", "category.html", "http://127.0.0.1:8702/browse/7/2")
    assert len(vesper.listing_urls()) == 30
    assert all(u.startswith("http://127.0.0.1:8702/item/") for u in vesper.listing_urls())
    assert "http://127.0.0.1:8702/browse/7/3" in vesper.follow_urls()


@pytest.mark.parametrize("market, url, kind", [
    ("sable", "http://h/", "home"), ("sable", "http://h/c/x?page=2", "index"), ("sable", "http://h/listing/1", "listing"),
    ("sable", "http://h/vendor/a", "vendor"), ("sable", "http://h/img/1.jpg", "other"),
    ("vesper", "http://h/", "home"), ("vesper", "http://h/browse/1/2", "index"), ("vesper", "http://h/item/ab", "listing"),
    ("vesper", "http://h/u/a", "vendor"),
])
def test_url_kinds(market, url, kind):
    assert PROFILES[market].kind(url) == kind


def test_markets_recognise_their_own_pages_only():
    for market in ("sable", "vesper"):
        html = (HTML / market / "listing.html").read_text()
        assert profile_for_html(html).name == market
    assert profile_for_html("<html><title>Other shop</title></html>") is None
