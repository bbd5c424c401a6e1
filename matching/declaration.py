"""Reading a declared goods description the way the enrichment stage reads a listing title:
products through the same gazetteer (slang, brand names, other languages), misspellings
corrected against it, the words that name goods, the quantity, and whether the description
is too vague to say anything (data: matching/data/vague_descriptions.txt).

Customs descriptions are short and repeat a lot across a stream, so each distinct text is
read once (cached) without a spaCy pass: a phrase automaton and a typo index answer in
microseconds, which keeps matching at thousands of shipments per second.
"""

from __future__ import annotations

import re
from typing import Any
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from contracts.text import fold
from contracts.vocabulary import load_filler_words, load_units
from enrichment.automaton import PhraseAutomaton
from enrichment.components.products import FuzzyLexicon
from enrichment.components.quantities import quantity_of
from enrichment.gazetteers import load_category_words, load_products
from enrichment.text import TextView
from index.profiles import distinctive_words, tokens

DATA_DIR = Path(__file__).resolve().parent / "data"
# Declarations are short: words from five letters are corrected (titles: seven), towards
# names of six letters or more; five-letter names are too often another ordinary word one
# typo away ("boots" / "books", "chess" / "chews").
FUZZY_MIN_LENGTH = 5
FUZZY_MIN_TARGET = 6
_WORD_RE = re.compile(r"[^\W\d_]+")
_MAX_PHRASE_WORDS = 5
MIN_GRAMS = 0.05  # less is a dose ("2mg"), not what a parcel holds


@dataclass(frozen=True, slots=True)
class DeclaredProduct:
    canonical: str
    category: str
    hs_code: str | None  # digits only
    text: str  # the words of the description that named it


@dataclass(frozen=True, slots=True)
class Declared:
    """One goods description, read."""

    text: str  # as declared
    corrected: str  # folded, misspellings replaced by the gazetteer's spelling
    products: tuple[DeclaredProduct, ...]
    categories: tuple[str, ...]  # taxonomy ids named without a product ("benzos", "steroids")
    words: tuple[str, ...]  # distinctive words (blocking keys)
    terms: tuple[str, ...]  # the words compared with titles: not filler, units or cover words ("gift")
    quantity: tuple[float, str] | None  # (amount, unit g|ml|unit) stated in the description
    vague: bool
    corrections: tuple[tuple[str, str], ...]  # (as written, as read)


def trigrams(text: str) -> frozenset[str]:
    """Character trigrams of each word, padded (the full-scan baseline of bench/matching.py)."""
    grams: set[str] = set()
    for word in _WORD_RE.findall(text):
        padded = f" {word} "
        grams.update(padded[i:i + 3] for i in range(len(padded) - 2))
    return frozenset(grams)


def load_phrases(name: str) -> frozenset[str]:
    """A data file of one phrase per line (``#`` comments), folded."""
    lines = (DATA_DIR / name).read_text(encoding="utf-8").splitlines()
    return frozenset(" ".join(fold(line).split()) for line in lines if line.strip() and not line.startswith("#"))


class DeclarationReader:
    def __init__(self, cache_size: int = 200_000):
        entries = load_products()
        phrases: list[tuple[str, tuple[str, Any]]] = []  # ("product", DeclaredProduct) or ("category", id)
        for entry in entries:
            hs = entry.hs_code.replace(".", "") if entry.hs_code else None
            product = DeclaredProduct(entry.canonical, entry.category, hs, "")
            phrases += [(alias, ("product", product)) for alias in (entry.canonical, *entry.aliases)]
        phrases += [(word, ("category", category)) for word, category in load_category_words().items()]
        self.automaton: PhraseAutomaton[tuple[str, Any]] = PhraseAutomaton(phrases)
        # Every word of every name, so that one misspelt word of "white widow" is put right too.
        self.known = frozenset(w for e in entries for a in (e.canonical, *e.aliases) for w in _WORD_RE.findall(fold(a)))
        targets = sorted(w for w in self.known if len(w) >= FUZZY_MIN_TARGET)
        self.fuzzy = FuzzyLexicon({w: n for n, w in enumerate(targets)}, FUZZY_MIN_LENGTH, frozenset())
        self._not_corrected = self.known | load_filler_words()
        self.vague_phrases = load_phrases("vague_descriptions.txt")
        self.plain_goods = frozenset(" ".join(_WORD_RE.findall(p)) for p in load_phrases("plain_goods.txt"))
        self._ignored = load_filler_words() | load_units().unit_words | load_phrases("declaration_filler.txt")
        self.read = lru_cache(maxsize=cache_size)(self._read)

    def _read(self, description: str) -> Declared:
        folded = fold(description)
        corrections = []
        words = []
        for word in _WORD_RE.findall(folded):
            right = self._correct(word)
            if right is not None:
                corrections.append((word, right))
                word = right
            words.append(word)
        corrected = folded
        for wrong, right in corrections:
            corrected = re.sub(rf"\b{re.escape(wrong)}\b", right, corrected)
        products, categories = [], []
        view = TextView(corrected)
        for start, end, (kind, value) in self.automaton.find(view):
            if self._plain(corrected, start, end):
                continue
            if kind == "product":
                products.append(DeclaredProduct(value.canonical, value.category, value.hs_code, corrected[start:end]))
            else:
                categories.append(value)
        found = quantity_of(description)
        quantity = None
        if found and found.get("amount") and not (found["unit"] == "g" and found["amount"] < MIN_GRAMS):
            quantity = (found["amount"], found["unit"])
        return Declared(
            text=description, corrected=corrected,
            products=tuple({p.canonical: p for p in products}.values()),
            categories=tuple(dict.fromkeys(categories)),
            words=tuple(distinctive_words(corrected)),
            terms=tuple(dict.fromkeys(w for w in tokens(corrected)
                                      if w not in self._ignored and w not in self.vague_phrases)),
            quantity=quantity, vague=not products and self._is_vague(words), corrections=tuple(corrections),
        )

    def _correct(self, word: str) -> str | None:
        """The gazetteer's spelling of a word one typo away from it, if the word is not a
        known word or the plural of one. Names spelt several ways in the gazetteer
        ("adderall", "adderal") are all right: the closest in length wins."""
        if len(word) < FUZZY_MIN_LENGTH or word in self._not_corrected or word.rstrip("s") in self._not_corrected:
            return None
        near = self.fuzzy.near(word)
        return min(near, key=lambda w: (abs(len(w) - len(word)), w)) if near else None

    def _plain(self, text: str, start: int, end: int) -> bool:
        """Whether a gazetteer hit names ordinary goods here: on its own ("wallet") or with the
        word after it ("iphone case", "spice grinder")."""
        hit = " ".join(_WORD_RE.findall(text[start:end]))
        following = _WORD_RE.search(text, end)
        return hit in self.plain_goods or (following is not None and f"{hit} {following.group(0)}" in self.plain_goods)

    def _is_vague(self, words: list[str]) -> bool:
        """Whether the words, fillers and units set aside, are nothing but vague phrases."""
        words = [w for w in words if w not in self._ignored]
        if not words:
            return True
        # covered[i]: words[:i] splits into vague phrases
        covered = [True] + [False] * len(words)
        for end in range(1, len(words) + 1):
            for size in range(1, min(_MAX_PHRASE_WORDS, end) + 1):
                if covered[end - size] and " ".join(words[end - size:end]) in self.vague_phrases:
                    covered[end] = True
                    break
        return covered[-1]
