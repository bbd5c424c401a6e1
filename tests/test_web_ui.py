"""The analyst web app in a real browser (Debian chromium driven by Playwright): log in,
search with facets, open a listing and a vendor, upload a shipment file and review a match;
crawled script and markup planted in listings must never run; pages load nothing from
elsewhere. Screenshots are kept in test-artifacts/ (or $INTERDICT_TEST_ARTIFACTS)."""

from __future__ import annotations

import re
import shutil
from urllib.parse import urlencode
from datetime import UTC, datetime
from functools import partial

import pytest
from playwright.sync_api import expect

from conftest import make_listing
from contracts.documents import listing_id, vendor_id
from index.embedded import EmbeddedStore
from index.query import Query
from browsing import logged_in, shot
from servers import make_app, serving

pytestmark = pytest.mark.timeout(600)
HOSTILE = [
    '<script>window.__pwned = "script"</script>',
    '<img src=x onerror="window.__pwned = \'img\'">',
    '"><svg onload="window.__pwned = \'svg\'">',
    "</textarea></pre><iframe srcdoc=\"<script>parent.__pwned='iframe'</script>\"></iframe>",
    "{{ 7*7 }}${7*7}<a href=\"javascript:window.__pwned='link'\">click</a>",
]


@pytest.fixture(scope="module")
def site(matching_db, enricher, tmp_path_factory):
    """The demo index plus a hostile vendor whose listings carry script and markup payloads."""
    from interdict.web.access import AccessStore

    folder = tmp_path_factory.mktemp("web")
    db = folder / "index.db"
    shutil.copy(matching_db, db)
    vendor = '<img src=x onerror="window.__pwned=\'vendor\'">Evil<script>window.__pwned="v"</script>'
    listings = [make_listing(market="sable", listing_key=f"hostile-{i}", url=f"http://127.0.0.1/l/h{i}",
                             title=f"{payload} Cocaine 5g", description=f"Pure cocaine. {payload} Ships from NL.",
                             vendor={"name": vendor}, ships_from="Netherlands", ships_to=["Worldwide"],
                             price={"amount": 300 + i, "currency": "EUR"}, category_path=[payload],
                             crawled_at=datetime(2026, 9, 1, tzinfo=UTC))
                for i, payload in enumerate(HOSTILE * 8)]  # 40: among the top vendors
    archived = make_listing(market="sable", listing_key="archived-1", url="http://127.0.0.1/l/archived",
                            title="Speed paste 10g", description="Ships from NL.", vendor={"name": "Keeper"},
                            price={"amount": 50, "currency": "EUR"}, crawled_at=datetime(2025, 1, 1, tzinfo=UTC),
                            evidence={"sha256": "ab" * 32, "warc_record_id": "<urn:uuid:0f0f0f0f-1111-2222-3333-"
                                      "444444444444>", "warc_file": "interdict-vesper-1.warc.gz", "warc_offset": 0})
    with EmbeddedStore(db) as store:
        store.upsert_listings(enricher.enrich_listings([*listings, archived]))
    state = folder / "api.db"
    access = AccessStore(state)
    key = access.create_key("browser analyst", "analyst")[1]
    access.close()
    with serving(make_app(partial(EmbeddedStore, db), state)) as url:
        yield {"url": url, "key": key, "db": db, "folder": folder, "vendor": vendor,
               "archived": listing_id("sable", "archived-1")}


@pytest.fixture
def page(browser, site):
    with logged_in(browser, site["url"], site["key"], "/search?q=cocaine") as page:
        yield page


def assert_nothing_ran(page) -> None:
    assert page.evaluate("window.__pwned") is None
    assert page.locator("script:not([src])").count() == 0  # the only scripts are our own file
    assert page.locator("iframe, img[src=x], svg[onload]").count() == 0


def test_search_listing_and_vendor_pages(page, site):
    assert page.locator("article.hit").count() == 20
    assert page.locator("article.hit mark").first.inner_text().lower() == "cocaine"
    total = int(page.locator("p.total").inner_text().split()[0].replace(",", ""))
    shot(page, "search")
    page.click("aside.facets section:has(h3:text('market')) a.facet:has-text('vesper')")
    page.wait_for_url("**market=vesper**")
    narrowed = int(page.locator("p.total").inner_text().split()[0].replace(",", ""))
    assert 0 < narrowed < total and {m.inner_text() for m in page.locator("article.hit .market").all()} == {"vesper"}
    page.locator("article.hit h2 a").first.click()
    page.wait_for_url("**/listings/**")
    assert page.locator("svg.chart path").count() == 1 and page.locator("table.entities tbody tr").count() > 0
    assert "Evidence\tnot archived" in page.locator("table.fields").inner_text()  # the demo index keeps no WARC
    shot(page, "listing")
    page.locator("p.meta a[href^='/vendors/']").click()
    page.wait_for_url("**/vendors/**")
    assert page.locator("table.listings tbody tr").count() > 0
    shot(page, "vendor")
    page.goto(f"{site['url']}/listings/{site['archived']}")
    evidence = page.locator("table.fields tr:has(th:text('Evidence')) td").inner_text()
    assert evidence == ("WARC record <urn:uuid:0f0f0f0f-1111-2222-3333-444444444444>, SHA-256 " + "ab" * 32
                        + " in interdict-vesper-1.warc.gz")
    page.goto(f"{site['url']}/")
    assert page.locator("svg.chart").count() == 3 and page.locator("svg.chart rect").count() > 10
    shot(page, "overview")


def test_vendors_found_by_a_fingerprint_as_written_and_linked_across_markets(page, site, catalog):
    spec = next(v for v in catalog.vendors if len(v.markets) == 2)
    page.click("header nav a:text('Vendors')")
    page.wait_for_url("**/vendors")
    page.fill("form.search input[name=q]", " ".join(spec.fingerprint[i:i + 4] for i in range(0, 40, 4)).lower())
    page.click("form.search button[type=submit]")
    page.wait_for_url("**/vendors?q=**")
    rows = page.locator("table.vendors tbody tr")
    assert {rows.nth(i).locator("td").nth(1).inner_text() for i in range(rows.count())} == set(spec.markets)
    assert all(rows.nth(i).locator("td").first.inner_text() == spec.name for i in range(rows.count()))
    shot(page, "vendors")
    rows.first.locator("a").click()
    page.wait_for_url("**/vendors/**")
    alias = page.locator("ul.aliases li").first.inner_text()
    assert spec.name in alias and f"pgp {spec.fingerprint}" in alias
    listed = page.locator("table.listings tbody tr td:nth-child(2)")
    assert {listed.nth(i).inner_text() for i in range(listed.count())} == set(spec.markets)


def test_places_match_where_goods_can_go_unless_exact_places_is_ticked(page, site):
    """ships_to=DE finds listings to Germany, to the EU, to Europe and worldwide; the box keeps
    to the listings that name Germany."""
    def total() -> int:
        return int(page.locator("p.total").inner_text().split()[0].replace(",", ""))

    page.goto(f"{site['url']}/search?ships_to=DE")
    reaching = total()
    page.check("input[name=exact_places]")
    page.click("form.search button[type=submit]")
    page.wait_for_url("**exact_places=1**")
    named = total()
    assert 0 < named < reaching and page.locator("input[name=exact_places]").is_checked()
    with EmbeddedStore(site["db"]) as store:
        assert named == store.search(Query(filters={"ships_to_exact": ["DE"]}, limit=0)).total
        assert reaching == store.search(Query(filters={"ships_to": ["DE"]}, limit=0)).total


def test_planted_script_and_markup_never_run(page, site):
    page.goto(f"{site['url']}/search?" + urlencode({"q": "cocaine", "vendor": site["vendor"]}))
    assert page.locator("article.hit").count() > 5
    text = page.locator("section.hits").inner_text()
    assert "<script>window.__pwned" in text and "onerror=" in text  # shown as text, not parsed
    assert_nothing_ran(page)
    shot(page, "hostile-search")
    page.locator("article.hit h2 a").first.click()
    page.wait_for_url("**/listings/**")
    assert "<script>" in page.locator("pre.description").inner_text()
    assert_nothing_ran(page)
    page.locator("p.meta a[href^='/vendors/']").click()
    page.wait_for_url("**/vendors/**")
    assert "onerror" in page.locator("h1").inner_text()
    assert_nothing_ran(page)
    shot(page, "hostile-vendor")
    page.goto(f"{site['url']}/")  # the hostile vendor is among the top vendors of the overview chart
    assert "Evil" in page.locator("svg.chart").nth(1).text_content()
    assert_nothing_ran(page)


def test_an_analyst_uploads_shipments_and_reviews_a_match(page, site):
    from matching.synthetic import StreamGenerator

    with EmbeddedStore(site["db"]) as store:
        stream = [s for s, _ in StreamGenerator(store, seed=31).stream(12, decoy_share=0.1)]
    upload = site["folder"] / "parcels.jsonl"
    upload.write_text("".join(s.model_dump_json(exclude_none=True) + "\n" for s in stream))
    page.goto(f"{site['url']}/review")
    page.set_input_files("#upload input[type=file]", str(upload))
    page.click("#upload button[type=submit]")
    page.wait_for_url("**/review/**")
    assert page.locator("article.shipment").count() == 12
    first = page.locator(".match").first
    first.locator(".note").fill('=HYPERLINK("http://evil.example") <b>bold</b>')
    first.locator("button[data-decision=confirmed]").click()
    # the decision is saved by a fetch: wait for the page to show the answer
    expect(first.locator(".decision")).to_have_text(re.compile(r"^confirmed · browser analyst"))
    second = page.locator(".match").nth(1)
    second.locator("button[data-decision=rejected]").click()
    expect(second.locator(".decision")).to_have_class(re.compile(r"\brejected\b"))
    shot(page, "review")
    page.reload()
    assert page.locator(".decision.confirmed").count() == 1 and page.locator(".decision.rejected").count() == 1
    assert page.locator(".match").first.locator(".note").input_value().startswith("=HYPERLINK")
    batch = page.url.rsplit("/", 1)[1]
    exported = page.request.get(f"{site['url']}/api/batches/{batch}/export?format=csv").text()
    assert "confirmed" in exported and "rejected" in exported and "'=HYPERLINK" in exported


def test_a_write_with_only_the_cookie_is_refused(page, site):
    """A cross-site form could make the browser send the cookie, but not the app's header."""
    page.goto(f"{site['url']}/review")
    refused = page.request.post(f"{site['url']}/api/batches", data="{}", headers={"Content-Type": "application/json"})
    assert refused.status == 401
    headers = page.request.get(f"{site['url']}/search?q=x").headers
    assert "script-src 'self'" in headers["content-security-policy"] and headers["x-frame-options"] == "DENY"


def test_an_analyst_makes_a_tracker_sees_its_alerts_and_marks_them_read(page, site, enricher):
    """The trackers page's form makes a tracker through the API; an ingest raises alerts on
    listings whose crawled text carries script and markup: they show, escaped, link to the
    listing, and are marked read from the page."""
    from index import SpooledWriter
    from index.spool import Spool
    from interdict.trackers import TrackerBook, TrackerEvaluator

    page.goto(f"{site['url']}/trackers")
    page.fill("input[name=name]", "cocaine to AU")
    page.select_option("select[name=kind]", "search")
    page.fill("input[name=what]", "cocaine")
    page.fill("input[name=to]", "AU")
    page.fill("input[name=price_change_percent]", "25")
    page.click("#tracker-form button[type=submit]")
    page.wait_for_url(re.compile(r".*/trackers/trk_[0-9a-f]+$"))
    tracker_url = page.url
    expect(page.locator("h1")).to_have_text("cocaine to AU")
    expect(page.locator("p.meta").first).to_contain_text("ships_to=AU")

    fresh = [make_listing(market="vesper", listing_key=f"tracked-{i}", url=f"http://127.0.0.1/l/t{i}",
                          title=f"{payload} Cocaine 2g", vendor={"name": "Newcomer"}, ships_to=["Australia"],
                          price={"amount": 90, "currency": "EUR"}, crawled_at=datetime(2026, 10, 1, tzinfo=UTC))
             for i, payload in enumerate(HOSTILE[:3])]
    with EmbeddedStore(site["db"]) as store, TrackerBook(site["folder"] / "api.db") as book:
        writer = SpooledWriter(store, Spool(site["folder"] / "spool"), TrackerEvaluator(book, store))
        writer.write("listings", list(enricher.enrich_listings(fresh)))
    page.goto(tracker_url)
    rows = page.locator("tr.alert")
    expect(rows).to_have_count(3)
    expect(page.locator("tr.alert.unread")).to_have_count(3)
    assert_nothing_ran(page)
    expect(rows.first.locator("td").nth(1)).to_contain_text("new listing")
    shot(page, "tracker-alerts")
    rows.first.locator("button.mark-read").click()
    expect(page.locator("tr.alert.unread")).to_have_count(2)
    page.reload()
    expect(page.locator("tr.alert.unread")).to_have_count(2)  # kept by the server, not only the page

    page.goto(f"{site['url']}/trackers")
    expect(page.locator("table.trackers td.unread")).to_have_text("2")
    expect(page.locator("table.alerts tr.alert")).to_have_count(2)
    assert_nothing_ran(page)
    shot(page, "trackers")
    link = page.locator("table.alerts tr.alert a[href^='/listings/']").first
    link.click()
    page.wait_for_url(re.compile(r".*/listings/[0-9a-f]{32}$"))
    expect(page.locator("h1")).to_contain_text("Cocaine 2g")
    assert_nothing_ran(page)
    shot(page, "alert-listing")


def test_an_entity_page_draws_its_graph_and_shows_the_evidence_of_each_link(page, site, catalog):
    """From a vendor working both markets under one name and one key: its correlation graph (an
    SVG drawn by the server), the identifiers both sides show with the listings that showed
    them, the same name on the other market, and downloads Gephi reads; a vendor whose name is
    script and markup is drawn as text."""
    import networkx as nx

    spec = next(v for v in catalog.vendors if len(v.markets) == 2)
    me, other = (vendor_id(m, spec.name) for m in spec.markets)
    page.goto(f"{site['url']}/vendors/{me}")
    page.click("a:text('correlation graph')")
    page.wait_for_url(f"**/entities/vendor:{me}")
    expect(page.locator("h1")).to_contain_text(spec.name)
    graph = page.locator("figure.graph svg")
    expect(graph).to_be_visible()
    assert graph.locator("a").count() >= 4  # the vendor, its market, an identifier, its other self
    links = page.locator("table.links tbody tr")
    texts = [links.nth(i).inner_text() for i in range(links.count())]
    assert any(t.startswith("same name") and spec.markets[1] in t for t in texts)
    shows = [t for t in texts if t.startswith("shows")]
    assert shows and all("listing on" in t or "profile on" in t for t in shows)
    shot(page, "entity-graph")
    # a link of the drawing leads to that entity's own page
    page.locator(f"figure.graph svg a[href^='/entities/vendor:{other}']").first.click()
    page.wait_for_url(f"**/entities/vendor:{other}**")
    expect(page.locator("h1")).to_contain_text(spec.name)
    download = page.request.get(f"{site['url']}/api/graph?entity=vendor:{me}&depth=2&format=graphml")
    assert download.ok and download.headers["content-type"].startswith("application/graphml+xml")
    read = nx.parse_graphml(download.text())
    assert f"vendor:{other}" in read.nodes and read.nodes[f"vendor:{me}"]["label"] == spec.name

    page.goto(f"{site['url']}/entities/vendor:{vendor_id('sable', site['vendor'])}?depth=1")
    assert site["vendor"] in page.locator("h1").inner_text()  # shown as the text it is
    assert_nothing_ran(page)
    assert page.locator("figure.graph svg text").filter(has_text="<img src=x").count() == 1


def test_trends_are_drawn_per_month_with_a_legend_and_a_table(page, site):
    """The trends page draws the store's figures (index.trends) as lines with months on the axis
    and a legend, and lists them; a vendor's page shows its listings active per month."""
    from index.trends import TrendQuery

    page.click("header nav a:text('Trends')")
    page.wait_for_url("**/trends")
    chart = page.locator("figure.trend svg")
    expect(chart).to_be_visible()
    with EmbeddedStore(site["db"]) as store:
        expected = store.trends(TrendQuery(measure="unit_price", filters={"product": ["cocaine"]}, by="ships_from"))
    assert len(expected.periods) >= 3 and expected.series  # the demo index spans months
    assert chart.locator("path").count() >= 1
    legend = chart.locator("text").evaluate_all("texts => texts.map(t => t.textContent)")
    assert all(s.label[:30] in legend for s in expected.series), (legend, [s.label for s in expected.series])
    assert expected.periods[0] in legend and expected.periods[-1] in legend  # months on the axis
    assert "USD per g" in legend
    rows = page.locator("table.trend-table tbody tr")
    expect(rows).to_have_count(len(expected.periods))
    first = rows.first.locator("td")
    values = expected.series[0].values
    shown = first.nth(1).inner_text()
    assert shown == "—" if values[0] is None else shown.startswith(f"{values[0]:,.2f}")
    shot(page, "trend-chart")
    page.select_option("select[name=measure]", "vendors")
    page.select_option("select[name=by]", "market")
    page.click(".trends-form button[type=submit]")
    page.wait_for_url("**/trends?measure=vendors**")
    expect(page.locator("table.trend-table thead th")).to_have_count(3)  # month, sable, vesper
    assert_nothing_ran(page)
