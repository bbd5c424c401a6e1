"""Loading of the data files the enrichment components match against (enrichment/data;
the taxonomy and the vocabularies every stage shares are in contracts/data)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pycountry

from contracts.text import fold
from contracts.vocabulary import vocabulary_path

DATA_DIR = Path(__file__).resolve().parent / "data"


def data_path(name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() else DATA_DIR / path


@dataclass(frozen=True)
class ProductEntry:
    canonical: str
    category: str
    hs_code: str | None
    aliases: tuple[str, ...]
    weak_aliases: tuple[str, ...]
    priority: int = 0  # which product names a listing's category when several are named
    also: tuple[str, ...] = ()  # secondary categories ("drugs.nps")


@lru_cache(maxsize=8)
def load_products(name: str = "products.jsonl") -> tuple[ProductEntry, ...]:
    entries = []
    path = data_path(name)
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            entries.append(
                ProductEntry(
                    canonical=rec["canonical"],
                    category=rec["category"],
                    hs_code=rec.get("hs_code"),
                    aliases=tuple(rec["aliases"]),
                    weak_aliases=tuple(rec.get("weak_aliases", ())),
                    priority=int(rec.get("priority", 0)),
                    also=tuple(rec.get("also", ())),
                )
            )
        except (ValueError, KeyError) as exc:
            raise ValueError(f"{path}:{lineno}: bad gazetteer entry: {exc}") from None
    return tuple(entries)


@lru_cache(maxsize=8)
def load_category_words(name: str = "taxonomy.json") -> dict[str, str]:
    """Words that name a category rather than a product ("benzos", "ebook") -> category id."""
    data = json.loads(vocabulary_path(name).read_text(encoding="utf-8"))
    return {word: c["id"] for c in data["categories"] for word in c.get("keywords", ())}


@lru_cache(maxsize=8)
def load_frames(name: str = "taxonomy.json") -> frozenset[str]:
    """Categories whose listings offer that thing and name others only as its topic
    (guides, seeds, paraphernalia: taxonomy.json "frame")."""
    data = json.loads(vocabulary_path(name).read_text(encoding="utf-8"))
    return frozenset(c["id"] for c in data["categories"] if c.get("frame"))


@lru_cache(maxsize=8)
def load_phrases(name: str) -> tuple[str, ...]:
    """The phrases of a one-per-line data file ('#' starts a comment line)."""
    lines = data_path(name).read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


@lru_cache(maxsize=8)
def load_unit_hints(name: str = "taxonomy.json") -> tuple[dict[str, str], tuple[dict, ...]]:
    """(unit -> category, dose ranges -> category): last-resort category hints from quantities."""
    data = json.loads(vocabulary_path(name).read_text(encoding="utf-8"))
    return dict(data.get("unit_hints", {})), tuple(data.get("dose_hints", ()))


@dataclass(frozen=True)
class PlaceGazetteer:
    names: dict[str, str]  # folded name -> ISO alpha-2 or region id
    ambiguous: frozenset[str]
    missing: frozenset[str] = frozenset()  # folded cell texts that mean "no value"
    cell_words: frozenset[str] = frozenset()  # words a cell may hold around a bare code
    listed: frozenset[str] = frozenset()  # folded names written in the data file (not ISO-derived)
    words: frozenset[str] = frozenset()  # codes that are also words ("no", "to", "and")
    text_codes: frozenset[str] = frozenset()  # two-letter codes read bare in free text ("NL"; not "GA", "CC")

    def resolve(self, text: str) -> str | None:
        return self.names.get(fold(text).strip(" .,;:()[]"))


@lru_cache(maxsize=4)
def load_places(name: str = "places.json") -> PlaceGazetteer:
    data = json.loads(data_path(name).read_text(encoding="utf-8"))
    names: dict[str, str] = {}
    for country in pycountry.countries:
        for attr in ("name", "common_name", "official_name"):
            value = getattr(country, attr, None)
            if value:
                names[fold(value)] = country.alpha_2
        names.setdefault(fold(country.alpha_3), country.alpha_2)
        names.setdefault(fold(country.alpha_2), country.alpha_2)
    for alias, code in data["aliases"].items():
        names[fold(alias)] = code
    for region, aliases in data["regions"].items():
        for alias in aliases:
            names[fold(alias)] = region
    words = {fold(a) for a in data["code_words"]}
    ambiguous = {fold(a) for a in data["ambiguous"]}
    # Bare two- and three-letter codes are words in most languages ("in", "to", "no").
    ambiguous |= {k for k in names if len(k) <= 3}
    listed = {fold(a) for a in data["aliases"]} | {fold(a) for aliases in data["regions"].values() for a in aliases}
    return PlaceGazetteer(names=names, ambiguous=frozenset(ambiguous), missing=frozenset(map(fold, data["missing"])),
                          cell_words=frozenset(map(fold, data["cell_words"])), listed=frozenset(listed),
                          words=frozenset(words), text_codes=frozenset(map(fold, data.get("text_codes", ()))))
