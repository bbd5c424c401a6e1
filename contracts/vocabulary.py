"""Vocabularies every stage reads, kept as data in contracts/data: units and currencies, the
category taxonomy, and the ordinary words that never name goods. The enrichment stage's own
gazetteers (products, places, patterns) stay in enrichment/data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from contracts.text import fold

VOCABULARY_DIR = Path(__file__).resolve().parent / "data"


def vocabulary_path(name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else VOCABULARY_DIR / path


def _word_lines(name: str) -> frozenset[str]:
    """Folded words of a one-per-line file ('#' starts a comment line)."""
    lines = vocabulary_path(name).read_text(encoding="utf-8").splitlines()
    return frozenset(fold(w.strip()) for w in lines if w.strip() and not w.startswith("#"))


@dataclass(frozen=True)
class Units:
    """units.json: mass in grams per unit, volume in millilitres per unit, words that count
    items, and currency symbols and words with their ISO 4217 code (BTC, XMR for crypto)."""

    mass: dict[str, float]
    volume: dict[str, float]
    count: frozenset[str]
    currency_symbols: dict[str, str]
    currency_words: dict[str, str]

    @property
    def unit_words(self) -> frozenset[str]:
        return frozenset({*self.mass, *self.volume, *self.count})


@lru_cache(maxsize=4)
def load_units(name: str = "units.json") -> Units:
    data = json.loads(vocabulary_path(name).read_text(encoding="utf-8"))
    return Units(mass=data["mass"], volume=data["volume"], count=frozenset(data["count"]),
                 currency_symbols=data["currency_symbols"], currency_words=data["currency_words"])


@lru_cache(maxsize=8)
def load_taxonomy(name: str = "taxonomy.json") -> dict[str, str]:
    """Category id -> label ("drugs.stimulants" -> "Stimulants")."""
    data = json.loads(vocabulary_path(name).read_text(encoding="utf-8"))
    return {c["id"]: c["label"] for c in data["categories"]}


@lru_cache(maxsize=1024)
def category_with_ancestors(category: str) -> list[str]:
    parts = category.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


@lru_cache(maxsize=8)
def load_common_words(name: str = "common_words.txt") -> frozenset[str]:
    """Ordinary words that must never be read as a misspelt product name ("morphing")."""
    return _word_lines(name)


@lru_cache(maxsize=1)
def load_filler_words() -> frozenset[str]:
    """Words that praise or pad an offer rather than name goods ("best", "quality"), with the
    common words: what titles and declarations are compared without."""
    return _word_lines("filler_words.txt") | load_common_words()
