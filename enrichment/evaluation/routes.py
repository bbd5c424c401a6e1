"""Routes read from free text, measured on hand-labelled sentences of the shared datasets.

The sentences (``route_sentences.jsonl``) were drawn once, with a fixed seed, from the
sentences of Agora's vendor-page descriptions and Dream Market's seller profiles that speak
of shipping and name a place (``draw``), and each was labelled by reading it: where the
goods are sent from, where to, and where not to. A sentence that only seems to (a product
"from The Netherlands", "[LEGAL WORLDWIDE]", a carrier's name, a customer's question) is
labelled as saying nothing, so that it measures precision. The fixture holds the labels and
a digest of each sentence, never the sentence: the text is read from ../shared/data.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from contracts.text import fold
from enrichment.gazetteers import load_places

FIXTURE = Path(__file__).with_name("route_sentences.jsonl")
SEED = 20
_SPLIT_RE = re.compile(r"(?<=[.!?])\s+|\n+|\s{3,}| \.\.\. ")
_SHIPPING_RE = re.compile(r"\b(?:ship|shipp|send|sent|post|dispatch|deliver|domestic|worldwide|world wide|"
                          r"international|mail)")
_CAPITALS_RE = re.compile(r"(?<![\w])[A-Z]{2,3}(?![\w])")
# Capitalised words that are mostly not codes in these texts.
_NOT_CODES = frozenset("IT IN NO TO ME IS AT BE AM OR AND THE DO BY MY PM ID SO AS AN ON ALL CAN PER NOT ARE FOR NE GO "
                       "US".split())
ROLES = ("ships_from", "ships_to", "ships_to_excluded")
_SQL_STRING_RE = re.compile(r"'((?:[^'\\]|\\.|'')*)'")


@dataclass(frozen=True)
class RouteSentence:
    text: str
    source: str
    ships_from: frozenset[str]
    ships_to: frozenset[str]
    excluded: frozenset[str]

    @property
    def says_a_route(self) -> bool:
        return bool(self.ships_from or self.ships_to or self.excluded)


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def sentences(data: Path) -> Iterator[tuple[str, str]]:
    """(source, sentence) of every description of the two sources, in file order."""
    path = data / "agora-2014" / "vendorall_0114.csv"
    if path.exists():
        with path.open(encoding="utf-8", errors="replace", newline="") as fh:
            for row in csv.DictReader(fh):
                for sentence in _split(row.get("description")):
                    yield "agora-2014/vendorall_0114.csv", sentence
    path = data / "dream-2016-sellers" / "DreamMarket2016_seller.sql"
    if path.exists():
        # Every long string of the dump (profiles, terms), as the sentences were drawn from it.
        for match in _SQL_STRING_RE.finditer(path.read_text(encoding="utf-8", errors="replace")):
            text = match.group(1).replace("\\n", "\n").replace("\\r", "").replace("\\'", "'").replace("''", "'")
            if len(text) > 200:
                for sentence in _split(text):
                    yield "dream-2016-sellers/DreamMarket2016_seller.sql", sentence


def _split(text: str | None) -> Iterator[str]:
    for piece in _SPLIT_RE.split(text or ""):
        sentence = " ".join(piece.split())
        if 15 <= len(sentence) <= 300:
            yield sentence


def draw(data: Path, count: int = 280) -> list[tuple[str, str]]:
    """How the fixture's sentences were drawn: those about shipping that name a place (a
    name of more than three letters, or a capitalised code), in a seeded random order. The
    place names are the gazetteer's, so the draw is the fixture's only with places.json as
    it was then (checked when the fixture was written, 2026-12-06)."""
    places = load_places()
    names = sorted((n for n in places.names if len(n) > 3), key=len, reverse=True)
    name_re = re.compile(r"(?<![\w])(?:" + "|".join(map(re.escape, names)) + r")(?![\w])")
    found: dict[str, str] = {}
    for source, sentence in sentences(data):
        folded = fold(sentence)
        if not _SHIPPING_RE.search(folded):
            continue
        codes = [c for c in _CAPITALS_RE.findall(sentence) if c not in _NOT_CODES and fold(c) in places.names]
        if name_re.search(folded) or codes or re.search(r"\bUS\b", sentence):
            found.setdefault(sentence, source)
    items = sorted(found.items())
    random.Random(SEED).shuffle(items)
    return [(source, text) for text, source in items[:count]]


def load(data: Path) -> list[RouteSentence]:
    """The labelled sentences, their text read from ``data``; [] when the data is absent."""
    rows = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = {digest(text): text for _, text in sentences(data)}
    out = []
    for row in rows:
        text = texts.get(row["sha256"])
        if text is None:
            continue
        out.append(RouteSentence(text, row["source"], frozenset(row["ships_from"]), frozenset(row["ships_to"]),
                                 frozenset(row["excluded"])))
    return out


def read(enricher, labelled: list[RouteSentence]) -> Iterator[tuple[RouteSentence, set, set]]:
    """(sentence, (role, place) pairs read, pairs labelled) for each labelled sentence, each
    read as the description of a listing."""
    from contracts.listings import RawListing

    records = [RawListing(title="listing", description=s.text) for s in labelled]
    for sentence, (_, enrichment) in zip(labelled, enricher.enrich_raw(records)):
        gold = {("ships_from", p) for p in sentence.ships_from} | {("ships_to", p) for p in sentence.ships_to} \
            | {("ships_to_excluded", p) for p in sentence.excluded}
        yield sentence, {(role, p) for role in ROLES for p in getattr(enrichment, role)}, gold
