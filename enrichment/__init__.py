"""Enrichment: the spaCy stage that turns listings into facts customs can act on."""

from enrichment.contracts import EnrichedListing, EnrichedVendor, Enrichment, Entity, Listing, VendorProfile

__all__ = ["EnrichedListing", "EnrichedVendor", "Enrichment", "Entity", "Listing", "VendorProfile", "Enricher"]


def __getattr__(name: str):
    # The pipeline imports spaCy; load it only when someone actually enriches.
    if name == "Enricher":
        from enrichment.pipeline import Enricher

        return Enricher
    raise AttributeError(name)
