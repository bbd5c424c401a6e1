"""Quantities with units, purity, and prices with currency."""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc

from contracts.money import SYMBOL_CLASS, alternation, currency_code, parse_number
from contracts.vocabulary import load_units
from enrichment.components import BatchComponent, Mention, found
from enrichment.text import text_view

COMPONENT = "interdict_quantities"

_NUM = r"\d+(?:[.,]\d+)*"
# Anchored at the numbers the text view found, not a scan of the text (contracts.money scans
# cells and short texts); the units and currencies are the same data.
_UNITS = load_units()
_MASS: dict[str, float] = _UNITS.mass
_VOLUME: dict[str, float] = _UNITS.volume
COUNT_UNIT_WORDS = _UNITS.count
_CURRENCY_SYMBOLS: dict[str, str] = _UNITS.currency_symbols
_CURRENCY_WORDS: dict[str, str] = _UNITS.currency_words

_COUNT_UNITS = alternation(COUNT_UNIT_WORDS)
_COUNT_AMOUNT_RE = re.compile(r"\d+(?:[.,]\d{3})*")  # counts are whole numbers: "1,000 pills"
# The word right after a number decides which pattern (if any) can apply there.
WORD_AFTER_RE = re.compile(r" ?([^\W\d_]+)")
MULTI_RE = re.compile(rf"(?<![\w.,])(?P<count>\d+)\s?[x×]\s?(?P<amt>{_NUM})\s?(?P<unit>mg|mcg|µg|ug|g|ml)\b", re.I)
COUNT_RE = re.compile(rf"(?<![\w.,])(?P<amt>\d+(?:[.,]\d{{3}})*)\s?(?:x\s)?(?P<unit>{_COUNT_UNITS})\b", re.I)
_SYMBOL_CHARS = "".join(_CURRENCY_SYMBOLS)
_CUR = alternation(_CURRENCY_WORDS)
_CODES = alternation(sorted({c for c in _CURRENCY_WORDS.values()}))
# Anchored at a number: the currency written after it, or (searching the few characters
# before it) the symbol or code written before it.
CURRENCY_AFTER_RE = re.compile(rf"\s?(?P<cur>{SYMBOL_CLASS}|(?:{_CUR})\b)", re.I)
CURRENCY_BEFORE_RE = re.compile(rf"(?:(?P<sym>{SYMBOL_CLASS})|\b(?P<cur>{_CODES}))\s?$", re.I)
PURITY_AFTER_RE = re.compile(r"\s?%\s?(?:pure|purity|rein|puro|pureza|pur)\b", re.I)
PURITY_BEFORE_RE = re.compile(r"(?:purity|reinheit|pureza|pureté|purete)\s?:?\s?$", re.I)


# What may stand between a quantity and the price it costs: "10g - $50", "1 oz: 0.2 BTC", "5g for €40".
TIER_GAP_RE = re.compile(r"\s*(?:[-–—:=@|]|=>|->|for|für|pour|por|voor|at|\))?\s*(?:only\s*)?", re.I)


def _buys(text: str, quantities: list[Mention], price_start: int) -> Mention | None:
    """The quantity written right before a price, making the pair a price tier."""
    for quantity in reversed(quantities):
        if quantity.end <= price_start:
            gap = text[quantity.end:price_start]
            return quantity if len(gap) <= 12 and TIER_GAP_RE.fullmatch(gap) else None
    return None


class QuantityFinder(BatchComponent):
    def __init__(self, name: str):
        self.name = name

    def __call__(self, doc: Doc) -> Doc:
        view = text_view(doc)
        text = view.text
        out = found(doc)
        quantities: list[Mention] = []
        prices: list[tuple[int, int, float, str]] = []
        covered = 0  # "5x 80mg" is one quantity: its second number is not another
        for start, end in view.numbers:
            if start < covered:
                continue
            following = text[end + 1:end + 2] if text[end:end + 1] == " " else text[end:end + 1]
            word = WORD_AFTER_RE.match(text, end) if following.isalpha() else None
            unit = word.group(1).lower() if word else ""
            entity = self._measure_or_count(text, start, end, unit, word.end()) if word else None
            if entity is None and word:
                match = self._quantity_at(text, start, unit)
                entity = self._quantity(match) if match else None
            if entity is not None:
                quantities.append(entity)
                covered = entity.end
                continue
            amount = parse_number(text[start:end])
            if amount is None:
                continue
            if "%" in text[end:end + 2]:
                after_word = PURITY_AFTER_RE.match(text, end)
                if after_word or PURITY_BEFORE_RE.search(text, max(0, start - 16), start):
                    span_end = after_word.end() if after_word else text.index("%", end) + 1
                    if amount <= 100:
                        out.append(self._entity("PURITY", text, start, span_end, f"{amount:g}%", {"percent": amount}))
                    continue
                if amount <= 100:  # a bare "84%": product_roles decides whether it is the purity
                    span_end = text.index("%", end) + 1
                    out.append(self._entity("PERCENT", text, start, span_end, f"{amount:g}%", {"percent": amount}))
                    continue
            if unit in _CURRENCY_WORDS:  # "50 USD", "10 euros"
                prices.append((start, word.end(), amount, _CURRENCY_WORDS[unit]))
                continue
            after = CURRENCY_AFTER_RE.match(text, end) if following and following in _SYMBOL_CHARS else None
            before = None
            if not after and start:
                # A currency written before the number ("$5", "USD 5", "€ 5"): look only when
                # the character before it (or before its space) could end one.
                previous = text[start - 1] if text[start - 1] != " " or start < 2 else text[start - 2]
                if previous in _SYMBOL_CHARS or previous.isalpha():
                    before = CURRENCY_BEFORE_RE.search(text, max(0, start - 5), start)
            if after:
                currency, span = currency_code(after["cur"]), (start, after.end())
            elif before:
                currency, span = currency_code(before["sym"] or before["cur"]), (before.start(), end)
            else:
                continue
            if currency:
                prices.append((*span, amount, currency))
        out.extend(quantities)
        quantities.sort(key=lambda e: e.end)
        for start, end, amount, currency in prices:
            attrs = {"amount": amount, "currency": currency}
            tier = _buys(text, quantities, start)
            if tier is not None:
                attrs["quantity"] = {"amount": tier.attrs["amount"], "unit": tier.attrs["unit"], "text": tier.text}
            out.append(self._entity("PRICE", text, start, end, f"{amount:g} {currency}", attrs))
        return doc

    def _measure_or_count(self, text: str, start: int, end: int, unit: str, unit_end: int) -> Mention | None:
        """"10g", "3,5 gramm", "100 pills": the word after the number is the unit, so the
        quantity is built directly (the regexes are needed only for "5x 80mg" forms)."""
        if unit_end < len(text) and (text[unit_end].isalnum() or text[unit_end] == "_"):
            return None  # "10gx": not a unit
        if unit in _MASS or unit in _VOLUME:
            amount = parse_number(text[start:end])
            if amount is None:
                return None
            factor, norm_unit = (_VOLUME[unit], "ml") if unit in _VOLUME else (_MASS[unit], "g")
            norm_amount = amount * factor
            return self._entity("QUANTITY", text, start, unit_end, f"{norm_amount:g} {norm_unit}",
                                {"amount": round(norm_amount, 6), "unit": norm_unit, "written_unit": unit})
        if unit in COUNT_UNIT_WORDS and _COUNT_AMOUNT_RE.fullmatch(text, start, end):
            amount = parse_number(text[start:end])
            if amount is None:
                return None
            return self._entity("QUANTITY", text, start, unit_end, f"{amount:g} unit",
                                {"amount": round(amount, 6), "unit": "unit", "written_unit": unit})
        return None

    @staticmethod
    def _quantity_at(text: str, start: int, word: str) -> re.Match[str] | None:
        """"5x 80mg", "10 x pills": the forms with an "x" after the number need the patterns
        (plain "10g" and "100 pills" are built directly by _measure_or_count)."""
        if word in ("x", "×"):
            return MULTI_RE.match(text, start) or COUNT_RE.match(text, start)
        return None

    def _quantity(self, match: re.Match[str]) -> Mention | None:
        text = match.string
        if match.re is MULTI_RE:
            count, dose = parse_number(match["count"]), parse_number(match["amt"])
            if count is None or dose is None:
                return None
            return self._entity("QUANTITY", text, *match.span(), f"{count:g} unit",
                                {"amount": count, "unit": "unit", "dose": dose, "dose_unit": match["unit"].lower()})
        amount = parse_number(match["amt"])  # COUNT_RE: "10 x pills"
        if amount is None:
            return None
        return self._entity("QUANTITY", text, *match.span(), f"{amount:g} unit",
                            {"amount": amount, "unit": "unit", "written_unit": match["unit"].lower()})

    def _entity(self, label: str, text: str, start: int, end: int, value: str, attrs: dict) -> Mention:
        return Mention(label=label, text=text[start:end], field="text", start=start,
                      end=end, component=self.name, value=value, attrs=attrs)


_NUMBER_RE = re.compile(_NUM)


def quantity_of(text: str) -> dict | None:
    """The first quantity in a short text such as a price tier's "3.5g" or "100 pills":
    {amount (g, ml or units), unit, text, dose?, dose_unit?}."""
    finder = QuantityFinder("tier")
    for match in _NUMBER_RE.finditer(text):
        start, end = match.span()
        following = text[end + 1:end + 2] if text[end:end + 1] == " " else text[end:end + 1]
        word = WORD_AFTER_RE.match(text, end) if following.isalpha() else None
        if not word:
            continue
        unit = word.group(1).lower()
        entity = finder._measure_or_count(text, start, end, unit, word.end())
        if entity is None:
            pattern = finder._quantity_at(text, start, unit)
            entity = finder._quantity(pattern) if pattern else None
        if entity is not None:
            return {"text": entity.text, **{k: entity.attrs[k] for k in ("amount", "unit", "dose", "dose_unit")
                                            if k in entity.attrs}}
    return None


@Language.factory(COMPONENT, assigns=["doc._.interdict_quantities"])
def make_quantity_finder(nlp: Language, name: str) -> QuantityFinder:
    return QuantityFinder(name)
