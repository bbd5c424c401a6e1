"""A progress counter on stderr for people at a terminal; silent in pipes and logs."""

from __future__ import annotations

import sys
import time


BAR_WIDTH = 30


class Progress:
    def __init__(self, label: str, every: float = 0.5):
        self.label, self.every = label, every
        self.count, self.started, self.shown = 0, time.monotonic(), 0.0
        self.enabled = sys.stderr.isatty()

    def tick(self, n: int = 1, fraction: float | None = None) -> None:
        """Count ``n`` more; ``fraction``: how much of the whole input is done (0..1), when known,
        shown as a bar."""
        self.count += n
        now = time.monotonic()
        if self.enabled and now - self.shown >= self.every:
            self.shown = now
            rate = self.count / max(now - self.started, 1e-9)
            bar = ""
            if fraction is not None:
                filled = int(BAR_WIDTH * min(max(fraction, 0.0), 1.0))
                bar = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {fraction:4.0%} "
            sys.stderr.write(f"\033[2K{bar}{self.label} {self.count:,} ({rate:,.0f}/s)\r")
            sys.stderr.flush()

    def done(self) -> None:
        if self.enabled and self.count:
            sys.stderr.write("\033[2K")
            sys.stderr.flush()
