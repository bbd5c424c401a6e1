"""Hostile and broken input where data enters (issue 18, items 1, 4, 5, 11, 12): numbers that
are not finite, lines nested 100,000 deep or holding a 5,000-digit integer, lone surrogates,
nulls, over-long lines and CSV quotes left open. Each is named and skipped — never the run —
and everything good around it gets through. Real `interdict` processes."""

from __future__ import annotations

import io
import json

import pytest

from conftest import FIXTURES, make_listing, run_cli
from contracts.inputs import BadLine, bounded_lines, csv_records, decode_line, json_lines

DEEP = '{"title": "deep", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"
HUGE_INT = '{"title": "huge", "n": ' + "9" * 5000 + "}"


@pytest.mark.parametrize("line, says", [
    (DEEP, "nested too deeply"),
    (HUGE_INT, "cannot be read"),
    ('{"price": {"amount": 1e999}}', "price.amount: 1e999 is not a finite number"),
    ('{"tiers": [1, NaN]}', "tiers.1: NaN is not a finite number"),
    ('{"a": -Infinity}', "a: -Infinity is not a finite number"),
    ('{"a": ', "not valid JSON"),
])
def test_a_line_that_cannot_be_used_says_why(line, says):
    with pytest.raises(BadLine, match=says.replace("(", r"\(")):
        decode_line(line)


@pytest.mark.parametrize("line", [
    '{"n": 12345678901234567890123, "m": -9223372036854775809}',  # beyond 64 bits: ints, not floats
    '{"n": 18446744073709551615, "big": 1.7976931348623157e308, "tiny": 5e-324, "z": -0.0}',
    '{"t": "wallet 1234567890123456789012 in text", "k": 7}',
    '{"t": "\\ud83d\\ude00 a whole pair", "u": "\\u00e9t\\u00e9", "a": [1, 2.5, true, null]}',
    '{"a": 1, "a": 2}', '[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]', '"just text"', '3',
    json.dumps({"listing": {"title": "Kokain höchster Qualität 1g", "price": {"amount": 0.1 + 0.2}}}, ensure_ascii=False),
])
def test_every_line_reads_as_pythons_json_reads_it(line):
    """decode_line takes a faster decoder (orjson) where it reads a line as json would, and
    json where it would not (integers beyond 64 bits, escaped surrogates)."""
    value = decode_line(line)
    assert value == json.loads(line)
    assert json.dumps(value) == json.dumps(json.loads(line))  # same types too: 10 is not 10.0


def test_lone_surrogates_are_repaired_and_over_long_lines_are_never_held_whole():
    assert decode_line('{"t": "Molly \\ud83d 10g", "\\udc00k": 1}') == {"t": "Molly \ufffd 10g", "\ufffdk": 1}
    stream = io.StringIO("short\n" + "x" * 5000 + "\nafter\n" + "y" * 3000)
    assert list(bounded_lines(stream, max_chars=1000)) == [(1, "short\n"), (2, None), (3, "after\n"), (4, None)]
    lines = list(json_lines(io.StringIO('{"a": 1}\n\n' + '"' + "z" * 2000 + '"\n[2]\n'), max_chars=1000))
    assert [n for n, _ in lines] == [1, 3, 4] and isinstance(lines[1][1], BadLine) and lines[2][1] == [2]


def test_an_unclosed_csv_quote_is_reported_at_its_line_and_the_rows_after_it_are_read():
    text = 'a,b\n1,"open\n2,x\n3,y\n4,"multi\nline",z\n5,5" tv\n6,"a""b"\n'
    found = list(csv_records(io.StringIO(text), max_field_lines=50))
    assert [n for n, r in found if isinstance(r, BadLine)] == [2]
    assert [(n, r) for n, r in found if not isinstance(r, BadLine)] == [
        (1, ["a", "b"]), (3, ["2", "x"]), (4, ["3", "y"]), (5, ["4", "multi\nline", "z"]), (7, ["5", '5" tv']),
        (8, ["6", 'a"b'])]
    to_the_end = list(csv_records(io.StringIO('a,b\n1,"never closed\n2,x\n3,y\n'), max_field_lines=50))
    assert isinstance(to_the_end[1][1], BadLine) and "end of the file" in str(to_the_end[1][1])
    assert [n for n, r in to_the_end if not isinstance(r, BadLine)] == [1, 3, 4]
    too_long = list(csv_records(io.StringIO('a,b\n1,"' + "\n" * 60 + 'x"\n2,y\n'), max_field_lines=50))
    assert too_long[1][0] == 2 and "within 50 lines" in str(too_long[1][1]) and too_long[-1] == (63, ["2", "y"])


def test_enrich_names_each_bad_line_and_keeps_the_rest(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join([
        DEEP,                                                                    # 1
        HUGE_INT,                                                                # 2
        '{"title": "Molly \\ud83d 84% 10g", "price": "0.05 BTC"}',              # 3: a cut emoji
        '{"title": "Speed 10g", "description": null, "ships_to": [null, "DE"]}',  # 4: nulls
        '{"title": "MDMA 5g", "price": 1e999, "currency": "EUR"}',               # 5
        '{"title": "Hash 5g", "price": "Infinity"}',                             # 6: a string: no price
        "x" * 400_000,                                                           # 7: over the line limit
        '{"title": "Weed 28g"}',                                                 # 8
    ]) + "\n")
    proc = run_cli("enrich", str(path), env={"INTERDICT_INPUT__MAX_LINE_CHARS": "300000"})
    assert proc.returncode == 1, proc.stderr
    named = {line.split(f"{path}:")[1].split(":")[0] for line in proc.stderr.splitlines() if ": skipped: " in line}
    assert named == {"1", "2", "5", "7"}, proc.stderr
    assert "price: 1e999 is not a finite number" in proc.stderr and "longer than the limit" in proc.stderr
    out = [json.loads(line, parse_constant=pytest.fail) for line in proc.stdout.splitlines()]
    assert [r["title"] for r in out] == ["Molly \ufffd 84% 10g", "Speed 10g", "Hash 5g", "Weed 28g"]
    assert out[1]["enrichment"]["ships_to"] == ["DE"] and out[1]["description"] is None
    assert out[2]["enrichment"]["price_usd"] is None


def test_index_refuses_a_price_that_is_not_finite_by_field_and_search_keeps_working(tmp_path):
    good = make_listing(listing_key="ok", title="Cocaine 1g").model_dump(mode="json")
    huge = make_listing(listing_key="huge", title="Cocaine 5g", price={"amount": 1e305, "currency": "BTC"})
    lines = [json.dumps(good), json.dumps({**good, "listing_key": "inf"}).replace('"amount": 10.0', '"amount": 1e999'),
             huge.model_dump_json()]
    path = tmp_path / "listings.jsonl"
    path.write_text("\n".join(lines) + "\n")
    env = {"INTERDICT_STORE__PATH": str(tmp_path / "index.db")}
    indexed = run_cli("index", str(path), env=env)
    assert indexed.returncode == 1 and ":2: skipped: price.amount: 1e999 is not a finite number" in indexed.stderr
    assert "2 new" in indexed.stderr, indexed.stderr
    found = run_cli("search", "cocaine", "--json", env=env)
    assert found.returncode == 0, found.stderr
    hits = {json.loads(line)["listing_key"]: json.loads(line) for line in found.stdout.splitlines()}
    assert set(hits) == {"ok", "huge"} and hits["huge"]["data"]["enrichment"]["price_usd"] is None
    for option in ("--price-min", "--price-max"):
        refused = run_cli("search", "cocaine", option, "inf", env=env)
        assert refused.returncode == 2 and "'inf' is not a finite number" in refused.stderr


def test_shipment_files_with_poisoned_lines_are_read_around_them(tmp_path):
    good = (FIXTURES.parent.parent / "docs" / "samples" / "shipments.jsonl").read_text().splitlines()
    path = tmp_path / "s.jsonl"
    bad_weight = json.dumps({**json.loads(good[0]), "gross_weight_kg": "X"}).replace('"X"', "1e999")
    path.write_text("\n".join([DEEP, HUGE_INT, good[0], bad_weight, *good[1:]]) + "\n")
    checked = run_cli("shipments", "check", str(path))
    assert checked.returncode == 1
    assert f"{path}:1: line: nested too deeply" in checked.stderr and f"{path}:2: line:" in checked.stderr
    assert f"{path}:4: line: gross_weight_kg: 1e999 is not a finite number" in checked.stderr, checked.stderr
    assert f"{len(good)} shipment(s) read, 3 problem(s) reported" in checked.stderr
    matched = run_cli("match", str(path), env={"INTERDICT_STORE__PATH": str(tmp_path / "empty.db")})
    assert matched.returncode == 1 and f"{len(good)} shipment(s) matched" in matched.stderr, matched.stderr


def test_a_shipment_csv_with_an_open_quote_names_its_line_and_reads_the_rows_it_swallowed(tmp_path):
    rows = (FIXTURES.parent.parent / "docs" / "samples" / "shipments.csv").read_text().splitlines()
    header, first = rows[0], rows[1]
    assert ",gift," in first
    broken = first.replace(",gift,", ',"gift,', 1)
    path = tmp_path / "s.csv"
    path.write_text("\n".join([header, broken, *rows[1:]]) + "\n")
    checked = run_cli("shipments", "check", str(path), "--json")
    assert f"{path}:2: row: a quoted cell opened on this line is not closed" in checked.stderr, checked.stderr
    read = [json.loads(line)["item_id"] for line in checked.stdout.splitlines()]
    assert len(read) == len({r.split(",")[0] for r in rows[1:]}), checked.stderr


def test_a_shop_page_priced_infinity_gives_no_price_rather_than_infinity():
    from crawlers.extract import read_listings

    page = (FIXTURES / "shop" / "p" / "pill-press.html").read_text(encoding="utf-8")
    poisoned = page.replace('"price": "1450.00"', '"price": "Infinity"')
    assert poisoned != page
    listings = read_listings(poisoned.encode(), "http://shop.test/p/pill-press.html").listings
    assert listings and all(lst.price is None or lst.price.amount != float("inf") for lst in listings)
    assert all(t.price.amount != float("inf") for lst in listings for t in lst.price_tiers)
