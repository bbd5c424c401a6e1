"""The enrichment entry point: load the spaCy pipeline once, enrich listings in batches."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import spacy
from spacy.language import Language

import enrichment.components  # noqa: F401  (registers the factories)
from enrichment.contracts import (
    EnrichedListing,
    EnrichedVendor,
    Enrichment,
    Entity,
    Listing,
    Product,
    Quantity,
    VendorProfile,
)
from enrichment.gazetteers import category_with_ancestors, fold, load_places, load_taxonomy
from enrichment.rates import load_rates

log = logging.getLogger(__name__)
DEFAULT_CONFIG = Path(__file__).resolve().parent / "pipeline.cfg"
PIPELINE_VERSION = "0.1"
IDENTIFIER_LABELS = {"PGP_FINGERPRINT": "pgp", "BTC_ADDRESS": "btc", "EMAIL": "email", "ONION": "onion"}
_FIELD_SEPARATOR = "\n\n"


def load_pipeline(config_path: str | Path | None = None) -> Language:
    config = spacy.util.load_config(Path(config_path or DEFAULT_CONFIG))
    return spacy.util.load_model_from_config(config, auto_fill=True, validate=True)


def _compose(fields: list[tuple[str, str]]) -> tuple[str, list[tuple[str, int, int]]]:
    """Join text fields into one document, remembering where each field sits."""
    parts, layout, offset = [], [], 0
    for name, value in fields:
        if not value:
            continue
        if parts:
            parts.append(_FIELD_SEPARATOR)
            offset += len(_FIELD_SEPARATOR)
        parts.append(value)
        layout.append((name, offset, offset + len(value)))
        offset += len(value)
    return "".join(parts), layout


def _localise(entity: Entity, layout: list[tuple[str, int, int]]) -> Entity:
    for name, start, end in layout:
        if start <= entity.start < end:
            return entity.model_copy(update={"field": name, "start": entity.start - start,
                                             "end": min(entity.end, end) - start})
    return entity


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


class Enricher:
    """Loads the pipeline once; ``enrich_listings`` streams results batch by batch."""

    def __init__(self, config_path: str | Path | None = None, batch_size: int = 64):
        self.nlp = load_pipeline(config_path)
        self.batch_size = batch_size
        self.places = load_places()
        self.taxonomy = load_taxonomy()
        self.rates = load_rates()

    def _entities(self, texts: list[tuple[str, list]]) -> Iterator[list[Entity]]:
        docs = self.nlp.pipe((t for t, _ in texts), batch_size=self.batch_size)
        for doc, (_, layout) in zip(docs, texts):
            yield [_localise(e, layout) for e in (doc._.interdict_entities or [])]

    def place_codes(self, value: str | None, field: str) -> tuple[list[str], list[Entity]]:
        """ISO codes of a structured ships-from/ships-to field such as 'Germany, Netherlands'."""
        codes, entities = [], []
        if not value:
            return codes, entities
        pos = 0
        for part in _split_places(value):
            start = value.find(part, pos)
            pos = start + len(part)
            code = self.places.resolve(part)
            if code:
                codes.append(code)
                entities.append(Entity(label="PLACE", text=part, field=field, start=start,
                                       end=start + len(part), component="interdict_places",
                                       value=code, attrs={"role": "origin" if field == "ships_from" else "destination"}))
        return codes, entities

    def _summarise(self, entities: list[Entity]) -> dict:
        products: dict[str, Product] = {}
        quantities = []
        identifiers: dict[str, list[str]] = {}
        for e in entities:
            if e.label == "PRODUCT" and e.value and e.value not in products:
                products[e.value] = Product(canonical=e.value, category=e.attrs["category"],
                                            hs_code=e.attrs.get("hs_code"))
            elif e.label == "QUANTITY":
                quantities.append(Quantity(amount=e.attrs["amount"], unit=e.attrs["unit"], text=e.text))
            elif e.label in IDENTIFIER_LABELS and e.value:
                identifiers.setdefault(IDENTIFIER_LABELS[e.label], [])
                if e.value not in identifiers[IDENTIFIER_LABELS[e.label]]:
                    identifiers[IDENTIFIER_LABELS[e.label]].append(e.value)
        categories = _unique(c for p in products.values() for c in category_with_ancestors(p.category))
        return {"products": list(products.values()), "quantities": quantities,
                "identifiers": identifiers, "categories": categories}

    def enrich_listings(self, listings: Iterable[Listing]) -> Iterator[EnrichedListing]:
        batch: list[Listing] = []
        for listing in listings:
            batch.append(listing)
            if len(batch) >= self.batch_size:
                yield from self._enrich_listing_batch(batch)
                batch = []
        if batch:
            yield from self._enrich_listing_batch(batch)

    def _enrich_listing_batch(self, batch: list[Listing]) -> Iterator[EnrichedListing]:
        texts = [_compose([("title", l.title), ("description", l.description),
                           ("shipping_options", "; ".join(l.shipping_options))]) for l in batch]
        for listing, entities in zip(batch, self._entities(texts)):
            from_codes, from_entities = self.place_codes(listing.ships_from, "ships_from")
            to_codes, to_entities = [], []
            for i, dest in enumerate(listing.ships_to):
                codes, ents = self.place_codes(dest, "ships_to")
                to_codes += codes
                to_entities += [e.model_copy(update={"attrs": {**e.attrs, "index": i}}) for e in ents]
            # Text mentions with a clear role fill in what the structured fields left out.
            if not from_codes:
                from_codes = [e.value for e in entities if e.label == "PLACE" and e.attrs.get("role") == "origin"]
            if not to_codes:
                to_codes = [e.value for e in entities if e.label == "PLACE" and e.attrs.get("role") == "destination"]
            entities = entities + from_entities + to_entities
            summary = self._summarise(entities)
            on = listing.crawled_at.date()
            price = listing.price
            yield EnrichedListing(listing=listing, enrichment=Enrichment(
                entities=entities, ships_from_codes=_unique(from_codes), ships_to_codes=_unique(to_codes),
                price_usd=self.rates.convert(price.amount, price.currency, "USD", on),
                price_eur=self.rates.convert(price.amount, price.currency, "EUR", on),
                search_text=self._search_text(listing, summary["products"]),
                pipeline_version=PIPELINE_VERSION, **summary,
            ))

    def _search_text(self, listing: Listing, products: list[Product]) -> str:
        parts = [listing.title, listing.description, listing.vendor.name, " ".join(listing.category_path)]
        parts += [p.canonical for p in products]
        parts += [self.taxonomy.get(p.category, "") for p in products]
        return fold(" ".join(parts))

    def enrich_vendors(self, vendors: Iterable[VendorProfile]) -> Iterator[EnrichedVendor]:
        vendors = list(vendors)
        texts = [_compose([("profile", v.profile), ("pgp_key", v.pgp_key or "")]) for v in vendors]
        for vendor, entities in zip(vendors, self._entities(texts)):
            summary = self._summarise(entities)
            yield EnrichedVendor(vendor=vendor, enrichment=Enrichment(
                entities=entities, search_text=fold(f"{vendor.name} {vendor.profile}"),
                pipeline_version=PIPELINE_VERSION, **summary,
            ))


def _split_places(value: str) -> list[str]:
    parts = [p.strip() for p in re.split(r"[,;/|]|\band\b|\bund\b|\by\b|\bet\b|\ben\b", value)]
    return [p for p in parts if p]
