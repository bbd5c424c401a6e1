"""The audit log's integrity: a keyed hash chain anchored outside the log (docs/api.md,
"What the audit log proves").

Each record's digest is HMAC-SHA256, under a secret key kept in its own file
(``[api] audit_key_file``, mode 0600, outside ``var/``, created on first use), of the
digest before it and the record's fields. After every record the log's head — last
sequence number, last digest, and the first keyed record — is written to another file
(``[api] audit_head_file``), itself authenticated with the key, one entry per log. So:

- an edited record fails its HMAC, and re-computing the chain needs the key;
- deleted records leave a gap, and records cut from the end leave the log shorter than
  its anchored head;
- records written before keyed auditing (plain SHA-256 chain) are reported as an unkeyed
  segment at the start, never as tampering — but an unkeyed record after the first keyed
  one is tampering.

It does not prove anything against someone who holds the key file, nor against one who
restores an older copy of the head file together with a log cut back to it.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

from interdict.errors import UserError

GENESIS = "0" * 64
KEYED = "hmac-sha256:"


class AuditKeyError(UserError):
    """The audit key file cannot be used (unreadable, or readable by others)."""


def load_or_create_key(path: str | Path) -> bytes:
    """The audit key; a new random one, written with mode 0600, if the file does not exist."""
    path = Path(path).expanduser()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32) + "\n")
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise AuditKeyError(f"audit key file {path} is open to others (mode {stat.filemode(mode)}): "
                            f"chmod 600 {path}")
    text = path.read_text().strip()
    if len(text) < 32:
        raise AuditKeyError(f"audit key file {path} holds no key")
    return text.encode()


def legacy_digest(prev: str, fields: list) -> str:
    """The chain of releases before keyed auditing: plain SHA-256."""
    return hashlib.sha256((prev + json.dumps(fields, ensure_ascii=False, default=str)).encode()).hexdigest()


def keyed_digest(key: bytes, prev: str, fields: list) -> str:
    mac = hmac.new(key, (prev + json.dumps(fields, ensure_ascii=False, default=str)).encode(), hashlib.sha256)
    return KEYED + mac.hexdigest()


@dataclass(frozen=True)
class Head:
    seq: int
    digest: str
    keyed_from: int  # the first record chained with the key


class HeadFile:
    """The anchored heads of audit logs, one entry per log file (by absolute path), each
    authenticated with the audit key. Writers lock the file, so several services may share it."""

    def __init__(self, path: str | Path, key: bytes):
        self.path, self.key = Path(path).expanduser(), key

    def _mac(self, log: str, head: Head) -> str:
        text = json.dumps([log, head.seq, head.digest, head.keyed_from])
        return hmac.new(self.key, text.encode(), hashlib.sha256).hexdigest()

    def _read(self) -> dict:
        try:
            return json.loads(self.path.read_text() or "{}")
        except FileNotFoundError:
            return {}

    def read(self, log: str) -> tuple[Head | None, str | None]:
        """(head, None), (None, None) when the log has none, or (None, why it cannot be trusted)."""
        try:
            entry = self._read().get(log)
        except (OSError, ValueError) as exc:
            return None, f"the head file {self.path} cannot be read ({exc})"
        if entry is None:
            return None, None
        try:
            head = Head(int(entry["seq"]), str(entry["digest"]), int(entry["keyed_from"]))
        except (KeyError, TypeError, ValueError):
            return None, f"the head file {self.path} has a malformed entry for this log"
        if not hmac.compare_digest(self._mac(log, head), str(entry.get("mac", ""))):
            return None, f"the head file {self.path} entry for this log was not written with the audit key"
        return head, None

    def write(self, log: str, head: Head) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            heads = self._read()
            heads[log] = {"seq": head.seq, "digest": head.digest, "keyed_from": head.keyed_from,
                          "mac": self._mac(log, head)}
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            temporary.write_text(json.dumps(heads, indent=1, sort_keys=True))
            os.chmod(temporary, 0o600)
            os.replace(temporary, self.path)


@dataclass(frozen=True)
class Verification:
    checked: int  # records whose digests were re-computed
    unkeyed: int  # of them, records of the plain SHA-256 chain before keyed auditing
    problem: str | None  # the first sign of tampering, or None

    def summary(self) -> str:
        unkeyed = (f"; records 1–{self.unkeyed} predate keyed auditing (a SHA-256 chain without a key: an edit "
                   f"re-chained by someone without the key cannot be told from the original)" if self.unkeyed else "")
        return f"{self.checked} record(s) checked: {self.problem or 'the keyed chain and its anchored head are intact'}" \
               + unkeyed


def verify_chain(rows, key: bytes, head: Head | None, head_problem: str | None) -> Verification:
    """``rows``: (seq, fields, prev, digest) in sequence order."""
    prev, expected, checked, unkeyed, keyed_from, last = GENESIS, None, 0, 0, None, None

    def result(problem: str | None) -> Verification:
        return Verification(checked, unkeyed, problem)

    for seq, fields, row_prev, digest in rows:
        if expected is not None and seq != expected:
            return result(f"record {expected} is missing")
        if row_prev != prev:
            return result(f"record {seq} does not follow record {seq - 1}: altered after it was written")
        if digest.startswith(KEYED):
            keyed_from = keyed_from or seq
            good = hmac.compare_digest(digest, keyed_digest(key, prev, fields))
        elif keyed_from is not None or (head is not None and seq >= head.keyed_from):
            return result(f"record {seq} is chained without the key after keyed auditing began: re-written")
        else:
            good = digest == legacy_digest(prev, fields)
            unkeyed += 1
        if not good:
            return result(f"record {seq} does not match its digest: altered after it was written")
        prev, expected, checked, last = digest, seq + 1, checked + 1, (seq, digest)
    if head_problem:
        return result(head_problem)
    if keyed_from is None and head is None:
        return result(None)
    if head is None:
        return result("the log has keyed records but no anchored head: it may have been cut (head file missing)")
    if last is None or last[0] < head.seq:
        return result(f"the log ends at record {last[0] if last else 0} but its anchored head is record "
                      f"{head.seq}: records were cut from the end")
    if last[0] == head.seq and last[1] != head.digest:
        return result(f"record {head.seq} differs from the anchored head: the log was re-written")
    if last[0] > head.seq:
        return result(f"{last[0] - head.seq} record(s) after the anchored head (record {head.seq}): added behind "
                      f"the service's back, or it stopped between writing a record and its anchor")
    return result(None)
