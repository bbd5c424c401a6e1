"""The `interdict` command as a user runs it: JSON Lines in and out, one-line errors."""

import json
from pathlib import Path

import pytest

from conftest import make_listing, run_cli

HTML = Path(__file__).parent / "fixtures" / "html"


def assert_clean_error(proc, *fragments):
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize("command", ["", "demo", "crawl", "parse", "enrich", "index", "search"])
def test_help(command):
    proc = run_cli(*([command] if command else []), "--help")
    assert proc.returncode == 0 and "usage: interdict" in proc.stdout


@pytest.mark.parametrize("args, fragments", [
    (["crawl", "nosuchmarket", "--store", "{tmp}/s.db"], ["unknown market 'nosuchmarket'", "sable"]),
    (["search", "x", "--filter", "colour=red", "--store", "{tmp}/s.db"], ["unknown filter field 'colour'"]),
    (["search", "x", "--filter", "vendor", "--store", "{tmp}/s.db"], ["expected FIELD=VALUE"]),
    (["search", "x", "--since", "yesterday", "--store", "{tmp}/s.db"], ["not an ISO date"]),
    (["index", "{tmp}/missing.jsonl", "--store", "{tmp}/s.db"], ["cannot read", "missing.jsonl"]),
    (["search", "x", "--store", "/proc/forbidden/s.db"], ["cannot open embedded store"]),
    (["crawl", "sable", "vesper", "--base-url", "http://127.0.0.1:1", "--store", "{tmp}/s.db"], ["MARKET=URL"]),
    (["search", "--limit", "abc"], ["invalid int value", "interdict search --help"]),
    (["frob"], ["invalid choice: 'frob'"]),
])
def test_user_mistakes_give_one_clear_line(tmp_path, args, fragments):
    proc = run_cli(*[a.replace("{tmp}", str(tmp_path)) for a in args])
    assert_clean_error(proc, *fragments)


def test_unreachable_market_fails_clearly(tmp_path):
    from interdict.demo.run import free_port

    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    proc = run_cli("crawl", "sable", "--base-url", url, "--store", str(tmp_path / "s.db"))
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert "sable: dropped connection_refused 1" in proc.stderr
    assert proc.stderr.rstrip().endswith("interdict: error: no page could be fetched from sable")


def test_bad_config_is_reported_at_start(tmp_path):
    proc = run_cli("search", "x", "--store", str(tmp_path / "s.db"), env={"INTERDICT_CRAWL__BATCH_SIZE": "-1"})
    assert_clean_error(proc, "invalid configuration", "crawl.batch_size")


def test_parse_enrich_index_search_pipeline(tmp_path):
    parsed = run_cli("parse", "--as-listing", str(HTML / "sable" / "listing.html"), str(HTML / "vesper" / "listing.html"),
                     str(HTML / "sable" / "vendor.html"))
    assert parsed.returncode == 1  # one page was not a listing
    assert "vendor.html: no listing (no_listing_price)" in parsed.stderr
    listings = [json.loads(line) for line in parsed.stdout.splitlines()]
    assert [(l["market"], l["listing_key"]) for l in listings] == [("sable", "34837"), ("vesper", "82c4ed9d269d")]

    enriched = run_cli("enrich", "-", input=parsed.stdout)
    assert enriched.returncode == 0, enriched.stderr
    records = [json.loads(line) for line in enriched.stdout.splitlines()]
    assert records[0]["enrichment"]["ships_from"] == ["DE"]
    assert records[0]["enrichment"]["products"][0]["canonical"] == "amphetamine"

    store = str(tmp_path / "s.db")
    indexed = run_cli("index", "-", "--store", store, input=enriched.stdout)
    assert indexed.returncode == 0 and "2 new" in indexed.stderr

    found = run_cli("search", "spice", "--store", store, "--json", "--facet", "ships_from")
    lines = [json.loads(line) for line in found.stdout.splitlines()]
    assert lines[0]["listing_key"] == "82c4ed9d269d" and lines[0]["data"]["listing"]["vendor"]["name"] == "GhostConnect"
    assert lines[-1] == {"total": 1, "facets": {"ships_from": [{"value": "US", "label": "US", "count": 1}]}}

    human = run_cli("search", "amphetamine", "--store", store, "--filter", "ships_from=DE")
    assert human.returncode == 0 and human.stdout.startswith("1 listing(s) match")
    assert "vendor GreenTiger" in human.stdout and "477.02 USD" in human.stdout


def test_index_names_broken_lines_and_indexes_the_rest(tmp_path):
    good = [make_listing(listing_key=str(i), title=f"Listing {i} cocaine 1g").model_dump_json() for i in range(3)]
    lines = [good[0], '{"listing_key": "x", "title": ', good[1], '["not", "an", "object"]',
             json.dumps({"listing_key": "y", "market": "m"}), good[2]]
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join(lines) + "\n")
    store = str(tmp_path / "s.db")
    proc = run_cli("index", str(path), "--store", store)
    assert proc.returncode == 1
    assert f"{path}:2: skipped: not valid JSON" in proc.stderr
    assert f"{path}:4: skipped: expected a JSON object" in proc.stderr
    assert f"{path}:5: skipped:" in proc.stderr and "Field required" in proc.stderr
    assert "3 new" in proc.stderr and "3 line(s) skipped" in proc.stderr
    assert "Traceback" not in proc.stderr
    found = run_cli("search", "cocaine", "--store", store, "--json")
    assert sorted(json.loads(l)["listing_key"] for l in found.stdout.splitlines()) == ["0", "1", "2"]


def test_search_output_round_trips_into_another_store(tmp_path):
    first, second = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    run_cli("index", "-", "--store", first, input=make_listing(title="Ketamine shards 5g").model_dump_json() + "\n")
    hits = run_cli("search", "ketamine", "--store", first, "--json").stdout
    proc = run_cli("index", "-", "--store", second, input=hits)
    assert proc.returncode == 0 and "1 new" in proc.stderr


def test_scrapy_project_lists_a_spider_per_profile():
    import subprocess
    import sys

    from conftest import REPO

    proc = subprocess.run([sys.executable, "-m", "scrapy", "list"], cwd=REPO, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["darkdock", "generic", "sable", "shop", "vesper"]  # one per profile


def test_enrich_raw_records_keeps_them_and_adds_the_documented_fields():
    lines = [
        {"id": "a1", "title": "Molly 84% pure 10g", "description": "Vacuum sealed, declared as a gift, DHL tracked.",
         "vendor": "Sold by MollyKing - 12 sold (wickr: mollyking)", "price": "USD 120.00 (0.0642 BTC)", "ships_from": "Netherlands",
         "ships_to": "Worldwide except Australia", "date": "2017-05-02", "market": "AlphaBay", "custom": {"x": 1}},
        {"title": "   "},
        {"title": "Xanax 2mg bars", "price": 0.05, "currency": "BTC", "category": "Drugs / Benzos"},
    ]
    result = run_cli("enrich", "-", input="\n".join(json.dumps(l) for l in lines) + "\nnot json\n")
    assert result.returncode == 1  # partial: two lines skipped, each named
    assert "<stdin>:2: skipped" in result.stderr and "<stdin>:4: skipped" in result.stderr
    first, second = [json.loads(line) for line in result.stdout.splitlines()]
    assert {k: v for k, v in first.items() if k != "enrichment"} == lines[0]  # the record comes back as it was
    e = first["enrichment"]
    assert e["products"][0] == {"text": "Molly", "canonical": "MDMA", "category": "drugs.empathogens", "hs_code": "2932.99",
                              "role": "item"}
    assert e["prices"][0]["amount"] == 120.0 and e["prices"][0]["currency"] == "USD" and e["prices"][0]["eur"]
    assert (e["ships_from"], e["ships_to"], e["ships_to_excluded"]) == (["NL"], ["WORLDWIDE"], ["AU"])
    assert e["carriers"] == ["DHL", "tracked"] and e["stealth"] == ["vacuum sealed"] and e["declared_as"] == ["gift"]
    assert e["language"] == "en" and e["vendor"] == "MollyKing" and e["purity"] == 84.0
    assert e["identifiers"] == []  # the vendor cell is a name, not text to mine
    assert all({"label", "text", "field", "start", "end", "component"} <= set(x) for x in e["entities"])
    assert second["enrichment"]["category"] == "drugs.sedatives"
    assert second["enrichment"]["prices"][0]["usd"] is not None  # BTC at today's row of the rates table
