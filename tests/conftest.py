from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SHARED_DATA = REPO.parent / "shared" / "data"


def run_cli(*args: str, input: str | None = None, timeout: float = 600, env: dict | None = None):
    """Run the real `interdict` command in a child process."""
    return subprocess.run([sys.executable, "-m", "interdict.cli", *args], input=input, capture_output=True,
                          text=True, timeout=timeout, cwd=REPO, env={**os.environ, **(env or {})})


@pytest.fixture(scope="session")
def catalog():
    from interdict.demo.catalog import Catalog

    return Catalog()


@pytest.fixture(scope="session")
def enricher():
    from enrichment.pipeline import Enricher

    return Enricher()


@pytest.fixture
def store(tmp_path):
    from index.embedded import EmbeddedStore

    with EmbeddedStore(tmp_path / "store.db") as s:
        yield s


def make_listing(**overrides):
    from enrichment.contracts import Listing

    fields = dict(market="testmarket", url="http://127.0.0.1/l/1", listing_key="1", title="Test listing",
                  description="", price={"amount": 10, "currency": "USD"}, vendor={"name": "Vendor"},
                  crawled_at=datetime(2026, 11, 1, tzinfo=UTC))
    fields.update(overrides)
    return Listing(**fields)
