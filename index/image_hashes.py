"""Near-duplicate lookup among 64-bit perceptual hashes: every hash within a Hamming radius of
a query, exactly, without comparing it with them all.

Multi-index hashing (Norouzi, Punjani and Fleet, 2012): each hash is cut into four
16-bit pieces and every piece indexed by value. Two hashes at most ``radius`` bits apart
differ in at most ``radius // 4`` bits in at least one piece (pigeonhole), so probing,
in each piece's index, the values within that many bits of the query's piece finds every
candidate; the candidates' true distances (a popcount each) keep those within the radius.
With 4 pieces and radius 10 that is 4 × 137 probes, about 8,000 candidates in a million
uniformly spread hashes (photos' hashes are not uniform: more, in the crowded buckets).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from itertools import combinations

import numpy as np

PIECE_BITS = 16
PIECES = 64 // PIECE_BITS


@lru_cache(maxsize=8)
def _masks(bits: int) -> np.ndarray:
    """Every 16-bit mask with at most ``bits`` bits set."""
    found = [0]
    for count in range(1, bits + 1):
        found += [sum(1 << i for i in chosen) for chosen in combinations(range(PIECE_BITS), count)]
    return np.array(found, dtype=np.int64)


class HashIndex:
    def __init__(self, hashes: Sequence[int] | np.ndarray):
        self.hashes = np.asarray(hashes, dtype=np.uint64)
        self._order: list[np.ndarray] = []
        self._starts: list[np.ndarray] = []
        for piece in range(PIECES):
            values = ((self.hashes >> np.uint64(PIECE_BITS * piece)) & np.uint64(0xFFFF)).astype(np.int64)
            order = np.argsort(values, kind="stable")
            self._order.append(order)
            # where each 16-bit value's run starts in the sorted order (65,537 offsets)
            self._starts.append(np.searchsorted(values[order], np.arange((1 << PIECE_BITS) + 1)))

    def __len__(self) -> int:
        return len(self.hashes)

    def near(self, query: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """(positions, distances) of the hashes within ``radius`` bits of ``query``, nearest first."""
        if not len(self.hashes):
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        masks = _masks(radius // PIECES)
        found = []
        for piece in range(PIECES):
            probes = ((query >> (PIECE_BITS * piece)) & 0xFFFF) ^ masks
            starts, ends = self._starts[piece][probes], self._starts[piece][probes + 1]
            lengths = ends - starts
            if not lengths.any():
                continue
            # the runs [start, end) of every probe, gathered without a Python loop
            steps = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
            found.append(self._order[piece][steps])
        if not found:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        candidates = np.concatenate(found)  # a hash may come through several pieces: made unique below
        distances = np.bitwise_count(self.hashes[candidates] ^ np.uint64(query)).astype(np.int64)
        keep = distances <= radius
        positions, first = np.unique(candidates[keep], return_index=True)
        distances = distances[keep][first]
        order = np.argsort(distances, kind="stable")
        return positions[order], distances[order]

    def scan(self, query: int, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """The same answer by comparing the query with every hash (the baseline)."""
        distances = np.bitwise_count(self.hashes ^ np.uint64(query)).astype(np.int64)
        positions = np.flatnonzero(distances <= radius)
        order = np.argsort(distances[positions], kind="stable")
        return positions[order], distances[positions][order]


class PhotoIndex:
    """Images by their two 64-bit hashes (pHash, dHash): every image whose summed distance to a
    query is at most ``max_sum``. A pair within that sum is within ``max_sum // 2`` bits on at
    least one hash, so searching both hash indexes at that radius finds every one (exactly)."""

    def __init__(self, phashes: Sequence[int] | np.ndarray, dhashes: Sequence[int] | np.ndarray):
        self.by_phash, self.by_dhash = HashIndex(phashes), HashIndex(dhashes)
        if len(self.by_phash) != len(self.by_dhash):
            raise ValueError("one pHash and one dHash per image")

    def __len__(self) -> int:
        return len(self.by_phash)

    def near(self, phash: int, dhash: int, max_sum: int) -> tuple[np.ndarray, np.ndarray]:
        """(positions, summed distances) within ``max_sum``, nearest first."""
        radius = max_sum // 2
        candidates = np.union1d(self.by_phash.near(phash, radius)[0], self.by_dhash.near(dhash, radius)[0])
        return self._within(candidates, phash, dhash, max_sum)

    def scan(self, phash: int, dhash: int, max_sum: int) -> tuple[np.ndarray, np.ndarray]:
        """The same answer from every image (the baseline)."""
        return self._within(np.arange(len(self)), phash, dhash, max_sum)

    def _within(self, candidates: np.ndarray, phash: int, dhash: int, max_sum: int) -> tuple[np.ndarray, np.ndarray]:
        sums = (np.bitwise_count(self.by_phash.hashes[candidates] ^ np.uint64(phash)).astype(np.int64)
                + np.bitwise_count(self.by_dhash.hashes[candidates] ^ np.uint64(dhash)).astype(np.int64))
        keep = sums <= max_sum
        positions, sums = candidates[keep], sums[keep]
        order = np.argsort(sums, kind="stable")
        return positions[order], sums[order]
