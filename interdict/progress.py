"""A progress counter on stderr for people at a terminal; silent in pipes and logs."""

from __future__ import annotations

import sys
import time


class Progress:
    def __init__(self, label: str, every: float = 0.5):
        self.label, self.every = label, every
        self.count, self.started, self.shown = 0, time.monotonic(), 0.0
        self.enabled = sys.stderr.isatty()

    def tick(self, n: int = 1) -> None:
        self.count += n
        now = time.monotonic()
        if self.enabled and now - self.shown >= self.every:
            self.shown = now
            rate = self.count / max(now - self.started, 1e-9)
            sys.stderr.write(f"\033[2K{self.label} {self.count} ({rate:,.0f}/s)\r")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self.count:
            sys.stderr.write("\033[2K")
            sys.stderr.flush()
