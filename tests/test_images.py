"""Reading listing images safely (enrichment/images.py): limits before parsing, decompression
bombs refused unread, the blocklist (SHA-256 and perceptual) before anything is kept, EXIF
(camera, software, capture time, GPS), perceptual hashes robust to re-encoding and resizing;
and the near-duplicate index (index/image_hashes.py), exact against a full scan."""

from __future__ import annotations

import base64
import hashlib
import io
import struct
import time
import zlib
from datetime import datetime

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from enrichment.images import Blocklist, ImageLimits, Refused, decode_data_uri, read_image
from index.image_hashes import HashIndex


def photo(seed: int, size=(640, 480)) -> Image.Image:
    """A photo-like picture: smooth random colour fields with a few shapes (distinct per seed)."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    image = Image.fromarray(small, "RGB").resize(size, Image.BICUBIC)
    draw = ImageDraw.Draw(image)
    for _ in range(4):
        x, y = int(rng.integers(0, size[0] - 120)), int(rng.integers(0, size[1] - 120))
        draw.ellipse((x, y, x + int(rng.integers(40, 120)), y + int(rng.integers(40, 120))),
                     fill=tuple(int(c) for c in rng.integers(0, 256, 3)))
    return image.filter(ImageFilter.GaussianBlur(2))


def encoded(image: Image.Image, fmt="JPEG", **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def with_exif(image: Image.Image, make="Canon", gps=((48.0, 51.0, 23.76), "N", (2.0, 21.0, 7.92), "E")) -> bytes:
    exif = Image.Exif()
    exif[271], exif[272], exif[305] = make, "EOS 80D", "GIMP 2.10.34"
    exif.get_ifd(0x8769)[36867] = "2026:03:14 09:26:53"
    exif.get_ifd(0x8769)[0xA431] = "032021001234"  # BodySerialNumber
    if gps:
        ifd = exif.get_ifd(0x8825)
        ifd[2], ifd[1], ifd[4], ifd[3] = gps
    return encoded(image, exif=exif, quality=92)


def distance(a: str, b: str) -> int:
    return (int(a, 16) ^ int(b, 16)).bit_count()


def test_the_facts_of_a_photo_with_its_exif():
    data = with_exif(photo(1))
    facts = read_image(data)
    assert facts.sha256 == hashlib.sha256(data).hexdigest() and facts.size == len(data)
    assert (facts.format, facts.width, facts.height) == ("JPEG", 640, 480)
    meta = facts.metadata
    assert (meta.make, meta.model, meta.software) == ("Canon", "EOS 80D", "GIMP 2.10.34")
    assert meta.taken_at == datetime(2026, 3, 14, 9, 26, 53) and meta.serial == "032021001234"
    assert meta.gps is not None and round(meta.gps.latitude, 4) == 48.8566 and round(meta.gps.longitude, 4) == 2.3522
    assert meta.gps.country == "FR"
    assert not meta.stripped
    west = read_image(with_exif(photo(1), gps=((33.0, 52.0, 4.0), "S", (151.0, 12.0, 26.0), "W"))).metadata.gps
    assert west.latitude < 0 and west.longitude < 0 and west.country is None  # the South Pacific
    sydney = read_image(with_exif(photo(1), gps=((33.0, 52.0, 4.0), "S", (151.0, 12.0, 26.0), "E"))).metadata.gps
    assert sydney.country == "AU"
    stripped = read_image(encoded(photo(1))).metadata
    assert stripped.stripped and stripped.gps is None
    hostile = read_image(with_exif(photo(1), make="Can\x1b[31mon\x00", gps=None)).metadata
    assert hostile.make == "Can [31mon" and hostile.gps is None  # control characters do not survive


def test_perceptual_hashes_survive_re_encoding_and_resizing_and_tell_photos_apart():
    original = photo(7)
    facts = read_image(encoded(original, quality=95))
    variants = {
        "re-encoded at quality 40": encoded(original, quality=40),
        "half size": encoded(original.resize((320, 240), Image.LANCZOS)),
        "PNG": encoded(original, "PNG"),
        "WEBP": encoded(original, "WEBP", quality=70),
    }
    for name, data in variants.items():
        other = read_image(data)
        assert other.sha256 != facts.sha256
        assert distance(other.phash, facts.phash) <= 6, name
        assert distance(other.dhash, facts.dhash) <= 8, name
    strangers = [read_image(encoded(photo(seed))) for seed in range(20, 40)]
    assert min(distance(s.phash, facts.phash) for s in strangers) >= 14


def _bomb_png(width: int, height: int) -> bytes:
    """A PNG declaring width × height one-bit pixels, all zero: a few hundred KB on disk."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + (width + 7) // 8)
    body = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", body) + chunk(b"IEND", b""))


def test_a_decompression_bomb_is_refused_without_being_decoded():
    bomb = _bomb_png(40_000, 40_000)  # 1.6 G pixels
    assert len(bomb) < 1_000_000
    started = time.perf_counter()
    with pytest.raises(Refused) as refused:
        read_image(bomb)
    detail = refused.value.refusal.detail  # Pillow's own bomb check speaks first at this size
    assert refused.value.refusal.reason == "too_many_pixels" and ("40000×40000" in detail or "1600000000" in detail)
    assert time.perf_counter() - started < 5  # the header was read, not the pixels
    # under Pillow's own limit but over ours
    with pytest.raises(Refused) as over_ours:
        read_image(_bomb_png(8000, 6000), ImageLimits(max_pixels=20_000_000))
    assert over_ours.value.refusal.reason == "too_many_pixels" and "8000×6000" in over_ours.value.refusal.detail


def test_what_is_not_an_image_or_too_large_is_refused_by_name():
    good = encoded(photo(3))
    cases = {b"<html>not an image</html>": "not_an_image", good[: len(good) // 2]: "not_an_image",
             b"": "not_an_image"}
    for data, reason in cases.items():
        with pytest.raises(Refused) as refused:
            read_image(data)
        assert refused.value.refusal.reason == reason
    with pytest.raises(Refused) as large:
        read_image(good, ImageLimits(max_bytes=len(good) - 1))
    assert large.value.refusal.reason == "too_large" and large.value.refusal.sha256


def test_the_blocklist_is_checked_before_anything_is_kept():
    listed = photo(11)
    original = encoded(listed, quality=90)
    blocklist = Blocklist(sha256={hashlib.sha256(original).hexdigest()},
                          phashes=[int(read_image(original).phash, 16)], radius=6)
    with pytest.raises(Refused) as exact:
        read_image(original, blocklist=blocklist)
    assert exact.value.refusal.reason == "blocklisted" and "SHA-256" in exact.value.refusal.detail
    with pytest.raises(Refused) as near:  # a re-encoded, resized copy of the listed image
        read_image(encoded(listed.resize((480, 360)), quality=50), blocklist=blocklist)
    assert near.value.refusal.reason == "blocklisted" and "perceptual" in near.value.refusal.detail
    assert read_image(encoded(photo(12)), blocklist=blocklist).sha256  # another photo passes


def test_inline_data_images():
    data = encoded(photo(5), "PNG")
    uri = "data:image/png;base64," + base64.b64encode(data).decode()
    assert decode_data_uri(uri, ImageLimits()) == data
    assert read_image(decode_data_uri(uri, ImageLimits())).format == "PNG"
    for bad in ("data:text/html;base64,PGI+", "data:image/png;base64,***", "javascript:alert(1)"):
        with pytest.raises(Refused):
            decode_data_uri(bad, ImageLimits())
    with pytest.raises(Refused) as large:
        decode_data_uri(uri, ImageLimits(max_bytes=100))
    assert large.value.refusal.reason == "too_large"


def test_the_hash_index_finds_exactly_what_a_full_scan_finds():
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 2**63, size=50_000, dtype=np.uint64) * np.uint64(2)
    index = HashIndex(hashes)
    for radius in (0, 3, 6, 10, 12):
        for position in rng.choice(len(hashes), size=40, replace=False):
            flips = rng.choice(64, size=int(rng.integers(0, radius + 1)), replace=False)
            query = int(hashes[position]) ^ sum(1 << int(b) for b in flips)
            positions, distances = index.near(query, radius)
            expected, expected_distances = index.scan(query, radius)
            assert set(positions.tolist()) == set(expected.tolist()) and int(position) in positions.tolist()
            assert sorted(distances.tolist()) == sorted(expected_distances.tolist()) == distances.tolist()
    empty = HashIndex([])
    assert len(empty) == 0 and empty.near(5, 10)[0].size == 0
    from index.image_hashes import PhotoIndex

    others = rng.integers(0, 2**63, size=len(hashes), dtype=np.uint64) * np.uint64(2)
    photos = PhotoIndex(hashes, others)
    for position in rng.choice(len(hashes), size=40, replace=False):
        flips = rng.choice(128, size=int(rng.integers(0, 32)), replace=False)
        phash = int(hashes[position]) ^ sum(1 << int(b) for b in flips if b < 64)
        dhash = int(others[position]) ^ sum(1 << int(b - 64) for b in flips if b >= 64)
        found, sums = photos.near(phash, dhash, 31)
        expected, _ = photos.scan(phash, dhash, 31)
        assert set(found.tolist()) == set(expected.tolist()) and int(position) in found.tolist()
        assert sums.tolist() == sorted(sums.tolist())


def test_reposted_photos_are_linked_and_different_photos_never(tmp_path):
    """The demo's photo set: scikit-image's bundled photographs, each with six reposts
    (cropped, resized, re-encoded, half of them stamped with a vendor name). Every pair of
    versions of one photo is linked (recall 1.0), no two different photos are (precision 1.0),
    found through the photo index."""
    import itertools

    from enrichment.images import LINK_MAX_SUM, distances, same_photo
    from index.image_hashes import PhotoIndex
    from interdict.demo.photos import jpeg, repost, sample_photos

    photos = sample_photos()
    assert len(photos) >= 15
    versions = [(name, read_image(data)) for name, image in photos.items()
                for data in [jpeg(image)] + [repost(image, seed=101 * n + 7, mark="DutchKings").data for n in range(6)]]
    index = PhotoIndex([int(f.phash, 16) for _, f in versions], [int(f.dhash, 16) for _, f in versions])
    linked = set()
    for position, (_, facts) in enumerate(versions):
        found, _ = index.near(int(facts.phash, 16), int(facts.dhash, 16), LINK_MAX_SUM)
        assert set(found.tolist()) == set(index.scan(int(facts.phash, 16), int(facts.dhash, 16), LINK_MAX_SUM)[0])
        for other in found.tolist():
            if other != position:
                assert same_photo(facts, versions[other][1])
                linked.add(frozenset((position, other)))
    truth = {frozenset((i, j)) for i, j in itertools.combinations(range(len(versions)), 2)
             if versions[i][0] == versions[j][0]}
    missed, wrong = truth - linked, linked - truth
    assert not missed and not wrong, (len(missed), len(wrong))
    same = [sum(distances(versions[i][1], versions[j][1])) for i, j in map(tuple, truth)]
    different = [sum(distances(versions[i][1], versions[j][1]))
                 for i, j in itertools.combinations(range(len(versions)), 2) if versions[i][0] != versions[j][0]]
    assert max(same) < LINK_MAX_SUM < min(different)  # measured here: 21 and 34


def test_the_inline_images_of_real_listing_pages_are_read():
    """Real markets embed images as data: URIs (a product photo on Nucleus, icons on Nexus and
    Bohemia, some declared as the non-standard image/jpg): each is read or refused by name."""
    import re
    import warnings

    from conftest import SHARED_DATA

    pages = SHARED_DATA / "listing-pages"
    if not pages.exists():
        pytest.skip("../shared/data is absent")
    read, sizes = 0, []
    for page in sorted(pages.glob("*/*.html")):
        for uri in re.findall(r'src="(data:[^"]+)"', page.read_text(errors="replace")):
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # no Pillow warning left to the logs
                try:
                    facts = read_image(decode_data_uri(uri, ImageLimits()))
                except Refused as refused:
                    assert refused.refusal.reason in ("not_an_image", "too_large", "too_many_pixels")
                    continue
            read += 1
            sizes.append((page.parent.name, facts.format, facts.width, facts.height))
    assert read >= 5 and ("nucleus", "JPEG", 430, 300) in sizes


# The photos each real listing page shows, told from its chrome by hand (from the page's
# layout): what the generic reading's gallery must keep — and nothing else.
REAL_GALLERIES = {
    "agora/listing-0.html": ["/liabilities/p/jecJSNUC0a.jpg"],
    # the 200 px photo; its 42 px thumbnail and 26 category arrows and the logo are chrome
    "alphabay/listing-0.html": ["images/uploads/2015/06/11/2f8196df6faa63d15e72788b0620a84b_200_200.jpg"],
    # two product photos (the third link repeats one); not the logo, the vendor's avatar or the button icons
    "bohemia/product-listing.html": ["product-listing_files/image_002.jpg", "product-listing_files/image.png"],
    "evolution/listing-0.html": ["http://k5zq47j6wd3wdvjq.onion/static/image/363/rVPLWIrFGuhUBWbk9lMmxUwgVcRIH5aQ/0/large.jpg"],
    "nexus/nexus1.html": [],  # icons and the market's avatar only
    "nucleus/listing-0.html": ["data:image/jpg;base64,"],
    "wethenorth/00cd9778db84b447adf998998c795bc4.html": ["products/827439.jpg"],
    "darkdock/0day-0fcMJO6vq5zBPUAKIPI6x0YoRaBfrzGH.html": ["/image.php?product=0fcMJO6vq5zBPUAKIPI6x0YoRaBfrzGH&image=1"],
}


def test_the_gallery_of_real_listing_pages_is_told_from_their_chrome():
    """crawlers/extract/gallery.py on eight real markets' listing pages (markets no page
    object reads go through it): every product photo kept, no logo, icon, arrow or avatar."""
    from urllib.parse import urljoin

    from conftest import SHARED_DATA
    from crawlers.extract.dom import Page
    from crawlers.extract.gallery import gallery_images

    pages = SHARED_DATA / "listing-pages"
    if not pages.exists():
        pytest.skip("../shared/data is absent")
    base = "http://market.onion/listing/1"
    for name, expected in REAL_GALLERIES.items():
        found = gallery_images(Page((pages / name).read_text(encoding="utf-8", errors="replace"), base))
        assert len(found) == len(expected), (name, found)
        for url, want in zip(found, expected):
            assert url.startswith(want) if want.startswith("data:") else url == urljoin(base, want), (name, url)


def test_gallery_rules_on_chrome_that_names_itself_by_size_or_place():
    from crawlers.extract.dom import Page
    from crawlers.extract.gallery import gallery_images, inline_side

    png = base64.b64encode(encoded(Image.new("RGB", (20, 20), (9, 9, 9)), "PNG")).decode()
    big = base64.b64encode(encoded(photo(4, (300, 200)), "JPEG")).decode()
    assert inline_side(f"data:image/png;base64,{png}") == 20 and inline_side(f"data:image/jpeg;base64,{big}") == 200
    html = (f"<html><body><header><img src='/a/shop.png'></header><nav><img src='/b.jpg'></nav>"
            f"<div class='main'><h1>Item</h1><img src='/p/1.jpg'><img src='/p/2.jpg' width='16' height='16'>"
            f"<img src='/p/3.jpg' class='w-6 h-6'><img src='data:image/png;base64,{png}'>"
            f"<img src='data:image/jpeg;base64,{big}'><img src='/img/star.gif'><img src='/p/1.jpg'>"
            f"<div class='seller-avatar'><img src='/u/5.jpg'></div><div class='product-photos'><img src='/p/4.jpg'>"
            f"</div></div><footer><img src='/p/5.jpg'></footer></body></html>")
    found = gallery_images(Page(html, "http://m.onion/item/1"))
    assert found == ["http://m.onion/p/1.jpg", f"data:image/jpeg;base64,{big}", "http://m.onion/p/4.jpg"]


def test_the_current_blocklist_is_read_again_only_when_its_file_changes(tmp_path):
    listed = tmp_path / "sha256.txt"
    listed.write_text("a" * 64 + "\n")
    first = Blocklist.current(str(listed))
    assert first.digest_listed("a" * 64) and Blocklist.current(str(listed)) is first  # not read again
    listed.write_text("a" * 64 + "\n" + "b" * 64 + "\n")
    assert Blocklist.current(str(listed)).digest_listed("b" * 64)
