"""The evaluation harness: dataset readers on format fixtures, scoring, the CLI, real data.

The format fixtures are tiny made-up files written here, in the shared datasets' formats and
mess (Agora's split "From: X To: Y" cells, AlphaBay's Mac Roman with CR line ends, a MySQL
dump with escapes). The real datasets are read from ../shared/data only, never copied into
the repository; the last test skips when they are absent.
"""

import csv
import io
import json
from pathlib import Path

import pytest

from conftest import SHARED_DATA as SHARED, run_cli
from enrichment.evaluation.datasets import (
    dream_sellers, gold_category, load_cases, split_from_to, strict_places,
)
from enrichment.evaluation.run import Score, category_matches, evaluate

PGP = Path(__file__).parent / "fixtures" / "pgp"


def write_format_fixtures(root: Path) -> Path:
    agora = [["list", "date", "vendor", "product", "price", "cat", "subcat", "subsubcat", "feedback", "from", "to"],
             ["a1.html", "2014-01-01", "greenleaf", "10g Amnesia Haze", "0.05", "Drugs", "Cannabis", "Weed",
              "\n    Feedbacks:\n", "\n       Netherlands\n    \n    ", "Worldwide"],
             ["a2.html", "2014-01-01", "greenleaf", "10g Amnesia Haze", "0.05", "Drugs", "Cannabis", "Weed", "",
              "Netherlands", "Worldwide"],
             ["a3.html", "2014-01-01", "snowman", "1g Peruvian cocaine", "0.12", "Drugs", "Stimulants", "Cocaine", "",
              "From: Germany To: EU", "NA"],
             ["a4.html", "2014-01-01", "bookworm", "Carding guide 2014", "0.01", "Information", "Guides", "NA", "",
              "Torland", "NA"],
             ["a5.html", "2014-01-01", "pillman", "Mystery item", "0.3", "Drugs", "Benzos", "NA", "", "USA",
              "Worldwide except Australia"],
             ["a6.html", "2014-01-01", "ghost", "Lamp", "0.3", "Electronics", "NA", "NA", "", "Hong\nKong", "NA"]]
    write_csv(root / "agora-2014" / "products-2014-01-01.csv", agora, quoting=csv.QUOTE_NONNUMERIC)
    write_csv(root / "agora-2014" / "vendorall_0114.csv", [
        ["date", "vendor", "product", "description", "price", "from", "to"],
        ["2014-01-01", "pillman", "Xanax 2mg x 10", "Xanax 2mg bars, shipped from Canada to USA only ...", "0.02",
         "Canada", "USA"]], quoting=csv.QUOTE_ALL)
    write_csv(root / "torrez-2021" / "Product_dataset_new.csv", [
        ["", "vendor", "category_level_1", "category_level_2", "category_level_3", "highest_category", "product",
         "price in $", "shipping_from", "shipping_to", "url"],
        ["0", "PostNL", "Drugs and Chemicals", "Psychedelics", "LSD", "LSD", "10 x 200ug LSD tabs EU-WW", "2,385.41",
         "Netherlands", "Worldwide", "http://x.onion/items/1"],
        ["1", "ukbuds", "Drugs and Chemicals", "Cannabis & Hash", "Buds & Flowers", "Buds & Flowers",
         "3.5g White Runtz", "35.80", "United Kingdom", "United Kingdom, Ireland", "http://x.onion/items/2"]])
    header = ["category_link", "subcategory_link", "listing_title", "listing_price", "listing_vendor", "listing_item",
              "listing_link", "subcategory_id", "subcategory2_id", "detail_name", "detail_qty_sold", "detail_price",
              "pagination_link", "category_id"]
    rows = [header,
            ["Drugs & Chemicals", "Stimulants", "Colombian Cocaine 1g \u2013 90% pure",
             "Buy price\nUSD 90.00\n\n(0.0600 BTC)", "snow-white.", "Views: 1", "x", "Stimulants", "Cocaine", "x",
             "Sold by snow-white. -\n3 sold since Apr 1, 2017\u00e5\u00caVendor Level 1", "Purchase price: USD 90.00",
             "1", "Drugs & Chemicals"],
            ["Drugs & Chemicals", "Stimulants", "Mystery", "Buy price\nUSD 10.00\n\n(0.0080 BTC)", "Dr Who",
             "Views: 1", "x", "Stimulants", "Other", "x", "Sold by Dr Who -\n0 sold", "null", "1", "Drugs & Chemicals"]]
    buffer = io.StringIO(newline="")
    csv.writer(buffer, lineterminator="\r", quoting=csv.QUOTE_ALL).writerows(rows)
    alphabay = root / "alphabay-2017" / "D&C - stims - cocaine - 20170420.csv"
    alphabay.parent.mkdir(parents=True)
    alphabay.write_bytes(buffer.getvalue().encode("mac_roman"))
    key = (PGP / "ed.asc").read_text().strip().replace("\n", "\\n")
    dump = root / "dream-2016-sellers" / "DreamMarket2016_seller.sql"
    dump.parent.mkdir(parents=True)
    dump.write_text("-- MySQL dump\nCREATE TABLE `dnm_dream` (`seqNo` int(11));\nINSERT INTO `dnm_dream` VALUES "
                    f"(1,'first','01/01/2016','-','-','{key}','-','We ship from Germany.\\nIt\\'s \\\"good\\\"',"
                    "'4.9','-','Dream'),(2,'second',NULL,'-','-','-','-','Line, with (parens)','-','-','Dream');\n")
    return root


def write_csv(path: Path, rows: list[list[str]], **options) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        csv.writer(fh, **options).writerows(rows)


@pytest.fixture(scope="module")
def fixtures(tmp_path_factory) -> Path:
    return write_format_fixtures(tmp_path_factory.mktemp("datasets"))


def test_readers_handle_the_formats_mess(fixtures):
    cases = list(load_cases(fixtures))
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


def test_mysql_dump_reader(fixtures):
    sellers = list(dream_sellers(fixtures))
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


def test_evaluate_on_the_fixtures(enricher, fixtures):
    report = evaluate(fixtures, enricher)
    assert report.listings == len(list(load_cases(fixtures))) + 1  # and the one seller profile with a key
    assert [r["recall"] for r in report.rows() if r["field"] == "pgp.cell"] == [1.0]
    assert {r["field"] for r in report.rows()} >= {"category", "ships_from.cell", "ships_to.text", "price.cell"}
    vendor = [r for r in report.rows() if r["field"] == "vendor.cell"]
    assert sum(r["cases"] for r in vendor) == 2 and all(r["precision"] == 1.0 for r in vendor)


def test_eval_command(tmp_path, fixtures):
    out = tmp_path / "scores.json"
    result = run_cli("eval", "enrichment", "--data", str(fixtures), "--json", str(out))
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
