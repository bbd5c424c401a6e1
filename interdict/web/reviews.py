"""Match review: a batch of shipments matched for an analyst, kept with its results, and
the analyst's decision on each match (confirmed or rejected, with a note), exported with
the matches. Kept in the service's SQLite file beside keys and the audit log."""

from __future__ import annotations

import csv
import io
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from contracts.inputs import Problems
from contracts.matches import RESULTS, ShipmentMatches
from matching.watchlist import csv_safe

Decision = Literal["confirmed", "rejected", "open"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS match_batches (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, created TEXT NOT NULL, key_name TEXT NOT NULL,
    shipments INTEGER NOT NULL, problems TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS match_results (
    batch TEXT NOT NULL, seq INTEGER NOT NULL, item_id TEXT NOT NULL, result TEXT NOT NULL,
    PRIMARY KEY (batch, seq));
CREATE INDEX IF NOT EXISTS match_results_item ON match_results (batch, item_id);
CREATE TABLE IF NOT EXISTS match_reviews (
    batch TEXT NOT NULL, item_id TEXT NOT NULL, target TEXT NOT NULL, decision TEXT NOT NULL,
    note TEXT NOT NULL, key_name TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (batch, item_id, target));
"""
CSV_COLUMNS = ("item_id", "rank", "listing_id", "vendor_id", "market", "vendor", "title", "score", "decision",
               "reviewer", "reviewed_at", "note", "reasons", "risk", "risk_flags")


class ReviewError(ValueError):
    pass


@dataclass(frozen=True)
class Batch:
    id: str
    name: str
    created: str
    key_name: str
    shipments: int
    problems: list[str]  # the first ones named ([input] max_problems)
    problems_total: int  # every problem of the upload, named or not


@dataclass(frozen=True)
class Review:
    item_id: str
    target: str  # the listing id, or "vendor:<id>" for a vendor match
    decision: str
    note: str
    key_name: str
    at: str


def _problems(stored: str) -> tuple[list[str], int]:
    """(named problems, total) of a stored batch; batches of earlier releases kept a list."""
    data = json.loads(stored)
    return (data, len(data)) if isinstance(data, list) else (data["named"], data["total"])


def _batch(row: tuple, named: bool) -> Batch:
    batch_id, name, created, key_name, shipments, stored = row
    problems, total = _problems(stored)
    return Batch(id=batch_id, name=name, created=created, key_name=key_name, shipments=shipments,
                 problems=problems if named else [], problems_total=total)


def match_target(match) -> str:
    return match.listing_id or f"vendor:{match.vendor_id}"


class ReviewStore:
    def __init__(self, path: str | Path):
        self._db = sqlite3.connect(Path(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def add_batch(self, name: str, key_name: str, results: list[ShipmentMatches], problems: Problems) -> Batch:
        batch = Batch(id=secrets.token_hex(8), name=name, created=datetime.now(UTC).isoformat(timespec="seconds"),
                      key_name=key_name, shipments=len(results), problems=problems.named,
                      problems_total=problems.count)
        with self._lock:
            self._db.execute("BEGIN")
            self._db.execute("INSERT INTO match_batches VALUES (?, ?, ?, ?, ?, ?)",
                             (batch.id, batch.name, batch.created, batch.key_name, batch.shipments,
                              json.dumps({"named": problems.named, "total": problems.count})))
            self._db.executemany("INSERT INTO match_results VALUES (?, ?, ?, ?)",
                                 ((batch.id, i, r.item_id, r.to_json()) for i, r in enumerate(results)))
            self._db.execute("COMMIT")
        return batch

    def batches(self, limit: int = 100) -> list[Batch]:
        """The newest batches, each with its problem count but none of the problems named
        (a listing of batches stays small whatever was uploaded)."""
        rows = self._db.execute("SELECT * FROM match_batches ORDER BY created DESC, id LIMIT ?", (limit,))
        return [_batch(row, named=False) for row in rows]

    def batch(self, batch_id: str) -> Batch | None:
        row = self._db.execute("SELECT * FROM match_batches WHERE id = ?", (batch_id,)).fetchone()
        return _batch(row, named=True) if row else None

    def results(self, batch_id: str, offset: int = 0, limit: int = 1_000_000) -> list[ShipmentMatches]:
        rows = self._db.execute("SELECT result FROM match_results WHERE batch = ? ORDER BY seq LIMIT ? OFFSET ?",
                                (batch_id, limit, offset))
        return [RESULTS.validate_json(row[0]) for row in rows]

    def result(self, batch_id: str, item_id: str) -> ShipmentMatches | None:
        row = self._db.execute("SELECT result FROM match_results WHERE batch = ? AND item_id = ?",
                               (batch_id, item_id)).fetchone()
        return RESULTS.validate_json(row[0]) if row else None

    def reviews(self, batch_id: str) -> dict[tuple[str, str], Review]:
        rows = self._db.execute("SELECT item_id, target, decision, note, key_name, at FROM match_reviews "
                                "WHERE batch = ?", (batch_id,))
        return {(row[0], row[1]): Review(*row) for row in rows}

    def review(self, batch_id: str, item_id: str, target: str, decision: Decision, note: str,
               key_name: str) -> Review:
        """Record an analyst's decision on one match of one shipment of the batch (the
        latest decision stands; the audit log keeps every one)."""
        result = self.result(batch_id, item_id)
        if result is None:
            raise ReviewError(f"no shipment {item_id!r} in batch {batch_id}")
        if target not in {match_target(m) for m in result.matches}:
            raise ReviewError(f"shipment {item_id} has no match {target!r}")
        review = Review(item_id, target, decision, note.strip()[:2000], key_name,
                        datetime.now(UTC).isoformat(timespec="seconds"))
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO match_reviews VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (batch_id, *review.__dict__.values()))
        return review

    # -- export ------------------------------------------------------------------------------
    def export_jsonl(self, batch_id: str) -> str:
        reviews = self.reviews(batch_id)
        lines = []
        for result in self.results(batch_id):
            data = json.loads(result.to_json())
            for match, shown in zip(result.matches, data["matches"]):
                found = reviews.get((result.item_id, match_target(match)))
                shown["review"] = found.__dict__ if found else None
            lines.append(json.dumps(data, ensure_ascii=False))
        return "\n".join(lines) + ("\n" if lines else "")

    def export_csv(self, batch_id: str) -> str:
        """One row per match; every cell a spreadsheet would read as a formula is neutralised."""
        reviews = self.reviews(batch_id)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for result in self.results(batch_id):
            flags = "; ".join(f"{f.code}: {f.detail}" for f in result.risk_flags)
            for rank, match in enumerate(result.matches, 1):
                found = reviews.get((result.item_id, match_target(match)))
                reasons = "; ".join(f"{r.code} {r.contribution:+g}: {r.detail}" for r in match.reasons)
                row = (result.item_id, rank, match.listing_id or "", match.vendor_id, match.market, match.vendor,
                       match.title or "", f"{match.score:.4f}", found.decision if found else "open",
                       found.key_name if found else "", found.at if found else "", found.note if found else "",
                       reasons, f"{result.risk:.4f}", flags)
                writer.writerow([csv_safe(str(cell)) for cell in row])
        return out.getvalue()
