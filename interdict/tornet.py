"""A private Tor network on loopback, for the tests and `interdict demo --tor`.

Three directory authorities, two exit relays (allowed to exit to 127.0.0.0/8 only), two
middle relays, one onion-service process hosting the demo markets, and one client with a
SOCKS port (IsolateSOCKSAuth) and a control port. Everything listens on 127.0.0.1 in a
fixed low port range; generated keys are cached so later starts skip key generation and
keep the same onion addresses. Every tor process is ours (started here, stopped by PID).
"""

from __future__ import annotations

import atexit
import os
import re
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

AUTHORITIES, EXITS, MIDDLES = 3, 2, 2
SOCKS_TIMEOUT = 20
COMMON_OPTIONS = """\
TestingTorNetwork 1
AssumeReachable 1
PathsNeededToBuildCircuits 0.67
TestingDirAuthVoteExit *
TestingDirAuthVoteGuard *
TestingDirAuthVoteHSDir *
TestingMinExitFlagThreshold 0
V3AuthNIntervalsValid 2
SafeLogging 0
ShutdownWaitLength 0
RunAsDaemon 0
"""
AUTHORITY_OPTIONS = """\
AuthoritativeDirectory 1
V3AuthoritativeDirectory 1
ExitPolicy reject *:*
TestingV3AuthInitialVotingInterval 5
TestingV3AuthInitialVoteDelay 2
TestingV3AuthInitialDistDelay 2
V3AuthVotingInterval 10
V3AuthVoteDelay 2
V3AuthDistDelay 2
AuthDirVoteStableGuaranteeMinUptime 0
AuthDirVoteStableGuaranteeMTBF 0
"""
EXIT_OPTIONS = """\
ExitRelay 1
ExitPolicyRejectPrivate 0
ExitPolicyRejectLocalInterfaces 0
ExitPolicy accept 127.0.0.0/8:*
ExitPolicy reject *:*
"""


class TorNetworkError(RuntimeError):
    pass


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "interdict" / "tornet"


def ports_free(ports: list[int]) -> bool:
    for port in ports:
        with socket.socket() as sock:
            # tor sets SO_REUSEADDR too: connections in TIME-WAIT do not block it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


@dataclass
class Node:
    name: str
    role: str  # authority, exit, middle, onion, client
    data_dir: Path
    or_port: int = 0
    dir_port: int = 0
    fingerprint: str = ""
    v3ident: str = ""
    process: subprocess.Popen | None = None


@dataclass
class TorNetwork:
    services: dict[str, int]  # onion service name -> local port on 127.0.0.1
    port_base: int = 17100
    run_dir: Path | None = None
    cache_dir: Path = field(default_factory=default_cache_dir)
    nodes: list[Node] = field(default_factory=list)
    onion_hosts: dict[str, str] = field(default_factory=dict)

    # -- public ----------------------------------------------------------------------------
    @property
    def socks_port(self) -> int:
        return self.port_base + 90

    @property
    def control_port(self) -> int:
        return self.port_base + 91

    @property
    def socks_url(self) -> str:
        return f"socks5h://127.0.0.1:{self.socks_port}"

    @property
    def client(self) -> Node:
        return next(n for n in self.nodes if n.role == "client")

    @property
    def control_cookie(self) -> Path:
        return self.client.data_dir / "control_auth_cookie"

    def start(self, timeout: float = 180) -> "TorNetwork":
        if shutil.which("tor") is None or shutil.which("tor-gencert") is None:
            raise TorNetworkError("tor is not installed (Debian package 'tor'; `make test` installs it)")
        if self.run_dir is None:
            raise TorNetworkError("run_dir is required")
        self.run_dir = Path(self.run_dir).resolve()  # tor-gencert runs in the keys folder
        if not ports_free(self._all_ports()):
            raise TorNetworkError(f"ports {self.port_base}-{self.port_base + 99} are not free")
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        self._prepare()
        for node in self.nodes:
            if node.role in ("authority", "exit", "middle"):
                self._launch(node)
        self._wait_for_consensus(deadline)
        for node in self.nodes:
            if node.role in ("onion", "client"):
                self._launch(node)
        self._wait_for_onion_hostnames(deadline)
        self._wait_for_bootstrap(deadline)
        return self

    def stop(self) -> None:
        for node in self.nodes:
            if node.process and node.process.poll() is None:
                node.process.terminate()
        for node in self.nodes:
            if node.process:
                try:
                    node.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    node.process.kill()
                    node.process.wait()
        atexit.unregister(self.stop)

    def stop_client(self) -> None:
        """Stop only the client (its SOCKS port goes away), e.g. to test failing closed."""
        proc = self.client.process
        if proc and proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=10)

    def start_client(self, timeout: float = 60) -> None:
        self._launch(self.client)
        self._wait_for_bootstrap(time.monotonic() + timeout)

    def log_tail(self, node_name: str, lines: int = 20) -> str:
        node = next(n for n in self.nodes if n.name == node_name)
        log = node.data_dir / "notice.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""

    # -- preparation -----------------------------------------------------------------------
    def _all_ports(self) -> list[int]:
        return [self.port_base + i for i in range(AUTHORITIES * 2 + (EXITS + MIDDLES) * 2)] + [
            self.socks_port, self.control_port]

    def _keys_dir(self) -> Path:
        return self.cache_dir / f"ports-{self.port_base}"

    def _prepare(self) -> None:
        run = Path(self.run_dir)
        if run.exists():
            shutil.rmtree(run)
        run.mkdir(parents=True)
        (run / "empty-geoip").write_text("")
        port = self.port_base
        roles = ["authority"] * AUTHORITIES + ["exit"] * EXITS + ["middle"] * MIDDLES
        counters: dict[str, int] = {}
        self.nodes = []
        for role in roles:
            index = counters[role] = counters.get(role, -1) + 1
            node = Node(name=f"{role[:4]}{index}", role=role, data_dir=run / f"{role}{index}",
                        or_port=port, dir_port=port + 1)
            port += 2
            self.nodes.append(node)
        self.nodes.append(Node(name="onion0", role="onion", data_dir=run / "onion0"))
        self.nodes.append(Node(name="client0", role="client", data_dir=run / "client0"))
        for node in self.nodes:
            node.data_dir.mkdir(mode=0o700)
            cached = self._keys_dir() / node.name
            if cached.exists():
                shutil.copytree(cached, node.data_dir, dirs_exist_ok=True)
        self._make_keys()
        self._write_torrcs()

    def _make_keys(self) -> None:
        """Authority certificates and relay identities: generated once, then cached."""
        pending = []
        for node in self.nodes:
            keys = node.data_dir / "keys"
            if node.role == "authority" and not (keys / "authority_certificate").exists():
                keys.mkdir(exist_ok=True, mode=0o700)
                pending.append(subprocess.Popen(
                    ["tor-gencert", "--create-identity-key", "-m", "24", "-a", f"127.0.0.1:{node.dir_port}",
                     "-i", str(keys / "authority_identity_key"), "-s", str(keys / "authority_signing_key"),
                     "-c", str(keys / "authority_certificate"), "--passphrase-fd", "0"],
                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=keys))
                pending[-1].stdin.write(b"\n")
                pending[-1].stdin.close()
        for proc in pending:
            if proc.wait(timeout=120) != 0:
                raise TorNetworkError(f"tor-gencert failed: {proc.stderr.read().decode(errors='replace')}")
        for node in self.nodes:
            if node.role in ("authority", "exit", "middle"):
                node.fingerprint = self._fingerprint(node)
            if node.role == "authority":
                cert = (node.data_dir / "keys" / "authority_certificate").read_text()
                node.v3ident = re.search(r"^fingerprint ([0-9A-F]{40})", cert, re.M).group(1)
        for node in self.nodes:
            if node.role in ("authority", "exit", "middle"):
                shutil.copytree(node.data_dir / "keys", self._keys_dir() / node.name / "keys", dirs_exist_ok=True)

    def _fingerprint(self, node: Node) -> str:
        torrc = node.data_dir / "torrc-fingerprint"
        torrc.write_text(f"DataDirectory {node.data_dir}\nORPort 127.0.0.1:{node.or_port}\nNickname {node.name}\n"
                         f"Address 127.0.0.1\nSocksPort 0\nAssumeReachable 1\nPublishServerDescriptor 0\n")
        out = subprocess.run(["tor", "--list-fingerprint", "--quiet", "-f", str(torrc)], capture_output=True,
                             text=True, timeout=60)
        match = re.search(rf"^{node.name} ((?:[0-9A-F]{{4}} ?){{10}})", out.stdout, re.M)
        if not match:
            raise TorNetworkError(f"cannot read fingerprint of {node.name}: {out.stderr or out.stdout}")
        return match.group(1).replace(" ", "")

    def _write_torrcs(self) -> None:
        run = Path(self.run_dir)
        geoip = run / "empty-geoip"
        dir_authorities = "".join(
            f"DirAuthority {n.name} orport={n.or_port} no-v2 v3ident={n.v3ident} 127.0.0.1:{n.dir_port} {n.fingerprint}\n"
            for n in self.nodes if n.role == "authority")
        relays = [n for n in self.nodes if n.role in ("authority", "exit", "middle")]
        bandwidth = run / "bandwidth"
        bandwidth.write_text(f"{int(time.time())}\n" + "".join(f"node_id=${n.fingerprint} bw=10000\n" for n in relays))
        for node in self.nodes:
            text = (f"DataDirectory {node.data_dir}\nNickname {node.name}\nLog notice file {node.data_dir / 'notice.log'}\n"
                    f"GeoIPFile {geoip}\nGeoIPv6File {geoip}\n" + COMMON_OPTIONS + dir_authorities)
            if node.role in ("authority", "exit", "middle"):
                text += (f"SocksPort 0\nAddress 127.0.0.1\nORPort 127.0.0.1:{node.or_port}\n"
                         f"DirPort 127.0.0.1:{node.dir_port}\n")
            if node.role == "authority":
                text += AUTHORITY_OPTIONS + f"V3BandwidthsFile {bandwidth}\n"
            elif node.role == "exit":
                text += EXIT_OPTIONS
            elif node.role == "middle":
                text += "ExitPolicy reject *:*\n"
            elif node.role == "onion":
                text += "SocksPort 0\nVanguardsLiteEnabled 0\n"
                for name, port in self.services.items():
                    hs_dir = node.data_dir / f"hs_{name}"
                    cached = self._keys_dir() / "onion" / name
                    if cached.exists():
                        shutil.copytree(cached, hs_dir, dirs_exist_ok=True)
                    hs_dir.mkdir(mode=0o700, exist_ok=True)
                    os.chmod(hs_dir, 0o700)
                    text += f"HiddenServiceDir {hs_dir}\nHiddenServicePort 80 127.0.0.1:{port}\n"
            elif node.role == "client":
                text += (f"SocksPort 127.0.0.1:{self.socks_port} IsolateSOCKSAuth ExtendedErrors\n"
                         f"ControlPort 127.0.0.1:{self.control_port}\nCookieAuthentication 1\n"
                         f"UseMicrodescriptors 0\nVanguardsLiteEnabled 0\nSocksTimeout {SOCKS_TIMEOUT}\n")
            (node.data_dir / "torrc").write_text(text)

    # -- running ---------------------------------------------------------------------------
    def _launch(self, node: Node) -> None:
        node.process = subprocess.Popen(["tor", "-f", str(node.data_dir / "torrc")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def _check_alive(self) -> None:
        for node in self.nodes:
            if node.process and node.process.poll() is not None:
                err = node.process.stderr.read().decode(errors="replace") if node.process.stderr else ""
                raise TorNetworkError(f"tor {node.name} exited: {err.strip() or self.log_tail(node.name)}")

    def _wait(self, what: str, ready, deadline: float, interval: float = 0.5) -> None:
        while time.monotonic() < deadline:
            self._check_alive()
            if ready():
                return
            time.sleep(interval)
        self.stop()
        raise TorNetworkError(f"private Tor network: timed out waiting for {what}")

    def _consensus_ready(self) -> bool:
        relays = {n.name for n in self.nodes if n.role in ("authority", "exit", "middle")}
        auth = next(n for n in self.nodes if n.role == "authority")
        try:
            url = f"http://127.0.0.1:{auth.dir_port}/tor/status-vote/current/consensus"
            text = urllib.request.urlopen(url, timeout=2).read().decode(errors="replace")
        except OSError:
            return False
        flags = dict(re.findall(r"^r (\S+) .*\n(?:[^rs].*\n)*s ([^\n]*)", text, re.M))
        return all(name in flags and {"Running", "Stable"} <= set(flags[name].split()) for name in relays)

    def _wait_for_consensus(self, deadline: float) -> None:
        self._wait("a consensus listing every relay as Running and Stable", self._consensus_ready, deadline)

    def _wait_for_onion_hostnames(self, deadline: float) -> None:
        onion = next(n for n in self.nodes if n.role == "onion")

        def ready() -> bool:
            return all((onion.data_dir / f"hs_{name}" / "hostname").exists() for name in self.services)

        self._wait("onion service hostnames", ready, deadline)
        for name in self.services:
            hs_dir = onion.data_dir / f"hs_{name}"
            self.onion_hosts[name] = (hs_dir / "hostname").read_text().strip()
            shutil.copytree(hs_dir, self._keys_dir() / "onion" / name, dirs_exist_ok=True)

    def _wait_for_bootstrap(self, deadline: float) -> None:
        log = self.client.data_dir / "notice.log"

        def ready() -> bool:
            return log.exists() and "Bootstrapped 100%" in log.read_text(errors="replace")

        self._wait("the client to bootstrap", ready, deadline)

    def wait_for_onion(self, name: str, deadline_s: float = 120) -> float:
        """Block until the onion service answers through the client; return seconds waited."""
        import requests

        started = time.monotonic()
        url = f"http://{self.onion_hosts[name]}/"
        proxies = {"http": self.socks_url, "https": self.socks_url}
        last = None
        while time.monotonic() - started < deadline_s:
            self._check_alive()
            try:
                requests.get(url, proxies=proxies, timeout=SOCKS_TIMEOUT)
                return time.monotonic() - started
            except requests.RequestException as exc:
                last = exc
                time.sleep(1)
        raise TorNetworkError(f"onion service {name} unreachable after {deadline_s:.0f} s: {last}")

