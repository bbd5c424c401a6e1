"""Reading shipment files: CSV (one row per article, item fields repeated) and JSON Lines
(one shipment per line, articles nested). Every bad row is reported with its row number,
column and reason; an item with a bad row is not processed (its declaration would be
incomplete) and says so; every good item is. Nothing is dropped without a line saying why.
The format is documented in docs/shipments.md.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from matching.contracts import Shipment

ITEM_COLUMNS = ("item_id", "service", "posting_date", "operator", "origin_country", "destination_country",
                "sender_name", "sender_address", "sender_country", "sender_phone", "sender_email",
                "recipient_name", "recipient_address", "recipient_country", "recipient_phone", "recipient_email",
                "category", "gross_weight_kg")
ARTICLE_COLUMNS = ("article_description", "article_hs_code", "article_quantity", "article_net_weight_kg",
                   "article_value", "article_currency")
REQUIRED_COLUMNS = ("item_id", "posting_date", "operator", "origin_country", "destination_country", "category",
                    "gross_weight_kg", "article_description", "article_net_weight_kg", "article_value",
                    "article_currency")
_NUMERIC = {"gross_weight_kg", "article_quantity", "article_net_weight_kg", "article_value"}
_PARTY_FIELDS = ("name", "address", "country", "phone", "email")
_ARTICLE_FIELDS = ("description", "hs_code", "quantity", "net_weight_kg", "value", "currency")


@dataclass(frozen=True)
class RowError:
    row: int  # 1-based line of the file (the CSV header is row 1)
    column: str
    reason: str

    def line(self, source: str) -> str:
        return f"{source}:{self.row}: {self.column}: {self.reason}"


@dataclass
class ReadReport:
    shipments: int = 0
    rows: int = 0
    errors: list[RowError] | None = None


def _number(value: str) -> str:
    """'1,5' and '1.5' both mean one and a half in a declaration."""
    value = value.strip()
    return value.replace(",", ".") if value.count(",") == 1 and "." not in value else value


def _located(error: dict, rows_of_articles: list[int], first_row: int, csv_names: bool) -> tuple[int, str, str]:
    """(row, column, reason) of one pydantic error."""
    loc = list(error["loc"])
    reason = error["msg"].removeprefix("Value error, ")
    if not loc and ": " in reason:  # model checks name their field first ("item_id: ...")
        field, _, reason = reason.partition(": ")
        loc = [field]
    row = first_row
    if loc and loc[0] == "articles" and len(loc) > 1 and isinstance(loc[1], int):
        row = rows_of_articles[loc[1]] if loc[1] < len(rows_of_articles) else first_row
        column = ("article_" + str(loc[2])) if csv_names and len(loc) > 2 else ".".join(map(str, loc))
    elif loc and loc[0] in ("sender", "recipient") and len(loc) > 1:
        column = f"{loc[0]}_{loc[1]}" if csv_names else f"{loc[0]}.{loc[1]}"
    else:
        column = ".".join(str(p) for p in loc) or "row"
    return row, column, reason


def _validate(record: dict, rows_of_articles: list[int], first_row: int, csv_names: bool):
    try:
        return Shipment.model_validate(record), []
    except ValidationError as exc:
        return None, [RowError(*_located(e, rows_of_articles, first_row, csv_names)) for e in exc.errors()]


def read_csv(handle: io.TextIOBase) -> Iterator[Shipment | RowError]:
    reader = csv.DictReader(handle)
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    unknown = [c for c in header if c not in ITEM_COLUMNS + ARTICLE_COLUMNS]
    if missing or unknown:
        for column in missing:
            yield RowError(1, column, "required column missing from the header")
        for column in unknown:
            yield RowError(1, column, f"unknown column (known: {', '.join(ITEM_COLUMNS + ARTICLE_COLUMNS)})")
        if missing:
            return
    items: dict[str, dict] = {}
    for row_number, row in enumerate(reader, start=2):
        if None in row:
            yield RowError(row_number, "row", f"{len(row[None])} more cell(s) than the header has columns")
            continue
        bad = [c for c, v in row.items() if v and "\ufffd" in v]
        if bad:
            yield RowError(row_number, bad[0], "bytes that are not valid UTF-8")
        cells = {c: (_number(v) if c in _NUMERIC else v.strip()) for c, v in row.items() if v and v.strip()}
        key = cells.get("item_id", f"<row {row_number}>").replace(" ", "").upper()
        item = items.setdefault(key, {"rows": [], "cells": {}, "articles": [], "errors": []})
        if bad:
            item["errors"].append(row_number)
        for column in ITEM_COLUMNS:
            if column in cells:
                earlier = item["cells"].setdefault(column, (cells[column], row_number))
                if earlier[0] != cells[column]:
                    item["errors"].append(row_number)
                    yield RowError(row_number, column, f"{cells[column]!r} differs from {earlier[0]!r} on row "
                                                       f"{earlier[1]} for the same item_id")
        item["rows"].append(row_number)
        item["articles"].append({f: cells.get(f"article_{f}") for f in _ARTICLE_FIELDS if f"article_{f}" in cells})
    for key, item in items.items():
        cells = {c: v for c, (v, _) in item["cells"].items()}
        record = {c: cells[c] for c in ("item_id", "service", "posting_date", "operator", "origin_country",
                                        "destination_country", "category", "gross_weight_kg") if c in cells}
        for party in ("sender", "recipient"):
            record[party] = {f: cells[f"{party}_{f}"] for f in _PARTY_FIELDS if f"{party}_{f}" in cells}
        record["articles"] = item["articles"]
        shipment, errors = _validate(record, item["rows"], item["rows"][0], csv_names=True)
        yield from errors
        if shipment is not None and not item["errors"]:
            yield shipment
        elif len(item["rows"]) > 1 or shipment is not None:
            rows = ", ".join(map(str, item["rows"]))
            yield RowError(item["rows"][0], "item_id", f"item {key} (rows {rows}) not processed: it has a bad row")


def read_jsonl(handle: io.TextIOBase) -> Iterator[Shipment | RowError]:
    for line_number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            yield RowError(line_number, "line", f"not valid JSON ({exc.msg} at character {exc.colno})")
            continue
        if not isinstance(record, dict):
            yield RowError(line_number, "line", "expected a JSON object")
            continue
        shipment, errors = _validate(record, [line_number] * len(record.get("articles") or []), line_number,
                                     csv_names=False)
        yield from errors if errors else [shipment]


def read_shipments(path: str | Path) -> Iterator[Shipment | RowError]:
    """Shipments and row errors, in file order (per item for CSV), from a .csv or .jsonl file."""
    path = Path(path)
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            yield from read_jsonl(handle)
        else:
            yield from read_csv(handle)
