"""Products: slang, misspellings and brand variants to a canonical name, category, HS code.

Data-driven passes over the folded text: the pipeline's shared automaton finds strong aliases
(anywhere), weak aliases ("ice", "snow": only next to a quantity or a price) and category
words from the taxonomy ("benzos", "steroids": a category when no product is named). In the
title, where listings name their product, misspelt single-word names ("oxycodon",
"alprazolan") are found through a deletion index (edit distance one, same first two
letters, words of seven letters or more, common words excluded), and research-chemical codes and INN stems through
product_patterns.json.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache

from spacy.language import Language
from spacy.tokens import Doc

from contracts.vocabulary import load_common_words, vocabulary_path
from enrichment.automaton import longest_non_overlapping
from enrichment.components import DataComponent, Mention, found
from enrichment.components.gazetteer_pass import HITS, gazetteer_pass
from enrichment.gazetteers import ProductEntry, data_path, load_category_words, load_phrases, load_products
from enrichment.text import text_view

COMPONENT = "interdict_products"
WORD_RE_PATTERN = r"[^\W\d_]{%d,}"


def _deletes(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))}


def within_one_edit(a: str, b: str) -> bool:
    """Damerau–Levenshtein distance ≤ 1 (one insertion, deletion, substitution or swap)."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = (a, b) if len(a) < len(b) else (b, a)
    return any(long_[:i] + long_[i + 1:] == short for i in range(len(long_)))


class FuzzyLexicon:
    """Symmetric-delete index of single-word aliases: finds words one typo away."""

    def __init__(self, words: dict[str, int], min_length: int, common: frozenset[str]):
        self.min_length = min_length
        self.common = common
        self.index: dict[str, set[str]] = {}
        self.words = words
        for word in words:
            for key in {word, *_deletes(word)}:
                self.index.setdefault(key, set()).add(word)
        self.lookup = lru_cache(maxsize=200_000)(self._lookup)

    def near(self, token: str) -> set[str]:
        """Words of the lexicon one typo away from ``token`` (not ``token`` itself)."""
        candidates = set()
        for key in {token, *_deletes(token)}:
            candidates |= self.index.get(key, set())
        # Typos rarely hit a word's first two letters; requiring them keeps "tracked" from "cracked".
        return {w for w in candidates if w != token and w[:2] == token[:2] and within_one_edit(token, w)}

    def _lookup(self, token: str) -> int | None:
        if len(token) < self.min_length or token in self.common or token in self.words:
            return None
        matches = {self.words[w] for w in self.near(token)}
        return matches.pop() if len(matches) == 1 else None


@dataclass(frozen=True)
class PatternRule:
    entry: ProductEntry
    suffixes: tuple[str, ...] = ()
    min_length: int = 0


def load_patterns(name: str) -> tuple[re.Pattern[str] | None, list[PatternRule], list[PatternRule]]:
    """(one regex with a named group per regex rule, regex rules, suffix rules) of a pattern file."""
    rules = json.loads(data_path(name).read_text(encoding="utf-8"))["rules"]
    regex_rules, suffix_rules, parts = [], [], []
    for rule in rules:
        entry = ProductEntry(canonical=rule["canonical"], category=rule["category"], hs_code=rule.get("hs_code"),
                             aliases=(), weak_aliases=(), priority=int(rule.get("priority", 0)),
                             also=tuple(rule.get("also", ())))
        if "regex" in rule:
            parts.append(f"(?P<r{len(regex_rules)}>{rule['regex']})")
            regex_rules.append(PatternRule(entry))
        if "suffixes" in rule:
            suffix_rules.append(PatternRule(entry, tuple(rule["suffixes"]), int(rule.get("min_length", 0))))
    combined = re.compile("|".join(parts)) if parts else None  # used with fullmatch on one token
    return combined, regex_rules, suffix_rules


def _plurals(phrases: list[tuple[str, tuple]]) -> list[tuple[str, tuple]]:
    """English "-s" plurals of the phrases that lack one ("tax return" -> "tax returns"),
    unless that form already names something else."""
    known = {phrase.casefold() for phrase, _ in phrases}
    extra = []
    for phrase, payload in phrases:
        plural = phrase + "s"
        if len(phrase) > 3 and phrase[-1].isalpha() and phrase[-1] not in "sxy" and plural.casefold() not in known:
            extra.append((plural, payload))
            known.add(plural.casefold())
    return extra


class ProductMatcher(DataComponent):
    def __init__(self, nlp: Language, name: str, weak_window: int, fuzzy_min_length: int):
        self.name = name
        self.weak_window, self.fuzzy_min_length = weak_window, fuzzy_min_length
        self.gazetteers = gazetteer_pass(nlp, name)

    def initialize(self, get_examples=None, *, nlp: Language | None = None, gazetteer: str = "products.jsonl",
                   taxonomy: str = "taxonomy.json", patterns: str = "product_patterns.json",
                   common_words: str = "common_words.txt", not_products: str = "not_products.txt") -> None:
        self.use({"gazetteer": data_path(gazetteer), "taxonomy": vocabulary_path(taxonomy),
                  "patterns": data_path(patterns), "common_words": vocabulary_path(common_words),
                  "not_products": data_path(not_products)})

    def load(self, files: dict[str, str]) -> None:
        fuzzy_min_length = self.fuzzy_min_length
        self.entries: tuple[ProductEntry, ...] = load_products(files["gazetteer"])
        # Strong aliases, weak aliases and category words, in the pipeline's shared automaton.
        phrases: list[tuple[str, tuple[str, int | str]]] = []
        for i, e in enumerate(self.entries):
            phrases += [(alias, ("alias", i)) for alias in (e.canonical, *e.aliases)]
            phrases += [(alias, ("weak_alias", i)) for alias in e.weak_aliases]
        phrases += [(word, ("category", category)) for word, category in load_category_words(files["taxonomy"]).items()]
        phrases += _plurals(phrases)
        phrases += [(phrase, ("none", None)) for phrase in load_phrases(files["not_products"])]
        self.gazetteers.register(self.name, phrases)
        singles = {a.casefold(): i for i, e in enumerate(self.entries)
                   for a in (e.canonical, *e.aliases) if a.isalpha() and len(a) >= fuzzy_min_length}
        self.fuzzy = FuzzyLexicon(singles, fuzzy_min_length, load_common_words(files["common_words"]))
        self._word_re = re.compile(WORD_RE_PATTERN % fuzzy_min_length)
        self.pattern_re, self.regex_rules, suffix_rules = load_patterns(files["patterns"])
        self._suffixes = {suffix: rule for rule in suffix_rules for suffix in rule.suffixes}
        self._suffix_sizes = sorted({len(suffix) for suffix in self._suffixes}, reverse=True)
        self._title_token_re = re.compile(r"[\w\-α]+(?:[.,+][\w\-]+)*")

    def _pattern_hits(self, view, start: int, end: int) -> list[tuple[int, int, ProductEntry, str]]:
        """Research-chemical codes and INN stems in the title (see product_patterns.json)."""
        hits = []
        folded = view.folded
        for match in self._title_token_re.finditer(folded, start, end):
            token = match.group(0)
            if self.pattern_re is not None and (not token.isalpha()):
                # Codes hold a digit or a hyphen ("4-mmc", "25i-nbome", "ab-pinaca").
                code = self.pattern_re.fullmatch(token)
                if code:
                    hits.append((match.start(), match.end(), self.regex_rules[int(code.lastgroup[1:])].entry, "pattern"))
                    continue
            if token.isalpha() and token not in self.fuzzy.common:
                for size in self._suffix_sizes:
                    rule = self._suffixes.get(token[-size:]) if len(token) > size else None
                    if rule is not None and len(token) >= rule.min_length:
                        hits.append((match.start(), match.end(), rule.entry, "stem"))
                        break
        return hits

    def _near_anchor(self, start: int, end: int, anchors: list[tuple[int, int]]) -> bool:
        """A weak alias counts next to a quantity or price, never inside one ("10g" is not GHB)."""
        inside = any(a < end and start < b for a, b in anchors)
        near = any(a - self.weak_window <= start and end <= b + self.weak_window for a, b in anchors)
        return near and not inside

    def __call__(self, doc: Doc) -> Doc:
        view = text_view(doc)
        anchors = [(e.start, e.end) for e in found(doc) if e.label in ("QUANTITY", "PRICE")]
        hits, category_hits = [], []
        # Not-a-product phrases compete like aliases: longer than the product word inside them,
        # they win it ("reagent tested"); a longer product phrase still wins them ("reagent test kit").
        blocked = []
        for start, end, (how, value) in self.gazetteers.hits(view, self.name):
            if how == "none":
                blocked.append((start, end, (None, how)))
            elif how == "alias":
                hits.append((start, end, value, how))
            elif how == "category":
                category_hits.append((start, end, value))
            elif self._near_anchor(start, end, anchors):
                hits.append((start, end, value, how))
        title = view.field_span("title") or (0, len(view.text))
        for match in self._word_re.finditer(view.folded, *title):
            index = self.fuzzy.lookup(match.group(0))
            if index is not None:
                hits.append((match.start(), match.end(), index, "fuzzy"))
        resolved = [(s, e, (self.entries[i], how)) for s, e, i, how in hits]
        resolved += [(s, e, (entry, how)) for s, e, entry, how in self._pattern_hits(view, *title)]
        # A weak alias ("crystal", "ice") is evidence only where nothing names the product.
        named = {view.locate(s, e)[0] for s, e, (_, how) in resolved if how != "weak_alias"}
        resolved = [h for h in resolved if h[2][1] != "weak_alias" or view.locate(h[0], h[1])[0] not in named]
        out = found(doc)
        chosen = longest_non_overlapping(resolved + blocked)
        for start, end, (entry, how) in chosen:
            if entry is None:
                continue
            out.append(Mention(
                label="PRODUCT", text=view.text[start:end], field="text", start=start, end=end,
                component=self.name, value=entry.canonical,
                attrs={"category": entry.category, "hs_code": entry.hs_code, "match": how,
                       "priority": entry.priority, "also": list(entry.also)},
            ))
        for start, end, category in longest_non_overlapping(category_hits):
            if all(end <= s or start >= e for s, e, _ in chosen):
                out.append(Mention(label="CATEGORY", text=view.text[start:end], field="text", start=start,
                                  end=end, component=self.name, value=category, attrs={}))
        return doc


@Language.factory(COMPONENT, default_config={"weak_window": 24, "fuzzy_min_length": 7},
                  assigns=["doc._.interdict_products"], requires=[HITS, "doc._.interdict_quantities"])
def make_product_matcher(nlp: Language, name: str, weak_window: int, fuzzy_min_length: int) -> ProductMatcher:
    return ProductMatcher(nlp, name, weak_window, fuzzy_min_length)
