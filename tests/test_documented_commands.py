"""Every command the README and docs/ print runs as printed (issue 18, item 14): each line of
their ```sh blocks, in order, under `bash -o pipefail`, in a scratch folder beside the
repository's .venv and docs/, against the demo markets. Placeholders are filled from what
earlier commands made (DOC_ID: a listing of the index; CURSOR: the first watchlist export's;
TRACKER_ID: the first tracker made;
$ANALYST_KEY, $ADMIN_KEY and $RISK_ENGINE_KEY: keys made for the run) and the documented ports are moved to
free ones. Long-running commands (`serve`, `demo --serve-only`, `schedule run`) are started,
checked to answer, then stopped with SIGTERM, which must end them and what they started.
A command documented to fail is checked for its one-line error; every other one must exit 0
and say something. `make demo`/`make test` are CI itself; commands for other hosts are named
with the test that runs them."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from conftest import REPO, SHARED_DATA
from interdict.demo.run import free_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1800)]

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
NOT_HERE = {  # command (start of it) -> why it is not run here, and which test runs it
    "make demo": "CI runs it (.ci/run)", "make test": "CI runs it (.ci/run)",
    ".venv/bin/interdict demo --tor": "tests/test_tor.py::test_demo_command_over_tor",
    # on the Scrapyd host: the tests run a real Scrapyd with this project installed beside it
    "pip install '/path/to/interdict[scrapyd]'": "tests/test_scrapyd_e2e.py (its Scrapyd shares this .venv)",
    "INTERDICT_CONFIG=/etc/interdict/operator.toml scrapyd": "tests/test_scrapyd_e2e.py (the scrapyd fixture)",
    "cd deploy/scrapyd && SCRAPYD_URL=": "tests/test_scrapyd_e2e.py::test_the_documented_command_deploys_every_spider",
    "curl -u ops:... http://HOST:6800/schedule.json":
        "tests/test_scrapyd_e2e.py::test_a_crawl_scheduled_with_scrapyds_own_api_is_recorded_too",
    # writes into tests/fixtures (not in the scratch folder): run on a copy of the cases
    ".venv/bin/python tests/page_fixtures.py":
        "tests/test_page_fixtures.py::test_the_documented_command_writes_the_committed_expectations",
    # two minutes of import: run once, beside the checks of its figures, in parallel with this test
    ".venv/bin/interdict eval matching --data ../shared/data":
        "tests/test_matching.py::test_eval_matching_on_the_real_datasets",
}
LONG_RUNNING = {".venv/bin/interdict demo --serve-only", ".venv/bin/interdict serve", ".venv/bin/interdict schedule run"}
FAILS = {".venv/bin/interdict crawl sable --join": "crawl.frontier"}  # without a Redis frontier configured


@dataclass
class Documented:
    where: str
    block: int
    command: str


def documented() -> list[Documented]:
    found = []
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for block, match in enumerate(re.finditer(r"^```sh\n(.*?)^```", text, re.S | re.M)):
            line = text[: match.start()].count("\n") + 2
            pending = ""
            for offset, raw in enumerate(match.group(1).splitlines()):
                pending += raw.rstrip("\\") + " " if raw.endswith("\\") else raw
                if raw.endswith("\\") or not pending.strip():
                    continue
                found.append(Documented(f"{path.name}:{line + offset}", hash((path, block)), pending.strip()))
                pending = ""
    return found


def _kind(command: str) -> str:
    if any(command.startswith(p) for p in NOT_HERE):
        return "elsewhere"
    if any(re.match(re.escape(p) + r"(\s|$)(?!--once)", command) for p in LONG_RUNNING):
        return "long"
    return "fails" if command.split("#")[0].strip() in FAILS else "runs"


def test_commands_run_elsewhere_name_a_test_that_exists():
    for reason in NOT_HERE.values():
        if reason.startswith("tests/"):
            file, _, name = reason.split(" ")[0].partition("::")
            assert (REPO / file).exists() and (not name or f"def {name}(" in (REPO / file).read_text()), reason


class Run:
    """The scratch folder, its config, the ports, and what runs in the background."""

    def __init__(self, tmp: Path):
        self.work = tmp / "work"
        self.work.mkdir()
        for name in (".venv", "docs", "deploy", "bench"):
            (self.work / name).symlink_to(REPO / name)
        if SHARED_DATA.exists():
            (tmp / "shared").symlink_to(SHARED_DATA.parent)
        self.ports = {"8701": str(free_port()), "8702": str(free_port()), "8760": str(free_port())}
        self.config = tmp / "operator.toml"
        self.config.write_text("\n".join([
            "[crawl]", f'state_dir = "{self.work / "var" / "state"}"', f'sessions_file = "{tmp / "sessions.toml"}"',
            "[api]", f"port = {self.ports['8760']}",
            f'audit_key_file = "{tmp / "anchor" / "audit.key"}"', f'audit_head_file = "{tmp / "anchor" / "head.json"}"',
            "[markets.sable]", f'base_urls = ["http://127.0.0.1:{self.ports["8701"]}"]',
            "[markets.vesper]", f'base_urls = ["http://127.0.0.1:{self.ports["8702"]}"]',
            # the documented schedule (docs/operations.md), far from now: `schedule run` only waits
            "[schedules.nightly]", 'markets = ["sable", "vesper"]', 'cron = "0 3 1 1 *"', 'mode = "full"']) + "\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("INTERDICT_")}
        self.env.update(INTERDICT_CONFIG=str(self.config))
        self.values: dict[str, str] = {}
        self.background: list[tuple[str, subprocess.Popen, bool]] = []

    def fill(self, command: str) -> str:
        for port, free in self.ports.items():
            command = command.replace(f"127.0.0.1:{port}", f"127.0.0.1:{free}").replace(f"--port {port}",
                                                                                        f"--port {free}")
        for name, value in self.values.items():
            command = re.sub(rf"\b{name}\b", value, command)
        return command

    def shell(self, command: str, timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=self.work, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def start(self, command: str, keep: bool) -> subprocess.Popen:
        proc = subprocess.Popen(["bash", "-c", f"exec {command}"], cwd=self.work, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        self.background.append((command, proc, keep))
        return proc

    def stop(self, everything: bool = False) -> list[str]:
        """SIGTERM each background command (of this block, or all); what did not end cleanly."""
        problems, still = [], []
        for command, proc, keep in self.background:
            if keep and not everything:
                still.append((command, proc, keep))
                continue
            children = _children(proc.pid)
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                problems.append(f"{command}: still running 30 s after SIGTERM")
                continue
            if code not in (0, -signal.SIGTERM):
                problems.append(f"{command}: exit {code} after SIGTERM")
            time.sleep(0.5)
            left = [pid for pid in children if Path(f"/proc/{pid}").exists()
                    and "zombie" not in Path(f"/proc/{pid}/status").read_text().lower()]
            if left:
                problems.append(f"{command}: left {left} running after SIGTERM")
                for pid in left:
                    os.kill(pid, signal.SIGKILL)
        self.background = still
        return problems


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        children = (task / "children").read_text().split()
        found += [int(c) for c in children]
    return found + [g for c in found for g in _children(c)] if found else []


def _answers(url: str, seconds: float = 60, headers: dict | None = None) -> int:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            return httpx.get(url, timeout=5, headers=headers).status_code
        except httpx.TransportError:
            time.sleep(0.3)
    return 0


def _check_long_running(run: Run, command: str, proc: subprocess.Popen) -> str | None:
    """None when the started command answers as it should."""
    if "--serve-only" in command:
        ok = _answers(f"http://127.0.0.1:{run.ports['8701']}/") == 200 and \
            _answers(f"http://127.0.0.1:{run.ports['8702']}/") == 200
        return None if ok else "the demo markets do not answer"
    if " serve" in command:
        port = re.search(r"--port (\d+)", command)
        base = f"http://127.0.0.1:{port.group(1) if port else run.ports['8760']}"
        if _answers(f"{base}/health") != 200:
            return "the API does not answer /health"
        asked = _answers(f"{base}/api/search?q=cocaine", headers={"Authorization": f"Bearer {run.env['ANALYST_KEY']}"})
        return None if asked == 200 else f"/api/search with a key answered {asked}"
    deadline = time.monotonic() + 60
    line = ""
    while time.monotonic() < deadline and proc.poll() is None and "next run" not in line:
        line = proc.stdout.readline()
    return None if "schedule nightly: next run" in line else f"schedule run said {line!r} (exit {proc.poll()})"


def _prepare(run: Run, command: str) -> None:
    """What a command needs that an earlier documented command would have left, when it did not."""
    if "page.html" in command and "> page.html" not in command and not (run.work / "page.html").exists():
        made = run.shell(run.fill(".venv/bin/interdict evidence show DOC_ID > page.html"))
        assert made.returncode == 0, made.stderr
    if "handoff resolve vesper" in command:
        from crawlers.handoff import MarketStates

        MarketStates(run.work / "var" / "state").pause("vesper", "ddos_queue", "http://127.0.0.1/queue",
                                                        "a DDoS queue page")
    if "127.0.0.1:8760" in command.split("#")[0] and not any(" serve" in c for c, _, _ in run.background):
        proc = run.start(".venv/bin/interdict serve", keep=False)
        assert _check_long_running(run, ".venv/bin/interdict serve", proc) is None


def _learn(run: Run) -> None:
    """Placeholders from what the index and the exports hold now."""
    if "DOC_ID" not in run.values:
        hit = run.shell(".venv/bin/interdict search cocaine --filter market=sable --json --limit 1")
        if hit.returncode == 0 and hit.stdout.strip():
            run.values["DOC_ID"] = json.loads(hit.stdout.splitlines()[0])["id"]
    if "TRACKER_ID" not in run.values:
        made = run.shell(".venv/bin/interdict trackers list --json")
        if made.returncode == 0 and made.stdout.strip():
            run.values["TRACKER_ID"] = json.loads(made.stdout.splitlines()[0])["id"]
    feed = run.work / "feed.json"
    if "CURSOR" not in run.values and feed.exists():
        exported = json.loads(feed.read_text())
        if isinstance(exported, dict) and "cursor" in exported:
            run.values["CURSOR"] = exported["cursor"]


def _said(run: Run, command: str, done: subprocess.CompletedProcess) -> bool:
    """Output on stdout or stderr, or in the file the command writes (> FILE, --out FILE)."""
    if (done.stdout + done.stderr).strip():
        return True
    target = re.search(r"(?:>|--out)\s+(\S+)", command)
    return bool(target) and (run.work / target.group(1)).exists() and (run.work / target.group(1)).stat().st_size > 0


def test_every_documented_command_runs_as_printed(tmp_path):
    run = Run(tmp_path)
    for role, variable in (("analyst", "ANALYST_KEY"), ("admin", "ADMIN_KEY"), ("risk-engine", "RISK_ENGINE_KEY")):
        made = run.shell(f".venv/bin/interdict keys create 'documented commands' --role {role}")
        run.env[variable] = made.stdout.strip()
    problems, ran = [], 0
    commands = documented()
    assert len(commands) > 40
    try:
        block = None
        for doc in commands:
            if doc.block != block:
                problems += run.stop()
                block = doc.block
            kind = _kind(doc.command)
            needs_data = "../shared/data" in doc.command
            if kind == "elsewhere" or (needs_data and not SHARED_DATA.exists()):
                continue
            _learn(run)
            _prepare(run, doc.command)
            command = run.fill(doc.command)
            ran += 1
            if kind == "long":
                proc = run.start(command.split("  #")[0].strip(), keep="--serve-only" in command)
                trouble = _check_long_running(run, command, proc)
                if trouble is None and proc.poll() is not None:  # another process answered in its place
                    trouble = f"exited at once with {proc.returncode}"
                if trouble:
                    problems.append(f"{doc.where}: {doc.command}: {trouble}")
                continue
            done = run.shell(command)
            if kind == "fails":
                expected = FAILS[doc.command.split("#")[0].strip()]
                lines = done.stderr.strip().splitlines()
                if done.returncode == 0 or len(lines) != 1 or expected not in lines[0]:
                    problems.append(f"{doc.where}: {doc.command}: expected one line naming {expected!r}, got exit "
                                    f"{done.returncode}: {done.stderr[-500:]}")
            elif done.returncode != 0 or not _said(run, command, done):
                problems.append(f"{doc.where}: {doc.command}: exit {done.returncode}, said "
                                f"{(done.stdout + done.stderr)[-800:]!r}")
    finally:
        problems += run.stop(everything=True)
    assert not problems, "\n".join(problems)
    assert ran > 35
    # the demo markets are gone with their SIGTERM: nothing listens on their ports any more
    for port in (run.ports["8701"], run.ports["8702"]):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", int(port))) != 0, f"something still listens on {port}"


def test_smaller_promises_of_the_cli(tmp_path):
    metrics = subprocess.run([sys.executable, "-m", "interdict.cli", "metrics", "--help"], capture_output=True,
                             text=True, cwd=REPO)
    listed = subprocess.run([sys.executable, "-m", "interdict.cli", "--help"], capture_output=True, text=True, cwd=REPO)
    said = " ".join((listed.stdout + metrics.stdout).split())  # argparse wraps help text
    assert "GET /api/metrics" in said and "GET /metrics" not in said
