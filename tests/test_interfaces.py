"""How the CLI and the web service are put together (issue 21): subcommands are classes found
in interdict/commands, with their options beside their handlers; API handlers get what they
need as FastAPI dependencies, never from thread-locals or the app's state; a store is checked
out for one request at a time."""

from __future__ import annotations

import ast
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
WEB = REPO / "interdict" / "web"


def test_every_subcommand_is_a_class_with_its_options_and_help():
    from interdict.cli import build_parser, commands
    from interdict.commands.base import Command

    found = commands()
    assert {"crawl", "demo", "enrich", "eval", "import", "index", "match", "parse", "search", "serve",
            "shipments", "watchlist"} <= set(found)
    parser = build_parser(found)
    for name, command in found.items():
        assert isinstance(command, Command) and type(command).run is not Command.run, name
        assert command.help, name
        with pytest.raises(SystemExit) as shown:
            parser.parse_args([name, "--help"])
        assert shown.value.code == 0, name
    # every group module holds commands; no handler lives outside interdict/commands
    modules = {p.stem for p in (REPO / "interdict" / "commands").glob("*.py")} - {"__init__", "base"}
    assert modules == {type(c).__module__.rsplit(".", 1)[1] for c in found.values()}
    stray = [p for p in (REPO / "interdict").rglob("*.py") if "def cmd_" in p.read_text(encoding="utf-8")]
    assert not stray, stray


def test_the_command_line_starts_without_loading_the_heavy_stages():
    """Command modules are all imported to build the parser: their work's imports wait in run()."""
    probe = ("import sys; from interdict.cli import build_parser; build_parser(); "
             "print(sorted(m for m in ('spacy', 'scrapy', 'twisted', 'elasticsearch', 'fastapi', 'uvicorn') "
             "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr


def _handlers(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and any(
                isinstance(d, ast.Call) and isinstance(d.func, ast.Attribute) and d.func.attr in
                ("get", "post", "put", "delete") for d in node.decorator_list):
            yield node


def test_api_handlers_take_what_they_need_as_dependencies():
    files = sorted((WEB / "api").glob("*.py")) + [WEB / "ui.py"]
    handlers = [(path.name, node) for path in files for node in _handlers(path)]
    assert len(handlers) >= 25
    for name, node in handlers:
        source = ast.unparse(node)
        assert "app.state" not in source, f"{name}:{node.name} reads the app's state: take a dependency"
        assert "Depends(" not in source, f"{name}:{node.name}: use the Annotated aliases of deps.py / auth.py"
    for path in WEB.rglob("*.py"):
        assert "threading.local" not in path.read_text(encoding="utf-8"), path


def test_a_store_serves_one_request_at_a_time_and_is_reused(tmp_path):
    from index.embedded import EmbeddedStore
    from interdict.web.deps import StorePool

    opened: list[EmbeddedStore] = []

    def open_store():
        opened.append(EmbeddedStore(tmp_path / "pool.db"))
        return opened[-1]

    pool = StorePool(open_store)
    inside, release = threading.Barrier(3), threading.Event()
    held: list[object] = []

    def request():
        with pool.checkout() as entry:
            held.append(entry.store)
            inside.wait(timeout=10)
            release.wait(timeout=10)

    threads = [threading.Thread(target=request) for _ in range(2)]
    for thread in threads:
        thread.start()
    inside.wait(timeout=10)  # both requests are in: each has a store of its own
    assert len(opened) == 2 and held[0] is not held[1]
    release.set()
    for thread in threads:
        thread.join(timeout=10)
    with pool.checkout() as entry:  # later requests reuse them, open none
        assert entry.store in opened and len(opened) == 2
        entry.store.count_listings()  # usable from a thread other than the one that opened it
    pool.close()
    for store in opened:
        with pytest.raises(Exception):
            store.count_listings()


def test_stores_opening_one_new_file_at_once_all_open(tmp_path):
    """The first requests of a service on a new store (or two crawls starting together) open
    it at the same moment: none may fail, neither on SQLite's lock around switching to WAL nor
    on writing the schema version twice. (Without the retry and OR IGNORE, about one round in
    twenty failed here.)"""
    from index.embedded import EmbeddedStore

    for round_ in range(40):
        start, opened, failed = threading.Barrier(8), [], []

        def open_it(path=tmp_path / f"new-{round_}.db"):
            start.wait(timeout=10)
            try:
                opened.append(EmbeddedStore(path))
            except Exception as exc:  # noqa: BLE001 - collected and asserted below
                failed.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not failed and len(opened) == 8, (round_, failed)
        for store in opened:
            assert store.count_listings() == 0
            store.close()
