"""Every page object against its saved pages: one case per folder of tests/fixtures/page_objects
(case.json: the inputs; expected.json: what the page object reads; tests/page_fixtures.py).
Real pages are read from ../shared/data when it is there (skipped otherwise)."""

import json
import re
from datetime import UTC, datetime

import pytest

from crawlers.pages import PROFILES
from crawlers.pages.base import listing_of
from crawlers.spiders.loader import MarketSpiderLoader
from page_fixtures import CASES, SHARED, cases, inputs, read


@pytest.mark.parametrize("case", cases(), ids=lambda case: f"{case.parent.name}/{case.name}")
def test_page_object_reads_its_saved_page(case):
    spec, html = inputs(case)
    if html is None:
        pytest.skip(f"needs ../shared/data/{spec['shared']}")
    expected = json.loads((case / "expected.json").read_text(encoding="utf-8"))
    assert read(case, spec, html) == expected


def test_every_profile_has_cases_of_each_page_it_reads():
    for name, profile in PROFILES.items():
        kinds = {json.loads((case / "case.json").read_text())["page"] for case in cases() if case.parent.name == name}
        wanted = {"listing", "index"} | ({"vendor"} if profile.vendor_page else set())
        assert kinds >= wanted, f"{name}: fixtures of {sorted(wanted - kinds)} pages missing in {CASES / name}"


def test_a_market_is_one_module_the_spider_loader_knows():
    """Profiles are discovered in crawlers/pages; the one spider is known by each name."""
    loader = MarketSpiderLoader()
    assert {"sable", "vesper", "darkdock", "generic", "shop"} <= set(loader.list())
    spider = loader.load("darkdock")
    assert spider.name == spider.profile_name == "darkdock"
    with pytest.raises(KeyError, match="Spider not found"):
        loader.load("nowhere")


LABELS = SHARED / "listing-pages" / "labels.jsonl"


@pytest.mark.skipif(not LABELS.is_file(), reason="needs ../shared/data/listing-pages")
def test_the_darkdock_page_object_reads_every_labelled_page_as_labelled():
    """All 63 labelled DarkDock pages (16 categories, many sellers): title, price, seller,
    origin, destination and category as the page's own rows give them; no other market's
    page is taken for DarkDock's."""
    def same(value) -> str:
        return " ".join(str(value).split()).lower()

    profile, read_pages = PROFILES["darkdock"], 0
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        label = json.loads(line)
        html = (LABELS.parent / label["page"]).read_bytes().decode("utf-8", "replace")
        if label["market"] != "darkdock":
            assert not profile.recognises(html), label["page"]
            continue
        key = re.sub(r"^.*-|\.html$", "", label["page"])
        listing = listing_of(profile.listing_page(f"http://darkdock.onion/product/{key}", html), market="darkdock",
                             crawled_at=datetime.now(UTC))
        got = {"title": listing.title, "price_amount": listing.price.amount, "price_currency": listing.price.currency,
               "vendor": listing.vendor.name, "ships_from": listing.ships_from, "ships_to": ", ".join(listing.ships_to),
               "category": listing.category_path[0]}
        assert {k: same(v) for k, v in got.items()} == {k: same(label[k]) for k in got}, label["page"]
        read_pages += 1
    assert read_pages == 63


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_documented_command_writes_the_committed_expectations(profile, tmp_path):
    """`python tests/page_fixtures.py PROFILE` (docs/adding-a-market.md), run on a copy of the
    cases: it writes exactly the expected.json files that are committed."""
    import shutil

    from page_fixtures import write_expected

    copy = tmp_path / profile
    shutil.copytree(CASES / profile, copy)
    for written in copy.glob("*/expected.json"):
        written.unlink()
    write_expected(profile, tmp_path)
    for case in cases(tmp_path):
        if inputs(case)[1] is not None:
            assert (case / "expected.json").read_text() == (CASES / profile / case.name / "expected.json").read_text()
