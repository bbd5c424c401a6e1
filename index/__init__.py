"""Index: storage and retrieval of enriched listings. What other packages use is exported
here: the store interfaces (ListingStore, MatchIndex, CrawlLedger; Store is all three),
``open_store``, the query model, the outage spool, the evidence archive, the listing image
files and the operator's blocklist flags, and the digests that let an ingest skip records the
store holds as they are."""

from __future__ import annotations

from contracts.documents import ListingDocument, UpsertReport, VendorDocument, listing_id, vendor_id
from index.documents import record_digest, repeated_sightings
from index.evidence import EvidenceArchive
from index.image_files import FlagLog, ImageFiles
from index.ledger import CrawlLedger
from index.listing_match import ListingMatcher, ListingTerms
from index.match_index import MatchIndex
from index.query import FILTER_FIELDS, FacetCount, Hit, Query, QueryError, SearchResult
from index.spool import SpooledWriter, spool_for
from index.store import ListingStore, Store, StoreError, StoreUnavailable

__all__ = ["FILTER_FIELDS", "CrawlLedger", "EvidenceArchive", "FacetCount", "FlagLog", "Hit", "ImageFiles", "ListingDocument", "ListingMatcher",
           "ListingStore", "ListingTerms", "MatchIndex", "Query", "QueryError", "SearchResult", "SpooledWriter", "Store", "StoreError",
           "StoreUnavailable", "UpsertReport", "VendorDocument", "listing_id", "open_store", "record_digest",
           "repeated_sightings", "spool_for", "vendor_id"]


def open_store(settings, target: str | None = None) -> Store:
    """The configured store. ``target`` overrides it: a file path (embedded store),
    "elasticsearch" (the configured cluster), or an http(s) URL of a cluster."""
    url = target if target and target.startswith(("http://", "https://")) else None
    if url or target == "elasticsearch" or (target is None and settings.store.backend == "elasticsearch"):
        from index.elastic import ElasticsearchStore

        return ElasticsearchStore(settings.elasticsearch, url=url)
    from index.embedded import EmbeddedStore

    return EmbeddedStore(target or settings.store.path)
