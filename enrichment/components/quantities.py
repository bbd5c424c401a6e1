"""Quantities with units, purity, and prices with currency."""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc

from enrichment.components import found
from enrichment.contracts import Entity

COMPONENT = "interdict_quantities"

_NUM = r"\d+(?:[.,]\d+)*"
_MASS = {
    "kg": 1000.0, "kilo": 1000.0, "kilos": 1000.0, "kilogram": 1000.0, "kilograms": 1000.0,
    "g": 1.0, "gr": 1.0, "gram": 1.0, "grams": 1.0, "gramm": 1.0, "gramos": 1.0,
    "gramme": 1.0, "grammes": 1.0, "gramm.": 1.0,
    "mg": 0.001, "mcg": 0.000001, "ug": 0.000001, "µg": 0.000001,
    "oz": 28.3495, "ounce": 28.3495, "ounces": 28.3495,
    "lb": 453.592, "lbs": 453.592, "pound": 453.592, "pounds": 453.592,
}
_VOLUME = {"ml": 1.0, "l": 1000.0, "litre": 1000.0, "liter": 1000.0}
_COUNT_UNITS = (
    r"pills?|tabs?|tablets?|caps?|capsules?|blotters?|pcs|pieces?|units?|strips?|vials?|amps?"
    r"|ampoules?|cartons?|packs?|packets?|stück|stk|pastillas|pillen|comprimés|notes|bills|rounds"
)
_UNIT_WORDS = "|".join(sorted((re.escape(u) for u in [*_MASS, *_VOLUME]), key=len, reverse=True))
MULTI_RE = re.compile(rf"(?<![\w.,])(?P<count>\d+)\s?[x×]\s?(?P<amt>{_NUM})\s?(?P<unit>mg|mcg|µg|ug|g|ml)\b", re.I)
MEASURE_RE = re.compile(rf"(?<![\w.,])(?P<amt>{_NUM})\s?(?P<unit>{_UNIT_WORDS})(?!\w)", re.I)
COUNT_RE = re.compile(rf"(?<![\w.,])(?P<amt>\d+(?:[.,]\d{{3}})*)\s?(?:x\s)?(?P<unit>{_COUNT_UNITS})\b", re.I)
PURITY_RE = re.compile(
    r"(?P<amt>\d{2,3}(?:[.,]\d+)?)\s?%\s?(?:pure|purity|rein|puro|pureza|pur)\b"
    r"|(?:purity|reinheit|pureza|pureté)\s?:?\s?(?P<amt2>\d{2,3}(?:[.,]\d+)?)\s?%",
    re.I,
)
_CURRENCY_SYMBOLS = {"$": "USD", "€": "EUR", "£": "GBP", "₿": "BTC", "ɱ": "XMR"}
_CURRENCY_WORDS = {
    "usd": "USD", "dollar": "USD", "dollars": "USD", "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "gbp": "GBP", "btc": "BTC", "xmr": "XMR", "aud": "AUD", "cad": "CAD", "chf": "CHF",
}
_CUR = r"USD|EUR|GBP|BTC|XMR|AUD|CAD|CHF|dollars?|euros?"
PRICE_RE = re.compile(
    rf"(?P<sym>[$€£₿])\s?(?P<amt>{_NUM})"
    rf"|(?P<amt2>{_NUM})\s?(?P<cur>[$€£]|(?:{_CUR})\b)"
    rf"|\b(?P<cur2>USD|EUR|GBP|BTC|XMR|AUD|CAD|CHF)\s?(?P<amt3>{_NUM})",
    re.I,
)


def parse_number(text: str) -> float | None:
    """Parse '1,200.50', '1.200,50', '0.015', '12,5' the way a listing writer meant them."""
    text = text.strip()
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        text = text.replace(",", "") if len(tail) == 3 and head.isdigit() else text.replace(",", ".")
    elif text.count(".") > 1:
        text = text.replace(".", "")
    try:
        return float(text)
    except ValueError:
        return None


def currency_code(token: str) -> str | None:
    return _CURRENCY_SYMBOLS.get(token) or _CURRENCY_WORDS.get(token.lower())


class QuantityFinder:
    def __init__(self, name: str):
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        text = doc.text
        out = found(doc)
        taken: list[tuple[int, int]] = []

        def free(start: int, end: int) -> bool:
            return all(end <= s or start >= e for s, e in taken)

        for match in MULTI_RE.finditer(text):
            count, dose = parse_number(match["count"]), parse_number(match["amt"])
            unit = match["unit"].lower()
            if count is None or dose is None:
                continue
            taken.append(match.span())
            out.append(self._entity("QUANTITY", match, f"{count:g} unit",
                                    {"amount": count, "unit": "unit", "dose": dose, "dose_unit": unit}))
        for regex, kind in ((MEASURE_RE, "measure"), (COUNT_RE, "count")):
            for match in regex.finditer(text):
                if not free(*match.span()):
                    continue
                amount = parse_number(match["amt"])
                unit = match["unit"].lower()
                if amount is None:
                    continue
                if kind == "count":
                    norm_amount, norm_unit = amount, "unit"
                elif unit in _VOLUME:
                    norm_amount, norm_unit = amount * _VOLUME[unit], "ml"
                else:
                    norm_amount, norm_unit = amount * _MASS[unit], "g"
                taken.append(match.span())
                out.append(self._entity("QUANTITY", match, f"{norm_amount:g} {norm_unit}",
                                        {"amount": round(norm_amount, 6), "unit": norm_unit}))
        for match in PURITY_RE.finditer(text):
            value = parse_number(match["amt"] or match["amt2"])
            if value is not None and value <= 100:
                out.append(self._entity("PURITY", match, f"{value:g}%", {"percent": value}))
        for match in PRICE_RE.finditer(text):
            if not free(*match.span()):
                continue
            amount = parse_number(match["amt"] or match["amt2"] or match["amt3"])
            currency = currency_code(match["sym"] or match["cur"] or match["cur2"] or "")
            if amount is None or currency is None:
                continue
            out.append(self._entity("PRICE", match, f"{amount:g} {currency}",
                                    {"amount": amount, "currency": currency}))
        return doc

    def _entity(self, label: str, match: re.Match[str], value: str, attrs: dict) -> Entity:
        return Entity(label=label, text=match.group(0), field="text", start=match.start(),
                      end=match.end(), component=self.name, value=value, attrs=attrs)


@Language.factory(COMPONENT)
def make_quantity_finder(nlp: Language, name: str) -> QuantityFinder:
    return QuantityFinder(name)
