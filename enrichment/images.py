"""Reading one listing image safely: limits first, then the facts (content digest, size,
perceptual hashes, EXIF).

Market images are untrusted bytes and can be illegal content. Nothing here stores anything:
the caller keeps what `read_image` returns, and only then the bytes. Order matters:
1. the byte count and the SHA-256 blocklist, before the bytes are parsed at all;
2. the pixel count from the header (Pillow opens lazily), before any pixel is decoded — a
   decompression bomb (a few KB declaring 50,000 × 50,000 pixels) is refused unread;
3. the decoded image's perceptual hashes against the perceptual blocklist;
4. EXIF: camera make and model, software, capture time, GPS position and its country.

Perceptual hashes are 64-bit pHash (DCT of a 32×32 grey image) and dHash (gradients of a
9×8 one) from the `imagehash` library, as 16 hex digits; near-identical photos (re-encoded,
resized, lightly cropped or watermarked) are a few bits apart.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from functools import lru_cache

from contracts.images import GpsPosition, ImageFacts, ImageMetadata, ImageRefused

# Two images are the same photo when their pHash and dHash distances add up to at most
# LINK_MAX_SUM (index.image_hashes.PhotoIndex finds them exactly). Measured on scikit-image's
# sample photographs, 26 versions of each reposted within interdict.demo.photos' ranges (crop
# ≤ 3 % a side, scale 0.45–1, JPEG quality 35–90, a stamped name on half): same photo sum ≤ 28
# (pHash alone up to 22), different photos sum ≥ 34 (pHash alone down to 16; the closest are
# dark pictures with bright specks): the sum separates where one hash does not.
LINK_MAX_SUM = 31
NEAREST_PLACE_KM = 100.0
_DATA_URI = re.compile(r"data:(image/[\w.+-]+)?(;[\w-]+=[\w.+-]+)*(;base64)?,", re.I)
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_MAKE, _MODEL, _SOFTWARE, _DATETIME_ORIGINAL, _BODY_SERIAL = 271, 272, 305, 36867, 0xA431


class Refused(Exception):
    """An image not kept, with why (contracts.images.ImageRefused)."""

    def __init__(self, refusal: ImageRefused):
        super().__init__(f"{refusal.reason}: {refusal.detail}")
        self.refusal = refusal


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 8_000_000
    max_pixels: int = 40_000_000  # width × height; Pillow's own bomb limit is 89.5 M


@dataclass
class Blocklist:
    """An agency's list of images never to store: SHA-256 digests, and perceptual hashes
    matched within ``radius`` bits (re-encoded copies of a listed image)."""

    sha256: set[str] = field(default_factory=set)
    phashes: list[int] = field(default_factory=list)
    radius: int = 6

    @classmethod
    def from_files(cls, sha256_file: str = "", phash_file: str = "", radius: int = 6) -> "Blocklist":
        """The agency's lists: one SHA-256 (64 hex) or pHash (16 hex) per line, "#" comments
        and blank lines ignored. A malformed line is an error naming the file and line: a
        blocklist half read would let listed images through."""
        digests = {value for value in _entries(sha256_file, 64)}
        return cls(sha256=digests, phashes=[int(value, 16) for value in _entries(phash_file, 16)], radius=radius)

    @classmethod
    def current(cls, sha256_file: str = "", phash_file: str = "", radius: int = 6) -> "Blocklist":
        """The lists as the files hold them now, read again only when a file changed (the web
        app screens every uploaded photo: an agency list of millions is not read per upload)."""
        return _read_lists(sha256_file, phash_file, radius, _stamp(sha256_file), _stamp(phash_file))

    def __bool__(self) -> bool:
        return bool(self.sha256 or self.phashes)

    def digest_listed(self, digest: str) -> bool:
        return digest in self.sha256

    def near_listed(self, phash: int) -> int | None:
        """The distance to the nearest listed perceptual hash within the radius, else None."""
        best = min(((phash ^ listed).bit_count() for listed in self.phashes), default=None)
        return best if best is not None and best <= self.radius else None


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        found = os.stat(path) if path else None
    except OSError:
        return None  # from_files then names the problem
    return (found.st_mtime_ns, found.st_size) if found else None


@lru_cache(maxsize=4)
def _read_lists(sha256_file: str, phash_file: str, radius: int, *stamps) -> Blocklist:
    return Blocklist.from_files(sha256_file, phash_file, radius)


def _entries(path: str, digits: int) -> list[str]:
    if not path:
        return []
    values = []
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            value = line.split("#", 1)[0].strip().lower()
            if not value:
                continue
            if not re.fullmatch(f"[0-9a-f]{{{digits}}}", value):
                raise ValueError(f"{path}:{number}: not {digits} hex digits: {value[:80]!r}")
            values.append(value)
    return values


def decode_data_uri(uri: str, limits: ImageLimits) -> bytes:
    """The bytes of an inline `data:image/...;base64,` image (markets embed many)."""
    head = _DATA_URI.match(uri)
    if head is None or not (head.group(1) or "").lower().startswith("image/"):
        raise Refused(ImageRefused(reason="not_an_image", detail=f"not an inline image: {uri[:40]!r}"))
    body = uri[head.end():]
    if len(body) > limits.max_bytes * 4 // 3 + 4:
        raise Refused(ImageRefused(reason="too_large", detail=f"inline image over {limits.max_bytes} bytes"))
    if not head.group(3):
        from urllib.parse import unquote_to_bytes

        return unquote_to_bytes(body)
    try:
        return base64.b64decode(re.sub(r"\s+", "", body), validate=True)
    except (binascii.Error, ValueError):
        raise Refused(ImageRefused(reason="not_an_image", detail="inline image: not valid base64")) from None


def read_image(data: bytes, limits: ImageLimits = ImageLimits(), blocklist: Blocklist | None = None) -> ImageFacts:
    """The facts of one image, or Refused (never a Pillow exception, never a decoded bomb)."""
    from PIL import Image

    digest = hashlib.sha256(data).hexdigest()
    if len(data) > limits.max_bytes:
        raise Refused(ImageRefused(reason="too_large", detail=f"{len(data)} bytes > {limits.max_bytes}",
                                   sha256=digest))
    if blocklist is not None and blocklist.digest_listed(digest):
        raise Refused(ImageRefused(reason="blocklisted", detail="SHA-256 on the blocklist", sha256=digest))
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # Pillow's own limit refuses too
        try:
            image = Image.open(io.BytesIO(data))  # reads the header only
            width, height = image.size
            if width * height > limits.max_pixels:
                raise Refused(ImageRefused(reason="too_many_pixels", sha256=digest,
                                           detail=f"{width}×{height} pixels > {limits.max_pixels}"))
            image.load()
        except Refused:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise Refused(ImageRefused(reason="too_many_pixels", detail=str(exc)[:200], sha256=digest)) from None
        except Exception as exc:  # noqa: BLE001 - whatever Pillow makes of hostile bytes
            raise Refused(ImageRefused(reason="not_an_image", detail=f"{type(exc).__name__}: {str(exc)[:160]}",
                                       sha256=digest)) from None
    phash, dhash = perceptual_hashes(image)
    if blocklist is not None and (distance := blocklist.near_listed(phash)) is not None:
        raise Refused(ImageRefused(reason="blocklisted", sha256=digest,
                                   detail=f"perceptual hash {distance} bit(s) from a listed image"))
    return ImageFacts(sha256=digest, size=len(data), format=image.format or "unknown", width=width, height=height,
                      phash=f"{phash:016x}", dhash=f"{dhash:016x}", metadata=read_metadata(image))


def distances(a: ImageFacts, b: ImageFacts) -> tuple[int, int]:
    """(pHash, dHash) Hamming distances of two images."""
    return ((int(a.phash, 16) ^ int(b.phash, 16)).bit_count(), (int(a.dhash, 16) ^ int(b.dhash, 16)).bit_count())


def same_photo(a: ImageFacts, b: ImageFacts) -> bool:
    return sum(distances(a, b)) <= LINK_MAX_SUM


def perceptual_hashes(image) -> tuple[int, int]:
    """64-bit pHash and dHash of a decoded image, as integers."""
    import imagehash

    if image.mode in ("P", "PA", "LA", "RGBA"):  # through RGBA: a palette's transparency kept apart
        image = image.convert("RGBA")
    rgb = image.convert("RGB") if image.mode not in ("RGB", "L") else image
    return (int(str(imagehash.phash(rgb, hash_size=8)), 16), int(str(imagehash.dhash(rgb, hash_size=8)), 16))


def read_metadata(image) -> ImageMetadata:
    """EXIF camera (and its body serial number), software, capture time and GPS position; an
    image without them is stripped."""
    try:
        exif = image.getexif()
    except Exception:  # noqa: BLE001 - a broken EXIF block is no EXIF
        return ImageMetadata()
    found: dict = {"make": _text(exif.get(_MAKE)), "model": _text(exif.get(_MODEL)),
                   "software": _text(exif.get(_SOFTWARE))}
    try:
        details = exif.get_ifd(_EXIF_IFD)
        found["taken_at"] = _moment(details.get(_DATETIME_ORIGINAL))
        found["serial"] = _text(details.get(_BODY_SERIAL))
        found["gps"] = _position(exif.get_ifd(_GPS_IFD))
    except Exception:  # noqa: BLE001 - malformed sub-IFDs: what was read stands
        pass
    return ImageMetadata(**{k: v for k, v in found.items() if v is not None})


def _text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    value = value.strip("\x00 ").strip()
    return value[:200] or None


def _moment(value) -> datetime | None:
    text = _text(value)
    if not text:
        return None
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _degrees(parts, ref) -> float | None:
    try:
        degrees, minutes, seconds = (Fraction(str(float(p))) for p in parts)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = float(degrees + minutes / 60 + seconds / 3600)
    return -value if _text(ref) in ("S", "W") else value


def _position(gps) -> GpsPosition | None:
    # GPSLatitudeRef 1, GPSLatitude 2, GPSLongitudeRef 3, GPSLongitude 4
    if not gps or 2 not in gps or 4 not in gps:
        return None
    latitude, longitude = _degrees(gps[2], gps.get(1)), _degrees(gps[4], gps.get(3))
    if latitude is None or longitude is None or not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    if latitude == 0 and longitude == 0:  # a zeroed GPS block, not a photo taken in the Gulf of Guinea
        return None
    return GpsPosition(latitude=round(latitude, 6), longitude=round(longitude, 6), country=country_at(latitude, longitude))


@lru_cache(maxsize=1)
def _places():
    import reverse_geocoder

    return reverse_geocoder.RGeocoder(mode=1, verbose=False)  # one process; 0.8 s to load, once


def country_at(latitude: float, longitude: float) -> str | None:
    """The country of the nearest place of 1,000 people or more (GeoNames), when one is within
    NEAREST_PLACE_KM: near a border it can name the neighbour; at sea, nothing."""
    place = _places().query([(latitude, longitude)])[0]
    lat2, lon2 = math.radians(float(place["lat"])), math.radians(float(place["lon"]))
    lat1, lon1 = math.radians(latitude), math.radians(longitude)
    # haversine, on a 6,371 km sphere
    km = 2 * 6371 * math.asin(math.sqrt(math.sin((lat2 - lat1) / 2) ** 2
                                        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2))
    return place["cc"] if km <= NEAREST_PLACE_KM and len(place.get("cc", "")) == 2 else None
