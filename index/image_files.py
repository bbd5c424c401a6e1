"""Listing images kept once per content digest: ``<dir>/<first two hex digits>/<SHA-256>``.

Only images that passed the blocklist are ever handed here (crawlers/images.py checks first).
A file is written under a temporary name and renamed into place, so a reader (the web app)
never sees half an image, and two crawls storing the same photo at once both succeed. The
operator's flags (blocklist matches: where, when, which list; never the bytes) go to a JSON
Lines file beside it."""

from __future__ import annotations

import json
import os
import re
import threading
from datetime import UTC, datetime
from pathlib import Path

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class ImageFiles:
    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)

    def path(self, sha256: str) -> Path:
        if not _DIGEST.match(sha256):  # a digest from a URL names no other file
            raise ValueError(f"not a SHA-256 digest: {sha256[:80]!r}")
        return self.folder / sha256[:2] / sha256

    def put(self, sha256: str, data: bytes) -> bool:
        """Keep the bytes under their digest; False when they were kept already."""
        target = self.path(sha256)
        if target.exists():
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{sha256}.{os.getpid()}.{threading.get_ident()}")
        with open(temporary, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
        return True

    def get(self, sha256: str) -> bytes | None:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            return None

    def __contains__(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def count(self) -> int:
        return sum(1 for p in self.folder.glob("??/*") if _DIGEST.match(p.name))


class FlagLog:
    """Blocklist matches for the operator: one JSON line each, appended under a lock."""

    _lock = threading.Lock()

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)

    def flag(self, **fields: object) -> None:
        line = json.dumps({"flagged_at": datetime.now(UTC).isoformat(), **fields}, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as out:
                out.write(line + "\n")

    def entries(self) -> list[dict]:
        try:
            with open(self.path, encoding="utf-8") as lines:
                return [json.loads(line) for line in lines if line.strip()]
        except FileNotFoundError:
            return []
