"""`interdict eval watchlist`: how much of the default feed a risk engine could act on.

Printed: terms derived and in the feed, the terms left out per reason, the share of the
feed that is a generic English word (wordfreq Zipf ≥ 4, unqualified: a risk engine would
match it in ordinary goods descriptions), the heaviest terms per kind, and — against
data/watchlist_review.jsonl, 200 feed terms drawn with a fixed seed and read one by one,
each with a keep/drop verdict and a reason — the share a reader kept. ``--draw N`` prints a
fresh draw to review.
"""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path

from contracts.watchlist import WatchlistTerm
from matching.term_weights import DATA, zipf

GENERIC_ZIPF = 4.0  # the eval's own yardstick for "a generic English word", whatever the config says
REVIEW = DATA / "watchlist_review.jsonl"
REVIEW_SEED = 20


def draw(feed: list[WatchlistTerm], count: int, seed: int = REVIEW_SEED) -> list[dict]:
    """``count`` feed terms, drawn with ``seed`` from the feed in a stable order."""
    ordered = sorted(feed, key=lambda t: t.id)
    chosen = random.Random(seed).sample(ordered, min(count, len(ordered)))
    return [{"id": t.id, "term": t.term, "kind": t.kind, "subkind": t.subkind, "weight": t.weight,
             "listing_count": t.listing_count, "markets": t.markets, "categories": t.categories[:3],
             "qualifiers": t.qualifiers[:3], "verdict": None, "reason": ""} for t in chosen]


def generic(term: WatchlistTerm) -> bool:
    return term.kind not in ("identifier", "route") and not term.qualifiers and zipf(term.term) >= GENERIC_ZIPF


def report(terms: list[WatchlistTerm], review: Path = REVIEW, top: int = 8) -> str:
    feed = [t for t in terms if t.excluded is None]
    lines = [f"{len(terms)} terms derived, {len(feed)} in the default feed "
             f"({', '.join(f'{k} {n}' for k, n in Counter(t.kind for t in feed).most_common())})"]
    reasons = Counter(re.sub(r"\d+(?:\.\d+)?", "N", (t.excluded or "").split(" (")[0]) for t in terms if t.excluded)
    lines += [f"  left out: {n:6d}  {why}" for why, n in reasons.most_common()]
    shared = sum(generic(t) for t in feed) / len(feed) if feed else 0.0
    lines.append(f"generic English words in the feed (Zipf >= {GENERIC_ZIPF}, unqualified): "
                 f"{shared:.1%} ({sum(generic(t) for t in feed)} of {len(feed)})")
    for kind in ("product", "slang", "identifier", "vendor", "route", "concealment", "declaration"):
        heaviest = sorted((t for t in feed if t.kind == kind), key=lambda t: (-t.weight, t.term))[:top]
        if heaviest:
            lines.append(f"heaviest {kind}: " + ", ".join(f"{t.term} {t.weight:.2f}" for t in heaviest))
    lines.append(review_line(feed, review))
    return "\n".join(lines)


def review_line(feed: list[WatchlistTerm], review: Path) -> str:
    if not review.exists():
        return f"no review file at {review}"
    rows = [json.loads(line) for line in review.read_text(encoding="utf-8").splitlines() if line.strip()]
    exported = {t.id for t in feed}
    judged = [r for r in rows if r.get("verdict") in ("keep", "drop")]
    still = [r for r in judged if r["id"] in exported]
    kept = sum(r["verdict"] == "keep" for r in still)
    share = kept / len(still) if still else 0.0
    return (f"reviewed: {len(judged)} terms read one by one ({review.name}), {len(still)} still in the feed: "
            f"{kept} kept, {len(still) - kept} dropped — {share:.1%} kept")
