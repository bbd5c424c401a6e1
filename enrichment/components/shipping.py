"""Shipping hints: carriers and services, stealth, declaration phrases, reship, drops, delivery times."""

from __future__ import annotations

import json
import re

from spacy.language import Language
from spacy.tokens import Doc

from contracts.money import parse_number
from enrichment.automaton import longest_non_overlapping
from enrichment.components import DataComponent, Mention, found
from enrichment.components.gazetteer_pass import HITS, gazetteer_pass
from enrichment.gazetteers import data_path
from enrichment.text import text_view

COMPONENT = "interdict_shipping"
LABELS = {"carriers": "CARRIER", "stealth": "STEALTH", "declared_as": "DECLARED_AS", "reship": "RESHIP", "drop": "DROP",
          "not_hints": None}  # phrases that hold a hint word but are none ("seizure letter")
_N = r"\d{1,2}(?:[.,]5)?"
_DAYS = r"(?:business\s+|working\s+|werk|arbeits|jours?\s+ouvr\w*\s*)?(?:days?|dias|tage[n]?|jours|dagen|d)\b"
# Anchored at a number (see TextView.numbers): "3-5 days", "7 days delivery", "48h delivery".
DAYS_RANGE_RE = re.compile(rf"(?P<low>{_N})\s?(?:-|–|to|bis|a|à|tot)\s?(?P<high>{_N})\s?{_DAYS}", re.I)
DAYS_SINGLE_RE = re.compile(rf"(?P<low>{_N})\s?{_DAYS}", re.I)
HOURS_RE = re.compile(r"(?P<hours>24|48|72)\s?(?:h|hrs?|hours)\b", re.I)
DELIVERY_WORDS_RE = re.compile(r"delivery|shipping|transit|arrive|lieferzeit|livraison|levertijd|envio|entrega|post", re.I)
CUE_WINDOW = 30
# A day or hour word within a few characters after the number.
DAYS_AHEAD_RE = re.compile(r"[\d.,]*\s?(?:(?:-|–|to|bis|a|à|tot)\s?[\d.,]+\s?)?(?:business\s|working\s|werk|arbeits|"
                           r"jours?\s)?(?:day|dia|tag|jour|dag|d\b|h\b|hrs?\b|hour)", re.I)


class ShippingHints(DataComponent):
    def __init__(self, nlp: Language, name: str):
        self.name = name
        self.gazetteers = gazetteer_pass(nlp, name)

    def initialize(self, get_examples=None, *, nlp: Language | None = None, gazetteer: str = "shipping.json") -> None:
        self.use({"gazetteer": data_path(gazetteer)})

    def load(self, files: dict[str, str]) -> None:
        data = json.loads(data_path(files["gazetteer"]).read_text(encoding="utf-8"))
        self.gazetteers.register(self.name, ((phrase, (LABELS[group], canonical))
                                        for group in LABELS for canonical, phrases in data[group].items()
                                        for phrase in phrases))

    def __call__(self, doc: Doc) -> Doc:
        view = text_view(doc)
        out = found(doc)
        for start, end, (label, canonical) in longest_non_overlapping(self.gazetteers.hits(view, self.name)):
            if label is None:
                continue
            out.append(Mention(label=label, text=view.text[start:end], field="text", start=start, end=end,
                              component=self.name, value=canonical, attrs={}))
        for start, _ in view.numbers:
            self._delivery_time(doc, view.text, start)
        return doc

    def _delivery_time(self, doc: Doc, text: str, start: int) -> None:
        if not DAYS_AHEAD_RE.match(text, start):  # one cheap look before three patterns
            return
        ranged = DAYS_RANGE_RE.match(text, start)
        match = ranged or DAYS_SINGLE_RE.match(text, start) or HOURS_RE.match(text, start)
        if match is None:
            return
        # A single number of days or hours is a delivery time only next to a delivery word.
        window = (max(0, start - CUE_WINDOW), min(len(text), match.end() + CUE_WINDOW))
        if not ranged and not DELIVERY_WORDS_RE.search(text, *window):
            return
        if match.re is HOURS_RE:
            low = high = int(match["hours"]) / 24
        else:
            low = parse_number(match["low"])
            high = parse_number(match["high"]) if ranged else low
        if low is None or high is None or not 0 < low <= high <= 90:
            return
        found(doc).append(Mention(label="DELIVERY_TIME", text=match.group(0), field="text", start=match.start(),
                                 end=match.end(), component=self.name, value=f"{low:g}-{high:g} days",
                                 attrs={"min_days": low, "max_days": high}))


@Language.factory(COMPONENT, assigns=["doc._.interdict_shipping"], requires=[HITS])
def make_shipping_hints(nlp: Language, name: str) -> ShippingHints:
    return ShippingHints(nlp, name)
