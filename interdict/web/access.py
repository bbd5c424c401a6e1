"""Who may use the API, and what they did: API keys with roles (stored hashed) and an
append-only audit log, both in the service's own SQLite file (config [api] path).

A key is ``idk_<key id>_<secret>``: the id finds the row, the secret is compared with its
SHA-256 digest (keys are 256 random bits, so a slow password hash adds nothing; the plain
key is shown once, at creation, and never stored or logged). Roles are sets of permissions.

The audit log refuses UPDATE and DELETE (SQLite triggers) and chains each record to the one
before it by SHA-256, so an edit made behind the service's back (or a deleted record) is
found by ``verify()``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROLES: dict[str, frozenset[str]] = {
    "analyst": frozenset({"search", "read", "match", "review"}),
    "risk-engine": frozenset({"watchlist", "match"}),
    "admin": frozenset({"keys", "jobs", "audit", "metrics"}),
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
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""
_GENESIS = "0" * 64


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
    """Keys and the audit log. Thread-safe: the web server calls it from worker threads."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

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
        return key

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
        at = _now()
        fields = [at, key.id if key else None, key.name if key else None, key.role if key else None,
                  action, target, detail_text, status]
        with self._lock:
            last = self._db.execute("SELECT digest FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
            prev = last[0] if last else _GENESIS
            digest = _chain(prev, fields)
            self._db.execute("INSERT INTO audit (at, key_id, key_name, role, action, target, detail, status, prev, "
                             "digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*fields, prev, digest))

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
        return [AuditRecord(*row[:7], json.loads(row[7]), row[8]) for row in self._db.execute(sql, (*args, limit))]

    def verify(self) -> tuple[int, str | None]:
        """(records checked, the first problem found or None): every record's digest must
        follow from its fields and the record before it, and no sequence number may be missing."""
        prev, expected_seq, checked = _GENESIS, None, 0
        for row in self._db.execute("SELECT seq, at, key_id, key_name, role, action, target, detail, status, prev, "
                                    "digest FROM audit ORDER BY seq"):
            seq, fields, row_prev, digest = row[0], list(row[1:9]), row[9], row[10]
            if expected_seq is not None and seq != expected_seq:
                return checked, f"record {expected_seq} is missing"
            if row_prev != prev or _chain(prev, fields) != digest:
                return checked, f"record {seq} does not match its digest: altered after it was written"
            prev, expected_seq, checked = digest, seq + 1, checked + 1
        return checked, None


def _chain(prev: str, fields: list) -> str:
    return hashlib.sha256((prev + json.dumps(fields, ensure_ascii=False, default=str)).encode()).hexdigest()
