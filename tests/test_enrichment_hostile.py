"""Hostile input: the enrichment stage never crashes and every listing takes bounded time.

Each case would be quadratic or worse with a careless pattern (a lazy ``.*?`` from every
PGP header, nested quantifiers on "a.a.a.a@", a number regex on "1,1,1,..."); the timeout
catches a regression as a failure instead of a hung CI job. Times are not asserted here:
throughput belongs to bench/enrichment_throughput.py.
"""

import os
import random

import pytest

from contracts.listings import RawListing

CASES = {
    "empty description": "",
    "only punctuation": "!!! ??? ... --- *** ///",
    "a 1 MB description": "Premium cocaine, 90% pure, ships from NL. " * 25_000,
    "binary junk": os.urandom(300_000).decode("latin-1"),
    "mixed scripts and lone surrogates": "".join(chr(random.Random(7).randrange(0x20, 0x2FFFF)) for _ in range(50_000)),
    "at-signs": "a@" * 100_000,
    "dotted local parts": "a." * 100_000 + "@",
    "number separators": "1," * 100_000,
    "plus signs": "+1 " * 60_000,
    "unterminated PGP headers": "-----BEGIN PGP PUBLIC KEY BLOCK-----\n" * 10_000,
    "one endless token": "1" + "a" * 500_000,
    "repeated cues": "ships from " * 30_000,
    "repeated quantities": "5x 80mg " * 30_000,
}


@pytest.fixture(scope="module")
def small_limit_enricher():
    from enrichment.pipeline import Enricher

    return Enricher(max_field_chars=200_000)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("name", list(CASES))
def test_hostile_description(small_limit_enricher, name):
    text = CASES[name]
    record, enrichment = next(small_limit_enricher.enrich_raw([RawListing(title="Listing", description=text)]))
    assert enrichment.truncated == (["description"] if len(record.description) > 200_000 else [])
    for entity in enrichment.entities:
        assert 0 <= entity.start <= entity.end
        if entity.field == "description":
            assert record.description[entity.start:entity.end] == entity.text
    enrichment.model_dump_json()  # serialisable, whatever came in


@pytest.mark.timeout(60)
def test_hostile_title_and_cells(small_limit_enricher):
    record = RawListing(title="\x00\x1b[31m" + "🙂" * 1000, vendor="\x00" * 10, price="$" * 10_000,
                        ships_from="From: " * 5000, ships_to=["except " * 5000, ""], category="/" * 10_000)
    _, enrichment = next(small_limit_enricher.enrich_raw([record]))
    assert "\x1b" not in record.title and enrichment.prices == [] and enrichment.ships_from == []


def test_a_long_description_keeps_what_its_start_says(small_limit_enricher):
    text = "Premium cocaine, 90% pure, ships from NL. " * 25_000  # ~1 MB
    _, enrichment = next(small_limit_enricher.enrich_raw([RawListing(title="Coke", description=text)]))
    assert enrichment.truncated == ["description"]
    assert enrichment.category == "drugs.stimulants" and enrichment.purity == 90.0
