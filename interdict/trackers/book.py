"""Trackers and their alerts, kept in the service's SQLite file (config [api] path) beside the
API keys and match reviews: the web service shows and edits them, and every process that
ingests (a crawl, `index`, `import`) reads the trackers and records the alerts they raise.

An alert is one row per (tracker, listing, kind of change). The same change seen again (a
re-crawl, a replayed batch) leaves it as it is; a different change of the same kind (the price
moves again) updates it and makes it unread, and only then is it delivered again."""

from __future__ import annotations

import secrets
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from contracts.trackers import Alert, Tracker

_SCHEMA = """
CREATE TABLE IF NOT EXISTS trackers (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, doc TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY AUTOINCREMENT, tracker TEXT NOT NULL, listing TEXT NOT NULL, kind TEXT NOT NULL,
    change TEXT NOT NULL, detail TEXT NOT NULL, market TEXT NOT NULL, title TEXT NOT NULL, url TEXT NOT NULL,
    first_at TEXT NOT NULL, at TEXT NOT NULL, read INTEGER NOT NULL DEFAULT 0,
    subject TEXT NOT NULL DEFAULT 'listing',
    UNIQUE (tracker, listing, kind));
CREATE INDEX IF NOT EXISTS alerts_unread ON alerts (tracker, read, at);
CREATE TABLE IF NOT EXISTS tracker_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT, alert INTEGER NOT NULL, tracker TEXT NOT NULL, target TEXT NOT NULL,
    status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, due TEXT NOT NULL, error TEXT NOT NULL DEFAULT '',
    sent_at TEXT, payload TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, due);
"""
# pending: to send when due; digest: waits for the day's digest; sent; dead: out of attempts
DELIVERY_STATUSES = ("pending", "digest", "sent", "dead")
_ALERT_COLUMNS = "id, tracker, listing, kind, change, detail, market, title, url, at, read, first_at, subject"


class TrackerError(ValueError):
    """A request about trackers that cannot be done (unknown tracker, not its owner's)."""


@dataclass(frozen=True)
class Raised:
    """What an evaluation found: a change of one kind in one listing for one tracker."""

    tracker_id: str
    listing_id: str
    kind: str
    change: str
    detail: str
    market: str
    title: str
    url: str
    subject: str = "listing"  # or "vendor": a change seen on a vendor's profile (listing_id: its id)


@dataclass(frozen=True)
class Delivery:
    id: int
    alert_id: int
    tracker_id: str
    target: str  # webhook:NAME or email:ADDRESS
    status: str
    attempts: int
    due: str
    error: str
    sent_at: str | None
    payload: str  # the alert as it was when raised or updated (JSON): what is delivered


def _alert(row: tuple) -> Alert:
    (alert_id, tracker, listing, kind, change, detail, market, title, url, at, read, first_at, subject) = row
    return Alert(id=alert_id, tracker_id=tracker, listing_id=listing, kind=kind, change=change, detail=detail,
                 market=market, title=title, url=url, at=at, read=bool(read), first_at=first_at, subject=subject)


def new_tracker_id() -> str:
    return "trk_" + secrets.token_hex(6)


class TrackerBook:
    def __init__(self, path: str | Path):
        path = Path(path).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True)
        # A crawl and the web service write the same file: wait for each other rather than fail.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        # One statement at a time on the shared connection: the web service's threads and an
        # ingest's deliverer use one book.
        self._lock = threading.RLock()

    def _rows(self, sql: str, params: tuple | list = ()) -> list[tuple]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> "TrackerBook":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- trackers ------------------------------------------------------------------------------
    def version(self) -> int:
        """Moves whenever a tracker is added, changed or removed (an evaluator's cue to reload)."""
        rows = self._rows("SELECT value FROM tracker_meta WHERE key = 'version'")
        return rows[0][0] if rows else 0

    def _bump(self) -> None:
        self._db.execute("INSERT INTO tracker_meta VALUES ('version', 1)"
                         " ON CONFLICT(key) DO UPDATE SET value = value + 1")

    def add(self, tracker: Tracker) -> Tracker:
        with self._transaction():
            self._db.execute("INSERT INTO trackers VALUES (?, ?, ?, ?)",
                             (tracker.id, tracker.owner, tracker.model_dump_json(), tracker.created.isoformat()))
            self._bump()
        return tracker

    def save(self, tracker: Tracker) -> None:
        """A tracker's new state (what a vendor tracker knows now); not a change of what it watches."""
        with self._lock:
            self._db.execute("UPDATE trackers SET doc = ? WHERE id = ?", (tracker.model_dump_json(), tracker.id))

    def trackers(self, owner: str | None = None) -> list[Tracker]:
        """Every tracker (of ``owner`` when given), oldest first."""
        rows = (self._rows("SELECT doc FROM trackers WHERE owner = ? ORDER BY created, id", (owner,))
                if owner is not None else self._rows("SELECT doc FROM trackers ORDER BY created, id"))
        return [Tracker.model_validate_json(doc) for (doc,) in rows]

    def get(self, tracker_id: str, owner: str | None = None) -> Tracker:
        """The tracker; ``owner`` given, only that owner's (another's is as unknown as a missing one)."""
        rows = self._rows("SELECT doc, owner FROM trackers WHERE id = ?", (tracker_id,))
        if not rows or (owner is not None and rows[0][1] != owner):
            raise TrackerError(f"no tracker {tracker_id!r}")
        return Tracker.model_validate_json(rows[0][0])

    def remove(self, tracker_id: str, owner: str | None = None) -> int:
        """Remove the tracker and its alerts; how many alerts went with it."""
        self.get(tracker_id, owner)
        with self._transaction():
            gone = self._db.execute("DELETE FROM alerts WHERE tracker = ?", (tracker_id,)).rowcount
            self._db.execute("DELETE FROM deliveries WHERE tracker = ? AND status IN ('pending', 'digest')",
                             (tracker_id,))
            self._db.execute("DELETE FROM trackers WHERE id = ?", (tracker_id,))
            self._bump()
        return gone

    # -- alerts --------------------------------------------------------------------------------
    def record(self, raised: list[Raised], at: datetime | None = None) -> list[Alert]:
        """Keep what an evaluation raised; the alerts that are news (new, or a different change
        of their kind): those to deliver."""
        if not raised:
            return []
        moment = (at or datetime.now(UTC)).isoformat()
        news = []
        with self._transaction():
            for r in raised:
                row = self._db.execute(
                    "INSERT INTO alerts (tracker, listing, kind, change, detail, market, title, url, first_at, at, subject)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (tracker, listing, kind) DO UPDATE SET"
                    " change = excluded.change, detail = excluded.detail, title = excluded.title, url = excluded.url,"
                    " at = excluded.at, read = 0 WHERE alerts.change != excluded.change"
                    f" RETURNING {_ALERT_COLUMNS}",
                    (r.tracker_id, r.listing_id, r.kind, r.change, r.detail, r.market, r.title, r.url, moment,
                     moment, r.subject)).fetchone()
                if row is not None:
                    news.append(_alert(row))
        return news

    def alerts(self, tracker_ids: list[str] | None = None, unread: bool = False, limit: int = 100,
               offset: int = 0) -> list[Alert]:
        """Newest first: of these trackers (None: all), only the unread ones when asked."""
        where, params = ["1"], []
        if tracker_ids is not None:
            where.append(f"tracker IN ({','.join('?' * len(tracker_ids))})")
            params += tracker_ids
        if unread:
            where.append("read = 0")
        rows = self._rows(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE {' AND '.join(where)}"
                          " ORDER BY at DESC, id DESC LIMIT ? OFFSET ?", (*params, limit, offset))
        return [_alert(row) for row in rows]

    def alert(self, alert_id: int) -> Alert | None:
        rows = self._rows(f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE id = ?", (alert_id,))
        return _alert(rows[0]) if rows else None

    def unread_count(self, tracker_ids: list[str] | None = None) -> int:
        if tracker_ids is None:
            return self._rows("SELECT count(*) FROM alerts WHERE read = 0")[0][0]
        return self._rows(f"SELECT count(*) FROM alerts WHERE read = 0 AND tracker IN"
                          f" ({','.join('?' * len(tracker_ids))})", tracker_ids)[0][0]

    def mark_read(self, alert_ids: list[int], read: bool = True) -> int:
        with self._lock:
            return self._db.execute(f"UPDATE alerts SET read = ? WHERE id IN ({','.join('?' * len(alert_ids))})",
                                    (int(read), *alert_ids)).rowcount

    # -- deliveries ----------------------------------------------------------------------------
    def enqueue(self, alerts: list[Alert], trackers: dict[str, Tracker], at: datetime | None = None) -> int:
        """A delivery per alert and place its tracker delivers to (the web app reads the alerts
        themselves); an e-mail of a tracker with a daily digest waits for the digest."""
        moment = (at or datetime.now(UTC)).isoformat()
        rows = []
        for alert in alerts:
            tracker = trackers.get(alert.tracker_id)
            if tracker is None:
                continue
            for target in tracker.deliver:
                if target == "web":
                    continue
                status = "digest" if tracker.digest and target.startswith("email:") else "pending"
                rows.append((alert.id, alert.tracker_id, target, status, moment, alert.model_dump_json()))
        if rows:
            with self._lock:
                self._db.executemany("INSERT INTO deliveries (alert, tracker, target, status, due, payload)"
                                     " VALUES (?,?,?,?,?,?)", rows)
        return len(rows)

    def deliveries(self, status: str | None = None, due_by: datetime | None = None, limit: int = 1000) -> list[Delivery]:
        where, params = ["1"], []
        if status is not None:
            where.append("status = ?")
            params.append(status)
        if due_by is not None:
            where.append("due <= ?")
            params.append(due_by.isoformat())
        rows = self._rows(f"SELECT id, alert, tracker, target, status, attempts, due, error, sent_at, payload"
                          f" FROM deliveries WHERE {' AND '.join(where)} ORDER BY due, id LIMIT ?", (*params, limit))
        return [Delivery(*row) for row in rows]

    def claim(self, delivery: Delivery, until: datetime) -> bool:
        """Take a pending delivery to send it, for a lease until ``until``: False when another
        sender (another crawl, the service) took it first. A sender that dies holding it leaves
        it due again when the lease ends: delivered at least once, never twice at once."""
        with self._lock:
            return self._db.execute("UPDATE deliveries SET due = ? WHERE id = ? AND status = 'pending' AND due = ?",
                                    (until.isoformat(), delivery.id, delivery.due)).rowcount == 1

    def delivered(self, delivery_ids: list[int], at: datetime) -> None:
        with self._lock:
            self._db.executemany("UPDATE deliveries SET status = 'sent', sent_at = ?, attempts = attempts + 1,"
                                 " error = '' WHERE id = ?", [(at.isoformat(), i) for i in delivery_ids])

    def failed(self, delivery: Delivery, error: str, retry_at: datetime | None) -> None:
        """One more failed attempt: retried at ``retry_at``, or a dead letter (None)."""
        with self._lock:
            self._db.execute("UPDATE deliveries SET attempts = attempts + 1, error = ?, status = ?, due = ?"
                             " WHERE id = ?", (error[:500], "pending" if retry_at else "dead",
                                              (retry_at.isoformat() if retry_at else delivery.due), delivery.id))

    def retry(self, delivery_ids: list[int], at: datetime | None = None) -> int:
        """Dead letters sent again from the start (after the receiver is mended)."""
        with self._lock:
            return self._db.executemany(
                "UPDATE deliveries SET status = 'pending', attempts = 0, due = ? WHERE id = ? AND status = 'dead'",
                [((at or datetime.now(UTC)).isoformat(), i) for i in delivery_ids]).rowcount
