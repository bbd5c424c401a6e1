"""The enrichment entry point: load the spaCy pipeline once, enrich listings in batches.

Components report :class:`Mention` records; the summary step (enrichment.summary) turns the
mentions of one listing into its :class:`Enrichment`, built as plain data and validated
once — the same code for crawled listings, raw JSON Lines and vendor profiles.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from contracts.listings import EnrichedListing, EnrichedVendor, Enrichment, Listing, RawListing, VendorProfile
from enrichment.components import Mention
from enrichment.fields import price_of, vendor_name
from enrichment.summary import Summariser, tier_summaries
from enrichment.text import USER_DATA_KEY, TextView
from enrichment.tokenizer import TextViewTokenizer

log = logging.getLogger(__name__)
DEFAULT_CONFIG = Path(__file__).resolve().parent / "pipeline.cfg"
_FIELD_SEPARATOR = "\n\n"


def load_pipeline(source: str | Path | None = None) -> Language:
    """The pipeline from a config file (its components read their data files in
    ``nlp.initialize()``), or a pipeline saved by ``nlp.to_disk()`` (a folder: ``spacy.load``)."""
    path = Path(source or DEFAULT_CONFIG)
    if path.is_dir():
        return spacy.load(path)
    nlp = spacy.util.load_model_from_config(spacy.util.load_config(path), auto_fill=True, validate=True)
    nlp.initialize()
    return nlp


def compose(fields: list[tuple[str, str]], max_field_chars: int | None = None) -> TextView:
    """Join text fields into one document, remembering where each field sits (and which
    fields were cut to ``max_field_chars``: ``view.truncated``)."""
    parts, layout, offset, truncated = [], [], 0, []
    for name, value in fields:
        if not value:
            continue
        if max_field_chars and len(value) > max_field_chars:
            value = value[:max_field_chars]
            truncated.append(name)
        if parts:
            parts.append(_FIELD_SEPARATOR)
            offset += len(_FIELD_SEPARATOR)
        parts.append(value)
        layout.append((name, offset, offset + len(value)))
        offset += len(value)
    return TextView("".join(parts), layout=layout, truncated=truncated)


def _joined(value: str | list[str] | None) -> str:
    return " / ".join(value) if isinstance(value, list) else value or ""


class Enricher:
    """Loads the pipeline once; ``enrich_listings`` streams results batch by batch."""

    def __init__(self, config_path: str | Path | None = None, batch_size: int = 256,
                 max_field_chars: int = 100_000):
        self.nlp = load_pipeline(config_path)
        self.batch_size = batch_size
        self.max_field_chars = max_field_chars
        self.places = self.nlp.get_pipe("interdict_places")
        self.summary = Summariser()
        self._own_tokenizer = isinstance(self.nlp.tokenizer, TextViewTokenizer)
        self._carriers: list[Doc] = []
        self._carriers_busy = False

    @classmethod
    def from_settings(cls, settings) -> "Enricher":
        """From the [enrichment] section of the configuration (config.EnrichmentSettings)."""
        return cls(settings.config or None, settings.batch_size, max_field_chars=settings.max_field_chars)

    # -- running the spaCy pipeline -----------------------------------------------------

    def analyse(self, views: list[TextView]) -> Iterator[tuple[TextView, str | None]]:
        """Each view with its mentions moved into their own fields' offsets, and its language."""
        docs = []
        reuse = self._own_tokenizer and not self._carriers_busy
        self._carriers_busy = self._carriers_busy or reuse
        for i, view in enumerate(views):
            if not self._own_tokenizer:
                doc = self.nlp.make_doc(view.text)
            elif not reuse:  # another batch of this Enricher is still being read
                doc = Doc(self.nlp.vocab)
            else:
                # Token-less carriers (enrichment/tokenizer.py) are reused: making a Doc costs
                # more than some components, and nothing keeps a reference to these.
                while len(self._carriers) <= i:
                    self._carriers.append(Doc(self.nlp.vocab))
                doc = self._carriers[i]
                doc.user_data.clear()
            doc.user_data[USER_DATA_KEY] = view
            docs.append(doc)
        try:
            for doc, view in zip(self.nlp.pipe(docs, batch_size=self.batch_size), views):
                for mention in view.mentions:
                    mention.field, mention.start, mention.end = view.locate(mention.start, mention.end)
                language = doc._.interdict_language
                yield view, language[0] if language else None
        finally:
            if reuse:
                self._carriers_busy = False

    @staticmethod
    def _batched(items: Iterable, size: int) -> Iterator[list]:
        batch: list = []
        for item in items:
            batch.append(item)
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    # -- crawled listings, raw records, vendor profiles ---------------------------------

    def enrich_listings(self, listings: Iterable[Listing]) -> Iterator[EnrichedListing]:
        for batch in self._batched(listings, self.batch_size):
            views = [compose([("title", l.title), ("description", l.description),
                              ("shipping_options", "; ".join(o.name for o in l.shipping_options)),
                              ("category", " / ".join(l.category_path))], self.max_field_chars) for l in batch]
            for listing, (view, language) in zip(batch, self.analyse(views)):
                on = listing.crawled_at.date()
                out = self.summary.summarise(view.mentions + self._cell_places(listing.ships_from, listing.ships_to),
                                      language, on, view.truncated)
                listed = (self.summary.price(listing.price.amount, listing.price.currency, on, source="field")
                          if listing.price else None)
                tiers = [self.summary.price(t.price.amount, t.price.currency, on, source="tier", text=t.quantity)
                         for t in listing.price_tiers]
                out["prices"] = ([listed] if listed else []) + tiers + out["prices"]
                out["tiers"] = tier_summaries(listing.price_tiers, tiers)
                if listed:
                    out["price_usd"], out["price_eur"] = listed["usd"], listed["eur"]
                out["vendor"] = listing.vendor.name
                yield EnrichedListing(listing=listing, enrichment=Enrichment.model_validate(out))

    def enrich_raw(self, records: Iterable[RawListing]) -> Iterator[tuple[RawListing, Enrichment]]:
        """Listings as text the way markets show them (``interdict enrich``, evaluation)."""
        for batch in self._batched(records, self.batch_size):
            views = [compose([("title", r.title), ("description", r.description), ("category", _joined(r.category))],
                             self.max_field_chars) for r in batch]
            for record, (view, language) in zip(batch, self.analyse(views)):
                on = record.date.date() if record.date else date.today()
                out = self.summary.summarise(view.mentions + self._cell_places(record.ships_from, record.ships_to),
                                      language, on, view.truncated)
                price = price_of(record.price, record.currency)
                if price:
                    listed = self.summary.price(*price, on, source="field", text=str(record.price)[:100])
                    out["prices"].insert(0, listed)
                    out["price_usd"], out["price_eur"] = listed["usd"], listed["eur"]
                out["vendor"] = vendor_name(record.vendor)
                yield record, Enrichment.model_validate(out)

    def enrich_vendors(self, vendors: Iterable[VendorProfile]) -> Iterator[EnrichedVendor]:
        for batch in self._batched(vendors, self.batch_size):
            views = [compose([("profile", v.profile), ("pgp_key", v.pgp_key or "")], self.max_field_chars)
                     for v in batch]
            for vendor, (view, language) in zip(batch, self.analyse(views)):
                out = self.summary.summarise(view.mentions, language, vendor.crawled_at.date(), view.truncated)
                out["vendor"] = vendor.name
                yield EnrichedVendor(vendor=vendor, enrichment=Enrichment.model_validate(out))

    def routes_from_cells(self, ships_from: str | None, ships_to: str | list[str] | None) -> dict[str, list[str]]:
        """ships_from / ships_to / ships_to_excluded codes of a market's structured cells alone."""
        return self.summary.routes(self._cell_places(ships_from, ships_to))

    def _cell_places(self, ships_from: str | None, ships_to: str | list[str] | None) -> list[Mention]:
        mentions = self.places.field_places(ships_from, "ships_from") if ships_from else []
        destinations = [ships_to] if isinstance(ships_to, str) else ships_to or []
        for i, destination in enumerate(destinations):
            for mention in self.places.field_places(destination, "ships_to"):
                mention.attrs["index"] = i
                mentions.append(mention)
        return mentions

    # -- from mentions to the enrichment ------------------------------------------------
