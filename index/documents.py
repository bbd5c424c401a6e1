"""How the Store keeps documents (contracts/documents.py): content digests, price history,
and merging what a crawl or an import brings into what is stored."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import orjson

from contracts.images import ImageRow
from contracts.documents import ListingDocument, PricePoint, VendorDocument, listing_id, vendor_id
from contracts.listings import EnrichedListing, EnrichedVendor
from index.lifecycle import seen_again


def photo_rows(doc: ListingDocument) -> list[ImageRow]:
    """The listing's readable photos as the near-duplicate search keeps them, once per digest."""
    rows: dict[str, ImageRow] = {}
    for image in doc.data.listing.images:
        if image.facts is not None:
            rows.setdefault(image.facts.sha256, ImageRow(
                listing_id=doc.id, market=doc.market, vendor=doc.data.listing.vendor.name, sha256=image.facts.sha256,
                phash=image.facts.phash, dhash=image.facts.dhash))
    return list(rows.values())


def listing_content_hash(item: EnrichedListing) -> str:
    """Digest of what the market shows, ignoring when and how we fetched it."""
    shown = item.listing.model_dump(mode="json", exclude={"crawled_at", "evidence", "capture"})
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()


def vendor_content_hash(item: EnrichedVendor) -> str:
    shown = item.vendor.model_dump(mode="json", exclude={"crawled_at", "evidence"})
    return hashlib.sha256(json.dumps(shown, sort_keys=True).encode()).hexdigest()


def sighting_digest(item: EnrichedListing) -> str:
    """Digest of a whole sighting: what the market showed, when and how it was fetched, and its
    enrichment (but not the moment it was enriched). A document whose data has this digest is
    left as it is by seeing the item again (a re-run of an import, a replayed file), so the
    stores keep it beside each document and count such an item unchanged without reading the
    document."""
    shown = item.model_dump_json(exclude={"enrichment": {"enriched_at"}})
    return hashlib.blake2b(shown.encode(), digest_size=16).hexdigest()


def sighting_digests(items: list[EnrichedListing], given: Sequence[str | None] | None = None) -> list[str]:
    """Each item's sighting digest: the one given for it (the digest of the record it was read
    from, ``record_digest``), else ``sighting_digest``."""
    return [digest or sighting_digest(item) for item, digest in zip(items, given or [None] * len(items))]


def record_digest(record: dict[str, Any]) -> tuple[str, str] | None:
    """(document id, sighting digest) of an enriched listing as read from JSON Lines, before it
    is validated; None when the record does not have that shape. The digest is of the record's
    JSON with sorted keys, less the moment it was enriched. A store keeps it as the document's
    data digest when the item came from this record, so reading the same file again (a replay,
    a daily re-index of an export) counts each unchanged record without validating it. It can
    only equal a digest kept from a validated item (``sighting_digest``) when both spell the
    same JSON, which then describes the same item: a match is never wrong, only sometimes missed."""
    listing, enrichment = record.get("listing"), record.get("enrichment")
    if not isinstance(listing, dict) or not isinstance(enrichment, dict):
        return None
    market, key = listing.get("market"), listing.get("listing_key")
    if not isinstance(market, str) or not isinstance(key, str):
        return None
    enrichment = {k: v for k, v in enrichment.items() if k != "enriched_at"}
    try:
        shown = orjson.dumps({**record, "enrichment": enrichment}, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # a value JSON cannot hold: the record's validation will say so
        return None
    return listing_id(market, key), hashlib.blake2b(shown, digest_size=16).hexdigest()


def repeated_sightings(ids: list[str], digests: list[str], stored: dict[str, str | None]) -> list[bool]:
    """Per item of a batch (document ids and sighting digests in order; ``stored``: the stored
    documents' data digests): True when the item is the very sighting its document holds and no
    earlier item of the batch changes that document."""
    touched: set[str] = set()
    repeated = []
    for doc_id, digest in zip(ids, digests):
        same = doc_id not in touched and stored.get(doc_id) == digest
        if not same:
            touched.add(doc_id)
        repeated.append(same)
    return repeated


def with_point(history: list[PricePoint], point: PricePoint) -> list[PricePoint]:
    """The price history (price changes, oldest first) with one more sighting, wherever in
    time it falls: captures imported out of order land in their place. A sighting at the price
    already in force adds nothing; one that shows a later change's price earlier moves that
    change back to it."""
    out = sorted(history, key=lambda p: p.at)
    if any(p.at == point.at for p in out):
        return out  # this moment is recorded already (a re-import, or two rows of one capture)
    before = [p for p in out if p.at <= point.at]
    after = [p for p in out if p.at > point.at]
    same = lambda a, b: (a.amount, a.currency) == (b.amount, b.currency)  # noqa: E731
    if before and same(before[-1], point):
        return out
    if after and same(after[0], point):
        after = after[1:]
    return before + [point] + after


def _said(listing) -> int:
    """How much a sighting of a listing says (a detail page more than an index page's block)."""
    return (len(listing.description) // 80 + bool(listing.price) + bool(listing.ships_from) + len(listing.ships_to)
            + len(listing.category_path) + len(listing.price_tiers) + len(listing.shipping_options)
            + len(listing.variants))


def merge_listing(existing: ListingDocument | None, item: EnrichedListing) -> tuple[ListingDocument, str]:
    """The document after seeing ``item``, and whether that was new/updated/unchanged.

    Both stores call this so history semantics cannot drift apart: first_seen is kept,
    last_seen moves forward, and a changed price appends to the history.
    """
    listing = item.listing
    seen = listing.crawled_at
    point = PricePoint(at=seen, amount=listing.price.amount, currency=listing.price.currency,
                       price_usd=item.enrichment.price_usd) if listing.price else None
    digest = listing_content_hash(item)
    if existing is None:
        doc = ListingDocument(id=listing_id(listing.market, listing.listing_key), market=listing.market,
                              listing_key=listing.listing_key, first_seen=seen, last_seen=seen,
                              content_hash=digest, price_history=[point] if point else [], data=item)
        return doc, "new"
    history = with_point(existing.price_history, point) if point else list(existing.price_history)
    # The latest sighting describes the listing; two of the same moment (an imported capture's
    # index and detail page) keep the one that says more.
    newer = seen > existing.last_seen or (seen == existing.last_seen and _said(listing) >= _said(existing.data.listing))
    doc = existing.model_copy(update={
        **seen_again(existing, seen),
        "first_seen": min(existing.first_seen, seen),
        "last_seen": max(existing.last_seen, seen),
        "seen_count": existing.seen_count + (1 if seen != existing.last_seen else 0),
        "content_hash": digest if newer else existing.content_hash,
        "price_history": history,
        "data": item if newer else existing.data,
    })
    changed = (digest != existing.content_hash and newer) or existing.status != doc.status
    return doc, "updated" if changed or len(history) != len(existing.price_history) else "unchanged"


def merge_vendor(existing: VendorDocument | None, item: EnrichedVendor) -> tuple[VendorDocument, str]:
    vendor = item.vendor
    digest = vendor_content_hash(item)
    if existing is None:
        return VendorDocument(id=vendor_id(vendor.market, vendor.name), market=vendor.market, name=vendor.name,
                              first_seen=vendor.crawled_at, last_seen=vendor.crawled_at,
                              content_hash=digest, data=item), "new"
    newer = vendor.crawled_at >= existing.last_seen
    doc = existing.model_copy(update={
        **seen_again(existing, vendor.crawled_at),
        "first_seen": min(existing.first_seen, vendor.crawled_at),
        "last_seen": max(existing.last_seen, vendor.crawled_at),
        "content_hash": digest if newer else existing.content_hash,
        "data": item if newer else existing.data,
    })
    changed = (newer and digest != existing.content_hash) or existing.status != doc.status
    return doc, "updated" if changed else "unchanged"


