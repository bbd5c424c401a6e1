"""Shipment files: the documented samples read cleanly; every bad row of a broken file is
named with its row, column and reason; good items are processed, and an item with a bad
row says it was not."""

from __future__ import annotations

import csv
import json
from pathlib import Path


from conftest import REPO, run_cli
from contracts.shipments import Shipment, s10_check_digit, s10_problem
from matching.shipments import ARTICLE_COLUMNS, ITEM_COLUMNS, RowError, read_shipments

SAMPLES = REPO / "docs" / "samples"
GOOD = {"item_id": "CP473829151NL", "service": "postal", "posting_date": "2026-11-20", "operator": "PostNL",
        "origin_country": "NL", "destination_country": "GB", "sender_name": "J. de Vries", "sender_country": "NL",
        "sender_phone": "+31612345678", "sender_email": "jdv@example.nl", "recipient_name": "A. Smith",
        "recipient_country": "GB", "category": "gift", "gross_weight_kg": "0.5",
        "article_description": "Tea leaves", "article_hs_code": "0902.30", "article_quantity": "1",
        "article_net_weight_kg": "0.1", "article_value": "8.00", "article_currency": "EUR"}


def test_s10_check_digits():
    assert s10_check_digit("47312482") == 9  # UPU S10's own example: AA473124829GB
    assert s10_problem("AA473124829GB") is None
    assert "check digit is 1, should be 9" in s10_problem("AA473124821GB")
    assert "not an S10 item id" in s10_problem("AA4731248GB")


def test_documented_samples_read_cleanly():
    found = [*read_shipments(SAMPLES / "shipments.csv"), *read_shipments(SAMPLES / "shipments.jsonl")]
    assert all(isinstance(f, Shipment) for f in found), [f for f in found if isinstance(f, RowError)]
    first = found[0]
    assert (first.item_id, len(first.articles), first.declared_value) == ("CP473829151NL", 2, {"EUR": 12.5})
    assert first.sender.phone == "+31612345678" and first.articles[0].hs_code == "090230"
    assert {f.service for f in found} == {"postal", "express"} and found[-1].category == "documents"


def write_csv(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(ITEM_COLUMNS + ARTICLE_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_every_bad_row_is_named_and_good_items_are_processed(tmp_path):
    rows = [
        GOOD,                                                                    # row 2: fine
        {**GOOD, "item_id": "LX908172631CN", "article_value": "-3"},             # row 3: bad check digit, value
        {**GOOD, "item_id": "LX908172638CN", "destination_country": "Narnia"},   # row 4
        {**GOOD, "item_id": "EE555120001GB", "article_net_weight_kg": "heavy"},  # row 5
        {**GOOD, "item_id": "RR123456785DE", "sender_phone": "call me"},         # row 6
        {**GOOD, "item_id": "RR123456785DE", "article_description": "Spare part"},  # row 7: same item, fine
        {**GOOD, "item_id": "CP473829151NL", "operator": "DHL"},                # row 8: conflicts with row 2
        {**GOOD, "item_id": "AA473124829GB", "gross_weight_kg": "0.05"},         # row 9: gross < net
        {**GOOD, "item_id": "AA473124829GB", "category": "bribe"},               # row 10: conflicting category
        {**GOOD, "item_id": "EE123456785GB", "article_value": "1,5"},            # row 11: fine (decimal comma)
    ]
    path = write_csv(tmp_path / "ship.csv", rows)
    found = list(read_shipments(path))
    errors = {(e.row, e.column) for e in found if isinstance(e, RowError)}
    shipments = [s for s in found if isinstance(s, Shipment)]
    assert [s.item_id for s in shipments] == ["EE123456785GB"] and shipments[0].articles[0].value == 1.5
    assert {(3, "item_id"), (3, "article_value"), (4, "destination_country"), (5, "article_net_weight_kg"),
            (6, "sender_phone"), (8, "operator"), (9, "gross_weight_kg"), (10, "category")} <= errors
    reasons = {(e.row, e.column): e.reason for e in found if isinstance(e, RowError)}
    assert "check digit" in reasons[3, "item_id"] and "ISO 3166" in reasons[4, "destination_country"]
    assert "phone" in reasons[6, "sender_phone"] and "less than the articles' net weight" in reasons[9, "gross_weight_kg"]
    # A multi-row item with a bad row is not processed, and says so with all its rows.
    assert any(e.column == "item_id" and "lines 6, 7" in e.reason and "not processed" in e.reason for e in found
               if isinstance(e, RowError))
    assert any(e.row == 2 and "lines 2, 8" in e.reason for e in found if isinstance(e, RowError))


def test_broken_csv_structure_is_reported(tmp_path):
    missing = tmp_path / "missing.csv"
    missing.write_text("item_id,posting_date,colour\nCP473829151NL,2026-11-20,red\n")
    found = list(read_shipments(missing))
    columns = {e.column for e in found}
    assert {"operator", "article_value", "colour"} <= columns and all(e.row == 1 for e in found)
    ragged = write_csv(tmp_path / "ragged.csv", [GOOD])
    cells = [GOOD.get(c, "") for c in ITEM_COLUMNS + ARTICLE_COLUMNS] + ["extra"]
    ragged.write_text(ragged.read_text() + ",".join(cells) + "\n")
    assert any(isinstance(e, RowError) and e.row == 3 and "more cell" in e.reason for e in read_shipments(ragged))
    latin = write_csv(tmp_path / "latin.csv", [{**GOOD, "sender_name": "Jose"}])
    latin.write_bytes(latin.read_bytes().replace(b"Jose", b"Jos\xe9"))
    assert any(isinstance(e, RowError) and e.column == "sender_name" and "UTF-8" in e.reason
               for e in read_shipments(latin))


def test_jsonl_errors_point_at_line_and_field(tmp_path):
    good = json.loads((SAMPLES / "shipments.jsonl").read_text().splitlines()[0])
    bad_value = {**good, "articles": [{**good["articles"][0], "value": -1}]}
    path = tmp_path / "s.jsonl"
    path.write_text("\n".join([json.dumps(good), "{not json", "[1, 2]", json.dumps(bad_value), ""]) + "\n")
    found = list(read_shipments(path))
    assert isinstance(found[0], Shipment)
    problems = [(e.row, e.column) for e in found if isinstance(e, RowError)]
    assert problems == [(2, "line"), (3, "line"), (4, "articles.0.value")]


def test_shipments_check_command(tmp_path):
    path = write_csv(tmp_path / "ship.csv", [GOOD, {**GOOD, "item_id": "LX908172638CN", "origin_country": "XX"}])
    proc = run_cli("shipments", "check", str(path), "--json")
    assert proc.returncode == 1
    assert f"{path}:3: origin_country: 'XX' is not an ISO 3166-1 alpha-2 country code" in proc.stderr
    assert "1 shipment(s) read, 1 problem(s) reported" in proc.stderr
    assert json.loads(proc.stdout)["item_id"] == "CP473829151NL"
    clean = run_cli("shipments", "check", str(SAMPLES / "shipments.csv"), str(SAMPLES / "shipments.jsonl"))
    assert clean.returncode == 0 and "4 shipment(s) read, 0 problem(s)" in clean.stderr
