"""How well the generic extractor reads real market pages (`interdict eval parsing`).

Labelled: the Cypher 2020 category pages, whose scrape left a CSV (product, product URL,
vendor, vendor URL, price, category, quantity) — listings are matched to rows by product
URL, then each field is compared. Unlabelled layouts (Yellow Brick, the single pages of
other markets) are reported by what was found and how confidently: no gold, no accuracy.
No page object is used: this measures the generic extractor alone.
"""

from __future__ import annotations

import csv
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from contracts.listings import ParsedListing
from crawlers.extract.generic import extract

LABELLED_FIELDS = ("title", "price", "vendor", "vendor_url", "category", "stock")
REPORTED_FIELDS = ("title", "price", "vendor", "ships_from", "ships_to", "category", "description")
CONFIDENT = 0.5
CYPHER = Path("market-html/cypher-2020")
UNLABELLED = (Path("market-html/yellow-brick-2020/page-downloads"), Path("market-html/single-pages"))


def _same_text(a: str | None, b: str | None) -> bool:
    return a is not None and b is not None and " ".join(a.split()).lower() == " ".join(b.split()).lower()


def _matches(name: str, parsed: ParsedListing, gold: dict) -> bool:
    if name == "title":
        return _same_text(parsed.title, gold["Product"])
    if name == "price":
        amount = float(gold["Price in AUD"])
        return parsed.price is not None and abs(parsed.price.amount - amount) <= max(0.01, 0.005 * amount)
    if name == "vendor":
        return _same_text(parsed.vendor, gold["Vendor"])
    if name == "vendor_url":
        return parsed.vendor_url == gold["Vendor URL"]
    if name == "category":
        return _same_text(parsed.category, gold["Category"])
    if name == "stock":
        return parsed.stock is not None and float(parsed.stock) == float(gold["Quantity"] or "nan")
    raise ValueError(name)


@dataclass
class FieldScore:
    correct: int = 0
    total: int = 0
    confident: int = 0  # read with confidence >= CONFIDENT
    confident_correct: int = 0

    def line(self, name: str) -> str:
        accuracy = self.correct / self.total if self.total else 0.0
        precise = self.confident_correct / self.confident if self.confident else 0.0
        coverage = self.confident / self.total if self.total else 0.0
        return (f"  {name:<11} accuracy {accuracy:.3f}  ({self.correct}/{self.total});  "
                f"confident (>= {CONFIDENT}) on {coverage:.3f} of listings, accuracy there {precise:.3f}")


@dataclass
class ParsingReport:
    pages: int = 0
    pages_dropped: Counter = field(default_factory=Counter)
    gold_listings: int = 0
    found_listings: int = 0
    matched: int = 0
    fields: dict[str, FieldScore] = field(default_factory=lambda: {f: FieldScore() for f in LABELLED_FIELDS})
    unlabelled: dict[str, dict] = field(default_factory=dict)
    seconds: float = 0.0

    def table(self) -> str:
        lines = [f"Cypher 2020 category pages (labelled by the scrape's CSV): {self.pages} pages, "
                 f"{sum(self.pages_dropped.values())} dropped {dict(self.pages_dropped)}",
                 f"  listings: {self.found_listings} found, {self.gold_listings} in the CSV, {self.matched} matched "
                 f"by product URL -> block recall {self.matched / max(1, self.gold_listings):.3f}, "
                 f"precision {self.matched / max(1, self.found_listings):.3f}",
                 "  per field, over matched listings:"]
        lines += [score.line(name) for name, score in self.fields.items()]
        for layout, stats in self.unlabelled.items():
            lines.append(f"{layout} (no labels): {stats['pages']} pages, {stats['dropped']} dropped, "
                         f"{stats['listings']} listings; share read with confidence >= {CONFIDENT}: "
                         + ", ".join(f"{f} {v:.2f}" for f, v in stats["confident_share"].items()))
        lines.append(f"({self.seconds:.1f} s, {self.pages / max(self.seconds, 1e-9):.0f} pages/s)")
        return "\n".join(lines)

    def as_json(self) -> dict:
        return {
            "pages": self.pages, "pages_dropped": dict(self.pages_dropped), "gold_listings": self.gold_listings,
            "found_listings": self.found_listings, "matched": self.matched,
            "fields": {n: vars(s) for n, s in self.fields.items()}, "unlabelled": self.unlabelled,
        }


def _pages(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.html") if p.is_file())


def _read(path: Path) -> list[ParsedListing] | str:
    result = extract(path.read_bytes(), path.resolve().as_uri())
    return result.listings if result.listings else (result.drop_reason or "nothing_found")


def evaluate_parsing(data: Path) -> ParsingReport:
    started = time.perf_counter()
    report = ParsingReport()
    scrapes = sorted((data / CYPHER / "page-scrapes").glob("*.csv"))
    gold: dict[str, dict] = {}
    for scrape in scrapes:
        with scrape.open(newline="", encoding="utf-8", errors="replace") as handle:
            for row in csv.DictReader(handle):
                gold.setdefault(row["Product URL"], row)
    report.gold_listings = len(gold)
    seen: set[str] = set()
    for path in _pages(data / CYPHER / "page-downloads"):
        report.pages += 1
        listings = _read(path)
        if isinstance(listings, str):
            report.pages_dropped[listings] += 1
            continue
        for parsed in listings:
            report.found_listings += 1
            row = gold.get(parsed.url or "")
            if row is None or parsed.url in seen:
                continue
            seen.add(parsed.url)
            report.matched += 1
            for name, score in report.fields.items():
                ok = _matches(name, parsed, row)
                score.total += 1
                score.correct += ok
                if parsed.confidence.get(name, 0.0) >= CONFIDENT:
                    score.confident += 1
                    score.confident_correct += ok
    for folder in UNLABELLED:
        pages = _pages(data / folder)
        if not pages:
            continue
        stats = {"pages": len(pages), "dropped": 0, "listings": 0, "confident": defaultdict(int)}
        for path in pages:
            listings = _read(path)
            if isinstance(listings, str):
                stats["dropped"] += 1
                continue
            stats["listings"] += len(listings)
            for parsed in listings:
                for name in REPORTED_FIELDS:
                    stats["confident"][name] += parsed.confidence.get(name, 0.0) >= CONFIDENT
        total = max(1, stats["listings"])
        stats["confident_share"] = {n: stats["confident"][n] / total for n in REPORTED_FIELDS}
        del stats["confident"]
        report.unlabelled[str(folder.parent.name if folder.name == "page-downloads" else folder.name)] = stats
    report.seconds = time.perf_counter() - started
    return report
