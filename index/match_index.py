"""What the matcher needs of a store: listings found by blocking key (index.profiles), their
match profiles, word and market statistics, and vendors by identifier. Both backends
implement it (tests/store_contract/test_match_index.py); matching depends on this, not on Store."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Collection, Iterator
from datetime import date

from contracts.documents import VendorDocument
from index.closable import Closable
from index.profiles import ListingProfile


class MatchIndex(Closable):
    @abstractmethod
    def iter_profiles(self) -> Iterator[ListingProfile]:
        """The match profile of every listing (index.profiles): a whole-index pass for jobs
        that need every listing but not whole documents (watchlist terms, benchmarks)."""

    @abstractmethod
    def candidates(self, keys: Collection[str], per_key: int, around: date | None = None) -> dict[str, list[str]]:
        """Ids of the listings under each blocking key (index.profiles), at most ``per_key`` per
        key; keys without listings are absent. Most recent first (embedded: by indexing order,
        Elasticsearch: by last seen); with ``around``, the listings seen nearest that date first
        (a parcel of 2014 is one of the listings on sale in 2014, not of the latest crawl)."""

    @abstractmethod
    def profiles(self, ids: Collection[str]) -> dict[str, ListingProfile]:
        """Match profiles by listing id (unknown ids are absent)."""

    @abstractmethod
    def key_counts(self, keys: Collection[str]) -> dict[str, int]:
        """How many listings carry each blocking key (keys none carries are absent): with the
        ``t:`` keys, the document frequencies of title words that tell the matcher which words
        are distinctive."""

    @abstractmethod
    def lifetimes(self) -> dict[str, float]:
        """Per market, the median number of days between first and last seen of its listings
        seen on more than one day (markets without such listings are absent): how long a
        listing seen once is taken to live."""

    @abstractmethod
    def vendors_with_identifiers(self, values: Collection[str]) -> dict[str, list[str]]:
        """Vendor document ids per identifier search key (contracts.identifiers.identifier_key);
        keys nobody uses are absent."""

    @abstractmethod
    def get_vendor(self, doc_id: str) -> VendorDocument | None:
        """A vendor matched by identifier, shown with its profile."""

    @abstractmethod
    def count_listings(self) -> int: ...
