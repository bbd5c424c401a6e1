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
