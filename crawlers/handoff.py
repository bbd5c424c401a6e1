"""Markets paused at a wall, and the hand-off entries that tell an operator what to do.

A crawl that meets a login wall, CAPTCHA or DDoS-protection queue stops that market
(nothing behind a wall is indexed) and records here: market, URL, since when, what was
seen, and which session (by fingerprint, never the secret) was in use. The next crawl of
the market stays paused until the operator supplies a different session or resolves the
entry (`interdict handoff resolve MARKET`). ``markets.json`` holds the current pauses;
``handoff.jsonl`` is the append-only history of pauses and resumptions.
"""

from __future__ import annotations

import fcntl
import json
import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Pause:
    market: str
    reason: str  # captcha | ddos_queue | login_wall
    url: str
    since: str  # ISO time, UTC
    seen: str  # what gave the wall away
    session: str = ""  # fingerprint of the session in use when it was met ("" = none)


class MarketStates:
    def __init__(self, state_dir: str | Path):
        self.dir = Path(state_dir)
        self.current = self.dir / "markets.json"
        self.history = self.dir / "handoff.jsonl"

    @contextmanager
    def _locked(self):
        self.dir.mkdir(parents=True, exist_ok=True)
        with open(self.dir / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # several crawls may pause markets at once
            yield

    def _read(self) -> dict[str, dict]:
        try:
            return json.loads(self.current.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}

    def _write(self, state: dict[str, dict]) -> None:
        temporary = self.current.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(temporary, self.current)

    def _log(self, event: str, **fields) -> None:
        entry = {"event": event, "at": datetime.now(UTC).isoformat(timespec="seconds"), **fields}
        with open(self.history, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry, ensure_ascii=False) + "\n")

    def paused(self, market: str) -> Pause | None:
        entry = self._read().get(market)
        return Pause(**entry) if entry else None

    def pauses(self) -> list[Pause]:
        return [Pause(**entry) for _, entry in sorted(self._read().items())]

    def pause(self, market: str, reason: str, url: str, seen: str, session: str = "") -> Pause:
        with self._locked():
            state = self._read()
            if market in state:  # already paused: keep the first sighting
                return Pause(**state[market])
            pause = Pause(market, reason, url, datetime.now(UTC).isoformat(timespec="seconds"), seen, session)
            state[market] = asdict(pause)
            self._write(state)
            self._log("paused", **asdict(pause))
            return pause

    def resume(self, market: str, why: str) -> Pause | None:
        with self._locked():
            state = self._read()
            entry = state.pop(market, None)
            if entry is None:
                return None
            self._write(state)
            self._log("resumed", market=market, why=why)
            return Pause(**entry)
