"""Places: country and region names to ISO 3166 codes, with their shipping role.

A place in free text is an origin or a destination only when words around it say so
(place_roles.py: "ships from", "UK customers", "domestic USA", "UK → EU"); a list goes on
("to USA and Canada"); bare two- and three-letter words ("in", "it", "be", "us") count only
when written in capitals as codes and given a role, so ordinary words never become countries.
"""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc

from contracts.regions import WORLDWIDE
from enrichment.automaton import PhraseAutomaton, longest_non_overlapping
from enrichment.components import DataComponent, Mention, found
from enrichment.components.gazetteer_pass import HITS, gazetteer_pass
from enrichment.components.place_roles import RoleReader, load_cues
from enrichment.gazetteers import PlaceGazetteer, data_path, load_places
from enrichment.text import TextView, text_view

COMPONENT = "interdict_places"
# "UK-UK", "EU->WW", "USA to USA", "NL > EU": origin and destination written as a pair.
ROUTE_RE = re.compile(r"^\s*(?:-{1,2}>?|–|→|>|=>|2|to)\s*$", re.I)
_WORDS = re.compile(r"[\w']+")


class PlaceMatcher(DataComponent):
    def __init__(self, nlp: Language, name: str):
        self.name = name
        self.gazetteers = gazetteer_pass(nlp, name)

    def initialize(self, get_examples=None, *, nlp: Language | None = None, gazetteer: str = "places.json",
                   cues: str = "route_cues.json") -> None:
        self.use({"gazetteer": data_path(gazetteer), "cues": data_path(cues)})

    def load(self, files: dict[str, str]) -> None:
        self.places: PlaceGazetteer = load_places(files["gazetteer"])
        names = self.places.names
        self.automaton = PhraseAutomaton(names.items())  # cells: short and about places
        # Free text: names of three letters or fewer are words in most languages ("in",
        # "it", "be"): they count only when written in capitals.
        self.gazetteers.register(self.name, ((n, (c, len(n.replace(".", "")) <= 3)) for n, c in names.items()))
        self.roles = RoleReader(load_cues(files["cues"]))

    def _plain_alias(self, view: TextView, start: int, end: int) -> bool:
        """A short name written in lower case that is no word ("usa", not "us" or "no")."""
        key = view.folded[start:end]
        return len(key) >= 3 and key in self.places.listed and key not in self.places.words

    def _bare_code(self, view: TextView, start: int, end: int) -> bool:
        """A short name in free text: in capitals or a listed lower-case name ("usa"); a
        two-letter code only if vendors write it bare (places.json text_codes): "Georgia GA"
        is a state, "CC to PM" are payment methods."""
        if not (view.text[start:end].isupper() or self._plain_alias(view, start, end)):
            return False
        key = view.folded[start:end]
        return len(key) != 2 or key in self.places.text_codes or key in self.places.listed

    def _trusted(self, view: TextView, start: int, end: int, role: str | None) -> bool:
        key = view.folded[start:end]
        if key in self.places.missing:
            return False  # "NA", a dataset's missing value, is not Namibia
        written = view.text[start:end]
        if key in self.places.words and _shouting(view.text, start, end):
            return False  # "NO SHIPPING TO USA": words, not Norway and Tonga
        if _in_address(view.text, start, end):
            return False  # "citra-world@mail.ru"
        if key not in self.places.ambiguous:
            return True
        # Ambiguous names count only as capitalised codes ("US", "UK") with a role.
        return role is not None and (written.isupper() or len(key) > 3 or self._plain_alias(view, start, end))

    def __call__(self, doc: Doc) -> Doc:
        view = text_view(doc)
        hits = longest_non_overlapping([(start, end, code)
                                        for start, end, (code, short) in self.gazetteers.hits(view, self.name)
                                        if not short or self._bare_code(view, start, end)])
        roles: dict[int, str | None] = {i: self.roles.role(view, s, e, code) for i, (s, e, code) in enumerate(hits)}
        excluded = {i: roles[i] == "destination" and self.roles.excluded(view, s) for i, (s, _, _) in enumerate(hits)}
        for i in range(len(hits) - 1):
            (s1, e1, _), (s2, e2, _) = hits[i], hits[i + 1]
            between = view.text[e1:s2]
            # Route pairs: the left one is the origin, the right one the destination.
            if view.text[s1:e1].isupper() and view.text[s2:e2].isupper() and ROUTE_RE.match(between):
                roles[i] = roles[i] or "origin"
                roles[i + 1] = "destination"
            # A list goes on: "to USA and Canada only", "except AU, NZ".
            elif roles[i + 1] is None and roles[i] in ("origin", "destination", "domestic") and LIST_RE.match(between):
                roles[i + 1], excluded[i + 1] = roles[i], excluded[i]
        out = found(doc)
        for i, (start, end, code) in enumerate(hits):
            role = roles[i]
            if not self._trusted(view, start, end, role):
                continue
            attrs = {"role": role}
            if excluded[i]:
                if code == WORLDWIDE:
                    continue  # "we do not ship anywhere else", "except international": no route
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
        if view.folded.strip(CELL_EDGES) in self.places.missing:
            return []  # "NA", "N/A", "-", "unknown": the dataset has no value here
        default_role = "origin" if field == "ships_from" else "destination"
        switch = LABELLED_TO_RE.search(value)
        entities, excluding = [], False
        last_end = 0
        for start, end, code in self.automaton.find(view):
            key, written = view.folded[start:end], view.text[start:end]
            if key in self.places.ambiguous and not self._code_in_cell(view, start, end):
                continue
            role = "destination" if switch and start >= switch.end() else default_role
            between = _WORDS.findall(view.folded[last_end:start])
            if any(w in EXCLUSION_WORDS for w in between) or self.roles.exclusion.search(view.folded, last_end, start):
                excluding = True
            attrs = {"role": role}
            if excluding and role == "destination" and code != WORLDWIDE:
                attrs["excluded"] = True
            entities.append(Mention(label="PLACE", text=written, field=field, start=start, end=end,
                                   component=self.name, value=code, attrs=attrs))
            last_end = end
        return entities


    def _code_in_cell(self, view: TextView, start: int, end: int) -> bool:
        """A short name ("US", "usa", "NA", "and") is a place in a cell only when it stands
        as a code: its piece of the cell (between list separators) holds no other words
        than a cell's own ("USA only", "We do not ship to USA"), it is not a missing-value
        marker, and it is written in capitals or is a name the data file lists ("usa", "ww").
        "Kind Hearts and Gentle People" holds no Andorra."""
        key, written = view.folded[start:end], view.text[start:end]
        if key in self.places.missing or not (written.isupper() or key in self.places.listed):
            return False
        left = CELL_SEPARATOR_RE.split(view.folded[:start])[-1]
        right = CELL_SEPARATOR_RE.split(view.folded[end:])[0]
        return all(word in self.places.cell_words or word in self.places.names
                   for word in _WORDS.findall(f"{left} {right}"))  # ("EU except DE": other places may be there)


def _shouting(text: str, start: int, end: int, reach: int = 30) -> bool:
    """Whether the text around a word is written in capitals (then a capitalised word is no code)."""
    line_start, line_end = text.rfind("\n", 0, start) + 1, text.find("\n", end)
    around = text[max(line_start, start - reach):start] + text[end:min(end + reach, line_end if line_end >= 0 else end + reach)]
    letters = [c for c in around if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) >= 0.7 * len(letters)


def _in_address(text: str, start: int, end: int) -> bool:
    """Whether the name is part of an e-mail address, a URL or a handle."""
    left, right = text.rfind(" ", 0, start) + 1, text.find(" ", end)
    token = text[left:right if right >= 0 else len(text)]
    return "@" in token or "://" in token or token.lower().startswith("www.")


LABELLED_TO_RE = re.compile(r"\bto\s*:", re.I)
CELL_EDGES = " .,;:()[]\t\n"
# Where one place of a cell ends and the next begins: "USA / Canada", "EU, UK & CH", "UK > EU".
CELL_SEPARATOR_RE = re.compile(r"[,;/&+|()\[\]\n:>→]|\s-+>?\s|\b(?:and|or|und|et|y|en)\b")
# What joins places of one list in free text: "USA and Canada", "AU, NZ", "DE/AT/CH".
LIST_RE = re.compile(r"^\s*(?:,|&|/|\+|-|,?\s*(?:and|or|und|et|y|en|&))\s*(?:the\s+)?$", re.I)
EXCLUSION_WORDS = {"except", "excluding", "excl", "but", "not", "no", "ausser", "sauf", "excepto", "behalve", "without"}


@Language.factory(COMPONENT, assigns=["doc._.interdict_places"], requires=[HITS])
def make_place_matcher(nlp: Language, name: str) -> PlaceMatcher:
    return PlaceMatcher(nlp, name)
