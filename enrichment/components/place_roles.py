"""Which way goods travel, read from the words around a place in free text.

A place is an origin or a destination only when words say so: a cue before it ("ships
from", "deliver to", "except"), a bare preposition in a sentence about shipping ("from
Canada" beside "shipped"), a domestic phrase ("domestic USA", "Australia wide": both), a
place where the buyers are ("UK customers", "orders from Holland"), a delivery time after it
("Worldwide: 5-21 days"), or, for a region, any talk of shipping around it ("shipped
worldwide"). A negated shipping verb before destinations makes them exclusions ("we don't
send to Australia"). The cue words are data (enrichment/data/route_cues.json).
"""

from __future__ import annotations

import json
import re
from functools import lru_cache

from contracts.regions import WORLDWIDE, load_region_members
from enrichment.gazetteers import data_path
from enrichment.text import TextView

CUE_WINDOW_CHARS = 40
CONTEXT_CHARS = 80  # how far a sentence about shipping reaches
REGION_CONTEXT_CHARS = 40
NEGATION_REACH_CHARS = 40  # from the negation to the shipping verb
VERB_REACH_CHARS = 25  # from the shipping verb to the place
_CLAUSE_END_RE = re.compile(r"[.!?;:\n]|\bbut\b")
_QUESTION_RE = re.compile(r"[^.!\n]{0,60}\?")  # the place's sentence ends with a question mark


def _alternatives(words: list[str]) -> str:
    return "|".join(sorted((r"\W+".join(map(re.escape, w.split())) for w in words), key=len, reverse=True))


@lru_cache(maxsize=4)
def load_cues(name: str = "route_cues.json") -> dict[str, list[str]]:
    return {k: v for k, v in json.loads(data_path(name).read_text(encoding="utf-8")).items() if not k.startswith("_")}


class RoleReader:
    def __init__(self, cues: dict[str, list[str]] | None = None):
        cues = cues or load_cues()
        fillers = _alternatives(cues["fillers"])

        def before(kind: str) -> re.Pattern[str]:
            """Text (folded) ending with one of the cues of ``kind``, fillers allowed after it."""
            return re.compile(rf"(?:^|\W)(?:{_alternatives(cues[kind])})\W+(?:(?:{fillers})\W+)*$")

        def after(kind: str) -> re.Pattern[str]:
            return re.compile(rf"\W{{0,3}}(?:{_alternatives(cues[kind])})\b")  # (used with .match: anchored)

        self.origin, self.destination = before("origin"), before("destination")
        self.weak_origin, self.weak_destination = before("weak_origin"), before("weak_destination")
        self.provenance, self.exclusion = before("provenance"), before("exclusion")
        self.domestic_before, self.domestic_after = before("domestic_before"), after("domestic_after")
        self.within_before, self.within_after = before("within_before"), after("within_after")
        self.customers_before, self.customers_after = before("customers_before"), after("customers_after")
        self.orders_from = before("orders_from")
        self.origin_after = after("origin_after")
        self.shipping = re.compile(rf"\b(?:{_alternatives(cues['shipping_context'])})", re.I)
        units = _alternatives(cues["delivery_time_units"])
        # "Worldwide: 5-21 workdays", "UK: usually 4- 12 days", "International Standard 10-14 Business Days"
        self.delivery_time = re.compile(rf"\W{{0,3}}(?:[a-z]+\s+){{0,2}}\d+\s*(?:(?:-|to)\s*\d+)?\+?\s*(?:{units})\b")
        verbs = _alternatives(cues["shipping_verbs"])
        self.verbs = re.compile(rf"\b(?:{verbs})")
        self.negated = re.compile(rf"\b(?:{_alternatives(cues['negations'])})\b[^.!?;:]{{0,{NEGATION_REACH_CHARS}}}?"
                                  rf"\b(?:{verbs})\w*\b[^.!?;:]{{0,{VERB_REACH_CHARS}}}$")
        members = load_region_members()
        self.regions = frozenset(members) | {WORLDWIDE}

    def role(self, view: TextView, start: int, end: int, code: str) -> str | None:
        """origin, destination, domestic (both), provenance, or None."""
        folded = view.folded
        window = max(0, start - CUE_WINDOW_CHARS)
        clause = self._clause_start(folded, start)
        if self.provenance.search(folded, window, start):
            return "provenance"
        if _QUESTION_RE.match(folded, end):
            return None  # "Do you ship worldwide?": a buyer's question, not a route
        if self.origin.search(folded, window, start) or self.origin_after.match(folded, end):
            return "origin"
        if self.domestic_before.search(folded, window, start) or self.domestic_after.match(folded, end):
            return "destination" if code in self.regions else "domestic"
        if (self.customers_after.match(folded, end) or self.customers_before.search(folded, window, start)
                or (self.orders_from.search(folded, window, start) and not self.verbs.search(folded, clause, start))):
            return "destination"  # "UK customers", "orders from Holland" (not "we ship our orders from NL")
        if self.negated.search(folded, max(clause, start - CONTEXT_CHARS), start):
            return "destination"  # (an exclusion: see excluded)
        if self.destination.search(folded, window, start):
            return "destination"
        within = self.within_before.search(folded, window, start) or self.within_after.match(folded, end)
        if within and self._about_shipping(folded, start, end, CONTEXT_CHARS):
            return "destination" if code in self.regions else "domestic"
        if self.delivery_time.match(folded, end):
            return "destination"
        weak_origin = self.weak_origin.search(folded, window, start)
        weak_destination = not weak_origin and self.weak_destination.search(folded, window, start)
        if weak_origin:
            # only what comes before counts: in "weed from The Netherlands, we send within
            # 48 h" the weed's origin is told before the sending
            before_it = self.shipping.search(folded, max(clause, start - CONTEXT_CHARS), start)
            return "origin" if before_it else "provenance"
        if weak_destination:
            return "destination" if self._about_shipping(folded, start, end, CONTEXT_CHARS) else None
        if code in self.regions and self._about_shipping(folded, start, end, REGION_CONTEXT_CHARS):
            return "destination"  # "shipped worldwide", "Regular mail EU & WW"
        return None

    def excluded(self, view: TextView, start: int) -> bool:
        folded = view.folded
        return bool(self.exclusion.search(folded, max(0, start - CUE_WINDOW_CHARS), start)
                    or self.negated.search(folded, max(self._clause_start(folded, start), start - CONTEXT_CHARS), start))

    def _about_shipping(self, folded: str, start: int, end: int, reach: int) -> bool:
        """A shipping word in the place's clause, before it or after it, within ``reach``."""
        low = max(self._clause_start(folded, start), start - reach)
        after = _CLAUSE_END_RE.split(folded[end:end + reach], maxsplit=1)[0]
        return bool(self.shipping.search(folded, low, start) or self.shipping.search(after))

    @staticmethod
    def _clause_start(folded: str, start: int) -> int:
        ends = list(_CLAUSE_END_RE.finditer(folded, max(0, start - 200), start))
        return ends[-1].end() if ends else 0
