"""Dependencies point one way: enrichment and index never reach up into crawlers or the
composition root; nothing below interdict/ knows the CLI."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FORBIDDEN = {
    "contracts": {"crawlers", "enrichment", "index", "matching", "interdict", "config"},
    "enrichment": {"crawlers", "index", "matching", "interdict"},
    "index": {"crawlers", "enrichment", "matching", "interdict"},
    "config": {"crawlers", "enrichment", "index", "matching", "interdict"},
    "crawlers": {"matching", "interdict"},
    "matching": {"crawlers", "interdict"},
}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_upward_imports(package):
    files = sorted((REPO / package).rglob("*.py"))
    assert files
    for path in files:
        bad = imported_packages(path) & FORBIDDEN[package]
        assert not bad, f"{path.relative_to(REPO)} imports {sorted(bad)}"


def imports_from(path: Path, package: str) -> list[tuple[str, str]]:
    """(module, name) of every ``from <package>... import name`` and ``import <package>...`` in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0 and node.module.split(".")[0] == package:
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names if alias.name.split(".")[0] == package]
    return found


def test_crawlers_use_the_index_package_and_none_of_its_modules():
    for path in sorted((REPO / "crawlers").rglob("*.py")):
        inside = [module for module, _ in imports_from(path, "index") if module != "index"]
        assert not inside, f"{path.relative_to(REPO)} imports index internals {inside}: export what it needs from index/__init__.py"


def test_matching_asks_the_store_only_for_the_interface_it_needs():
    """The matcher depends on MatchIndex, the watchlist and generator on ListingStore: never on
    the whole Store, so a third backend (or a test double of one interface) serves them."""
    for path in sorted((REPO / "matching").rglob("*.py")):
        whole = [(module, name) for module, name in imports_from(path, "index") if name in ("Store", "open_store")]
        assert not whole, f"{path.relative_to(REPO)} imports {whole}"


def test_every_backend_implements_every_store_interface():
    from index import CrawlLedger, ListingStore, MatchIndex
    from index.elastic import ElasticsearchStore
    from index.embedded import EmbeddedStore

    for backend in (EmbeddedStore, ElasticsearchStore):
        assert not backend.__abstractmethods__, f"{backend.__name__} leaves {sorted(backend.__abstractmethods__)} out"
        assert all(issubclass(backend, interface) for interface in (ListingStore, MatchIndex, CrawlLedger))
