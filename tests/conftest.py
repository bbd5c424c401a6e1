from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = REPO.parent / "shared" / "data"


SCRATCH = Path(os.environ.get("TMPDIR", "/tmp")) / f"interdict-test-{os.getpid()}"
SPOOL_DIR = SCRATCH / "spool"
EVIDENCE_DIR = SCRATCH / "evidence"
# Ports for the servers a test starts, its own children included: each xdist worker a range of
# its own, below the kernel's ephemeral ports, so no two ever race for one (interdict.demo.run.free_port).
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
os.environ.setdefault("INTERDICT_FREE_PORTS", f"{20000 + 2500 * _WORKER}-{20000 + 2500 * _WORKER + 2499}")
# The audit key and head of every service a test starts (in this process or a child): never
# the developer's own (~/.config/interdict).
os.environ.setdefault("INTERDICT_API__AUDIT_KEY_FILE", str(SCRATCH / "audit" / "audit.key"))
os.environ.setdefault("INTERDICT_API__AUDIT_HEAD_FILE", str(SCRATCH / "audit" / "audit-head.json"))
# Listing images and the blocklist's flags of every crawl a test starts: never the repository's var/.
os.environ.setdefault("INTERDICT_IMAGES__DIR", str(SCRATCH / "images"))
os.environ.setdefault("INTERDICT_IMAGES__FLAGGED_FILE", str(SCRATCH / "images-flagged.jsonl"))


def scratch_of_running_test() -> Path:
    """A folder of the running test's own (crawl locks, pauses, sessions file): tests never
    share crawl state with each other or with a developer's demo."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "outside a test").rsplit(" (", 1)[0]
    return SCRATCH / "tests" / hashlib.sha256(test.encode()).hexdigest()[:16]


def own_config() -> Path:
    """An operator config file of the running test's own: its crawl state (locks, pauses,
    hand-offs) and sessions file. A test that passes a config of its own (--config or
    INTERDICT_CONFIG) sets them there."""
    own = scratch_of_running_test()
    path = own / "config.toml"
    if not path.exists():
        own.mkdir(parents=True, exist_ok=True)
        path.write_text(f'[crawl]\nstate_dir = "{own / "state"}"\nsessions_file = "{own / "sessions.toml"}"\n')
    return path


def run_cli(*args: str, input: str | None = None, timeout: float = 600, env: dict | None = None):
    """Run the real `interdict` command in a child process: spool and evidence outside the
    repository, crawl state and sessions file the running test's own (own_config)."""
    return subprocess.run([sys.executable, "-m", "interdict.cli", *args], input=input, capture_output=True,
                          text=True, timeout=timeout, cwd=REPO,
                          env={**os.environ, "INTERDICT_STORE__SPOOL_DIR": str(SPOOL_DIR),
                               "INTERDICT_EVIDENCE__DIR": str(EVIDENCE_DIR),
                               "INTERDICT_CONFIG": str(own_config()), **(env or {})})


# Which service a test needs, from the fixtures it uses: a marker to select by (-m "not tor"),
# and one xdist group per service, so that under `pytest -n 2 --dist loadgroup` (make test) the
# tests sharing a session's Tor network, Elasticsearch node or Redis server run on one worker
# and each service is started once.
SERVICES = {"tor": "tor", "elasticsearch_url": "es", "es_dir": "es", "redis_server": "redis", "browser": "browser"}


@pytest.hookimpl(tryfirst=True)  # before xdist reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        needs = [m.name for m in item.iter_markers() if m.name in SERVICES.values()]  # a module's own mark
        needs += [SERVICES[f] for f in getattr(item, "fixturenames", ()) if f in SERVICES]
        if "elasticsearch" in getattr(getattr(item, "callspec", None), "params", {}).values():
            needs.append("es")  # a store contract test asking for the node by name
        for service in dict.fromkeys(needs):
            item.add_marker(service)
        # otherwise a module stays on one worker: its module-scoped fixtures (a crawl of the
        # demo markets, a Scrapyd server) are made once
        item.add_marker(pytest.mark.xdist_group(needs[0] if needs else item.module.__name__))


@pytest.fixture(scope="session", autouse=True)
def _scratch_folders():
    """The scratch folders of the CLI runs live for one test session."""
    yield
    shutil.rmtree(SCRATCH, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    """Debian chromium driven by Playwright (the web app's tests)."""
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        pytest.fail("Debian chromium is not installed: run `make test` (it installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []  # chromium refuses root without it
        browser = playwright.chromium.launch(executable_path=chromium, args=args)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def catalog():
    from interdict.demo.catalog import Catalog

    return Catalog()


@pytest.fixture(scope="session")
def enricher():
    from enrichment.pipeline import Enricher

    return Enricher()


def demo_crawl_images(store: Path) -> Path:
    """Where the shared demo crawl keeps its listing photos (beside its store, for every worker)."""
    return store.parent / "images"


@pytest.fixture(scope="session")
def demo_crawl(tmp_path_factory, catalog) -> Path:
    """One crawl of both demo markets (epoch 0) into an embedded store, made once for the
    whole run — every xdist worker shares it (a lock in the run's common temp folder) — and
    only read by the tests that use it: compare with it, never write to it."""
    import fcntl

    from interdict.demo.run import demo_markets

    # the run's common folder: under xdist the workers' base folders' parent; without it the
    # base folder itself (its parent outlives the run: a crawl left there by an older run is stale)
    base = tmp_path_factory.getbasetemp()
    shared = (base.parent if "PYTEST_XDIST_WORKER" in os.environ else base) / "demo-crawl"
    shared.mkdir(exist_ok=True)
    store, done = shared / "store.db", shared / "done"
    with open(shared / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            with demo_markets("127.0.0.1", {"sable": 0, "vesper": 0}, catalog.seed, 0) as urls:
                proc = run_cli("crawl", "sable", "vesper", "--store", str(store),
                               *[f"--base-url={m}={u}" for m, u in urls.items()],
                               env={"INTERDICT_EVIDENCE__ENABLED": "false",
                                    "INTERDICT_IMAGES__DIR": str(demo_crawl_images(store))})
            assert proc.returncode == 0, proc.stderr[-3000:]
            done.write_text(proc.stderr)
    return store


@pytest.fixture(scope="session")
def matching_db(tmp_path_factory, enricher, catalog):
    """The demo catalog indexed as months of crawls would leave it (staggered listing
    lifetimes, vendor profiles): the index matching and watchlists are measured on."""
    from index.embedded import EmbeddedStore
    from interdict.demo.records import index_catalog

    path = tmp_path_factory.mktemp("matching") / "index.db"
    with EmbeddedStore(path) as store:
        index_catalog(store, enricher, catalog, datetime(2026, 1, 1, tzinfo=UTC))
    return path


@pytest.fixture
def matching_store(matching_db):
    from index.embedded import EmbeddedStore

    with EmbeddedStore(matching_db) as store:
        yield store


@pytest.fixture(params=["embedded", "elasticsearch"])
def each_store(request, tmp_path):
    """The embedded store, then a real Elasticsearch node: tests of the Store contract run on both."""
    if request.param == "embedded":
        from index.embedded import EmbeddedStore

        with EmbeddedStore(tmp_path / "store.db") as s:
            yield s
    else:
        s = es_store(request.getfixturevalue("elasticsearch_url"))
        try:
            yield s
        finally:
            s.es.indices.delete(index=",".join(s.es.indices.get(index=f"{s.prefix}-*")))
            s.close()


@pytest.fixture
def store(tmp_path):
    from index.embedded import EmbeddedStore

    with EmbeddedStore(tmp_path / "store.db") as s:
        yield s


def enrich_raw(enricher, **fields):
    """The enrichment of one raw record (a title and fields as a market shows them)."""
    from contracts.listings import RawListing

    return next(enricher.enrich_raw([RawListing(**fields)]))[1]


def make_listing(**overrides):
    from contracts.listings import Listing

    fields = dict(market="testmarket", url="http://127.0.0.1/l/1", listing_key="1", title="Test listing",
                  description="", price={"amount": 10, "currency": "USD"}, vendor={"name": "Vendor"},
                  crawled_at=datetime(2026, 11, 1, tzinfo=UTC))
    fields.update(overrides)
    return Listing(**fields)


class TorFixture:
    """The private Tor network with the demo markets as onion services."""

    def __init__(self, net, direct_urls: dict[str, str], workdir: Path):
        self.net, self.direct_urls, self.workdir = net, direct_urls, workdir

    def config(self, name: str, markets: dict[str, dict], **tor) -> Path:
        """An operator config file with these markets and this network's Tor ports."""
        lines = ["[tor]", f'socks_url = "{self.net.socks_url}"', f"control_port = {self.net.control_port}"]
        lines += [f"{k} = {v!r}" if not isinstance(v, str) else f'{k} = "{v}"' for k, v in tor.items()]
        for market, spec in markets.items():
            lines.append(f"[markets.{market}]")
            for key, value in spec.items():
                lines.append(f"{key} = {json.dumps(value)}")
        path = self.workdir / f"{name}.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    def onion_markets(self) -> dict[str, dict]:
        return {f"{m}_onion": {"profile": m, "transport": "tor", "concurrency": 16, "images": True,
                               "base_urls": [f"http://{self.net.onion_hosts[m]}"]} for m in ("sable", "vesper")}


@pytest.fixture(scope="session")
def tor(tmp_path_factory, catalog):
    """Started once per test session; every tor process is stopped even when tests fail."""
    import shutil

    from interdict.demo.run import demo_markets, free_port
    from interdict.tornet import TorNetwork, TorNetworkError, ports_free

    assert shutil.which("tor"), "tor is not installed: run `make test`, which installs it"
    workdir = tmp_path_factory.mktemp("tor")
    ports = {"sable": free_port(), "vesper": free_port()}
    with demo_markets("127.0.0.1", ports, catalog.seed, 0) as urls:
        base = next((b for b in range(17100, 18100, 200) if ports_free(list(range(b, b + 100)))), None)
        assert base is not None, "no free port range for the private Tor network"
        net = TorNetwork(services=ports, port_base=base, run_dir=workdir / "net")
        try:
            net.start()
            for name in ports:
                net.wait_for_onion(name)
            yield TorFixture(net, urls, workdir)
        except TorNetworkError as exc:
            pytest.fail(f"private Tor network did not come up: {exc}")
        finally:
            net.stop()


@pytest.fixture(scope="session")
def elasticsearch_url(tmp_path_factory):
    """A real Elasticsearch 8.19 node on loopback for the whole session."""
    from interdict.demo.run import free_port
    from interdict.esnode import ElasticsearchNode, ElasticsearchNodeError

    with es_workdir() as workdir:
        node = ElasticsearchNode(workdir, free_port(), free_port())
        try:
            node.start()
        except ElasticsearchNodeError as exc:
            pytest.fail(f"Elasticsearch did not start: {exc}")
        try:
            yield node.url
        finally:
            node.stop()


@pytest.fixture
def es_dir():
    with es_workdir() as path:
        yield path


@contextlib.contextmanager
def es_workdir():
    """A node's data folder outside pytest's base temp: pytest makes /tmp/pytest-of-<user>
    private again whenever another session starts on the machine, which would cut the
    node's service user off from its own data in the middle of a run."""
    path = Path(tempfile.mkdtemp(prefix="interdict-es-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def es_store(url: str, prefix: str | None = None):
    """A store on the test node, under a prefix of its own (or ``prefix``: another connection
    to the same indices)."""
    import uuid

    from config import load_config
    from index.elastic import ElasticsearchStore

    return ElasticsearchStore(load_config(env={}).elasticsearch, url=url,
                              index_prefix=prefix or f"t{uuid.uuid4().hex[:10]}")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real Redis server of the session's own (interdict.redisnode)."""
    from interdict.redisnode import RedisNode, RedisNodeError

    try:
        server = RedisNode(tmp_path_factory.mktemp("redis")).start()
    except RedisNodeError as exc:
        pytest.fail(str(exc))
    try:
        yield server
    finally:
        server.stop()
