"""Product roles: which of the products a listing names it actually offers.

Runs after the products component (data: product_roles.json):
- names: markets name pills, strains and cuts after weapons and brands ("MDMA 'Grenades'",
  "7g AK-47", "25g Rolex hash", "Louis Vuitton pills"). A product of a naming family is
  relabelled NAME when its field holds at least as much evidence of the family it names
  things in (that family's products, quantities in that family's units) as of its own;
- negations: a seed, a pipe or a fake right after "no", "without"… is not offered ("no seeds");
- bonus: one thrown in ("1oz Kush + FREE edible", "FREE pipe included"), never the main product;
- purity: a bare percentage (the quantities component reports it as PERCENT) next to a
  product or a quantity is the purity ("Molly 84% 10g"), unless a word such as "off"
  follows it ("10% off"); other percentages are dropped.
The listing-level role, a topic ("a guide about cocaine"), is decided with the main
category in the pipeline (taxonomy.json "frame").
"""

from __future__ import annotations

import json
import re
from collections import Counter

from spacy.language import Language
from spacy.tokens import Doc

from enrichment.components import DataComponent, Mention, found
from enrichment.gazetteers import data_path
from enrichment.text import text_view

COMPONENT = "interdict_product_roles"
BONUS_PRIORITY = -100  # below every gazetteer priority: the main product is what is sold
_GAP_RE = re.compile(r"[\s\-–:,/()|*~+\[\]]*")


def _within(category: str, prefixes: tuple[str, ...]) -> bool:
    return any(category == p or category.startswith(p + ".") for p in prefixes)


class ProductRoles(DataComponent):
    def __init__(self, nlp: Language, name: str):
        self.name = name

    def initialize(self, get_examples=None, *, nlp: Language | None = None, data: str = "product_roles.json") -> None:
        self.use({"data": data_path(data)})

    def load(self, files: dict[str, str]) -> None:
        rules = json.loads(data_path(files["data"]).read_text(encoding="utf-8"))
        # Longest prefix first: "counterfeits.bags" before "counterfeits".
        self.names = sorted(rules["names"].items(), key=lambda item: -len(item[0]))
        self.units = {family: frozenset(units) for family, units in rules["units"].items()}
        self.units_of_no_family = frozenset(rules["units_of_no_family"])
        negations = rules["negations"]
        words = "|".join(re.escape(word) for word in negations["words"])
        self._negated_re = re.compile(rf"(?:^|[^\w.])(?:{words})\s+$", re.I)
        self.negatable = tuple(negations["categories"])
        bonus = rules["bonus"]
        before, gifts, after = ("|".join(re.escape(w) for w in bonus[k]) for k in ("before", "words", "after"))
        self._bonus_before_re = re.compile(rf"(?:^|\W)(?:{before})\s*(?:a\s+)?(?:{gifts})\W{{0,4}}$", re.I)
        self._bonus_after_re = re.compile(rf"\W{{0,4}}(?:{after})\b", re.I)
        self._bonus_word_re = re.compile(rf"\b(?:{gifts}|{after})\b", re.I)
        self._role_cache: dict[str, tuple[bool, list[str]]] = {}
        self.max_gap = int(rules["purity"]["max_gap"])
        stop = "|".join(re.escape(word) for word in rules["purity"]["not_purity_after"])
        self._not_purity_re = re.compile(rf"\s*(?:{stop})\b", re.I)

    def _roles(self, category: str) -> tuple[bool, list[str]]:
        """(negatable, the families it names things in) for a product category, cached."""
        roles = self._role_cache.get(category)
        if roles is None:
            families = next((f for prefix, f in self.names if _within(category, (prefix,))), [])
            roles = self._role_cache[category] = (_within(category, self.negatable), families)
        return roles

    def __call__(self, doc: Doc) -> Doc:
        view = text_view(doc)
        mentions = found(doc)
        if not mentions:
            return doc
        text = view.text
        gifts = self._bonus_word_re.search(text) is not None  # one look spares two per product
        kept: list[Mention] = []
        naming: list[Mention] = []
        for m in mentions:
            if m.label == "PRODUCT":
                negatable, families = self._roles(m.attrs["category"])
                if negatable and self._negated_re.search(text, max(0, m.start - 12), m.start):
                    continue
                if gifts and (self._bonus_before_re.search(text, max(0, m.start - 24), m.start)
                              or self._bonus_after_re.match(text, m.end)):
                    m.attrs["priority"] = BONUS_PRIORITY
                if families:
                    naming.append(m)
            kept.append(m)
        if naming:
            self._names(view, kept, naming)
        if any(m.label == "PERCENT" for m in kept):
            kept = [self._purity(m, kept, text) if m.label == "PERCENT" else m for m in kept]
        mentions[:] = [m for m in kept if m is not None]
        return doc

    def _names(self, view, mentions: list[Mention], naming: list[Mention]) -> None:
        # Per field and family: products named by a strong alias, and quantities in the family's units.
        named: Counter[tuple[str, str]] = Counter()
        measured: Counter[tuple[str, str]] = Counter()
        for m in mentions:
            if m.label == "PRODUCT" and m.attrs.get("match") != "weak_alias":
                named[view.locate(m.start, m.end)[0], m.attrs["category"].split(".")[0]] += 1
            elif m.label == "QUANTITY" and m.attrs.get("written_unit") not in self.units_of_no_family:
                units = {m.attrs.get("unit"), m.attrs.get("dose_unit")}
                for family, family_units in self.units.items():
                    if units & family_units:
                        measured[view.locate(m.start, m.end)[0], family] += 1
        for m in naming:
            field = view.locate(m.start, m.end)[0]
            own = named[field, m.attrs["category"].split(".")[0]]
            # More evidence of the other family, or as much and a quantity in its units ("7g AK-47").
            if any(named[field, f] + measured[field, f] > own or (measured[field, f] and named[field, f] + 1 >= own)
                   for f in self._roles(m.attrs["category"])[1]):
                m.label = "NAME"

    def _purity(self, percent: Mention, mentions: list[Mention], text: str) -> Mention | None:
        if self._not_purity_re.match(text, percent.end):
            return None
        for m in mentions:
            if m.label not in ("PRODUCT", "QUANTITY"):
                continue
            gap = (m.end, percent.start) if m.end <= percent.start else (percent.end, m.start)
            if 0 <= gap[1] - gap[0] <= self.max_gap and _GAP_RE.fullmatch(text, *gap):
                percent.label = "PURITY"
                percent.component = self.name
                return percent
        return None


@Language.factory(COMPONENT, assigns=["doc._.interdict_products"],
                  requires=["doc._.interdict_products", "doc._.interdict_quantities"])
def make_product_roles(nlp: Language, name: str) -> ProductRoles:
    return ProductRoles(nlp, name)
