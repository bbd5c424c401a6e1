"""The generic extractor on listing *detail* pages: what real markets put around the listing
(a seller's other products, the logged-in user's menus, search forms with every country, a
category menu) is never read as the listing. Layouts below are written for the tests; the
real-page measurement (test_real_detail_pages) reads ../shared/data/listing-pages with the
labels in tests/fixtures/pages and skips without the shared folder."""

from __future__ import annotations

import json

import pytest

from conftest import REPO, SHARED_DATA
from crawlers.extract.generic import extract

FIXTURES = REPO / "tests" / "fixtures" / "pages"
COUNTRIES = ["Afghanistan", "Albania", "Algeria", "Germany", "France", "Netherlands", "Spain"]
CATEGORY_MENU = "".join(f"<li><a href='/c/{i}'>{c} <span>[{n}]</span></a></li>" for i, (c, n) in enumerate(
    [("Cannabis", 958), ("Benzos", 477), ("Stimulants", 876), ("Digital", 9662), ("Accounts", 764),
     ("Fraud", 3686), ("Services", 326)]))


def page(body: str, title: str) -> str:
    return f"<html><head><title>{title}</title></head><body>{body}</body></html>"


def header(user: str = "buyer42") -> str:
    """A logged-in user's header: their own profile, sales and messages links."""
    return (f"<div class='top'><span>Welcome {user}</span><a href='/profile.php?id={user}'>My Profile</a>"
            f"<a href='/vendor'>VENDOR</a><ul><li><a href='/vendor'>Sales</a></li>"
            f"<li><a href='/vendor/reviews'>Reviews</a></li></ul><span>$ 4.73</span></div>")


def related(n: int = 5) -> str:
    return "<h3>More from this seller</h3><div class='items'>" + "".join(
        f"<div class='item'><a href='/listing/{i}'>other product {i}</a><span>Worldwide &gt; Worldwide</span>"
        f"<span>{3 + i}.50 USD</span><a href='/listing/{i}'>View</a></div>" for i in range(n)) + "</div>"


def test_a_detail_page_that_shows_the_sellers_other_products_stays_one_listing():
    body = (header() + f"<aside><h4>Categories</h4><ul>{CATEGORY_MENU}</ul></aside>"
            "<div class='main'><div class='heading'>fresh accounts bundle</div>"
            "<table><tr><td>Price</td><td>:</td><td>12.40 USD</td></tr>"
            "<tr><td>Seller</td><td>:</td><td><a href='/user/keymaster'>keymaster</a></td></tr>"
            "<tr><td>Seller location</td><td>:</td><td>Netherlands</td></tr>"
            "<tr><td>Ships to (seller)</td><td>:</td><td>Europe</td></tr>"
            "<tr><td>Ships to (product)</td><td>:</td><td>Worldwide</td></tr>"
            "<tr><td>Category</td><td>:</td><td>Accounts</td></tr></table>"
            f"<p>Description</p><p>Fresh accounts, delivered at once, replaced if dead within a day.</p>{related()}</div>")
    result = extract(page(body, "Buy fresh accounts bundle worldwide shipping"), "http://m.example/listing/77")
    assert result.kind == "listing" and len(result.listings) == 1
    listing = result.listings[0]
    assert (listing.title, listing.price.amount, listing.price.currency) == ("fresh accounts bundle", 12.4, "USD")
    assert (listing.vendor, listing.ships_from, listing.category) == ("keymaster", "Netherlands", "Accounts")
    assert listing.ships_to == ["Worldwide"]  # the product's destinations, not the seller's
    assert result.links and "http://m.example/listing/3" in result.links  # related listings are still crawled


def test_an_index_page_stays_an_index_page():
    blocks = "".join(f"<div class='item'><a href='/listing/{i}'>product {i}</a><span>Seller: v{i}</span>"
                     f"<span>{3 + i}.50 USD</span></div>" for i in range(8))
    result = extract(page(f"{header()}<h1>Accounts</h1><div class='items'>{blocks}</div>", "Market - Accounts"),
                     "http://m.example/category/accounts")
    assert result.kind == "index" and len(result.listings) == 8


def test_the_logged_in_users_menu_is_never_the_vendor():
    body = (header() + "<h2>1.75g real product express</h2><p>Sold by <b><a href='userprofile.php?login=icy'>icy</a>"
            "</b> - 32 sold</p><p><b>Purchase price:</b> <span>CAD $367.5</span></p>"
            "<table><tr><td><b>Origin Country</b></td><td></td><td><b>Ships to</b></td><td></td></tr></table>")
    listing = extract(page(body, "Market - 1.75g real product express"), "http://m.example/item?id=3").listings[0]
    assert listing.vendor == "icy"
    assert (listing.price.amount, listing.price.currency) == (367.5, "CAD")  # "CAD $": the code names the dollar
    assert listing.ships_from is None or listing.confidence["ships_from"] < 0.5


def test_a_drop_down_of_every_country_is_never_the_origin():
    options = "".join(f"<option value='{i}'>{c}</option>" for i, c in enumerate(COUNTRIES))
    body = (f"<form><h3>Origin country:</h3><select name='s_country'>{options}</select>"
            f"<h3>Ships to:</h3><select name='s_to'>{options}</select></form>"
            "<h1>Cobra 11</h1><p>Sold by <a href='user.php?id=5'>markedone</a></p>"
            "<div><b>Origin country</b></div><div>Germany</div><div><b>Ships to</b></div><div>Worldwide</div>"
            "<p><b>Purchase price:</b> USD 19.02</p>")
    listing = extract(page(body, "Cobra 11"), "http://m.example/listing.php?id=1").listings[0]
    assert (listing.ships_from, listing.ships_to) == ("Germany", ["Worldwide"])


def test_the_category_is_the_path_beside_the_title_not_the_first_menu_entry():
    body = (f"<aside><span>Categories</span><ul>{CATEGORY_MENU}</ul></aside>"
            "<h1>Netflix Account - Lifetime Access</h1><div><a href='/products/1'>Digital</a><i>›</i>"
            "<a href='/products/2'>Accounts</a></div><div>Unit Price</div><div>30.00 USD</div>"
            "<div class='seller'><a href='/@CyberGhost/e9b3848'><h2>CyberGhost</h2></a></div>"
            "<p>Shipped automatically</p><p>No</p>")
    listing = extract(page(body, "Market - Netflix Account - Lifetime Access"), "http://m.example/p/9").listings[0]
    assert listing.category == "Digital / Accounts" and listing.vendor == "CyberGhost"
    assert listing.ships_from is None or listing.confidence["ships_from"] < 0.5  # "No" is a word, not Norway


def test_breadcrumbs_name_the_category_without_home_or_the_listing():
    body = ("<ol class='breadcrumb'><li><a href='/'>Home</a></li><li><a href='/category/77'>Weapons</a></li>"
            "<li class='active'>Mini knife, black</li></ol><h3><strong>Mini knife, black</strong></h3>"
            "<p>By <a href='/profile/363'>fake</a> (99.3%)</p><h4>BTC 0.1330</h4><dl><dt>Ships From</dt><dd>China</dd>"
            "</dl>")
    listing = extract(page(body, "Market :: Mini knife, black"), "http://m.example/listing/3131").listings[0]
    assert listing.category == "Weapons" and listing.vendor == "fake" and listing.price.currency == "BTC"


def test_a_self_closed_vendor_link_keeps_its_name():
    body = ("<h1>Silent book</h1><div>0.0039 BTC</div><p>Long enough description of the book for a listing.</p>"
            "Brought to you by:<br/><a class='user' href='/vendor/Thrills#'/>Thrills</a>")
    listing = extract(page(body, "Silent book"), "http://m.example/p/1").listings[0]
    assert listing.vendor == "Thrills"


def test_every_fixture_names_a_labelled_page():
    folders = sorted(p for p in FIXTURES.glob("*/*") if p.is_dir())
    assert len(folders) == 6
    for folder in folders:
        expected = json.loads((folder / "expected.json").read_text())
        assert set(expected) == {"title", "price_amount", "price_currency", "vendor", "ships_from", "ships_to",
                                 "category"}, folder
        source = (folder / "source.txt").read_text().splitlines()[0]
        assert source == f"listing-pages/{folder.parent.name}/{folder.name}.html", folder


@pytest.mark.skipif(not (SHARED_DATA / "listing-pages").is_dir(), reason="needs ../shared/data/listing-pages")
def test_real_detail_pages():
    from crawlers.extract.detail_evaluation import evaluate_detail_pages

    report = evaluate_detail_pages(SHARED_DATA, FIXTURES)
    assert report.pages == 72 and not report.not_read
    for name, (correct, total) in report.totals().items():
        assert total and correct / total >= 0.95, (name, report.misses)
    for market, fields in report.scores.items():
        assert fields["title"][0] == fields["title"][1], (market, report.misses)


def test_a_page_that_lies_about_its_encoding_is_read_by_what_its_bytes_are():
    body = ("<h1>Käse-Paste 10g</h1><p>Verkäufer: <a href='/vendor/koenig'>koenig</a></p><p>Preis: 12,50 €</p>"
            "<p>Versand aus: Deutschland</p>")
    html = f"<html><head><meta charset='utf-8'><title>Käse-Paste 10g</title></head><body>{body}</body></html>"
    listing = extract(html.encode("cp1252"), "http://m.example/p/1").listings[0]  # declared UTF-8, saved as 1252
    assert listing.title == "Käse-Paste 10g" and (listing.price.amount, listing.price.currency) == (12.5, "EUR")
    cyrillic = "<html><body><h1>Мефедрон 5 грамм</h1><p>Цена: 50 $</p><p>Продавец: <a href='/u/x'>x</a></p></body></html>"
    assert extract(cyrillic.encode("cp1251"), "http://m.example/p/2").listings[0].title == "Мефедрон 5 грамм"


def test_parse_reads_with_the_generic_extractor_and_dates_what_it_is_told(tmp_path):
    from conftest import run_cli

    saved = tmp_path / "saved.html"
    saved.write_text(page("<h1>Ketamine 5g</h1><table><tr><th>Price</th><td>EUR 95</td></tr><tr><th>Vendor</th><td>"
                          "<a href='/vendor/k'>kman</a></td></tr><tr><th>Ships from</th><td>Germany</td></tr></table>",
                          "Ketamine 5g"))
    proc = run_cli("parse", "--generic", "--as-listing", "--market", "gone-market", "--captured", "2019-02-03",
                   str(saved))
    assert proc.returncode == 0, proc.stderr
    listing = json.loads(proc.stdout)
    assert (listing["market"], listing["crawled_at"][:10], listing["vendor"]["name"]) == ("gone-market", "2019-02-03",
                                                                                          "kman")
