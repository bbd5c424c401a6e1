"""Listings and vendors joined by a shared photo: every stored listing photo's hashes
(Store.listing_photos) in one near-duplicate index (index.image_hashes.PhotoIndex), asked for
the photos within a pHash + dHash distance (config images.link_max_sum, measured in
docs/images.md). Vendors — on any market, under any name — whose listings show one photo are
linked, with the pair of photos and their distance as the evidence."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from contracts.documents import vendor_id
from contracts.images import ImageRow
from index.image_hashes import PhotoIndex


@dataclass(frozen=True)
class PhotoMatch:
    row: ImageRow
    phash_distance: int
    dhash_distance: int
    vendor_id: str  # the vendor document of the row's listing

    @property
    def distance(self) -> int:
        return self.phash_distance + self.dhash_distance


@dataclass(frozen=True)
class VendorPhotoLink:
    """Two vendors whose listings show the same photo: the closest pair as evidence."""

    vendor_a: str  # vendor document ids, a < b
    vendor_b: str
    photo_a: ImageRow  # shown by vendor_a
    photo_b: ImageRow
    phash_distance: int
    dhash_distance: int
    shared_photos: int  # how many of vendor_a's photos have a near-duplicate among vendor_b's

    @property
    def distance(self) -> int:
        return self.phash_distance + self.dhash_distance


def vendor_of(row: ImageRow) -> str:
    return vendor_id(row.market, row.vendor)


class PhotoCatalog:
    def __init__(self, rows: Iterable[ImageRow]):
        self.rows = list(rows)
        self._by_listing: dict[str, list[int]] = {}
        self._by_vendor: dict[str, list[int]] = {}
        self._vendors = [vendor_of(row) for row in self.rows]  # a digest each: computed once, not per match
        for i, row in enumerate(self.rows):
            self._by_listing.setdefault(row.listing_id, []).append(i)
            self._by_vendor.setdefault(self._vendors[i], []).append(i)
        self.index = PhotoIndex(np.array([int(r.phash, 16) for r in self.rows], dtype=np.uint64),
                                np.array([int(r.dhash, 16) for r in self.rows], dtype=np.uint64))

    @classmethod
    def of(cls, store) -> "PhotoCatalog":
        return cls(store.listing_photos())

    def __len__(self) -> int:
        return len(self.rows)

    def similar(self, phash: str, dhash: str, max_sum: int) -> list[PhotoMatch]:
        """Stored photos within ``max_sum`` of these hashes, nearest first."""
        found, _ = self.index.near(int(phash, 16), int(dhash, 16), max_sum)
        matches = [self._match(int(i), phash, dhash) for i in found]
        return sorted(matches, key=lambda m: (m.distance, m.row.listing_id, m.row.sha256))

    def _match(self, i: int, phash: str, dhash: str) -> PhotoMatch:
        row = self.rows[i]
        return PhotoMatch(row, (int(row.phash, 16) ^ int(phash, 16)).bit_count(),
                          (int(row.dhash, 16) ^ int(dhash, 16)).bit_count(), self._vendors[i])

    def of_listing(self, listing_id: str) -> list[ImageRow]:
        return [self.rows[i] for i in self._by_listing.get(listing_id, ())]

    def of_vendor(self, vendor_doc_id: str) -> list[ImageRow]:
        return [self.rows[i] for i in self._by_vendor.get(vendor_doc_id, ())]

    def elsewhere(self, rows: Iterable[ImageRow], max_sum: int) -> list[tuple[ImageRow, PhotoMatch]]:
        """For each of these photos, the other listings' near-duplicates (a listing's own
        photos and the very rows asked about left out)."""
        asked = {(r.listing_id, r.sha256) for r in rows}
        listings = {r.listing_id for r in rows}
        out = []
        for row in {(r.listing_id, r.sha256): r for r in rows}.values():
            for match in self.similar(row.phash, row.dhash, max_sum):
                if (match.row.listing_id, match.row.sha256) not in asked and match.row.listing_id not in listings:
                    out.append((row, match))
        return sorted(out, key=lambda pair: (pair[1].distance, pair[1].row.listing_id))

    def vendor_links(self, max_sum: int, vendor: str | None = None) -> list[VendorPhotoLink]:
        """Pairs of distinct vendors sharing a photo (all of them, or ``vendor``'s), closest first."""
        best: dict[tuple[str, str], VendorPhotoLink] = {}
        shared: dict[tuple[str, str], set[str]] = {}
        queried: set[tuple[str, str]] = set()
        for i in range(len(self.rows)) if vendor is None else self._by_vendor.get(vendor, ()):
            row, own = self.rows[i], self._vendors[i]
            if (own, row.sha256) in queried:
                continue
            queried.add((own, row.sha256))
            for match in self.similar(row.phash, row.dhash, max_sum):
                other = match.vendor_id
                if other == own:
                    continue
                a, b = sorted((own, other))
                pa, pb = (row, match.row) if a == own else (match.row, row)
                shared.setdefault((a, b), set()).add(pa.sha256)
                link = VendorPhotoLink(a, b, pa, pb, match.phash_distance, match.dhash_distance, 0)
                current = best.get((a, b))
                if current is None or link.distance < current.distance:
                    best[(a, b)] = link
        links = [VendorPhotoLink(**{**link.__dict__, "shared_photos": len(shared[key])}) for key, link in best.items()]
        return sorted(links, key=lambda l: (l.distance, l.vendor_a, l.vendor_b))
