"""Index: storage and retrieval of enriched listings behind one Store interface."""

from __future__ import annotations

from index.documents import ListingDocument, UpsertReport, VendorDocument, listing_id, vendor_id
from index.query import FILTER_FIELDS, FacetCount, Hit, Query, QueryError, SearchResult
from index.store import Store, StoreError

__all__ = ["FILTER_FIELDS", "FacetCount", "Hit", "ListingDocument", "Query", "QueryError", "SearchResult",
           "Store", "StoreError", "UpsertReport", "VendorDocument", "listing_id", "open_store", "vendor_id"]


def open_store(settings, path: str | None = None) -> Store:
    """The configured store; ``path`` overrides the embedded store's file."""
    if settings.store.backend == "embedded":
        from index.embedded import EmbeddedStore

        return EmbeddedStore(path or settings.store.path)
    raise StoreError(f"store backend {settings.store.backend!r} is not available in this release")
