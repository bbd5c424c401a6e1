"""Scrapyd: Interdict deployed with the documented command (deploy/scrapyd) to a real Scrapyd
server on loopback (with HTTP basic auth), crawls scheduled there by `interdict schedule` and
by Scrapyd's own API, each recorded as a crawl job in the store like a local crawl."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import EVIDENCE_DIR, REPO, SPOOL_DIR, run_cli
from index.embedded import EmbeddedStore
from interdict.demo.run import demo_markets, free_port

pytestmark = pytest.mark.e2e

USER, PASSWORD = "ops", "pa55-" + os.urandom(4).hex()


@pytest.fixture(scope="module")
def scrapyd(tmp_path_factory, catalog):
    """Sable on loopback; a Scrapyd server whose crawls read an operator config (absolute
    paths: Scrapyd runs crawls in its own folder); the config also names that server."""
    work = tmp_path_factory.mktemp("scrapyd")
    sable_port, scrapyd_port = free_port(), free_port()
    url = f"http://127.0.0.1:{scrapyd_port}/"
    config = work / "operator.toml"
    config.write_text(f'''
[store]
path = "{work / 'store.db'}"
spool_dir = "{SPOOL_DIR}"
[evidence]
dir = "{EVIDENCE_DIR}"
[crawl]
state_dir = "{work / 'state'}"
[markets.sable]
base_urls = ["http://127.0.0.1:{sable_port}"]
[scrapyd]
url = "{url}"
username = "{USER}"
password = "{PASSWORD}"
poll_interval = 0.5
[schedules.nightly]
markets = ["sable"]
cron = "0 3 * * *"
target = "scrapyd"
''')
    (work / "scrapyd.conf").write_text(f'''[scrapyd]
bind_address = 127.0.0.1
http_port = {scrapyd_port}
username = {USER}
password = {PASSWORD}
eggs_dir = {work / 'eggs'}
logs_dir = {work / 'logs'}
dbs_dir = {work / 'dbs'}
items_dir =
max_proc = 2
poll_interval = 0.5
''')
    env = {**os.environ, "INTERDICT_CONFIG": str(config)}
    server = subprocess.Popen([str(Path(sys.executable).parent / "scrapyd")], cwd=work, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(150):
            try:
                requests.get(url + "daemonstatus.json", auth=(USER, PASSWORD), timeout=2)
                break
            except requests.ConnectionError:
                if server.poll() is not None:
                    pytest.fail(f"scrapyd exited: {server.stderr.read().decode()[-1000:]}")
                time.sleep(0.2)
        with demo_markets("127.0.0.1", {"sable": sable_port, "vesper": free_port()}, catalog.seed, 0):
            yield {"url": url, "config": config, "work": work, "store": work / "store.db"}
    finally:
        server.terminate()
        server.wait(timeout=30)


def deploy(scrapyd) -> subprocess.CompletedProcess:
    """The documented command, run in a copy of deploy/scrapyd (building leaves files behind)."""
    folder = scrapyd["work"] / "deploy"
    shutil.copytree(REPO / "deploy" / "scrapyd", folder, dirs_exist_ok=True)
    return subprocess.run([str(Path(sys.executable).parent / "scrapyd-deploy")], cwd=folder, capture_output=True,
                          text=True, timeout=300,
                          env={**os.environ, "SCRAPYD_URL": scrapyd["url"], "SCRAPYD_USERNAME": USER,
                               "SCRAPYD_PASSWORD": PASSWORD})


def api(scrapyd, endpoint: str, **params) -> dict:
    return requests.get(scrapyd["url"] + endpoint, params=params, auth=(USER, PASSWORD), timeout=30).json()


@pytest.fixture(scope="module")
def deployed(scrapyd) -> subprocess.CompletedProcess:
    """Interdict deployed once for the module, whichever test asks first (tests may run in any order)."""
    return deploy(scrapyd)


def test_the_documented_command_deploys_every_spider(scrapyd, deployed):
    done = deployed
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Server response (200):" in done.stderr
    answer = json.loads(done.stdout)
    assert answer["status"] == "ok" and answer["project"] == "interdict"
    spiders = api(scrapyd, "listspiders.json", project="interdict")["spiders"]
    assert {"sable", "vesper", "generic"} <= set(spiders)


def test_a_schedule_targeting_scrapyd_runs_there_and_is_recorded(scrapyd, deployed, catalog):
    assert api(scrapyd, "listprojects.json")["projects"] == ["interdict"]
    proc = run_cli("--config", str(scrapyd["config"]), "schedule", "run", "--once", "nightly")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert PASSWORD not in proc.stderr
    job_id = proc.stderr.split("Scrapyd job ", 1)[1].split()[0]
    assert "nightly: sable: finished, 1347 pages, 1150 listings (" in proc.stderr, proc.stderr
    finished = api(scrapyd, "listjobs.json", project="interdict")["finished"]
    assert job_id in [j["id"] for j in finished]
    with EmbeddedStore(scrapyd["store"]) as store:
        job = store.jobs(market="sable")[0]
        assert store.count_listings() == len(catalog.markets["sable"].listings)
    assert (job.trigger, job.status, job.pages) == (f"schedule:nightly@scrapyd:{job_id}", "finished", 1347)
    log = (scrapyd["work"] / "logs" / "interdict" / "sable" / f"{job_id}.log").read_text()
    assert PASSWORD not in log


def test_a_crawl_scheduled_with_scrapyds_own_api_is_recorded_too(scrapyd, deployed):
    answer = requests.post(scrapyd["url"] + "schedule.json", auth=(USER, PASSWORD), timeout=30,
                           data={"project": "interdict", "spider": "sable", "market": "sable",
                                 "mode": "incremental"}).json()
    assert answer["status"] == "ok", answer
    deadline = time.monotonic() + 180
    while api(scrapyd, "status.json", job=answer["jobid"])["currstate"] != "finished":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    with EmbeddedStore(scrapyd["store"]) as store:
        job = store.jobs(market="sable")[0]
    assert (job.trigger, job.mode, job.status) == (f"scrapyd:{answer['jobid']}", "incremental", "finished")


def test_an_unreachable_scrapyd_is_one_clear_line(scrapyd, tmp_path):
    config = tmp_path / "elsewhere.toml"
    config.write_text(scrapyd["config"].read_text().replace(scrapyd["url"], f"http://127.0.0.1:{free_port()}/"))
    proc = run_cli("--config", str(config), "schedule", "run", "--once", "nightly")
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "nightly: error: Scrapyd at http://127.0.0.1:" in proc.stderr and "is unreachable" in proc.stderr
    config.write_text(scrapyd["config"].read_text().replace(PASSWORD, "wrong"))
    proc = run_cli("--config", str(config), "schedule", "run", "--once", "nightly")
    assert proc.returncode == 1 and "refused the credentials" in proc.stderr and "wrong" not in proc.stderr
