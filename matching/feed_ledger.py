"""What the STIX feed has published, version by version, with when each version was added —
the state a TAXII server needs to answer `added_after`, `match[version]` and the versions of
an object, kept in the service's SQLite file (config [api] path).

A refresh derives the terms from the index, turns them into STIX objects (matching.stix) and
compares each with the last version published: an object new or changed gets a version (its
`modified` moved past the one before), an object no longer in the feed gets a revoked version,
and an unchanged one nothing. Versions are added at strictly increasing microseconds, so a
client that pulls with `added_after` set to the last `date_added` it saw gets exactly what
changed since, however its pages were cut.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from matching import stix
from matching.watchlist import derive_terms, feed

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stix_versions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, object_id TEXT NOT NULL, type TEXT NOT NULL,
    kind TEXT NOT NULL, version TEXT NOT NULL, added_us INTEGER NOT NULL, digest TEXT NOT NULL,
    body TEXT NOT NULL, first INTEGER NOT NULL, latest INTEGER NOT NULL, UNIQUE (object_id, version));
CREATE INDEX IF NOT EXISTS stix_versions_latest ON stix_versions (latest, kind, added_us);
CREATE INDEX IF NOT EXISTS stix_versions_object ON stix_versions (object_id, seq);
"""
log = logging.getLogger(__name__)
SHARED = ""  # the kind of objects every collection carries (producer, marking, extension definitions)


@dataclass(frozen=True)
class Version:
    seq: int
    object_id: str
    version: str  # the object's `modified`, else its `created`, else its date added (observables)
    date_added: str
    body: dict


@dataclass(frozen=True)
class Published:
    added: int
    changed: int
    revoked: int


def _us(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def taxii_time(us: int) -> str:
    moment = datetime.fromtimestamp(us / 1_000_000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def _digest(obj: dict) -> str:
    content = {k: v for k, v in obj.items() if k != "modified"}
    return hashlib.sha256(json.dumps(content, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class FeedLedger:
    def __init__(self, path: str | Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._path = str(path)
        self._db = self._connect()  # for reading; each publication writes through its own
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._refreshed = 0.0  # monotonic time the last refresh of this process started
        self._running: threading.Thread | None = None

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, check_same_thread=False, isolation_level=None, timeout=30)

    def close(self) -> None:
        if self._running is not None:
            self._running.join(60)
        self._db.close()

    # -- publishing --------------------------------------------------------------------------
    def refresh_soon(self, checkout: Callable[[], ContextManager], settings) -> bool:
        """Publish what changed in the index when this process last did so more than
        ``settings.taxii_refresh_seconds`` ago: in a thread of its own (one at a time), waited
        for at most ``settings.taxii_refresh_wait_seconds`` — a pull never hangs on a large
        index; what a refresh publishes after it answered, the next pull gets (added later).
        ``checkout``: a store for the thread (``with checkout() as entry: entry.store``).
        True when the feed was fresh, or made fresh in time."""
        with self._lock:
            stale = not self._refreshed or time.monotonic() - self._refreshed >= settings.taxii_refresh_seconds
            if stale and (self._running is None or not self._running.is_alive()):
                self._running = threading.Thread(target=self._refresh_with, args=(checkout, settings),
                                                 name="interdict-feed-refresh", daemon=True)
                self._running.start()
            running = self._running
        if not stale or running is None:
            return True
        running.join(settings.taxii_refresh_wait_seconds)
        return not running.is_alive()

    def _refresh_with(self, checkout, settings) -> None:
        started = time.monotonic()
        try:
            with checkout() as entry:
                done = self.refresh(entry.store, settings)
            self._refreshed = started
            log.info("feed refreshed in %.1f s: %s", time.monotonic() - started, done)
        except Exception:  # noqa: BLE001 - pulls are answered from what was published
            log.exception("the feed could not be refreshed from the index")

    def refresh(self, store, settings, now: datetime | None = None) -> Published:
        now = now or datetime.now(UTC)
        terms = feed(derive_terms(store, settings))
        born = self._born()
        vendors = {t.term: t for t in terms if t.kind == "vendor"}
        objects: dict[str, tuple[str, dict]] = {o["id"]: (SHARED, o) for o in stix.shared_objects(settings.tlp)}
        for term in terms:
            # a term without dates (curated) keeps those of its first publication
            first_published = born.get(stix.indicator_id(term), now)
            made = (stix.term_objects(term, settings.tlp, settings.valid_days, first_published, settings.evidence_url)
                    + stix.vendor_links(term, vendors, settings.tlp, first_published))
            for obj in made:
                objects.setdefault(obj["id"], (term.kind, obj))
        return self.publish(objects, now)

    def publish(self, objects: dict[str, tuple[str, dict]], now: datetime) -> Published:
        # A connection of its own, one transaction: readers (WAL) see all of it or none of it,
        # and another process publishing at once waits.
        db = self._connect()
        try:
            with _Transaction(db):
                return self._publish(db, objects, now)
        finally:
            db.close()

    def _publish(self, db: sqlite3.Connection, objects: dict[str, tuple[str, dict]], now: datetime) -> Published:
        latest = {row[0]: row[1:] for row in db.execute(
            "SELECT object_id, version, digest, body, kind FROM stix_versions WHERE latest = 1")}
        rows: list[tuple[str, str, str, str, dict]] = []  # object id, type, kind, version, body
        added = changed = revoked = 0
        for object_id, (kind, obj) in objects.items():
            known = latest.get(object_id)
            if known is None:
                rows.append((object_id, obj["type"], kind, obj.get("modified") or obj.get("created", ""), obj))
                added += 1
            elif known[1] != _digest(obj) and "modified" in obj:
                obj = {**obj, "modified": _after(obj["modified"], known[0])}
                rows.append((object_id, obj["type"], kind, obj["modified"], obj))
                changed += 1
        for object_id, (version, _, body, kind) in latest.items():
            if object_id in objects or kind == SHARED:
                continue
            old = json.loads(body)
            if "modified" in old and not old.get("revoked"):
                gone = {**old, "revoked": True, "modified": _after(stix.stix_time(now), version)}
                rows.append((object_id, gone["type"], kind, gone["modified"], gone))
                revoked += 1
        if rows:
            self._append(db, rows, now)
        return Published(added, changed, revoked)

    def _append(self, db: sqlite3.Connection, rows: list[tuple[str, str, str, str, dict]], now: datetime) -> None:
        last = db.execute("SELECT max(added_us) FROM stix_versions").fetchone()[0] or 0
        start = max(_us(now), last + 1)
        for offset, (object_id, sco_type, kind, version, body) in enumerate(rows):
            added_us = start + offset
            version = version or taxii_time(added_us)  # an observable: versioned by its date added
            first = db.execute("SELECT 1 FROM stix_versions WHERE object_id = ? LIMIT 1", (object_id,)).fetchone() is None
            db.execute("UPDATE stix_versions SET latest = 0 WHERE object_id = ? AND latest = 1", (object_id,))
            db.execute(
                "INSERT INTO stix_versions (object_id, type, kind, version, added_us, digest, body, first, latest) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
                (object_id, sco_type, kind, version, added_us, _digest(body),
                 json.dumps(body, ensure_ascii=False), int(first)))

    def _born(self) -> dict[str, datetime]:
        return {object_id: datetime.fromtimestamp(us / 1_000_000, UTC) for object_id, us in self._db.execute(
            "SELECT object_id, added_us FROM stix_versions WHERE first = 1")}

    # -- reading -----------------------------------------------------------------------------
    def versions(self, kinds: set[str] | None, *, added_after: datetime | None = None, after_seq: int = 0,
                 types: set[str] | None = None, ids: set[str] | None = None, which: set[str] | None = None,
                 limit: int = 100) -> list[Version]:
        """Versions in the order they were added, at most ``limit`` (+1 to tell there are
        more). ``kinds``: the collection's term kinds (None: all); ``which``: "last" (default),
        "first", "all" or version timestamps, any of them."""
        where: list[str] = ["seq > ?"]
        params: list[object] = [after_seq]
        if kinds is not None:
            where.append(f"kind IN ({','.join('?' * (len(kinds) + 1))})")
            params += [SHARED, *sorted(kinds)]
        if added_after is not None:
            where.append("added_us > ?")
            params.append(_us(added_after))
        for column, values in (("type", types), ("object_id", ids)):
            if values:
                where.append(f"{column} IN ({','.join('?' * len(values))})")
                params += sorted(values)
        which = which or {"last"}
        if "all" not in which:
            chosen = [c for c, name in (("latest = 1", "last"), ("first = 1", "first")) if name in which]
            stamps = sorted(which - {"last", "first"})
            if stamps:
                chosen.append(f"version IN ({','.join('?' * len(stamps))})")
                params += stamps
            where.append("(" + " OR ".join(chosen) + ")")
        sql = (f"SELECT seq, object_id, version, added_us, body FROM stix_versions WHERE {' AND '.join(where)} "
               f"ORDER BY seq LIMIT ?")
        return [Version(seq, object_id, version, taxii_time(us), json.loads(body)) for seq, object_id, version, us, body
                in self._db.execute(sql, (*params, limit + 1))]


def _after(wanted: str, previous: str) -> str:
    """A `modified` later than the previous version's: ``wanted`` when it is, else 1 ms past it."""
    if wanted > previous:
        return wanted
    moment = datetime.strptime(previous, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return stix.stix_time(moment + timedelta(milliseconds=1))


class _Transaction:
    def __init__(self, db: sqlite3.Connection):
        self.db = db

    def __enter__(self):
        self.db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, *_):
        self.db.execute("COMMIT" if kind is None else "ROLLBACK")
