"""Index: storage and retrieval of enriched listings behind one Store interface."""

from __future__ import annotations

from index.documents import ListingDocument, UpsertReport, VendorDocument, listing_id, vendor_id
from index.query import FILTER_FIELDS, FacetCount, Hit, Query, QueryError, SearchResult
from index.store import Store, StoreError, StoreUnavailable

__all__ = ["FILTER_FIELDS", "FacetCount", "Hit", "ListingDocument", "Query", "QueryError", "SearchResult",
           "Store", "StoreError", "StoreUnavailable", "UpsertReport", "VendorDocument", "listing_id", "open_store", "vendor_id"]


def open_store(settings, target: str | None = None) -> Store:
    """The configured store. ``target`` overrides it: a file path (embedded store),
    "elasticsearch" (the configured cluster), or an http(s) URL of a cluster."""
    url = target if target and target.startswith(("http://", "https://")) else None
    if url or target == "elasticsearch" or (target is None and settings.store.backend == "elasticsearch"):
        from index.elastic import ElasticsearchStore

        return ElasticsearchStore(settings.elasticsearch, url=url)
    from index.embedded import EmbeddedStore

    return EmbeddedStore(target or settings.store.path)
