"""A real `interdict serve` for the benchmarks: its own API file and store in a scratch
folder, a key of one role, the server's pid (for its memory) and URL; stopped on exit."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from interdict.demo.run import free_port  # noqa: E402


@dataclass
class Served:
    url: str
    key: str
    pid: int


@contextmanager
def interdict_serve(folder: str, settings: dict[str, str] | None = None, role: str = "analyst") -> Iterator[Served]:
    """``settings``: more INTERDICT_* variables (the store path is ``folder``/index.db)."""
    port = free_port()
    env = {**os.environ, "INTERDICT_API__PATH": f"{folder}/api.db", "INTERDICT_STORE__PATH": f"{folder}/index.db",
           "INTERDICT_API__PORT": str(port), **(settings or {})}
    cli = [sys.executable, "-m", "interdict.cli"]
    made = subprocess.run([*cli, "keys", "create", "bench", "--role", role], env=env, cwd=REPO,
                          capture_output=True, text=True, check=True)
    server = subprocess.Popen([*cli, "serve"], env=env, cwd=REPO, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/health", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or server.poll() is not None:
                    sys.exit("the server did not start")
                time.sleep(0.2)
        yield Served(url, made.stdout.strip(), server.pid)
    finally:
        server.terminate()
        server.wait(30)
