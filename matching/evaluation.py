"""Precision and recall of the matcher on a synthetic stream with planted matches
(matching.synthetic), at top-1 and top-5, per way of describing the goods, and why the
planted offers not shown were missed.

A planted shipment is found at top-k when one of its k best matches scoring at least the
threshold is *the same offer*: the planted listing or one of the same vendor (by name, on
any market) for the same main product — a vendor's "5 g" and "10 g" listings of one
product, or the copy of a listing on a second market, are one offer to an investigator.
The vendor level counts the vendor alone. Precision is over shipments given a match: a
decoy given one, or a planted shipment given someone else's offer, is a false positive.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from contracts.matches import ShipmentMatches
from contracts.text import fold
from index.profiles import ListingProfile
from matching.synthetic import MODES, Truth

if TYPE_CHECKING:
    from contracts.shipments import Shipment
    from matching.matcher import Matcher

THRESHOLDS = (0.3, 0.5, 0.7, 0.9)


@dataclass
class Counts:
    shipments: int = 0
    top1: int = 0
    top5: int = 0
    shown5: int = 0  # among the five candidates shown (MATCH or "maybe", from the report threshold)
    vendor_top1: int = 0
    predicted: int = 0  # given a match at or above the threshold
    wrong: int = 0  # ... that was not the planted offer (decoys: any)


@dataclass
class MatchingReport:
    threshold: float
    by_mode: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    sweep: dict[float, tuple[float, float]] = field(default_factory=dict)  # threshold -> (precision, recall top-1)
    misses: dict[str, Counter] | None = None  # mode -> why planted offers were not shown (MISSES), when asked
    ceiling: dict[str, tuple[float, float]] | None = None  # mode -> (recall@5 ties at random, ties won), when asked

    def totals(self, modes: tuple[str, ...] = tuple(MODES)) -> Counts:
        out = Counts()
        for mode, counts in self.by_mode.items():
            if mode in modes or mode == "decoy":
                for name in ("predicted", "wrong"):
                    setattr(out, name, getattr(out, name) + getattr(counts, name))
            if mode in modes:
                for name in ("shipments", "top1", "top5", "shown5", "vendor_top1"):
                    setattr(out, name, getattr(out, name) + getattr(counts, name))
        return out

    def table(self) -> str:
        lines = [f"matching at threshold {self.threshold:g}: planted shipments found as the top MATCH / among the "
                 "top-5 MATCHes / among the 5 candidates shown (MATCH or maybe)",
                 f"{'described as':<22}{'shipments':>10}{'top-1':>8}{'top-5':>8}{'shown-5':>9}{'vendor@1':>10}"
                 f"{'precision':>11}"]

        def row(name: str, c: Counts) -> str:
            rate = (lambda n: f"{n / c.shipments:.3f}" if c.shipments else "-")
            precision = f"{1 - c.wrong / c.predicted:.3f}" if c.predicted else "-"
            return (f"{name:<22}{c.shipments:>10}{rate(c.top1):>8}{rate(c.top5):>8}{rate(c.shown5):>9}"
                    f"{rate(c.vendor_top1):>10}{precision:>11}")

        for mode in (*MODES, "decoy"):
            if mode in self.by_mode:
                counts = self.by_mode[mode]
                if mode == "decoy":
                    lines.append(f"{'decoy (lawful goods)':<22}{counts.shipments:>10}   given a match: {counts.predicted}")
                else:
                    lines.append(row(mode, counts))
        lines.append(row("all planted", self.totals()))
        describable = tuple(m for m in MODES if m != "vague")
        lines.append(row("all but vague", self.totals(describable)))
        lines.append("threshold sweep (all planted): " + ", ".join(
            f"{t:g}: P={p:.3f} R@1={r:.3f}" for t, (p, r) in sorted(self.sweep.items())))
        if self.misses is not None:
            lines.append("planted offers not among the 5 shown, by why (" + "; ".join(
                f"{kind}: {why}" for kind, why in MISSES.items()) + "):" + ("" if self.misses else " none"))
            for mode in MODES:
                if mode in self.misses:
                    why = self.misses[mode]
                    lines.append(f"  {mode:<20}" + "".join(f"{kind} {why[kind]:>4}   " for kind in MISSES))
        if self.ceiling is not None:
            lines.append("ceiling of recall@5 with what the parcels say (every offer that fits scored alone; among "
                         "offers scoring the same, the planted one drawn at random / always first):")
            for mode, (fair, won) in self.ceiling.items():
                lines.append(f"  {mode:<20}{fair:.3f} / {won:.3f}")
        return "\n".join(lines)


def _same_offer(a: ListingProfile | None, b: ListingProfile | None) -> bool:
    if a is None or b is None:
        return False
    if a.id == b.id:
        return True
    return fold(a.vendor) == fold(b.vendor) and (a.products[:1] == b.products[:1] if a.products else a.title == b.title)


def evaluate_matching(results: list[ShipmentMatches], truths: dict[str, Truth], profiles: dict[str, ListingProfile],
                      threshold: float) -> MatchingReport:
    """``profiles``: the planted listings and every listing a result names, by id."""
    report = MatchingReport(threshold=threshold)
    for t in sorted({threshold, *THRESHOLDS}):
        counts = _score(results, truths, profiles, t)
        if t == threshold:
            report.by_mode = counts
        planted = [c for m, c in counts.items() if m != "decoy"]
        predicted = sum(c.predicted for c in counts.values())
        wrong = sum(c.wrong for c in counts.values())
        found = sum(c.top1 for c in planted)
        total = sum(c.shipments for c in planted)
        report.sweep[t] = (1 - wrong / predicted if predicted else 1.0, found / total if total else 0.0)
    return report


def _score(results, truths, profiles, threshold: float) -> dict[str, Counts]:
    by_mode: dict[str, Counts] = defaultdict(Counts)
    for result in results:
        truth = truths[result.item_id]
        counts = by_mode[truth.mode]
        counts.shipments += 1
        kept = [m for m in result.matches if m.score >= threshold]
        if kept:
            counts.predicted += 1
        if truth.kind == "decoy":
            counts.wrong += bool(kept)
            continue
        planted = profiles.get(truth.listing_id)
        hits = [_same_offer(profiles.get(m.listing_id), planted) if m.listing_id else False for m in kept[:5]]
        counts.top1 += bool(hits and hits[0])
        counts.top5 += any(hits)
        counts.shown5 += any(_same_offer(profiles.get(m.listing_id), planted) for m in result.matches[:5] if m.listing_id)
        vendor_hit = bool(kept) and fold(kept[0].vendor) == fold(truth.vendor or "")
        counts.vendor_top1 += vendor_hit
        # A vague declaration tied to the right vendor by the sender's contact is a right answer:
        # no listing can be told from another by "gift".
        right = (hits and hits[0]) or (truth.mode.startswith("vague") and vendor_hit)
        counts.wrong += bool(kept) and not right
    return by_mode


MISSES = {
    "tied": "it scores exactly as the fifth offer shown: nothing the parcel says tells them apart",
    "outranked": "five offers shown score higher",
    "unfetched": "it scores higher than an offer shown, but blocking did not fetch it",
    "below-floor": "fewer than five shown: it scores under the report threshold once offers compete",
}


def explain_misses(matcher: Matcher, stream: list[tuple[Shipment, Truth]], results: list[ShipmentMatches],
                   profiles: dict[str, ListingProfile]) -> dict[str, Counter]:
    """Why each planted parcel whose offer is not among the five shown was missed (MISSES),
    comparing scores judged alone (before offers compete): the planted listing's, and the
    shown listings'."""
    out: dict[str, Counter] = defaultdict(Counter)
    for (shipment, truth), result in zip(stream, results):
        listing_id = truth.listing_id
        if truth.kind == "decoy" or truth.mode.startswith("vague") or listing_id is None:
            continue
        planted = profiles.get(listing_id)
        shown = [m.listing_id for m in result.matches[:5] if m.listing_id]
        if any(_same_offer(profiles.get(i), planted) for i in shown):
            continue
        alone = matcher.score_alone(shipment, [listing_id, *shown])
        mine, theirs = alone[listing_id], [alone[i] for i in shown]
        if len(theirs) < 5:
            out[truth.mode]["below-floor"] += 1
        elif abs(mine - min(theirs)) <= 1e-9:
            out[truth.mode]["tied"] += 1
        elif mine < min(theirs):
            out[truth.mode]["outranked"] += 1
        else:
            out[truth.mode]["unfetched"] += 1
    return dict(out)


def recall_ceiling(wide: Matcher, stream: list[tuple[Shipment, Truth]],
                   profiles: dict[str, ListingProfile]) -> dict[str, tuple[float, float]]:
    """What recall@5 any ranking of these offers could reach, given only what the parcels say:
    ``wide`` (a matcher fetching thousands of candidates per key) scores every offer that fits
    each planted parcel alone; when k offers score exactly as the planted one and b score
    higher, a fair ranking shows it with probability (5 - b) / (k + 1), and always only if it
    won every tie (b < 5). Per mode and for all but vague."""
    fair: dict[str, float] = defaultdict(float)
    won: dict[str, int] = defaultdict(int)
    count: dict[str, int] = defaultdict(int)
    for shipment, truth in stream:
        if truth.kind == "decoy" or truth.mode.startswith("vague") or truth.listing_id is None:
            continue
        planted = profiles[truth.listing_id]
        offers = wide.offers_alone(shipment)
        mine = [score for (vendor, product), score in offers.items()
                if vendor == fold(planted.vendor) and product == (planted.products[0] if planted.products else fold(planted.title))]
        for mode in (truth.mode, "all but vague"):
            count[mode] += 1
            if mine:
                best = max(mine)
                better = sum(1 for score in offers.values() if score > best + 1e-9)
                equal = sum(1 for score in offers.values() if abs(score - best) <= 1e-9) - 1
                fair[mode] += min(1.0, (5 - better) / (equal + 1)) if better < 5 else 0.0
                won[mode] += better < 5
    order = [m for m in (*MODES, "all but vague") if m in count]
    return {mode: (fair[mode] / count[mode], won[mode] / count[mode]) for mode in order}
