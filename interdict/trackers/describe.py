"""A tracker in one line, for people (the CLI, the web app)."""

from __future__ import annotations

from contracts.trackers import Tracker


def describe(tracker: Tracker) -> str:
    what = {"regex": f"/{tracker.pattern}/", "vendor": " | ".join(tracker.vendors)}.get(tracker.kind, "")
    query = tracker.query
    parts = [what, query.get("text", ""),
             " ".join(f"{f}={'|'.join(v)}" for f, v in query.get("filters", {}).items()),
             *(f"{label}{query[key]:g}" for key, label in (("price_min_usd", "≥$"), ("price_max_usd", "≤$"))
               if query.get(key) is not None)]
    return " ".join(p for p in parts if p)
