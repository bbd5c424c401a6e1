"""Who may use the API, and what they did: API keys with roles (stored hashed) and an
append-only audit log, both in the service's own SQLite file (config [api] path).

A key is ``idk_<key id>_<secret>``: the id finds the row, the secret is compared with its
SHA-256 digest (keys are 256 random bits, so a slow password hash adds nothing; the plain
key is shown once, at creation, and never stored or logged). Roles are sets of permissions.

The audit log refuses UPDATE and DELETE (SQLite triggers) and chains each record to the one
before it with a keyed digest whose head is anchored outside the log (interdict/web/audit.py),
so an edit, a deletion or a cut made behind the service's back is found by ``verify()``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from interdict.web.audit import GENESIS, Head, HeadFile, Verification, keyed_digest, load_or_create_key, verify_chain

ROLES: dict[str, frozenset[str]] = {
    "analyst": frozenset({"search", "read", "match", "review", "trackers"}),  # their own trackers
    "risk-engine": frozenset({"watchlist", "match"}),
    "admin": frozenset({"keys", "jobs", "audit", "metrics", "trackers"}),  # every tracker
    "monitor": frozenset({"metrics"}),  # a Prometheus scraper: nothing but the metrics
}
KEY_PREFIX = "idk_"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL, digest TEXT NOT NULL,
    created TEXT NOT NULL, revoked TEXT);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, key_id TEXT, key_name TEXT, role TEXT,
    action TEXT NOT NULL, target TEXT NOT NULL, detail TEXT NOT NULL, status INTEGER NOT NULL,
    prev TEXT NOT NULL, digest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS web_sessions (
    digest TEXT PRIMARY KEY, key_id TEXT NOT NULL, created TEXT NOT NULL, last_used TEXT NOT NULL,
    ended TEXT);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


class AccessError(ValueError):
    """A request about keys that cannot be done (unknown role, unknown key)."""


@dataclass(frozen=True)
class ApiKey:
    id: str
    name: str
    role: str
    created: str
    revoked: str | None = None

    @property
    def permissions(self) -> frozenset[str]:
        return ROLES.get(self.role, frozenset()) if self.revoked is None else frozenset()


@dataclass(frozen=True)
class AuditRecord:
    seq: int
    at: str
    key_id: str | None
    key_name: str | None
    role: str | None
    action: str
    target: str
    detail: dict
    status: int


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class AccessStore:
    """Keys and the audit log. Thread-safe: the web server calls it from worker threads.
    ``audit_key_file`` and ``audit_head_file`` (config [api]) default to files beside the
    database, which is fine for tests and nothing else: an anchor must live elsewhere."""

    def __init__(self, path: str | Path, audit_key_file: str | Path | None = None,
                 audit_head_file: str | Path | None = None):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()
        self._key_file = Path(audit_key_file or self.path.with_name(self.path.name + ".audit-key")).expanduser()
        self._head_file = audit_head_file or self.path.with_name(self.path.name + ".audit-head")
        self._audit_key: bytes | None = None
        self._heads: HeadFile | None = None
        self._keyed_from: int | None = None  # the log's first keyed record, from its anchored head

    @property
    def heads(self) -> HeadFile:
        if self._heads is None:  # the key is read (or made) on first use of the audit log
            self._audit_key = load_or_create_key(self._key_file)
            self._heads = HeadFile(self._head_file, self._audit_key)
        return self._heads

    @property
    def log_id(self) -> str:
        return str(self.path.resolve())

    def close(self) -> None:
        self._db.close()

    # -- keys --------------------------------------------------------------------------------
    def create_key(self, name: str, role: str) -> tuple[ApiKey, str]:
        """The key's record and the key itself (shown once; only its digest is kept)."""
        if role not in ROLES:
            raise AccessError(f"unknown role {role!r} (roles: {', '.join(ROLES)})")
        if not name.strip():
            raise AccessError("a key needs a name saying who or what uses it")
        key = ApiKey(id=secrets.token_hex(6), name=name.strip(), role=role, created=_now())
        secret = secrets.token_urlsafe(32)
        with self._lock:
            self._db.execute("INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL)",
                             (key.id, key.name, key.role, _digest(secret), key.created))
        return key, f"{KEY_PREFIX}{key.id}_{secret}"

    def keys(self) -> list[ApiKey]:
        rows = self._db.execute("SELECT id, name, role, created, revoked FROM api_keys ORDER BY created, id")
        return [ApiKey(*row) for row in rows]

    def revoke(self, key_id: str) -> ApiKey:
        with self._lock:
            done = self._db.execute("UPDATE api_keys SET revoked = ? WHERE id = ? AND revoked IS NULL",
                                    (_now(), key_id)).rowcount
        key = next((k for k in self.keys() if k.id == key_id), None)
        if key is None:
            raise AccessError(f"no key {key_id!r}")
        if not done:
            raise AccessError(f"key {key_id} ({key.name}) was already revoked on {key.revoked}")
        self._end_sessions("key_id = ?", key_id)  # its web sessions end with it
        return key

    # -- web sessions -------------------------------------------------------------------------
    def start_session(self, key: ApiKey) -> str:
        """A new web session of ``key``; the token (random, 256 bits) goes into the cookie and
        only its digest is kept, so the cookie never holds the key and a stolen database no
        session."""
        token = secrets.token_urlsafe(32)
        now = _now()
        with self._lock:
            self._db.execute("INSERT INTO web_sessions VALUES (?, ?, ?, ?, NULL)", (_digest(token), key.id, now, now))
        return token

    def session_key(self, token: str, idle: timedelta, longest: timedelta) -> ApiKey | None:
        """The active key of a live session (not ended, not idle past ``idle``, not older than
        ``longest``, its key not revoked); its last use moves to now."""
        row = self._db.execute(
            "SELECT s.digest, s.created, s.last_used, k.id, k.name, k.role, k.created, k.revoked FROM web_sessions s "
            "JOIN api_keys k ON k.id = s.key_id WHERE s.digest = ? AND s.ended IS NULL", (_digest(token),)).fetchone()
        if row is None or row[7] is not None:
            return None
        now = datetime.now(UTC)
        if now - datetime.fromisoformat(row[2]) > idle or now - datetime.fromisoformat(row[1]) > longest:
            self._end_sessions("digest = ?", row[0])
            return None
        with self._lock:
            self._db.execute("UPDATE web_sessions SET last_used = ? WHERE digest = ?", (_now(), row[0]))
        return ApiKey(*row[3:8])

    def end_session(self, token: str) -> None:
        self._end_sessions("digest = ?", _digest(token))

    def _end_sessions(self, where: str, value: str) -> None:
        with self._lock:
            self._db.execute(f"UPDATE web_sessions SET ended = ? WHERE {where} AND ended IS NULL", (_now(), value))

    def authenticate(self, presented: str) -> ApiKey | None:
        """The active key a presented token belongs to, or None (unknown, wrong or revoked)."""
        if not presented.startswith(KEY_PREFIX):
            return None
        key_id, _, secret = presented[len(KEY_PREFIX):].partition("_")
        row = self._db.execute("SELECT id, name, role, created, revoked, digest FROM api_keys WHERE id = ?",
                               (key_id,)).fetchone()
        if row is None or not secret:
            return None
        if not hmac.compare_digest(row[5], _digest(secret)) or row[4] is not None:
            return None
        return ApiKey(*row[:5])

    # -- audit -------------------------------------------------------------------------------
    def record(self, key: ApiKey | None, action: str, target: str, detail: dict | None = None,
               status: int = 200) -> None:
        detail_text = json.dumps(detail or {}, sort_keys=True, ensure_ascii=False, default=str)
        fields = [_now(), key.id if key else None, key.name if key else None, key.role if key else None,
                  action, target, detail_text, status]
        heads = self.heads
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")  # one writer at a time, across processes too
            try:
                last = self._db.execute("SELECT seq, digest FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
                prev = last[1] if last else GENESIS
                digest = keyed_digest(heads.key, prev, fields)
                seq = self._db.execute("INSERT INTO audit (at, key_id, key_name, role, action, target, detail, status, "
                                       "prev, digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq",
                                       (*fields, prev, digest)).fetchone()[0]
                if self._keyed_from is None:  # never changes once the log is keyed: read it once
                    anchored, _ = heads.read(self.log_id)
                    self._keyed_from = anchored.keyed_from if anchored else seq
                heads.write(self.log_id, Head(seq, digest, self._keyed_from))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def audit(self, limit: int = 100, action: str | None = None, key_id: str | None = None) -> list[AuditRecord]:
        """Latest records first."""
        where, args = [], []
        if action:
            where.append("action = ?")
            args.append(action)
        if key_id:
            where.append("key_id = ?")
            args.append(key_id)
        sql = ("SELECT seq, at, key_id, key_name, role, action, target, detail, status FROM audit"
               + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY seq DESC LIMIT ?")
        return [AuditRecord(seq=seq, at=at, key_id=key_id, key_name=key_name, role=role, action=action, target=target,
                            detail=json.loads(detail), status=status)
                for seq, at, key_id, key_name, role, action, target, detail, status
                in self._db.execute(sql, (*args, limit))]

    def verify(self) -> Verification:
        """Every record's digest re-computed in order, and the end of the log compared with its
        anchored head (interdict/web/audit.py says what this proves and what it does not)."""
        rows = ((row[0], list(row[1:9]), row[9], row[10]) for row in self._db.execute(
            "SELECT seq, at, key_id, key_name, role, action, target, detail, status, prev, digest FROM audit "
            "ORDER BY seq"))
        head, problem = self.heads.read(self.log_id)
        return verify_chain(rows, self.heads.key, head, problem)


def access_store(config) -> AccessStore:
    """The keys and audit log the configuration names (config [api])."""
    return AccessStore(config.api.path, config.api.audit_key_file, config.api.audit_head_file)
