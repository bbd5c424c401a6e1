"""From what the components found to a listing's Enrichment: products and the main
category, quantities, prices normalised at the listing's date, identifiers, routes and
shipping hints. A pure module: it reads mentions, never runs spaCy (enrichment.pipeline
runs the pipeline and hands the mentions over)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date
from typing import Any

from contracts.vocabulary import category_with_ancestors
from enrichment.components import IDENTIFIER_KINDS, Mention
from enrichment.components.quantities import quantity_of
from enrichment.gazetteers import load_frames, load_unit_hints
from enrichment.rates import RatesTable, load_rates

PIPELINE_VERSION = "0.2"
HINT_FIELDS = {"CARRIER": "carriers", "STEALTH": "stealth", "DECLARED_AS": "declared_as", "DROP": "drop_hints"}
# Where a listing's main category comes from, most trusted first.
CATEGORY_SOURCES = ("title", "category", "description", "shipping_options")
_SOURCE_RANK = {name: i for i, name in enumerate(CATEGORY_SOURCES)}
# How a product was recognised, most trusted first (products component: "match" attribute).
MATCH_TRUST = {"alias": 0, "pattern": 0, "stem": 0, "fuzzy": 1, "weak_alias": 2}


def _unique(values: Iterable[str | None]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def tier_summaries(tiers, prices: list[dict[str, Any]]) -> list[dict[str, Any]]:
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


class Summariser:
    """The summary step, with the data it reads: exchange rates, the taxonomy's frames and
    its unit and dose hints."""

    def __init__(self, rates: RatesTable | None = None):
        self.rates = rates or load_rates()
        self.unit_hints, self.dose_hints = load_unit_hints()
        self.frames = load_frames()

    def price(self, amount: float, currency: str, on: date, **extra) -> dict[str, Any]:
        return {"amount": amount, "currency": currency, "usd": self.rates.convert(amount, currency, "USD", on),
                "eur": self.rates.convert(amount, currency, "EUR", on), **extra}

    def summarise(self, mentions: list[Mention], language: str | None, on: date,
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
            "prices": [self.price(m.attrs["amount"], m.attrs["currency"], on, source="text", text=m.text,
                                   quantity=m.attrs.get("quantity")) for m in by_label.get("PRICE", [])],
            "identifiers": self._identifiers(mentions),
            "reship": "RESHIP" in by_label,
            "delivery_days": (min(m.attrs["min_days"] for m in times), max(m.attrs["max_days"] for m in times))
            if times else None,
            "language": language,
            "truncated": list(truncated),
            "pipeline_version": PIPELINE_VERSION,
        }
        out.update(self.routes(by_label.get("PLACE", [])))
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
    def routes(places: list[Mention]) -> dict[str, list[str]]:
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
