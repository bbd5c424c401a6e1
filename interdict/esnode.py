"""A real single-node Elasticsearch on loopback, for the tests and benchmarks.

The distribution is Elastic's integ-test zip from Maven Central (fetched once with
`mvn dependency:copy`, then cached). It runs on the installed OpenJDK 17 with security
off and a small heap, as a non-root user (Elasticsearch refuses root).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import subprocess
import time
import urllib.request
import zipfile
from pathlib import Path

ES_VERSION = "8.19.7"
ARTIFACT = f"org.elasticsearch.distribution.integ-test-zip:elasticsearch:{ES_VERSION}:zip"
SERVICE_USER = "interdict-es"


class ElasticsearchNodeError(RuntimeError):
    pass


def _cache_dir() -> Path:
    # The service user must be able to read the installation: not under root's home.
    if os.geteuid() == 0:
        return Path("/var/cache/interdict")
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "interdict"


def _java_home() -> str:
    if os.environ.get("ES_JAVA_HOME"):
        return os.environ["ES_JAVA_HOME"]
    for candidate in ("/usr/lib/jvm/java-17-openjdk-amd64", "/usr/lib/jvm/openjdk-17"):
        if Path(candidate, "bin", "java").exists():
            return candidate
    java = shutil.which("java")
    if not java:
        raise ElasticsearchNodeError("no Java found: Elasticsearch needs OpenJDK 17")
    return str(Path(os.path.realpath(java)).parent.parent)


def install() -> Path:
    """The unpacked distribution, downloading it through Maven the first time."""
    cache = _cache_dir() / "elasticsearch"
    home = cache / f"elasticsearch-{ES_VERSION}"
    if (home / "bin" / "elasticsearch").exists():
        return home
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / f"elasticsearch-{ES_VERSION}.zip"
    if not archive.exists():
        if shutil.which("mvn") is None:
            raise ElasticsearchNodeError("Maven (mvn) is needed to fetch Elasticsearch from Maven Central")
        result = subprocess.run(["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={ARTIFACT}",
                                 f"-DoutputDirectory={cache}"], capture_output=True, text=True, cwd=cache)
        if result.returncode or not archive.exists():
            raise ElasticsearchNodeError(f"mvn could not fetch {ARTIFACT}: {result.stdout[-1500:]}{result.stderr[-500:]}")
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(cache)
    for script in (home / "bin").iterdir():
        script.chmod(0o755)
    return home


def _service_user() -> str | None:
    """Root runs Elasticsearch as an unprivileged system user, created if missing."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SERVICE_USER],
                       check=True)
    return SERVICE_USER


class ElasticsearchNode:
    def __init__(self, workdir: Path, http_port: int, transport_port: int, heap: str = "512m"):
        self.workdir, self.http_port, self.transport_port, self.heap = Path(workdir), http_port, transport_port, heap
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, timeout: float = 180) -> "ElasticsearchNode":
        home = install()
        user = _service_user()
        data, logs = self.workdir / "data", self.workdir / "logs"
        data.mkdir(parents=True, exist_ok=True)
        logs.mkdir(parents=True, exist_ok=True)
        if user:
            shutil.chown(self.workdir, user)
            for path in (data, logs):
                shutil.chown(path, user)
            subprocess.run(["chown", "-R", user, str(home / "config"), str(home / "logs")], check=False)
            # every folder above the data dir must be traversable by the service user
            for parent in self.workdir.parents:
                if parent != Path("/") and not os.stat(parent).st_mode & 0o001:
                    os.chmod(parent, os.stat(parent).st_mode | 0o001)
        settings = {
            "discovery.type": "single-node", "xpack.security.enabled": "false", "network.host": "127.0.0.1",
            "http.port": str(self.http_port), "transport.port": str(self.transport_port),
            "path.data": str(data), "path.logs": str(logs), "cluster.name": "interdict-test",
            "cluster.routing.allocation.disk.threshold_enabled": "false",
        }
        env = {**os.environ, "ES_JAVA_HOME": _java_home(), "ES_JAVA_OPTS": f"-Xms{self.heap} -Xmx{self.heap}"}
        env.pop("JAVA_TOOL_OPTIONS", None)
        cmd = [str(home / "bin" / "elasticsearch"), *[f"-E{k}={v}" for k, v in settings.items()]]
        if user:
            cmd = ["runuser", "-u", user, "--", "env", f"ES_JAVA_HOME={env['ES_JAVA_HOME']}",
                   f"ES_JAVA_OPTS={env['ES_JAVA_OPTS']}", *cmd]
        self.log = (self.workdir / "stdout.log").open("w")
        self.process = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ElasticsearchNodeError(f"Elasticsearch exited: {self.tail()}")
            if self.healthy():
                return self
            time.sleep(1)
        self.stop()
        raise ElasticsearchNodeError(f"Elasticsearch not ready after {timeout:.0f} s: {self.tail()}")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s", timeout=3) as r:
                return json.load(r).get("status") in ("yellow", "green")
        except (OSError, ValueError):
            return False

    def tail(self, lines: int = 15) -> str:
        path = self.workdir / "stdout.log"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.process = None
