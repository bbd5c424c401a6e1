"""How well the generic extractor reads real listing *detail* pages (one product a page).

Gold: `listing-pages/labels.jsonl` of the shared data (DarkDock's own label rows, the DIG
project's extraction of AlphaBay, Nucleus and Agora), plus the pages labelled by reading
them, kept in web-poet's fixture style in `tests/fixtures/pages/<market>/<page>/`
(`expected.json`, and `source.txt` naming the page under the shared data). A label of
null means the page shows no such value: the extractor is right only if it gives none.
Every page is read by the generic extractor alone, whatever page objects exist.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from contracts.listings import ParsedListing
from crawlers.extract.generic import extract
from crawlers.extract.values import place_codes

LISTING_PAGES = Path("listing-pages")
MIN_FIELD_CONFIDENCE = 0.5  # as crawlers.extract.to_listing: below it a field is left out of an indexed listing
DETAIL_FIELDS = ("title", "price_amount", "price_currency", "vendor", "ships_from", "ships_to", "category")
FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "pages"
_PATH_SPLIT_RE = re.compile(r"\s*[/›»>]\s*")


def _norm(text: str | None) -> str:
    return " ".join((text or "").split()).casefold()


def _same_place(found: str | None, gold: str) -> bool:
    if found is None:
        return False
    return _norm(found) == _norm(gold) or (bool(place_codes(gold)) and place_codes(found) == place_codes(gold))


def field_value(parsed: ParsedListing | None, name: str):
    """What an index would get: a field read with less than MIN_FIELD_CONFIDENCE is not one."""
    if parsed is None:
        return None
    source = "price" if name.startswith("price_") else name
    if parsed.confidence.get(source, 0.0) < MIN_FIELD_CONFIDENCE:
        return None
    if name == "price_amount":
        return parsed.price.amount if parsed.price else None
    if name == "price_currency":
        return parsed.price.currency if parsed.price else None
    if name == "ships_to":
        return ", ".join(parsed.ships_to) or None
    return getattr(parsed, name)


def matches(name: str, found, gold) -> bool:
    """Is ``found`` (what the extractor read) the labelled value ``gold``?"""
    if gold is None:
        return found in (None, "")
    if found is None:
        return False
    if name == "price_amount":
        return abs(float(found) - float(gold)) <= max(1e-8, 0.005 * abs(float(gold)))
    if name in ("ships_from", "ships_to"):
        return _same_place(found, gold)
    if name == "category":  # a path's leaf is the category a label names
        parts = [p for p in _PATH_SPLIT_RE.split(found) if p]
        return _norm(found) == _norm(gold) or bool(parts) and _norm(parts[-1]) == _norm(gold)
    return _norm(str(found)) == _norm(str(gold))


@dataclass
class DetailPage:
    page: str  # relative to listing-pages/
    market: str
    gold: dict  # field -> value (None: the page shows none); fields not labelled are absent
    labelled_by: str


def load_labels(data: Path, fixtures: Path = FIXTURES) -> list[DetailPage]:
    """The labelled detail pages: the shared labels, completed by the fixtures' labels."""
    pages: dict[str, DetailPage] = {}
    labels = data / LISTING_PAGES / "labels.jsonl"
    if labels.is_file():
        for line in labels.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            gold = {f: row[f] for f in DETAIL_FIELDS if f in row}
            pages[row["page"]] = DetailPage(row["page"], row["market"], gold, row.get("labelled_by", ""))
    for expected in sorted(fixtures.glob("*/*/expected.json")) if fixtures.is_dir() else []:
        source = (expected.parent / "source.txt").read_text(encoding="utf-8").splitlines()[0].strip()
        page = source.removeprefix(f"{LISTING_PAGES}/")
        gold = json.loads(expected.read_text(encoding="utf-8"))
        pages[page] = DetailPage(page, expected.parent.parent.name, {f: gold[f] for f in DETAIL_FIELDS if f in gold},
                                 f"fixture {expected.parent.relative_to(fixtures)}")
    return [p for p in pages.values() if p.gold and (data / LISTING_PAGES / p.page).is_file()]


@dataclass
class DetailReport:
    pages: int = 0
    not_read: dict[str, str] = field(default_factory=dict)  # page -> why no listing came out
    # market -> field -> [correct, total]
    scores: dict[str, dict[str, list[int]]] = field(default_factory=lambda: defaultdict(
        lambda: {f: [0, 0] for f in DETAIL_FIELDS}))
    misses: list[dict] = field(default_factory=list)

    def add(self, page: DetailPage, parsed: ParsedListing | None) -> None:
        for name, gold in page.gold.items():
            found = field_value(parsed, name)
            ok = matches(name, found, gold)
            score = self.scores[page.market][name]
            score[0] += ok
            score[1] += 1
            if not ok:
                self.misses.append({"page": page.page, "field": name, "gold": gold, "found": found})

    def totals(self) -> dict[str, list[int]]:
        out = {f: [0, 0] for f in DETAIL_FIELDS}
        for fields in self.scores.values():
            for name, (correct, total) in fields.items():
                out[name][0] += correct
                out[name][1] += total
        return out

    def table(self) -> str:
        head = f"  {'market':<11}" + "".join(f"{f:>15}" for f in DETAIL_FIELDS)
        lines = [f"Listing detail pages (listing-pages/, labelled): {self.pages} pages, "
                 f"{len(self.not_read)} without a listing" + (f" {sorted(set(self.not_read.values()))}"
                                                              if self.not_read else ""),
                 "  accuracy per field (correct/labelled; a null label is right only when nothing is read):", head]
        rows = sorted(self.scores.items()) + [("all", self.totals())]
        for market, fields in rows:
            cells = "".join(f"{_cell(*fields[f]):>15}" for f in DETAIL_FIELDS)
            lines.append(f"  {market:<11}{cells}")
        return "\n".join(lines)

    def as_json(self) -> dict:
        return {"pages": self.pages, "not_read": self.not_read,
                "scores": {m: dict(f) for m, f in self.scores.items()}, "totals": self.totals(),
                "misses": self.misses}


def _cell(correct: int, total: int) -> str:
    return f"{correct / total:.2f} ({correct}/{total})" if total else "-"


def evaluate_detail_pages(data: Path, fixtures: Path = FIXTURES) -> DetailReport:
    report = DetailReport()
    for page in load_labels(data, fixtures):
        path = data / LISTING_PAGES / page.page
        result = extract(path.read_bytes(), path.resolve().as_uri())
        report.pages += 1
        parsed = result.listings[0] if result.kind == "listing" and result.listings else None
        if parsed is None:
            report.not_read[page.page] = result.drop_reason or f"read as {result.kind} page"
        report.add(page, parsed)
    return report
