"""The enrichment entry point: load the spaCy pipeline once, enrich listings in batches.

Components report :class:`Mention` records; this module turns the mentions of one listing
into its :class:`Enrichment` (products, main category, quantities, prices normalised at the
listing's date, identifiers, routes, shipping hints, language), built as plain data and
validated once — the same code for crawled listings, raw JSON Lines and vendor profiles.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from contracts.listings import EnrichedListing, EnrichedVendor, Enrichment, Listing, RawListing, VendorProfile
from enrichment.components import Mention
from enrichment.components.quantities import quantity_of
from enrichment.fields import price_of, vendor_name
from contracts.vocabulary import category_with_ancestors
from enrichment.gazetteers import load_frames, load_unit_hints
from enrichment.rates import load_rates
from enrichment.text import USER_DATA_KEY, TextView
from enrichment.tokenizer import TextViewTokenizer

log = logging.getLogger(__name__)
DEFAULT_CONFIG = Path(__file__).resolve().parent / "pipeline.cfg"
PIPELINE_VERSION = "0.2"
IDENTIFIER_KINDS = {
    "PGP_FINGERPRINT": "pgp", "PGP_KEY_INVALID": "pgp", "BTC_ADDRESS": "btc", "XMR_ADDRESS": "xmr",
    "ETH_ADDRESS": "eth", "EMAIL": "email", "PHONE": "phone", "TELEGRAM": "telegram", "WICKR": "wickr",
    "SESSION_ID": "session", "JABBER": "jabber", "ONION": "onion",
}
HINT_FIELDS = {"CARRIER": "carriers", "STEALTH": "stealth", "DECLARED_AS": "declared_as", "DROP": "drop_hints"}
_FIELD_SEPARATOR = "\n\n"
# Where a listing's main category comes from, most trusted first.
CATEGORY_SOURCES = ("title", "category", "description", "shipping_options")
_SOURCE_RANK = {name: i for i, name in enumerate(CATEGORY_SOURCES)}
# How a product was recognised, most trusted first (products component: "match" attribute).
MATCH_TRUST = {"alias": 0, "pattern": 0, "stem": 0, "fuzzy": 1, "weak_alias": 2}


def load_pipeline(config_path: str | Path | None = None) -> Language:
    config = spacy.util.load_config(Path(config_path or DEFAULT_CONFIG))
    return spacy.util.load_model_from_config(config, auto_fill=True, validate=True)


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


def _unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _tier_summaries(tiers, prices: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Unit prices of a listing's tiers, and each tier's bulk discount against the smallest
    tier of the same unit."""
    out = []
    for tier, price in zip(tiers, prices):
        quantity = quantity_of(tier.quantity)
        usd = price.get("usd")
        unit_price = round(usd / quantity["amount"], 6) if quantity and quantity["amount"] and usd else None
        out.append({"quantity": quantity, "price": price, "unit_price_usd": unit_price})
    smallest: dict[str, dict[str, Any]] = {}
    for entry in out:
        if entry["unit_price_usd"]:
            unit = entry["quantity"]["unit"]
            if unit not in smallest or entry["quantity"]["amount"] < smallest[unit]["quantity"]["amount"]:
                smallest[unit] = entry
    for entry in out:
        base = smallest.get(entry["quantity"]["unit"]) if entry["unit_price_usd"] else None
        if base is not None and base is not entry:
            entry["discount"] = round(1 - entry["unit_price_usd"] / base["unit_price_usd"], 4)
    return out


class Enricher:
    """Loads the pipeline once; ``enrich_listings`` streams results batch by batch."""

    def __init__(self, config_path: str | Path | None = None, batch_size: int = 256,
                 max_field_chars: int = 100_000):
        self.nlp = load_pipeline(config_path)
        self.batch_size = batch_size
        self.max_field_chars = max_field_chars
        self.places = self.nlp.get_pipe("interdict_places")
        self.unit_hints, self.dose_hints = load_unit_hints()
        self.frames = load_frames()
        self.rates = load_rates()
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
                out = self._summarise(view.mentions + self._cell_places(listing.ships_from, listing.ships_to),
                                      language, on, view.truncated)
                listed = (self._price(listing.price.amount, listing.price.currency, on, source="field")
                          if listing.price else None)
                tiers = [self._price(t.price.amount, t.price.currency, on, source="tier", text=t.quantity)
                         for t in listing.price_tiers]
                out["prices"] = ([listed] if listed else []) + tiers + out["prices"]
                out["tiers"] = _tier_summaries(listing.price_tiers, tiers)
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
                out = self._summarise(view.mentions + self._cell_places(record.ships_from, record.ships_to),
                                      language, on, view.truncated)
                price = price_of(record.price, record.currency)
                if price:
                    listed = self._price(*price, on, source="field", text=str(record.price)[:100])
                    out["prices"].insert(0, listed)
                    out["price_usd"], out["price_eur"] = listed["usd"], listed["eur"]
                out["vendor"] = vendor_name(record.vendor)
                yield record, Enrichment.model_validate(out)

    def enrich_vendors(self, vendors: Iterable[VendorProfile]) -> Iterator[EnrichedVendor]:
        for batch in self._batched(vendors, self.batch_size):
            views = [compose([("profile", v.profile), ("pgp_key", v.pgp_key or "")], self.max_field_chars)
                     for v in batch]
            for vendor, (view, language) in zip(batch, self.analyse(views)):
                out = self._summarise(view.mentions, language, vendor.crawled_at.date(), view.truncated)
                out["vendor"] = vendor.name
                yield EnrichedVendor(vendor=vendor, enrichment=Enrichment.model_validate(out))

    def routes_from_cells(self, ships_from: str | None, ships_to: str | list[str] | None) -> dict[str, list[str]]:
        """ships_from / ships_to / ships_to_excluded codes of a market's structured cells alone."""
        return self._routes(self._cell_places(ships_from, ships_to))

    def _cell_places(self, ships_from: str | None, ships_to: str | list[str] | None) -> list[Mention]:
        mentions = self.places.field_places(ships_from, "ships_from") if ships_from else []
        destinations = [ships_to] if isinstance(ships_to, str) else ships_to or []
        for i, destination in enumerate(destinations):
            for mention in self.places.field_places(destination, "ships_to"):
                mention.attrs["index"] = i
                mentions.append(mention)
        return mentions

    # -- from mentions to the enrichment ------------------------------------------------

    def _price(self, amount: float, currency: str, on: date, **extra) -> dict[str, Any]:
        return {"amount": amount, "currency": currency, "usd": self.rates.convert(amount, currency, "USD", on),
                "eur": self.rates.convert(amount, currency, "EUR", on), **extra}

    def _summarise(self, mentions: list[Mention], language: str | None, on: date,
                   truncated: list[str] = ()) -> dict[str, Any]:
        by_label: dict[str, list[Mention]] = {}
        for m in mentions:
            by_label.setdefault(m.label, []).append(m)
        products = by_label.get("PRODUCT", [])
        category = self._main_category(by_label)
        frame = next((c for c in category_with_ancestors(category) if c in self.frames), None) if category else None
        for m in products:  # a guide, seeds or a pipe: what else the listing names is its topic
            if frame and not m.attrs["category"].startswith(frame):
                m.attrs["role"] = "topic"
        offered = [m for m in products if m.attrs.get("role") != "topic"]
        named = dict.fromkeys(cat for m in offered for cat in (m.attrs["category"], *m.attrs.get("also", ())))
        categories = _unique(c for cat in named for c in category_with_ancestors(cat))
        if category:
            categories = _unique([*categories, *category_with_ancestors(category)])
        purity = by_label.get("PURITY")
        times = by_label.get("DELIVERY_TIME", [])
        out: dict[str, Any] = {
            "entities": [m.as_dict() for m in mentions],
            "products": self._products(products),
            "category": category,
            "categories": categories,
            "quantities": [{"amount": m.attrs["amount"], "unit": m.attrs["unit"], "text": m.text,
                            "dose": m.attrs.get("dose"), "dose_unit": m.attrs.get("dose_unit")}
                           for m in by_label.get("QUANTITY", [])],
            "purity": purity[0].attrs["percent"] if purity else None,
            "prices": [self._price(m.attrs["amount"], m.attrs["currency"], on, source="text", text=m.text,
                                   quantity=m.attrs.get("quantity")) for m in by_label.get("PRICE", [])],
            "identifiers": self._identifiers(mentions),
            "reship": "RESHIP" in by_label,
            "delivery_days": (min(m.attrs["min_days"] for m in times), max(m.attrs["max_days"] for m in times))
            if times else None,
            "language": language,
            "truncated": list(truncated),
            "pipeline_version": PIPELINE_VERSION,
        }
        out.update(self._routes(by_label.get("PLACE", [])))
        for label, name in HINT_FIELDS.items():
            out[name] = _unique(m.value for m in by_label[label]) if label in by_label else []
        return out

    @staticmethod
    def _products(found: list[Mention]) -> list[dict[str, Any]]:
        products: dict[str, dict[str, Any]] = {}
        for m in sorted(found, key=lambda m: (_SOURCE_RANK.get(m.field, len(_SOURCE_RANK)), m.start)):
            if m.value and m.value not in products:
                topic = m.attrs.get("role") == "topic"
                products[m.value] = {"text": m.text, "canonical": m.value, "category": m.attrs["category"],
                                     "hs_code": None if topic else m.attrs.get("hs_code"),
                                     "role": "topic" if topic else "item"}
        return list(products.values())

    def _main_category(self, by_label: dict[str, list[Mention]]) -> str | None:
        """The listing's category: from the most trusted field that names a product, the
        product named by a strong alias, then with the highest priority (a guide *about*
        cocaine is a guide), then the leftmost; a category word when no product is named;
        a unit or a dose as the last resort (taxonomy.json unit_hints, dose_hints)."""
        for label in ("PRODUCT", "CATEGORY"):
            by_field: dict[str, list[Mention]] = {}
            for m in by_label.get(label, ()):
                by_field.setdefault(m.field, []).append(m)
            for source in CATEGORY_SOURCES:
                found = by_field.get(source)
                if not found:
                    continue
                if source == "description":  # long texts mention side products: take the commonest
                    counts = Counter(m.attrs.get("category") or m.value for m in found)
                    return counts.most_common(1)[0][0]
                # An exact name beats a guessed one ("Brown Rock Heroin" is heroin, not crack).
                best = min(found, key=lambda m: (MATCH_TRUST.get(m.attrs.get("match"), 0),
                                                 -m.attrs.get("priority", 0), m.start))
                return best.attrs.get("category") or best.value
        quantities = by_label.get("QUANTITY", [])
        for quantity in quantities:
            hint = self.unit_hints.get(quantity.attrs.get("written_unit") or quantity.attrs.get("dose_unit") or "")
            if hint:
                return hint
        for quantity in quantities:
            unit = quantity.attrs.get("dose_unit") or quantity.attrs.get("written_unit")
            dose = quantity.attrs.get("dose") or quantity.attrs["amount"] * 1000  # grams back to mg
            for rule in self.dose_hints:
                if unit == rule["unit"] and rule["min"] <= dose <= rule["max"]:
                    return rule["category"]
        return None

    @staticmethod
    def _identifiers(mentions: list[Mention]) -> list[dict[str, Any]]:
        seen: dict[tuple[str, str], dict[str, Any]] = {}
        for m in mentions:
            kind = IDENTIFIER_KINDS.get(m.label)
            if kind and m.value and (kind, m.value) not in seen:
                valid = m.attrs.get("valid", True) and m.label != "PGP_KEY_INVALID"
                seen[(kind, m.value)] = {"kind": kind, "value": m.value, "valid": valid, "text": m.text[:200]}
        return list(seen.values())

    @staticmethod
    def _routes(places: list[Mention]) -> dict[str, list[str]]:
        """Structured fields win; text mentions with a clear role fill in what they left out."""
        buckets: dict[tuple[str, bool, bool], dict[str, None]] = {}
        for m in places:
            role = m.attrs.get("role")
            if role and m.value:
                # "domestic USA", "Australia wide": sent from there, to there
                for one in (("origin", "destination") if role == "domestic" else (role,)):
                    key = (one, m.field in ("ships_from", "ships_to"), bool(m.attrs.get("excluded")))
                    buckets.setdefault(key, {})[m.value] = None

        def codes(role: str, excluded: bool = False) -> list[str]:
            return list(buckets.get((role, True, excluded)) or buckets.get((role, False, excluded)) or ())

        return {"ships_from": codes("origin"), "ships_to": codes("destination"),
                "ships_to_excluded": codes("destination", excluded=True), "provenance": codes("provenance")}
