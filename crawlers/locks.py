"""One crawl of a market at a time on a host: an exclusive lock file per market, held by the
crawling process for as long as it crawls. The kernel drops the lock when the process dies
(SIGKILL included), so a crash never leaves a market locked."""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path


class MarketBusy(Exception):
    def __init__(self, market: str, holder: str):
        super().__init__(f"another crawl of {market} is running ({holder or 'holder unknown'})")
        self.market, self.holder = market, holder


class MarketLock:
    def __init__(self, state_dir: str | os.PathLike[str], market: str):
        self.path = Path(state_dir) / "locks" / f"{market}.lock"
        self.market = market
        self.fd: int | None = None

    def acquire(self) -> "MarketLock":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            os.close(fd)
            raise MarketBusy(self.market, holder) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{socket.gethostname()}:{os.getpid()}\n".encode(), 0)
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing drops the lock
            self.fd = None
