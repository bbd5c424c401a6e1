"""The evaluation harness: dataset readers on format fixtures, scoring, the CLI, real data.

The format fixtures (tests/fixtures/datasets) are tiny synthetic files in the shared
datasets' formats; the real datasets live outside the repository and the last test skips
when they are absent.
"""

import json
from pathlib import Path

import pytest

from conftest import SHARED_DATA as SHARED, run_cli
from enrichment.evaluation.datasets import (
    dream_sellers, gold_category, load_cases, split_from_to, strict_places,
)
from enrichment.evaluation.run import Score, category_matches, evaluate

FIXTURES = Path(__file__).parent / "fixtures" / "datasets"


def test_readers_handle_the_formats_mess():
    cases = list(load_cases(FIXTURES))
    agora = [c for c in cases if c.dataset == "agora"]
    assert [c.record.title for c in agora].count("10g Amnesia Haze") == 1  # recurring listing read once
    haze = agora[0]
    assert (haze.category, haze.ships_from, haze.ships_to) == ("drugs.cannabis.herb", ["NL"], ["WORLDWIDE"])
    coke = [c for c in agora if c.vendor == "snowman"][0]
    assert (coke.ships_from, coke.ships_to) == (["DE"], ["EU"])  # "From: Germany To: EU" in one cell
    guide = [c for c in agora if c.vendor == "bookworm"][0]
    assert guide.category == "digital.guides" and guide.ships_from is None  # "Torland" has no gold
    assert [c for c in agora if c.vendor == "ghost"][0].category is None  # Electronics: outside the taxonomy
    assert [c for c in agora if c.vendor == "pillman"][0].ships_to is None  # an exception is not a plain list

    pages = [c for c in cases if c.dataset == "agora-vendor-pages"][0]
    assert pages.record.description.endswith("USA only")  # the scrape's "..." is not text
    torrez = [c for c in cases if c.dataset == "torrez"]
    assert torrez[0].price == (2385.41, "USD") and torrez[1].ships_to == ["GB", "IE"]
    alphabay = [c for c in cases if c.dataset == "alphabay"]
    assert alphabay[0].record.title == "Colombian Cocaine 1g \u2013 90% pure"  # Mac Roman decoded
    assert alphabay[0].vendor_gold == "snow-white." and alphabay[0].price == (90.0, "USD")
    assert alphabay[1].price is None  # "null" purchase price
    assert alphabay[0].record.date.isoformat().startswith("2017-04-20")  # from the file name
    assert {c.split for c in cases} <= {"dev", "held-out"}


def test_mysql_dump_reader():
    sellers = list(dream_sellers(FIXTURES))
    assert [s["seller_name"] for s in sellers] == ["first", "second"]
    assert sellers[0]["description"] == 'We ship from Germany.\nIt\'s "good"'
    assert sellers[0]["pgp"].startswith("-----BEGIN PGP") and sellers[1]["member_since"] is None
    assert sellers[1]["description"] == "Line, with (parens)"


def test_gold_helpers():
    assert strict_places(" United Kingdom, Ireland ") == ["GB", "IE"]
    assert strict_places("Worldwide except Australia") is None
    assert strict_places("NA") is None and strict_places("") is None
    assert split_from_to("From: USA To: Worldwide", "NA") == ("USA", "Worldwide")
    assert gold_category("torrez", ["Drugs and Chemicals", "Cannabis & Hash", "Vaping"]) == (True, "drugs.cannabis.vapes")
    assert gold_category("agora", ["Drugs", "Cannabis", "NA"]) == (True, "drugs.cannabis")
    assert gold_category("agora", ["Jewelry", "NA", "NA"]) == (True, None)
    assert gold_category("agora", ["Unheard of"]) == (False, None)


def test_scores():
    score = Score()
    score.add({"GB"}, {"GB", "IE"})
    score.add({"US"}, {"CA"})
    assert (score.tp, score.fp, score.fn) == (1, 1, 2)
    assert score.precision == 0.5 and score.recall == pytest.approx(1 / 3)
    category = Score()
    category.add({"drugs.cannabis.herb"}, {"drugs.cannabis"}, category_matches)  # finer than gold: right
    category.add({"drugs.cannabis"}, {"drugs.cannabis.herb"}, category_matches)  # coarser: wrong
    category.add(set(), {"drugs"}, category_matches)  # no answer: a miss, not a false positive
    assert (category.tp, category.fp, category.fn) == (1, 1, 2)


def test_evaluate_on_the_fixtures(enricher):
    report = evaluate(FIXTURES, enricher)
    assert report.listings == len(list(load_cases(FIXTURES))) + 1  # and the one seller profile with a key
    assert [r["recall"] for r in report.rows() if r["field"] == "pgp.cell"] == [1.0]
    assert {r["field"] for r in report.rows()} >= {"category", "ships_from.cell", "ships_to.text", "price.cell"}
    vendor = [r for r in report.rows() if r["field"] == "vendor.cell"]
    assert sum(r["cases"] for r in vendor) == 2 and all(r["precision"] == 1.0 for r in vendor)


def test_eval_command(tmp_path):
    out = tmp_path / "scores.json"
    result = run_cli("eval", "enrichment", "--data", str(FIXTURES), "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "category" in result.stdout and "listings enriched" in result.stdout
    assert json.loads(out.read_text())["rows"]
    missing = run_cli("eval", "enrichment", "--data", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no datasets at" in missing.stderr


@pytest.mark.skipif(not (SHARED / "torrez-2021").is_dir(), reason="the shared datasets are not on this machine")
def test_quality_floor_on_real_data(enricher):
    """A regression guard on a sample of the real data (full numbers: docs/enrichment.md)."""
    report = evaluate(SHARED, enricher, limit=1500)
    scores = {(r["dataset"], r["field"], r["split"]): r for r in report.rows()}
    for dataset in ("agora", "torrez", "alphabay"):
        assert scores[(dataset, "category", "dev")]["f1"] > 0.65, scores[(dataset, "category", "dev")]
    assert scores[("torrez", "ships_from.cell", "dev")]["f1"] > 0.95
    assert scores[("alphabay", "vendor.cell", "dev")]["f1"] > 0.95
