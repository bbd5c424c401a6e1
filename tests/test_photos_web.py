"""Listing photos in the web app, in a real browser (Debian chromium driven by Playwright) over
the shared demo crawl: a listing's photos with their EXIF flagged and the same photo
elsewhere side by side, a vendor linked to another by a shared photo, a search by an
uploaded photo (a blocklisted one refused and flagged), photo files only for key holders and
never as anything but an image, crawled EXIF text never run. Screenshots in test-artifacts/."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from datetime import UTC, datetime
from functools import partial

import pytest
import requests
from playwright.sync_api import expect

from conftest import demo_crawl_images, make_listing
from contracts.documents import listing_id, vendor_id
from contracts.images import ImageFacts, ImageMetadata, ListingImage
from index.embedded import EmbeddedStore
from interdict.demo.gallery import DemoPhoto, photo_bytes, photo_plan
from servers import make_app, serving
from browsing import logged_in, shot

pytestmark = pytest.mark.timeout(600)
HOSTILE_MAKE = '<img src=x onerror="window.__pwned=\'exif\'">Canon'


def unlisted_photo() -> bytes:
    """An image no market shows, on the test's blocklist."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def site(demo_crawl, enricher, tmp_path_factory, catalog):
    from config import load_config
    from interdict.web.access import AccessStore

    folder = tmp_path_factory.mktemp("photos-web")
    db = folder / "index.db"
    shutil.copy(demo_crawl, db)
    images = demo_crawl_images(demo_crawl)
    plan = photo_plan(catalog)
    gps_original = next(p for p in plan if p.photos[0].gps and not p.photos[0].inline)
    stored = hashlib.sha256(photo_bytes(gps_original.photos[0])).hexdigest()
    # a listing whose photo's EXIF carries markup (a camera make is whatever the file says)
    hostile = make_listing(market="sable", listing_key="exif-hostile", url="http://127.0.0.1/l/exif",
                           title="Camera test 5g", vendor={"name": "Exif Vendor"},
                           price={"amount": 10, "currency": "EUR"}, crawled_at=datetime(2026, 9, 1, tzinfo=UTC),
                           images=[ListingImage(url="http://127.0.0.1/p.jpg", facts=ImageFacts(
                               sha256=stored, size=10, format="JPEG", width=10, height=10, phash="0" * 16,
                               dhash="0" * 16, metadata=ImageMetadata(make=HOSTILE_MAKE)))])
    with EmbeddedStore(db) as store:
        store.upsert_listings(enricher.enrich_listings([hostile]))
    blocklist = folder / "sha256.txt"
    blocklist.write_text(hashlib.sha256(unlisted_photo()).hexdigest() + "\n")
    config = load_config(env={**os.environ, "INTERDICT_IMAGES__DIR": str(images),
                              "INTERDICT_IMAGES__BLOCKLIST_SHA256": str(blocklist),
                              "INTERDICT_IMAGES__FLAGGED_FILE": str(folder / "flagged.jsonl")})
    state = folder / "api.db"
    access = AccessStore(state)
    key = access.create_key("photo analyst", "analyst")[1]
    access.close()
    with serving(make_app(partial(EmbeddedStore, db), state, config=config)) as url:
        yield {"url": url, "key": key, "plan": plan, "gps_original": gps_original, "folder": folder}


@pytest.fixture
def page(browser, site):
    with logged_in(browser, site["url"], site["key"]) as page:
        yield page


def loaded_images(page, css: str) -> int:
    """How many of these images the browser loaded and decoded (lazy ones scrolled into view)."""
    images = page.locator(css)
    for i in range(images.count()):
        images.nth(i).scroll_into_view_if_needed()
    page.wait_for_load_state("networkidle")
    return page.evaluate(f"[...document.querySelectorAll({css!r})].filter(i => i.complete && i.naturalWidth > 0).length")


def test_a_listing_shows_its_photo_its_exif_and_the_same_photo_elsewhere(page, site):
    original = site["gps_original"]
    page.goto(f"{site['url']}/listings/{listing_id(original.market, original.key)}")
    assert page.locator("figure.photo").count() == 1
    assert "GPS 51.92250, 4.47917 (NL)" in page.locator("figure.photo strong.exif").inner_text()
    assert "camera Apple iPhone 12 serial DN519225" in page.locator("figure.photo strong.exif").inner_text()
    rows = page.locator("table.same-photo tbody tr")
    assert rows.count() == 1  # its repost under another name on the other market
    repost = next(p for p in site["plan"] if p.photos[0].photo == original.photos[0].photo and p is not original)
    assert repost.vendor in rows.first.inner_text() and repost.market in rows.first.inner_text()
    assert loaded_images(page, "figure.photo img, table.same-photo img") == 3
    shot(page, "listing-photos")
    bombed = next(p for p in site["plan"] if any(photo.bomb for photo in p.photos))
    page.goto(f"{site['url']}/listings/{listing_id(bombed.market, bombed.key)}")
    assert "Refused (too many pixels)" in page.locator("figure.photo").nth(1).inner_text()


def test_a_vendor_is_linked_by_a_shared_photo_side_by_side(page, site):
    original = site["gps_original"]
    page.goto(f"{site['url']}/vendors/{vendor_id(original.market, original.vendor)}")
    links = page.locator("table.photo-links tr")
    assert links.count() == 1 and "distance" in links.first.inner_text()
    assert loaded_images(page, "table.photo-links img") == 2
    assert "GPS 51.92250, 4.47917 (NL)" in page.locator("ul.exif-list").inner_text()
    shot(page, "vendor-photos")
    links.first.locator("a[href^='/vendors/']").click()
    page.wait_for_url("**/vendors/**")
    assert original.vendor in page.locator("table.photo-links").inner_text()  # linked both ways


def test_search_by_an_uploaded_photo(page, site, tmp_path):
    seized = tmp_path / "parcel.jpg"
    seized.write_bytes(photo_bytes(DemoPhoto("chelsea", repost_seed=777, mark="parcel")))
    page.goto(f"{site['url']}/photos")
    page.set_input_files("#photo-search input[type=file]", str(seized))
    page.click("#photo-search button")
    page.wait_for_selector("#photo-results:not([hidden])")
    shown = page.locator("#photo-results tbody tr")
    chelsea = {p.vendor for p in site["plan"] if p.photos[0].photo == "chelsea"}
    assert shown.count() == 3 and {v for v in chelsea if v in page.locator("#photo-results").inner_text()} == chelsea
    assert loaded_images(page, "#photo-results img") == 4  # the upload (a data: URL) and three listings' photos
    shot(page, "photo-search")
    listed = tmp_path / "listed.png"
    listed.write_bytes(unlisted_photo())
    page.set_input_files("#photo-search input[type=file]", str(listed))
    page.click("#photo-search button")
    expect(page.locator("#photo-search .status")).to_contain_text("not searched: this image matches the agency blocklist")
    assert page.locator("#photo-results").is_hidden()
    flags = [json.loads(line) for line in (site["folder"] / "flagged.jsonl").read_text().splitlines()]
    assert flags[-1]["sha256"] == hashlib.sha256(unlisted_photo()).hexdigest() and flags[-1]["uploaded_by"] == "photo analyst"


def test_crawled_exif_text_is_shown_as_text(page, site):
    page.goto(f"{site['url']}/listings/{listing_id('sable', 'exif-hostile')}")
    assert HOSTILE_MAKE in page.locator("figure.photo strong.exif").inner_text()
    assert page.evaluate("window.__pwned") is None and page.locator("img[src=x]").count() == 0


def test_photo_files_need_a_key_and_are_only_ever_images(site):
    digest = hashlib.sha256(photo_bytes(site["gps_original"].photos[0])).hexdigest()
    url = f"{site['url']}/photos/{digest}"
    refused = requests.get(url, timeout=10, allow_redirects=False)  # a browser is sent to the login form
    assert refused.status_code == 303 and refused.headers["location"].startswith("/login")
    auth = {"Authorization": f"Bearer {site['key']}"}
    answer = requests.get(url, headers=auth, timeout=10)
    assert answer.status_code == 200 and answer.content == photo_bytes(site["gps_original"].photos[0])
    assert answer.headers["content-type"] == "image/jpeg" and answer.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in answer.headers["content-security-policy"]
    for missing in ("0" * 64, "..%2F..%2Fetc%2Fpasswd", "not-a-digest"):
        assert requests.get(f"{site['url']}/photos/{missing}", headers=auth, timeout=10).status_code == 404
    listed = requests.post(f"{site['url']}/api/photos/search", data=unlisted_photo(),
                           headers={**auth, "Content-Type": "image/png"}, timeout=10)
    assert listed.status_code == 422 and "blocklist" in listed.json()["detail"]
    big = requests.post(f"{site['url']}/api/photos/search", data=b"\0" * 9_000_000, headers=auth, timeout=30)
    assert big.status_code == 413
