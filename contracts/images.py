"""What Interdict knows of one listing image: its content digest, size, perceptual hashes and
the metadata it still carries (EXIF: camera, capture time, GPS, software) — or why it was
refused. Imports nothing of the project."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from contracts.base import CleanStr, Contract

# Why an image is not kept: too many bytes or pixels (a decompression bomb), not an image
# Pillow reads, or on the agency's blocklist (flagged for the operator, never stored or shown).
RefusalReason = Literal["too_large", "too_many_pixels", "not_an_image", "blocklisted"]


class GpsPosition(Contract):
    latitude: float = Field(ge=-90, le=90, allow_inf_nan=False)
    longitude: float = Field(ge=-180, le=180, allow_inf_nan=False)
    country: str | None = None  # ISO 3166-1 alpha-2 of where the point falls, when known


class ImageMetadata(Contract):
    """EXIF as the image carries it; all absent on an image stripped of it."""

    make: CleanStr | None = None  # text the image carries: repaired, control characters gone
    model: CleanStr | None = None
    software: CleanStr | None = None
    serial: CleanStr | None = None  # the camera body's serial number (BodySerialNumber): one camera, whoever posts
    taken_at: datetime | None = None  # DateTimeOriginal (the camera's clock, its zone unknown)
    gps: GpsPosition | None = None

    @property
    def stripped(self) -> bool:
        return not any((self.make, self.model, self.software, self.serial, self.taken_at, self.gps))


class ImageFacts(Contract):
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)  # bytes
    format: str  # JPEG, PNG, WEBP, GIF...
    width: int = Field(ge=1)
    height: int = Field(ge=1)
    phash: str = Field(pattern=r"^[0-9a-f]{16}$")  # 64-bit perceptual hash (DCT), hex
    dhash: str = Field(pattern=r"^[0-9a-f]{16}$")  # 64-bit difference hash, hex
    metadata: ImageMetadata = ImageMetadata()


class ImageRefused(Contract):
    reason: RefusalReason
    detail: CleanStr
    sha256: str | None = None  # of the bytes received, when they were read


class ListingImage(Contract):
    """One image a listing shows, as the crawl found it: read (``facts``), refused by a limit
    or the blocklist (``refused``), or not fetched (``unavailable``: "http_404", "timeout",
    "egress_blocked"...). A blocklisted image's bytes are never stored, archived or shown."""

    url: str  # where the page points; an inline image's "data:" URI cut to its media type
    facts: ImageFacts | None = None
    refused: ImageRefused | None = None
    unavailable: CleanStr | None = None


class ImageRow(Contract):
    """One stored listing photo as the near-duplicate search needs it (Store.listing_images)."""

    listing_id: str
    market: str
    vendor: str
    sha256: str
    phash: str
    dhash: str
