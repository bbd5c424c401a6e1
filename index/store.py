"""The Store interface. The embedded store implements it now; Elasticsearch will too, and
both must pass the same contract tests (tests/test_store_contract.py)."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Collection, Iterable, Iterator
from datetime import date, datetime
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from contracts.inputs import Problems, describe_invalid

from contracts.listings import EnrichedListing, EnrichedVendor
from index.documents import ListingDocument, UpsertReport, VendorDocument
from index.jobs import CrawlJob
from index.lifecycle import LifecycleReport
from index.profiles import ListingProfile
from index.query import Query, SearchResult, TermClause, term_clauses


log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)


def read_document(model: type[T], raw: str | bytes | dict) -> tuple[T | None, str]:
    """(document, "") or (None, why it cannot be read)."""
    try:
        return (model.model_validate_json(raw) if isinstance(raw, (str, bytes)) else model.model_validate(raw)), ""
    except ValidationError as exc:
        return None, describe_invalid(exc)
    except ValueError as exc:  # JSON that does not parse
        return None, str(exc)[:200]


class StoreError(Exception):
    """The store cannot serve a request; the message is meant for the operator."""


class StoreUnavailable(StoreError):
    """The store is down or shedding load (unreachable, 429, 5xx): try again later."""


class Store(ABC):
    """Reads never fail on one stored document that this release cannot read (written by an
    older release, or damaged): it is skipped, named in the log and in ``unreadable``, and
    `interdict store migrate` sets it aside."""

    _unreadable: Problems | None = None

    @property
    def unreadable(self) -> Problems:
        """Documents skipped by this store's reads so far ("id: reason", the first 1,000)."""
        if self._unreadable is None:
            self._unreadable = Problems(1000)
        return self._unreadable

    def decode(self, model: type[T], raw: str | bytes | dict, doc_id: str) -> T | None:
        """The stored document, or None (logged and counted) when it cannot be read."""
        doc, reason = read_document(model, raw)
        if doc is None and self.unreadable.add(f"{doc_id}: {reason}"):
            log.warning("stored document %s cannot be read and is skipped (%s); `interdict store migrate` "
                        "sets such documents aside", doc_id, reason)
        return doc

    @abstractmethod
    def upsert_listings(self, items: Iterable[EnrichedListing]) -> UpsertReport: ...

    @abstractmethod
    def upsert_vendors(self, items: Iterable[EnrichedVendor]) -> UpsertReport: ...

    @abstractmethod
    def get_listing(self, doc_id: str) -> ListingDocument | None: ...

    @abstractmethod
    def get_vendor(self, doc_id: str) -> VendorDocument | None: ...

    @abstractmethod
    def search(self, query: Query) -> SearchResult: ...

    @abstractmethod
    def iter_listings(self) -> Iterator[ListingDocument]:
        """Every listing document, in no particular order, without a result-window limit."""

    @abstractmethod
    def iter_vendors(self) -> Iterator[VendorDocument]: ...

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
        """Vendor document ids per identifier search key (contracts.identifiers.identifier_key:
        the values are keyed on the way in) found in vendor profiles; keys nobody uses are absent."""

    def plan(self, query: Query) -> tuple[str, list[TermClause]]:
        """(free text, term clauses) of a query as both stores run it: identifiers typed as
        text become identifier filters, and an identifier filter also finds the listings of the
        vendors whose profile shows it."""
        text, filters = query.resolved()
        holders = self.vendors_with_identifiers(filters["identifier"]) if "identifier" in filters else None
        return text, term_clauses(filters, holders)

    @abstractmethod
    def listing_urls(self, market: str, seen_since: datetime) -> Iterator[str]:
        """URLs of the market's listings last seen at or after ``seen_since`` (incremental crawls)."""

    @abstractmethod
    def record_missed(self, market: str, crawl_started: datetime, crawl_ended: datetime,
                      after: int) -> LifecycleReport:
        """A full crawl of ``market`` ran from ``crawl_started`` to ``crawl_ended``: each of its
        listings and vendors last seen before it started missed it (index.lifecycle.missed)."""

    @abstractmethod
    def save_job(self, job: CrawlJob) -> None:
        """Record a crawl job (a new one, or the same id again with its outcome)."""

    @abstractmethod
    def jobs(self, market: str | None = None, limit: int = 50) -> list[CrawlJob]:
        """Crawl jobs, latest started first (ties by id), of one market or all."""

    @abstractmethod
    def count_listings(self) -> int: ...

    @abstractmethod
    def count_vendors(self) -> int: ...

    @abstractmethod
    def delete_listing(self, doc_id: str) -> bool: ...

    @abstractmethod
    def close(self) -> None: ...

    @abstractmethod
    def migrate(self) -> str:
        """Bring the store's indexed structures to this release's schema; says what it did."""

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
