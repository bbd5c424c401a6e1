"""A real Redis server (Debian's redis-server) on loopback, for the tests and benchmarks:
a free port, a password, and optionally every write kept on disk (AOF, fsync on each) so a
server killed and started again holds what it held."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path


class RedisNodeError(RuntimeError):
    pass


class RedisNode:
    def __init__(self, workdir: Path, durable: bool = False):
        from interdict.demo.run import free_port

        self.exe = shutil.which("redis-server")
        if self.exe is None:
            raise RedisNodeError("redis-server is not installed (`make test` installs Debian's redis-server)")
        self.workdir, self.durable, self.port = Path(workdir), durable, free_port()
        self.password = os.urandom(8).hex()
        self.url = f"redis://:{self.password}@127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10) -> "RedisNode":
        import redis

        persistence = ["--appendonly", "yes", "--appendfsync", "always"] if self.durable else ["--appendonly", "no"]
        self.proc = subprocess.Popen([self.exe, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                                      "--requirepass", self.password, "--dir", str(self.workdir), *persistence],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                redis.Redis.from_url(self.url).ping()
                return self
            except redis.ConnectionError:
                if self.proc.poll() is not None:
                    raise RedisNodeError(f"redis-server exited: {self.proc.stderr.read().decode()[-500:]}") from None
                time.sleep(0.1)
        self.kill()
        raise RedisNodeError(f"redis-server did not answer within {timeout:.0f} s")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
