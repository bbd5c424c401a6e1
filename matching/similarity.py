"""How much a declared description says about one listing's title, word by word.

Each word the two share counts by how distinctive it is:
- rare among the indexed titles: its IDF over the store's title words (the ``t:`` keys,
  MatchIndex.key_counts), so "cannasutra" on a few listings counts, "cocaine" on thousands less;
- rare in ordinary writing: a word common in any of the markets' languages (wordfreq's Zipf
  frequency: "tea", "kitchen", "glue", "crystal") is what lawful parcels declare every day,
  so it counts little however rare it is in titles — unless it is the name of a controlled
  product the description names ("hash", "cocaine"), which is never an ordinary word here.

The evidence grows with the share of the description's own weight the title covers and with
the weight matched, up to one distinctive word's worth; one shared ordinary word is never
more than ``similarity_one_ordinary``. Cover words ("gift", "documents") never take part
(matching.declaration: ``terms``). Misspellings are met one edit away, for words that are
no word of any market language ("cystalls" → "crystals", never "candles" → "candies").
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from matching.term_weights import zipf_any

FUZZY_MIN_LENGTH = 5
FUZZY_MAX_ZIPF = 2.0  # a word this common in a market language is written on purpose, not misspelt


def may_be_misspelt(word: str) -> bool:
    return len(word) >= FUZZY_MIN_LENGTH and word.isalpha() and zipf_any(word) < FUZZY_MAX_ZIPF


def one_edit_away(word: str) -> set[str]:
    """Every word one letter dropped, swapped with its neighbour, replaced or added away."""
    letters = "abcdefghijklmnopqrstuvwxyz"
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    out = {a + b[1:] for a, b in splits if b}
    out |= {a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1}
    out |= {a + c + b[1:] for a, b in splits if b for c in letters}
    out |= {a + c + b for a, b in splits for c in letters}
    out.discard(word)
    return out


def one_edit_apart(a: str, b: str) -> bool:
    """Whether b is a with one letter dropped, added, replaced, or two neighbours swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = 0
    while i < len(short) and short[i] == long[i]:
        i += 1
    return short[i:] == long[i + 1:]


def variants(word: str) -> tuple[str, ...]:
    """The word and its plural or singular: "glasses" meets "glass", "crystal" "crystals"."""
    out = [word, word + "s"]
    if word.endswith("es"):
        out.append(word[:-2])
    if word.endswith("s"):
        out.append(word[:-1])
    return tuple(out)


@dataclass
class WordStats:
    """Document frequencies of title words in one store, fetched as matching needs them."""

    weights: dict
    listings: int = 0
    df: dict[str, int] = field(default_factory=dict)
    _strength: dict[tuple[str, bool], float] = field(default_factory=dict)

    def forget(self) -> None:
        self.df.clear()
        self._strength.clear()

    def unknown(self, words: Iterable[str]) -> set[str]:
        return {w for w in words if w not in self.df}

    def learn(self, words: Iterable[str], counts: dict[str, int]) -> None:
        """Record the counts of the ``t:`` keys asked for ``words`` (absent: no title has the word)."""
        for word in words:
            self.df[word] = counts.get(f"t:{word}", 0)

    def idf(self, word: str) -> float:
        """1 for a word no other title has, towards 0 for a word every title has."""
        n = self.listings
        if n <= 1:
            return 1.0
        return min(1.0, math.log((n + 1) / (self.df.get(word, 0) + 1)) / math.log(n + 1))

    def rarity(self, word: str) -> float:
        """1 for a word no market language writes often, down to a floor for everyday words."""
        low, high = self.weights["rarity_zipf"]
        return max(self.weights["rarity_floor"], min(1.0, (high - zipf_any(word)) / (high - low)))

    def strength(self, word: str, named: bool = False) -> float:
        """How much sharing this word says; ``named``: it names a controlled product the
        description declares, never an ordinary word there."""
        key = (word, named)
        value = self._strength.get(key)
        if value is None:
            value = self._strength[key] = self.idf(word) * (1.0 if named else self.rarity(word))
        return value

    def ordinary(self, word: str) -> bool:
        return zipf_any(word) >= self.weights["ordinary_zipf"]


@dataclass(frozen=True, slots=True)
class Terms:
    """One article description's terms, ready to compare with many titles."""

    text: str  # as declared
    lookup: dict[str, str]  # each term and its plural/singular -> the term
    fuzzy: tuple[str, ...]  # terms that may be misspelt
    named: frozenset[str]  # terms naming a controlled product the description declares
    strengths: dict[str, float]  # term -> its own strength
    total: float  # the description's weight: its terms' strengths


def prepare_terms(text: str, terms: tuple[str, ...], named: frozenset[str], stats: WordStats) -> Terms:
    lookup: dict[str, str] = {}
    for term in terms:
        for variant in variants(term):
            lookup.setdefault(variant, term)
    fuzzy = tuple(t for t in terms if may_be_misspelt(t))
    strengths = {t: stats.strength(t, t in named) for t in terms}
    return Terms(text, lookup, fuzzy, named, strengths, sum(strengths.values()))


@dataclass(frozen=True, slots=True)
class Shared:
    """What one description shares with one title, and what it is worth in log-odds."""

    value: float
    text: str
    words: tuple[str, ...]  # the title's words that met the description's
    mass: float  # their strength
    total: float  # the description's weight, with the matched words at their title word's strength


NOTHING = Shared(0.0, "", (), 0.0, 0.0)


def shared(terms: Terms, title_words: frozenset[str], stats: WordStats) -> Shared:
    w = stats.weights
    matched: dict[str, str] = {}  # declared term -> title word
    for variant, term in terms.lookup.items():
        if variant in title_words and term not in matched:
            matched[term] = variant
    for term in terms.fuzzy:
        if term not in matched:
            for word in title_words:
                if len(word) >= FUZZY_MIN_LENGTH and one_edit_apart(term, word):
                    matched[term] = word
                    break
    if not matched:
        return NOTHING
    mass = sum(stats.strength(word, term in terms.named) for term, word in matched.items())
    total = terms.total - sum(terms.strengths[t] for t in matched) + mass
    if mass <= 0 or total <= 0:
        return NOTHING
    value = w["similarity"] * (mass / total) * min(1.0, mass / w["similarity_full"])
    if len(matched) == 1:
        (term, word), = matched.items()
        if term not in terms.named and stats.ordinary(word):
            value = min(value, w["similarity_one_ordinary"])
    return Shared(value, terms.text, tuple(matched.values()), mass, total)
