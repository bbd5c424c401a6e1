"""Enrichment: the spaCy stage that turns listings into facts customs can act on."""

import gc

from contracts.listings import EnrichedListing, EnrichedVendor, Enrichment, Entity, Listing, VendorProfile

__all__ = ["EnrichedListing", "EnrichedVendor", "Enrichment", "Entity", "Listing", "VendorProfile", "Enricher",
           "GC_THRESHOLDS", "tune_gc_for_volume"]

# Enrichment allocates many small, short-lived objects and makes almost no reference cycles;
# with CPython's default first-generation threshold (700) the collector ran 500 times per
# 2,000 listings and took a third of the time. Processes that enrich at volume (the CLI,
# the crawler, the benchmark) raise it once at start-up.
GC_THRESHOLDS = (10_000, 10, 10)


def tune_gc_for_volume() -> None:
    gc.set_threshold(*GC_THRESHOLDS)


def __getattr__(name: str):
    # The pipeline imports spaCy; load it only when someone actually enriches.
    if name == "Enricher":
        from enrichment.pipeline import Enricher

        return Enricher
    raise AttributeError(name)
