"""Fixtures of the store contract suites: each test runs on the embedded store and on a real
Elasticsearch node (``each_store``, tests/conftest.py), the same file for every backend. One
suite per interface of index/store.py: ListingStore, MatchIndex, CrawlLedger."""

import pytest

from conftest import make_listing
from store_contract.corpus import CORPUS, T0


@pytest.fixture
def store(each_store):
    return each_store


@pytest.fixture
def enrich(enricher):
    def run(*listings):
        return list(enricher.enrich_listings(listings))
    return run


@pytest.fixture
def loaded(store, enrich):
    report = store.upsert_listings(enrich(*[make_listing(crawled_at=T0, **fields) for fields in CORPUS]))
    assert (report.new, report.updated, report.unchanged) == (5, 0, 0)
    return store
