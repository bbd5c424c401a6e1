"""``interdict eval enrichment``: per-field precision, recall and F1 on the real datasets.

Fields measured (each on a development part and a held-out part split by vendor):

- ``category``: the listing's main category from its title (and description where the data
  has one) against the market's own category mapped through category_map.json. A
  prediction counts as right when it equals the gold id or lies below it (gold
  ``drugs.cannabis``, predicted ``drugs.cannabis.herb``); a listing without a prediction is
  a miss; one with a wrong prediction is both a false positive and a miss.
  ``category.reviewed``: the same against the gold after label_overrides.jsonl, a reviewed
  list of listings the market filed wrongly (cannabis seeds under Weed, synthesis guides
  and fraud tutorials under Drugs, pipes and test kits under the drug), one reason per row.
- ``ships_from.text`` / ``ships_to.text``: places read from the listing's text alone,
  against the market's shipping cells. Most titles do not say where they ship from, so
  recall here is bounded by the text, not by the extractor.
- ``ships_from.cell`` / ``ships_to.cell``: the market's raw cells parsed by the same code the
  crawler uses, against the strict gold reading of those cells.
- ``price.cell``: the price cell as shown ("Buy price USD 500.00 (0.3065 BTC)") against the
  purchase price on the listing page; ``price.btc_to_usd``: only the BTC amount, converted
  with the dated rates table at the crawl date, within 10 % of the listed USD price.
- ``vendor.cell``: the vendor cell as shown ("Sold by X - 4 sold since…") against the
  vendor column.
- ``route.text`` (route-sentences): 280 sentences of Agora's and Dream Market's descriptions
  that speak of shipping and name a place, drawn with a fixed seed and labelled by reading
  them (enrichment/evaluation/routes.py): (role, place) pairs read from each sentence alone —
  ships from, ships to, not shipped to — against the labels.
- ``pgp.cell`` (Dream Market sellers): every armored key block in the profile's PGP column
  should parse to exactly one fingerprint; a block that does not parse is a miss (there is
  no gold fingerprint: this measures the packet parser on real, sometimes damaged, keys).
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from enrichment.evaluation.datasets import Case, load_cases
from enrichment.fields import price_of, vendor_name
from enrichment.pipeline import Enricher

SPLITS = ("dev", "held-out")
_BTC_IN_CELL = re.compile(r"\(([\d.]+)\s*BTC\)")


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    cases: int = 0

    def add(self, predicted: set[str] | None, gold: set[str], match=None) -> None:
        """Set-valued fields: every predicted code is right or wrong, every gold code found or not."""
        self.cases += 1
        predicted = predicted or set()
        if match is None:
            hits = predicted & gold
            self.tp += len(hits)
            self.fp += len(predicted - hits)
            self.fn += len(gold - hits)
        else:
            right = any(match(p, g) for p in predicted for g in gold)
            self.tp += right
            self.fp += bool(predicted) and not right
            self.fn += not right

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p and r else None


def category_matches(predicted: str, gold: str) -> bool:
    return predicted == gold or predicted.startswith(gold + ".")


@dataclass
class Report:
    scores: dict[tuple[str, str, str], Score] = field(default_factory=lambda: defaultdict(Score))
    errors: list[dict] = field(default_factory=list)
    listings: int = 0
    seconds: float = 0.0

    def score(self, dataset: str, name: str, split: str) -> Score:
        return self.scores[(dataset, name, split)]

    def rows(self) -> list[dict]:
        out = []
        for (dataset, name, split), s in sorted(self.scores.items()):
            out.append({"dataset": dataset, "field": name, "split": split, "cases": s.cases,
                        "precision": _round(s.precision), "recall": _round(s.recall), "f1": _round(s.f1)})
        return out

    def table(self) -> str:
        lines = [f"{'dataset':<20} {'field':<18} {'split':<9} {'cases':>7} {'P':>6} {'R':>6} {'F1':>6}"]
        for row in self.rows():
            lines.append(f"{row['dataset']:<20} {row['field']:<18} {row['split']:<9} {row['cases']:>7} "
                         + " ".join(f"{_fmt(row[k]):>6}" for k in ("precision", "recall", "f1")))
        lines.append(f"{self.listings} listings enriched in {self.seconds:.1f} s "
                     f"({self.listings / self.seconds if self.seconds else 0:.0f} listings/s)")
        return "\n".join(lines)


def _round(value: float | None) -> float | None:
    return round(value, 3) if value is not None else None


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def evaluate(data: Path, enricher: Enricher | None = None, datasets: list[str] | None = None,
             limit: int | None = None, keep_errors: int = 0) -> Report:
    enricher = enricher or Enricher()
    report = Report()
    kept: Counter[str] = Counter()  # misses kept per dataset, up to keep_errors
    cases = _limited(load_cases(data, datasets), limit)
    started = time.perf_counter()
    records = (case.record for case in cases)
    for case, (_, enrichment) in zip(cases, enricher.enrich_raw(records)):
        report.listings += 1
        split = case.split
        if case.category is not None:
            predicted = {enrichment.category} if enrichment.category else set()
            report.score(case.dataset, "category", split).add(predicted, {case.category}, category_matches)
            report.score(case.dataset, "category.reviewed", split).add(predicted, {case.reviewed_category},
                                                                       category_matches)
            missed = not any(category_matches(p, case.category) for p in predicted)
            if missed and split == "dev" and kept[case.dataset] < keep_errors:
                kept[case.dataset] += 1
                report.errors.append({"dataset": case.dataset, "title": case.record.title,
                                      "gold": case.category, "predicted": enrichment.category,
                                      "products": [p.canonical for p in enrichment.products]})
        for name in ("ships_from", "ships_to"):
            gold = getattr(case, name)
            if gold is not None:
                report.score(case.dataset, f"{name}.text", split).add(set(getattr(enrichment, name)), set(gold))
        if case.ships_from is not None or case.ships_to is not None:
            routes = enricher.routes_from_cells(case.cells.get("ships_from"), case.cells.get("ships_to"))
            for name in ("ships_from", "ships_to"):
                gold = getattr(case, name)
                if gold is not None:
                    report.score(case.dataset, f"{name}.cell", split).add(set(routes[name]), set(gold))
        if case.price is not None and "price" in case.cells:
            _score_price(report, enricher, case, split)
        if case.vendor_gold is not None and case.cells.get("vendor"):
            predicted = vendor_name(case.cells["vendor"])
            report.score(case.dataset, "vendor.cell", split).add(
                {predicted.lower()} if predicted else set(), {case.vendor_gold.lower()})
    if datasets is None or "dream" in datasets:
        _score_pgp_blocks(report, enricher, data)
    if datasets is None or "routes" in datasets:
        _score_route_sentences(report, enricher, data, keep_errors)
    report.seconds = time.perf_counter() - started
    return report


def _score_route_sentences(report: Report, enricher: Enricher, data: Path, keep_errors: int) -> None:
    from enrichment.evaluation import routes

    kept = 0
    for sentence, read, gold in routes.read(enricher, routes.load(data)):
        report.listings += 1
        report.score("route-sentences", "route.text", "labelled").add({f"{r}:{p}" for r, p in read},
                                                                       {f"{r}:{p}" for r, p in gold})
        if read != gold and kept < keep_errors:
            kept += 1
            report.errors.append({"dataset": "route-sentences", "text": sentence.text,
                                  "labelled": sorted(gold), "read": sorted(read)})


def _score_pgp_blocks(report: Report, enricher: Enricher, data: Path) -> None:
    from contracts.listings import VendorProfile
    from enrichment.evaluation.datasets import dream_sellers, split_of

    sellers = [s for s in dream_sellers(data) if s["pgp"] and "BEGIN PGP PUBLIC KEY BLOCK" in s["pgp"]]
    profiles = [VendorProfile(market="dream", name=s["seller_name"] or "?", url="-", pgp_key=s["pgp"],
                              crawled_at="2016-07-01T00:00:00Z") for s in sellers]
    for seller, enriched in zip(sellers, enricher.enrich_vendors(profiles)):
        report.listings += 1
        split = split_of("dream", seller["seller_name"] or "")
        fingerprints = enriched.enrichment.identifier_values("pgp")
        report.score("dream", "pgp.cell", split).add({"parsed"} if len(fingerprints) == 1 else set(), {"parsed"})


def _score_price(report: Report, enricher: Enricher, case: Case, split: str) -> None:
    gold_amount, gold_currency = case.price
    parsed = price_of(case.cells["price"])
    right = parsed is not None and parsed[1] == gold_currency and abs(parsed[0] - gold_amount) <= 0.005 * gold_amount
    report.score(case.dataset, "price.cell", split).add({"right"} if right else ({"wrong"} if parsed else set()),
                                                        {"right"})
    btc = _BTC_IN_CELL.search(case.cells["price"])
    if btc and case.record.date:
        usd = enricher.summary.rates.convert(float(btc.group(1)), "BTC", "USD", case.record.date.date())
        close = usd is not None and abs(usd - gold_amount) <= 0.10 * gold_amount
        report.score(case.dataset, "price.btc_to_usd", split).add(
            {"right"} if close else ({"wrong"} if usd is not None else set()), {"right"})


def _limited(cases: Iterable[Case], limit: int | None) -> list[Case]:
    """All cases, or an even sample of ``limit`` per dataset (every n-th, deterministic)."""
    cases = list(cases)
    if not limit:
        return cases
    by_dataset: dict[str, list[Case]] = defaultdict(list)
    for case in cases:
        by_dataset[case.dataset].append(case)
    out = []
    for items in by_dataset.values():
        step = max(1, len(items) // limit)
        out += items[::step][:limit]
    return out


def write_json(report: Report, path: Path) -> None:
    path.write_text(json.dumps({"rows": report.rows(), "listings": report.listings,
                                "seconds": round(report.seconds, 2)}, indent=1) + "\n")
