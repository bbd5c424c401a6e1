"""Listing images through a real crawl of the demo markets (crawlers/images.py): every planted
photo link found and none between different photos (interdict/demo/gallery.py is the ground
truth), EXIF GPS read, the decompression bomb refused, the site chrome left alone, and a
blocklisted image flagged and never written — neither to the image folder nor to the WARC
evidence. Over Tor: tests/test_tor.py."""

from __future__ import annotations

import hashlib
import itertools
import json

import pytest

from conftest import run_cli
from contracts.documents import listing_id
from index.embedded import EmbeddedStore
from index.evidence import records
from index.image_files import ImageFiles
from index.photo_links import PhotoCatalog
from interdict.demo.gallery import photo_bytes, photo_plan, planted_pairs
from interdict.demo.run import demo_markets

LINK_MAX_SUM = 31  # config images.link_max_sum


def stored_images(store_path):
    with EmbeddedStore(store_path) as store:
        return {(d.market.removesuffix("_onion"), d.listing_key): d.data.listing.images for d in store.iter_listings()
                if d.data.listing.images}


def test_the_demo_crawl_reads_every_planted_photo_and_only_those(demo_crawl, catalog):
    plan = photo_plan(catalog)
    images = stored_images(demo_crawl)
    assert set(images) == {(p.market, p.key) for p in plan}  # chrome (logo, badges) is nobody's photo
    for listing in plan:
        shown = images[(listing.market, listing.key)]
        assert len(shown) == len(listing.photos)
        for photo, image in zip(listing.photos, shown):
            assert "/static/" not in image.url
            if photo.bomb:
                assert image.facts is None and image.refused.reason == "too_many_pixels", image
                continue
            assert image.facts is not None, image
            if photo.inline:
                assert image.url.startswith("data:image/jpeg;base64,") and len(image.url) < 120
            assert image.facts.sha256 == hashlib.sha256(photo_bytes(photo)).hexdigest()
            gps = image.facts.metadata.gps
            if photo.gps:
                assert gps is not None and abs(gps.latitude - photo.gps[0]) < 1e-3
                assert abs(gps.longitude - photo.gps[1]) < 1e-3
                assert image.facts.metadata.make == "Apple" and image.facts.metadata.model == "iPhone 12"
                assert image.facts.metadata.serial == f"DN{abs(int(photo.gps[0] * 1e4)):06d}"
            else:
                assert gps is None and image.facts.metadata.stripped
    countries = {img.facts.metadata.gps.country for shown in images.values() for img in shown
                 if img.facts and img.facts.metadata.gps}
    assert countries == {"NL", "DE"}


def test_planted_photo_links_are_all_found_and_no_other(demo_crawl, catalog):
    plan = photo_plan(catalog)
    truth = {frozenset(listing_id(m, k) for m, k in pair) for pair in planted_pairs(plan)}
    assert len(truth) == 5
    with EmbeddedStore(demo_crawl) as store:
        photos = PhotoCatalog.of(store)
    rows = photos.rows
    assert len(rows) == sum(1 for p in plan for photo in p.photos if not photo.bomb)
    distance = {}
    for a, b in itertools.combinations(rows, 2):
        distance[frozenset((a.listing_id, b.listing_id))] = (
            (int(a.phash, 16) ^ int(b.phash, 16)).bit_count() + (int(a.dhash, 16) ^ int(b.dhash, 16)).bit_count())
    true_distances = sorted(distance[pair] for pair in truth)
    false_distances = sorted(d for pair, d in distance.items() if pair not in truth)
    print(f"same photo: {true_distances}; different photos: closest {false_distances[:5]}")
    assert max(true_distances) <= LINK_MAX_SUM < min(false_distances)
    found = {frozenset((row.listing_id, match.row.listing_id)) for row in rows
             for match in photos.similar(row.phash, row.dhash, LINK_MAX_SUM) if match.row.listing_id != row.listing_id}
    assert found == truth  # recall 1.0 and precision 1.0
    by_listing = {listing_id(p.market, p.key): (p.market, p.vendor) for p in plan}
    vendor_pairs = {frozenset(by_listing[i] for i in pair) for pair in truth}
    links = photos.vendor_links(LINK_MAX_SUM)
    assert {frozenset(((l.photo_a.market, l.photo_a.vendor), (l.photo_b.market, l.photo_b.vendor))) for l in links} \
        == vendor_pairs
    assert all(l.vendor_a < l.vendor_b and l.shared_photos == 1 for l in links)


def test_images_similar_and_links_on_the_command_line(demo_crawl, catalog, tmp_path):
    plan = photo_plan(catalog)
    operator = next(p for p in plan if p.photos[0].photo == "chelsea" and p.photos[0].repost_seed is None)
    doc_id = listing_id(operator.market, operator.key)
    proc = run_cli("images", "similar", doc_id, "--store", str(demo_crawl), "--json")
    assert proc.returncode == 0, proc.stderr
    found = [json.loads(line) for line in proc.stdout.splitlines()]
    others = {(p.market, p.vendor) for p in plan if p.photos[0].photo == "chelsea"} - {(operator.market, operator.vendor)}
    assert {(f["market"], f["vendor"]) for f in found} == others and len(found) == 2
    # a seized parcel's photo: another copy of the same picture, never seen by the crawl
    from interdict.demo.gallery import DemoPhoto

    seized = tmp_path / "parcel.jpg"
    seized.write_bytes(photo_bytes(DemoPhoto("chelsea", repost_seed=12345, mark="seized")))
    proc = run_cli("images", "similar", str(seized), "--store", str(demo_crawl), "--json")
    assert proc.returncode == 0, proc.stderr
    assert {json.loads(line)["vendor"] for line in proc.stdout.splitlines()} == {
        p.vendor for p in plan if p.photos[0].photo == "chelsea"}
    proc = run_cli("images", "links", "--store", str(demo_crawl))
    assert proc.returncode == 0 and len(proc.stdout.splitlines()) == 5, proc.stdout + proc.stderr
    assert "5 pair(s) of vendors linked" in proc.stderr
    missing = run_cli("images", "similar", str(tmp_path / "nothing.jpg"), "--store", str(demo_crawl))
    assert missing.returncode == 2 and "neither a stored listing id nor an image file" in missing.stderr


@pytest.fixture(scope="module")
def blocklisted_crawl(tmp_path_factory, catalog):
    """Sable crawled with a blocklist naming one photo by SHA-256 and another by pHash."""
    from enrichment.images import read_image

    tmp = tmp_path_factory.mktemp("blocklist")
    plan = [p for p in photo_plan(catalog) if p.market == "sable"]
    by_digest, by_phash = plan[0].photos[0], plan[1].photos[0]
    (tmp / "sha256.txt").write_text(f"# test list\n{hashlib.sha256(photo_bytes(by_digest)).hexdigest()}\n")
    (tmp / "phash.txt").write_text(read_image(photo_bytes(by_phash)).phash + "\n")
    env = {"INTERDICT_IMAGES__DIR": str(tmp / "images"), "INTERDICT_IMAGES__FLAGGED_FILE": str(tmp / "flagged.jsonl"),
           "INTERDICT_IMAGES__BLOCKLIST_SHA256": str(tmp / "sha256.txt"),
           "INTERDICT_IMAGES__BLOCKLIST_PHASH": str(tmp / "phash.txt"), "INTERDICT_EVIDENCE__DIR": str(tmp / "evidence")}
    with demo_markets("127.0.0.1", {"sable": 0, "vesper": 0}, catalog.seed, 0) as urls:
        proc = run_cli("crawl", "sable", "--store", str(tmp / "store.db"), f"--base-url=sable={urls['sable']}", env=env)
    return {"proc": proc, "tmp": tmp, "plan": plan, "listed": (by_digest, by_phash), "env": env}


def test_a_blocklisted_image_is_flagged_and_never_stored(blocklisted_crawl):
    proc, tmp, plan = blocklisted_crawl["proc"], blocklisted_crawl["tmp"], blocklisted_crawl["plan"]
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "refused blocklisted 2" in proc.stderr and "too_many_pixels 1" in proc.stderr
    listed = [hashlib.sha256(photo_bytes(p)).hexdigest() for p in blocklisted_crawl["listed"]]
    flags = [json.loads(line) for line in (tmp / "flagged.jsonl").read_text().splitlines()]
    assert sorted(f["sha256"] for f in flags) == sorted(listed)
    assert {f["listing_url"].rsplit("/", 1)[1] for f in flags} == {plan[0].key, plan[1].key}
    assert {f["detail"] for f in flags} == {"SHA-256 on the blocklist", "perceptual hash 0 bit(s) from a listed image"}
    files = ImageFiles(tmp / "images")
    assert not any(digest in files for digest in listed)
    kept = {hashlib.sha256(photo_bytes(p)).hexdigest() for listing in plan[2:] for p in listing.photos if not p.bomb}
    assert all(digest in files for digest in kept) and files.count() == len(kept)
    # the WARC evidence holds the other photos' responses, never the listed ones'
    targets = {record.rec_headers.get_header("WARC-Target-URI"): record for _, _, record, sha, _, _ in
               records(tmp / "evidence") if sha is not None}
    for listing in plan[:2]:  # (the bomb beside one of them is evidence: it is not listed)
        assert not any(f"/img/{listing.key}-1.jpg" in url for url in targets)
    assert any(f"/img/{plan[2].key}-1.jpg" in url for url in targets)
    images = stored_images(tmp / "store.db")
    for listing in plan[:2]:
        image = images[("sable", listing.key)][0]
        assert image.facts is None and image.refused.reason == "blocklisted"
    listed_cli = run_cli("images", "flagged", env=blocklisted_crawl["env"])
    assert listed_cli.returncode == 0 and "2 image(s) flagged" in listed_cli.stderr


def test_a_malformed_blocklist_stops_the_crawl_naming_the_line(tmp_path, catalog):
    bad = tmp_path / "sha256.txt"
    bad.write_text("# agency list\n" + "a" * 64 + "\nnot-a-digest\n")
    proc = run_cli("crawl", "sable", "--store", str(tmp_path / "s.db"), "--base-url=sable=http://127.0.0.1:9",
                   env={"INTERDICT_IMAGES__BLOCKLIST_SHA256": str(bad)})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"error: images: cannot read the blocklist: {bad}:3: not 64 hex digits" in proc.stderr, proc.stderr[-2000:]


def test_photos_in_the_watchlist_digests_for_everyone_gps_only_on_an_analysts_opt_in(demo_crawl, catalog, tmp_path):
    import stix2
    from stix2validator import ValidationOptions, validate_string

    plan = photo_plan(catalog)
    digests = {hashlib.sha256(photo_bytes(p)).hexdigest() for listing in plan for p in listing.photos if not p.bomb}
    proc = run_cli("watchlist", "export", "--all", "--store", str(demo_crawl))
    assert proc.returncode == 0, proc.stderr
    terms = [t for t in json.loads(proc.stdout)["terms"] if t["kind"] == "identifier"]
    assert {t["term"] for t in terms if t["subkind"] == "image-sha256"} == digests
    assert all(t["excluded"] is None for t in terms if t["subkind"] == "image-sha256")
    (camera,) = [t for t in terms if t["subkind"] == "exif-camera"]
    assert camera["term"] == "Apple iPhone 12" and camera["excluded"] and len(camera["vendors"]) == 2
    serials = {t["term"]: t for t in terms if t["subkind"] == "exif-serial"}  # one phone each: strong, in the feed
    assert set(serials) == {"Apple iPhone 12 #DN519225", "Apple iPhone 12 #DN525243"}
    assert all(t["excluded"] is None and len(t["vendors"]) == 1 for t in serials.values())
    assert not [t for t in terms if t["subkind"] == "exif-gps"]  # never without the opt-in
    refused = run_cli("watchlist", "export", "--gps", "--store", str(demo_crawl))
    assert refused.returncode == 2 and "GPS export is opt-in" in refused.stderr
    opted = run_cli("watchlist", "export", "--gps", "--format", "csv", "--store", str(demo_crawl),
                    env={"INTERDICT_IMAGES__EXPORT_GPS": "true"})
    assert opted.returncode == 0, opted.stderr
    assert '"51.92250,4.47917",identifier,exif-gps' in opted.stdout and '"52.52437,13.41053",identifier,exif-gps' in opted.stdout
    # STIX: each photo digest a file-hash indicator, strictly valid; EXIF kinds have no STIX object
    stix = run_cli("watchlist", "export", "--format", "stix", "--out", str(tmp_path / "feed.json"), "--store",
                   str(demo_crawl))
    assert stix.returncode == 0, stix.stderr
    text = (tmp_path / "feed.json").read_text()
    bundle = stix2.parse(text, allow_custom=False)
    patterns = {o.pattern for o in bundle.objects if o.type == "indicator"}
    assert {f"[file:hashes.'SHA-256' = '{d}']" for d in digests} <= patterns
    files = {o.hashes["SHA-256"]: o.id for o in bundle.objects if o.type == "file"}
    assert set(files) == digests
    assert all(files[d] == stix2.File(hashes={"SHA-256": d}).id for d in digests)  # ids as the spec derives them
    assert "iPhone" not in text and "DN519225" not in text
    assert validate_string(text, ValidationOptions(version="2.1")).is_valid
    # MISP: each digest a sha256 attribute MISP takes (its schema, types and categories)
    from test_feeds import _check_misp_event

    misp = run_cli("watchlist", "export", "--format", "misp", "--store", str(demo_crawl))
    assert misp.returncode == 0, misp.stderr
    event = _check_misp_event(json.loads(misp.stdout))
    assert {a.value for a in event.attributes if a.type == "sha256"} == digests
    assert not [a for a in event.attributes if "iPhone" in str(a.value)]


def test_a_clearnet_image_at_a_private_address_is_never_fetched(tmp_path):
    """An image URL on a listing passes the same egress guard as a page: the market may live at
    a private address (allow_private_targets: its own hosts only), a photo it points to at
    another one is refused, and the listing is indexed with the photos that may be fetched."""
    from conftest import FIXTURES
    from servers import RecordingServer

    internal = RecordingServer(host="127.0.0.2")
    listing_html = (FIXTURES / "html" / "sable" / "listing.html").read_text(encoding="utf-8").replace(
        "<img src='/img/34837.jpg' alt=''>",
        f"<div class='gallery'><img src='{internal.url}/photo.jpg'><img src='/img/ok.jpg'></div>")

    class Shop(RecordingServer):
        def respond(self, path, headers):
            html = [("Content-Type", "text/html; charset=utf-8")]
            if path == "/":
                return 200, html, b"<html><head><title>Home | Sable Harbor</title></head><body><ul class='cats'>" \
                                  b"<li><a href='/c/x'>x</a></li></ul></body></html>"
            if path == "/c/x":
                return 200, html, b"<html><head><title>x | Sable Harbor</title></head><body><table class='results'>" \
                                  b"<tr><td><a href='/listing/34837'>item</a></td></tr></table></body></html>"
            if path == "/listing/34837":
                return 200, html, listing_html.encode()
            if path == "/img/ok.jpg":
                return 200, [("Content-Type", "image/jpeg")], photo_bytes(DemoPhoto("coffee"))
            return 404, [], b""

    from interdict.demo.gallery import DemoPhoto

    shop = Shop()
    config = tmp_path / "shop.toml"
    config.write_text(f'[markets.shop]\nprofile = "sable"\ntransport = "clearnet"\nallow_private_targets = true\n'
                      f'images = true\nbase_urls = ["{shop.url}"]\nobey_robots_txt = false\n'
                      f'[crawl]\nstate_dir = "{tmp_path / "state"}"\n')
    try:
        proc = run_cli("--config", str(config), "crawl", "shop", "--store", str(tmp_path / "s.db"),
                       env={"INTERDICT_IMAGES__DIR": str(tmp_path / "images")})
    finally:
        internal.close()
        shop.close()
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert internal.requests == [], "an image at a private address was fetched"
    (images,) = stored_images(tmp_path / "s.db").values()
    assert [i.unavailable for i in images] == ["egress_blocked", None] and images[1].facts is not None
    assert "not fetched egress_blocked 1" in proc.stderr
