"""What a store is, as three small interfaces that both backends (the embedded store and
Elasticsearch) implement, each with its contract tests:

- ``ListingStore``: documents and search (tests/store_contract/test_listing_store.py);
- ``MatchIndex``: what the matcher blocks and scores on (index/match_index.py,
  tests/store_contract/test_match_index.py);
- ``CrawlLedger``: what crawls record (index/ledger.py, tests/store_contract/test_crawl_ledger.py).

A consumer asks for the one it needs; ``Store`` is all three, what ``open_store`` returns."""

from __future__ import annotations

import logging
from abc import abstractmethod
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from contracts.images import ImageRow
from contracts.documents import ListingChange, ListingDocument, UpsertReport, VendorChange, VendorDocument
from contracts.inputs import Problems, describe_invalid
from contracts.listings import EnrichedListing, EnrichedVendor
from index.closable import Closable
from index.ledger import CrawlLedger
from index.match_index import MatchIndex
from index.query import Query, SearchResult, TermClause, term_clauses
from index.trends import TrendQuery, TrendResult


log = logging.getLogger(__name__)
# Listings per upsert where a caller loads many at once (`index`, `import`): each write
# transaction of the embedded store rewrites the pages it touched, so fewer, larger ones write
# each shared page (full-text segments, term ranges) fewer times; 500 → 2,000 took a
# 100k-listing `interdict index` from 63 s to 51 s (bench/README.md, issue 22).
BULK_BATCH = 2000
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


class ListingStore(Closable):
    """Listing and vendor documents, and search over them. Reads never fail on one stored
    document that this release cannot read (written by an older release, or damaged): it is
    skipped, named in the log and in ``unreadable``, and `interdict store migrate` sets it aside."""

    _unreadable: Problems | None = None
    # Whether a call mostly waits on another process (a cluster over HTTP): then a caller may
    # overlap its own work with it on a thread. An in-process store's calls hold the interpreter
    # row by row, and a thread beside them only makes both wait for each other.
    calls_wait_on_network = False

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

    @contextmanager
    def bulk_writes(self) -> Iterator[None]:
        """A stretch of upserts (a crawl, `index`, `import`) whose readers can wait for its end:
        the store may make each batch searchable later than its upsert returns (Elasticsearch
        skips the per-request refresh), and makes everything searchable when the block ends.
        Outside it, what an upsert wrote is searchable when it returns."""
        yield

    @abstractmethod
    def upsert_listings(self, items: Iterable[EnrichedListing], digests: Sequence[str | None] | None = None,
                        changes: list[ListingChange] | None = None) -> UpsertReport:
        """Merge the items into their documents. ``digests``, in the items' order: the digests
        of the records they were read from (``index.documents.record_digest``), kept as the
        documents' data digests; None where an item has none (then ``sighting_digest``).
        ``changes``: given, each document the upsert wrote (new or updated, not rejected) is
        appended once, as it was before the batch and as written."""

    @abstractmethod
    def listing_digests(self, ids: Collection[str]) -> dict[str, str]:
        """The data digests of the stored listings of these ids (absent: no document, or none kept)."""

    @abstractmethod
    def upsert_vendors(self, items: Iterable[EnrichedVendor], changes: list[VendorChange] | None = None) -> UpsertReport:
        """Merge the profiles into their documents; ``changes`` as upsert_listings'."""

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
    def listing_photos(self) -> Iterator[ImageRow]:
        """Every stored listing photo's digest and perceptual hashes (index.documents.photo_rows),
        read from what the store indexes for them, not from the documents."""

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
    def trends(self, query: TrendQuery) -> TrendResult:
        """Prices per unit, or listings or vendors active, per period (index.trends), computed
        in the store."""

    @abstractmethod
    def count_listings(self) -> int: ...

    @abstractmethod
    def count_vendors(self) -> int: ...

    @abstractmethod
    def delete_listing(self, doc_id: str) -> bool: ...

    @abstractmethod
    def migrate(self) -> str:
        """Bring the store's indexed structures to this release's schema; says what it did."""


class Store(ListingStore, MatchIndex, CrawlLedger):
    """Everything a backend implements: what ``index.open_store`` returns."""
