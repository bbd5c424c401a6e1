"""Places: country and region names to ISO 3166 codes, with their shipping role.

A place in free text is an origin or a destination only when a cue says so ("ships from",
"nach", "UK → EU"); bare two- and three-letter words ("in", "it", "be", "us") count only
when written in capitals as codes and cued, so ordinary words never become countries.
"""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc

from enrichment.automaton import PhraseAutomaton, longest_non_overlapping, shared_gazetteers
from enrichment.components import BatchComponent, Mention, found
from enrichment.gazetteers import PlaceGazetteer, load_places
from enrichment.text import TextView, text_view

COMPONENT = "interdict_places"
# Cue words just before a place say which way the goods travel (folded, multi-word allowed).
ORIGIN_CUES = ("ships from", "shipping from", "shipped from", "ship from", "sent from", "send from", "posted from",
               "dispatched from", "dispatch from", "origin", "origin country", "country of origin", "based in",
               "located in", "stock in", "warehouse in", "envoi depuis", "versand aus", "envio desde",
               "verzonden vanuit", "verzending vanuit")
DESTINATION_CUES = ("ships to", "shipping to", "ship to", "shipped to", "deliver to", "delivery to", "send to",
                    "sent to", "post to", "envio a", "only to", "shipping only to", "worldwide except", "except",
                    "excluding", "no shipping to", "not to", "destination", "versand nach", "envoi vers",
                    "verzending naar")
# Bare prepositions ("from Nepal", "to Europe") say where goods travel only in a sentence
# about shipping; otherwise "hash direct from Nepal" tells where the product comes from.
WEAK_ORIGIN_CUES = ("from", "aus", "desde", "depuis", "uit", "van", "herkunft", "origen", "origine")
WEAK_DESTINATION_CUES = ("to", "nach", "naar", "vers", "hacia", "into", "a")
PROVENANCE_CUES = ("imported from", "import from", "direct from", "straight from", "grown in", "made in",
                   "product of", "produced in", "from the mountains of", "fresh from")
SHIPPING_CONTEXT_RE = re.compile(r"\b(?:ship|shipp|sent|send|post|dispatch|deliver|mail|versand|versend|envio|envoi|"
                                 r"verzend|verzond|livr|spedi|stealth|tracked|customs)", re.I)
SHIPPING_CONTEXT_CHARS = 60
EXCLUSION_CUES = ("except", "excluding", "excl", "but", "no", "not", "not to", "no shipping to",
                  "do not ship to", "dont ship to", "don't ship to", "we do not ship to", "ausser", "sauf",
                  "excepto", "behalve", "no ship to", "without")
ARTICLES = {"the", "der", "die", "das", "den", "la", "le", "les", "el", "los", "de", "het", "l", "all", "any"}
# "UK-UK", "EU->WW", "USA to USA", "NL > EU": origin and destination written as a pair.
ROUTE_RE = re.compile(r"^\s*(?:-{1,2}>?|–|→|>|=>|2|to)\s*$", re.I)
CUE_WINDOW_CHARS = 40
_WORDS = re.compile(r"[\w']+")


def _cue_regex(cues: tuple[str, ...]) -> re.Pattern[str]:
    """Matches text (folded) that ends with one of ``cues``, articles allowed after it."""
    alternatives = "|".join(sorted((r"\W+".join(map(re.escape, c.split())) for c in cues), key=len, reverse=True))
    articles = "|".join(sorted(ARTICLES, key=len, reverse=True))
    return re.compile(rf"(?:^|\W)(?:{alternatives})\W+(?:(?:{articles})\W+)*$")


class PlaceMatcher(BatchComponent):
    def __init__(self, nlp: Language, name: str, gazetteer: str):
        self.name = name
        self.places: PlaceGazetteer = load_places(gazetteer)
        names = self.places.names
        self.automaton = PhraseAutomaton(names.items())  # cells: short and about places
        # Free text: names of three letters or fewer are words in most languages ("in",
        # "it", "be"): they count only when written in capitals.
        self.gazetteers = shared_gazetteers(nlp)
        self.gazetteers.register(name, ((n, (c, len(n.replace(".", "")) <= 3)) for n, c in names.items()))
        self.origin_cues = _cue_regex(ORIGIN_CUES)
        self.destination_cues = _cue_regex(DESTINATION_CUES)
        self.provenance_cues = _cue_regex(PROVENANCE_CUES)
        self.weak_origin_cues = _cue_regex(WEAK_ORIGIN_CUES)
        self.weak_destination_cues = _cue_regex(WEAK_DESTINATION_CUES)
        self.exclusion_cues = _cue_regex(EXCLUSION_CUES)

    def role(self, view: TextView, start: int) -> str | None:
        """origin / destination when a cue says the goods travel; provenance when it says
        where the product comes from ("imported from Holland"); None otherwise."""
        folded, window = view.folded, max(0, start - CUE_WINDOW_CHARS)
        if self.provenance_cues.search(folded, window, start):
            return "provenance"
        if self.origin_cues.search(folded, window, start):
            return "origin"
        if self.destination_cues.search(folded, window, start):
            return "destination"
        weak_origin = self.weak_origin_cues.search(folded, window, start)
        weak_destination = not weak_origin and self.weak_destination_cues.search(folded, window, start)
        if not (weak_origin or weak_destination):
            return None
        about_shipping = SHIPPING_CONTEXT_RE.search(folded, max(0, start - SHIPPING_CONTEXT_CHARS), start)
        if weak_origin:
            return "origin" if about_shipping else "provenance"
        return "destination" if about_shipping else None

    def _trusted(self, view: TextView, start: int, end: int, role: str | None) -> bool:
        key = view.folded[start:end]
        if key not in self.places.ambiguous:
            return True
        written = view.text[start:end]
        # Ambiguous names count only as capitalised codes ("US", "UK") with a role.
        return role is not None and (written.isupper() or len(key) > 3)

    def __call__(self, doc: Doc) -> Doc:
        view = text_view(doc)
        text = view.text
        hits = longest_non_overlapping([(start, end, code)
                                        for start, end, (code, short) in self.gazetteers.hits(view, self.name)
                                        if not short or text[start:end].isupper()])
        roles: dict[int, str | None] = {i: self.role(view, s) for i, (s, _, _) in enumerate(hits)}
        # Route pairs: the left one is the origin, the right one the destination.
        for i in range(len(hits) - 1):
            (s1, e1, _), (s2, e2, _) = hits[i], hits[i + 1]
            if (view.text[s1:e1].isupper() and view.text[s2:e2].isupper()
                    and ROUTE_RE.match(view.text[e1:s2])):
                roles[i] = roles[i] or "origin"
                roles[i + 1] = "destination"
        out = found(doc)
        for i, (start, end, code) in enumerate(hits):
            role = roles[i]
            if not self._trusted(view, start, end, role):
                continue
            attrs = {"role": role}
            if role == "destination" and self.exclusion_cues.search(view.folded, max(0, start - CUE_WINDOW_CHARS), start):
                attrs["excluded"] = True
            out.append(Mention(label="PLACE", text=view.text[start:end], field="text", start=start, end=end,
                              component=self.name, value=code, attrs=attrs))
        return doc

    def field_places(self, value: str, field: str) -> list[Mention]:
        """Places in a market's structured ships-from / ships-to cell.

        Cells are short and about places, so names resolve without cues; they still hold
        mess: "Worldwide except Australia", "From: USA To: Worldwide" in a ships-from
        cell, "Europe, norway and swizz". Returns PLACE entities with role and exclusion.
        """
        view = TextView(value)
        default_role = "origin" if field == "ships_from" else "destination"
        switch = LABELLED_TO_RE.search(value)
        entities, excluding = [], False
        last_end = 0
        for start, end, code in self.automaton.find(view):
            key, written = view.folded[start:end], view.text[start:end]
            if key in self.places.ambiguous and len(key) <= 2 and not written.isupper():
                continue
            role = "destination" if switch and start >= switch.end() else default_role
            between = _WORDS.findall(view.folded[last_end:start])
            if any(w in EXCLUSION_WORDS for w in between) or self.exclusion_cues.search(view.folded, last_end, start):
                excluding = True
            attrs = {"role": role}
            if excluding and role == "destination" and code != "WORLDWIDE":
                attrs["excluded"] = True
            entities.append(Mention(label="PLACE", text=written, field=field, start=start, end=end,
                                   component=self.name, value=code, attrs=attrs))
            last_end = end
        return entities


LABELLED_TO_RE = re.compile(r"\bto\s*:", re.I)
EXCLUSION_WORDS = {"except", "excluding", "excl", "but", "not", "no", "ausser", "sauf", "excepto", "behalve", "without"}


@Language.factory(COMPONENT, default_config={"gazetteer": "places.json"})
def make_place_matcher(nlp: Language, name: str, gazetteer: str) -> PlaceMatcher:
    return PlaceMatcher(nlp, name, gazetteer)
