"""Which demo listings show photos, and the ground truth of the links between them.

Photos are scikit-image's sample photographs (interdict.demo.photos): distinct photos that
look alike in the ways product photos do. The plan, drawn from the catalog's seed:
- **operators**: one photo each, posted by one operator under two or three vendor names on
  both markets — the original on one listing, reposts (re-encoded, resized, cropped, now and
  then stamped with the vendor's name) on the others. Every pair of those listings must link.
- **singles**: each remaining photo on one listing of its own vendor: no link may join them.
- EXIF GPS on two originals (Rotterdam, Berlin); reposts are re-encoded without EXIF.
- one listing shows an inline ``data:`` photo (Vesper), one a decompression bomb (Sable: a
  PNG of a few hundred bytes declaring 40,000 × 40,000 pixels) beside its photo.
"""

from __future__ import annotations

import base64
import struct
import threading
import zlib
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

from interdict.demo.catalog import SABLE, VESPER, Catalog, _rng
from interdict.demo.photos import SAMPLE_NAMES

OPERATORS = 3  # photos reused under several names
# (latitude, longitude) written as EXIF GPS into the originals of these photos (by index in the plan)
GPS = {0: (51.9225, 4.47917), 4: (52.52437, 13.41053)}  # Rotterdam (NL), Berlin (DE)
BOMB_SIDE = 40_000


@dataclass(frozen=True)
class DemoPhoto:
    photo: str  # a scikit-image sample name; "" for the bomb
    repost_seed: int | None = None  # None: the original
    mark: str = ""  # the name a repost may be stamped with
    gps: tuple[float, float] | None = None
    inline: bool = False  # shown as a data: URI in the page
    bomb: bool = False


@dataclass(frozen=True)
class PhotoListing:
    market: str
    key: str
    vendor: str
    photos: tuple[DemoPhoto, ...]


def _single_market_vendors(catalog: Catalog, market: str) -> list[str]:
    shown = catalog.markets[market].vendors
    return sorted(name for name, vendor in shown.items() if vendor.markets == (market,))


def photo_plan(catalog: Catalog) -> list[PhotoListing]:
    """The demo's photo listings shown at the catalog's epoch: drawn once per seed (at epoch
    0), so a listing shows the same photos at every epoch it is shown."""
    shown = {(m, l.key) for m in (SABLE, VESPER) for l in catalog.markets[m].listings}
    return [p for p in _plan(catalog.seed) if (p.market, p.key) in shown]


@lru_cache(maxsize=4)
def _plan(seed: int, names: tuple[str, ...] = SAMPLE_NAMES) -> tuple[PhotoListing, ...]:
    catalog = Catalog(seed, 0)
    rng = _rng(catalog.seed, "photos")
    pools = {m: _single_market_vendors(catalog, m) for m in (SABLE, VESPER)}
    for pool in pools.values():
        rng.shuffle(pool)
    first_listing = {(m, l.vendor): l.key for m in (SABLE, VESPER)
                     for l in reversed(catalog.markets[m].listings) if not l.bad_bytes}
    plan: list[PhotoListing] = []

    def add(market: str, photo: DemoPhoto, stamped: bool = False) -> None:
        vendor = pools[market].pop()
        if stamped:
            photo = DemoPhoto(photo.photo, repost_seed=int(rng.random() * 1e9), mark=vendor)
        plan.append(PhotoListing(market, first_listing[(market, vendor)], vendor, (photo,)))

    for index, name in enumerate(names):
        original = DemoPhoto(name, gps=GPS.get(index), inline=index == OPERATORS + 1)
        if index < OPERATORS:
            add(SABLE, original)
            for market in (VESPER, VESPER)[: 2 if index == OPERATORS - 1 else 1]:  # the last: three names
                add(market, original, stamped=True)
        else:
            add(SABLE if index % 2 else VESPER, original)
    bombed = next(p for p in plan if p.market == SABLE and len(p.photos) == 1 and p.photos[0].repost_seed is None
                  and p.photos[0].gps is None)
    plan[plan.index(bombed)] = PhotoListing(bombed.market, bombed.key, bombed.vendor,
                                            bombed.photos + (DemoPhoto("", bomb=True),))
    return tuple(plan)


def planted_pairs(plan: list[PhotoListing] | tuple[PhotoListing, ...]) -> set[frozenset[tuple[str, str]]]:
    """Pairs of (market, listing key) that show the same photo: what linking must find."""
    by_photo: dict[str, list[tuple[str, str]]] = {}
    for listing in plan:
        for photo in listing.photos:
            if photo.photo:
                by_photo.setdefault(photo.photo, []).append((listing.market, listing.key))
    return {frozenset(pair) for shown in by_photo.values() for pair in combinations(shown, 2)}


_loading = threading.Lock()


@lru_cache(maxsize=1)
def _originals():
    from interdict.demo.photos import sample_photos

    with _loading:
        return sample_photos()


@lru_cache(maxsize=256)
def photo_bytes(photo: DemoPhoto) -> bytes:
    """The image file of a planned photo (JPEG; the bomb a PNG)."""
    if photo.bomb:
        return bomb_png(BOMB_SIDE)
    from interdict.demo.photos import jpeg, repost

    image = _originals()[photo.photo]
    if photo.repost_seed is not None:
        return repost(image, photo.repost_seed, photo.mark).data
    if photo.inline:
        image = image.resize((image.width // 2, image.height // 2))
    return jpeg(image, 90, exif=_gps_exif(*photo.gps) if photo.gps else None)


def data_uri(photo: DemoPhoto) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(photo_bytes(photo)).decode("ascii")


def _gps_exif(latitude: float, longitude: float):
    from PIL import Image

    def dms(value: float) -> tuple[float, float, float]:
        value = abs(value)
        degrees, minutes = int(value), int(value * 60) % 60
        return float(degrees), float(minutes), round((value * 3600) % 60, 2)

    exif = Image.Exif()
    exif[271], exif[272], exif[305] = "Apple", "iPhone 12", "16.1.2"
    exif.get_ifd(0x8769)[36867] = "2026:10:02 17:41:09"
    exif.get_ifd(0x8769)[0xA431] = f"DN{abs(int(latitude * 1e4)):06d}"  # the phone's serial: one per original
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2] = ("N" if latitude >= 0 else "S"), dms(latitude)
    gps[3], gps[4] = ("E" if longitude >= 0 else "W"), dms(longitude)
    return exif


def bomb_png(side: int) -> bytes:
    """A valid PNG header declaring side × side pixels, with a few bytes of data: what a
    decompression bomb looks like before it is decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    rows = zlib.compress(b"\0" * (side + 1) * 4, 9)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")



@lru_cache(maxsize=8)
def chrome_png(width: int, height: int) -> bytes:
    """A site's logo or badge: a small flat PNG."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (40, 60, 90)).save(out, "PNG")
    return out.getvalue()
