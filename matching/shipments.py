"""Reading shipment files: CSV (one row per article, item fields repeated) and JSON Lines
(one shipment per line, articles nested). Every bad row is reported with its row number,
column and reason; an item with a bad row is not processed (its declaration would be
incomplete) and says so; every good item is. Nothing is dropped without a line saying why.
The format is documented in docs/shipments.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from contracts.inputs import BadLine, InputLimits, csv_records, json_lines
from contracts.shipments import Shipment

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
    row: int  # 1-based line of the file where the row starts (the CSV header is line 1)
    column: str
    reason: str

    def line(self, source: str) -> str:
        return f"{source}:{self.row}: {self.column}: {self.reason}"


def _number(value: str) -> str:
    """'1,5' and '1.5' both mean one and a half in a declaration."""
    value = value.strip()
    return value.replace(",", ".") if value.count(",") == 1 and "." not in value else value


def _located(error: ErrorDetails, rows_of_articles: list[int], first_row: int, csv_names: bool) -> tuple[int, str, str]:
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


def _item_key(item_id: str | None, line: int) -> str:
    return item_id.replace(" ", "").upper() if item_id else f"<line {line}>"


def _csv_rows(handle: IO[str], limits: InputLimits) -> Iterator[tuple[int, dict[str, str] | RowError]]:
    """(line, cells by column) of every data row, or a RowError; the header comes first as
    (1, dict of header names) when it is usable."""
    records = csv_records(handle, limits.max_field_lines, limits.max_line_chars)
    header: list[str] = []
    for line, cells in records:
        if isinstance(cells, BadLine):
            yield line, RowError(line, "row", str(cells))
            continue
        if not header:
            header = [c.strip() for c in cells]
            yield line, dict(zip(header, header))
            continue
        if len(cells) > len(header):
            yield line, RowError(line, "row", f"{len(cells) - len(header)} more cell(s) than the header has columns")
            continue
        yield line, dict(zip(header, cells))


def read_csv(handle: IO[str], limits: InputLimits | None = None) -> Iterator[Shipment | RowError]:
    """Shipments and row errors of a CSV file, streamed: rows are read twice (the first pass
    notes each item's last line), and an item is validated and let go at its last row, so
    memory holds only items whose rows are still to come, whatever the file's size."""
    limits = limits or InputLimits()
    start = handle.tell()
    last_line: dict[str, int] = {}
    header_ok = True
    for line, row in _csv_rows(handle, limits):
        if line == 1 and isinstance(row, dict):
            header_ok = not [c for c in REQUIRED_COLUMNS if c not in row]
        elif isinstance(row, dict):
            last_line[_item_key(row.get("item_id", "").strip(), line)] = line
    handle.seek(start)
    items: dict[str, dict] = {}
    for line, row in _csv_rows(handle, limits):
        if isinstance(row, RowError):
            yield row
            continue
        if line == 1:
            yield from _header_errors(list(row))
            if not header_ok:
                return
            continue
        yield from _add_row(items, line, row)
        key = _item_key(row.get("item_id", "").strip(), line)
        if last_line.get(key) == line:
            yield from _finish_item(key, items.pop(key))


def _header_errors(header: list[str]) -> Iterator[RowError]:
    for column in REQUIRED_COLUMNS:
        if column not in header:
            yield RowError(1, column, "required column missing from the header")
    for column in header:
        if column not in ITEM_COLUMNS + ARTICLE_COLUMNS:
            yield RowError(1, column, f"unknown column (known: {', '.join(ITEM_COLUMNS + ARTICLE_COLUMNS)})")


def _add_row(items: dict[str, dict], line: int, row: dict[str, str]) -> Iterator[RowError]:
    bad = [c for c, v in row.items() if v and "\ufffd" in v]
    if bad:
        yield RowError(line, bad[0], "bytes that are not valid UTF-8")
    cells = {c: (_number(v) if c in _NUMERIC else v.strip()) for c, v in row.items() if v and v.strip()}
    key = _item_key(cells.get("item_id"), line)
    item = items.setdefault(key, {"rows": [], "cells": {}, "articles": [], "errors": []})
    if bad:
        item["errors"].append(line)
    for column in ITEM_COLUMNS:
        if column in cells:
            earlier = item["cells"].setdefault(column, (cells[column], line))
            if earlier[0] != cells[column]:
                item["errors"].append(line)
                yield RowError(line, column, f"{cells[column]!r} differs from {earlier[0]!r} on line "
                                             f"{earlier[1]} for the same item_id")
    item["rows"].append(line)
    item["articles"].append({f: cells.get(f"article_{f}") for f in _ARTICLE_FIELDS if f"article_{f}" in cells})


def _finish_item(key: str, item: dict) -> Iterator[Shipment | RowError]:
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
        yield RowError(item["rows"][0], "item_id", f"item {key} (lines {rows}) not processed: it has a bad row")


def read_jsonl(handle: IO[str], limits: InputLimits | None = None) -> Iterator[Shipment | RowError]:
    limits = limits or InputLimits()
    for line_number, record in json_lines(handle, limits.max_line_chars):
        if isinstance(record, BadLine):
            yield RowError(line_number, "line", str(record))
        elif not isinstance(record, dict):
            yield RowError(line_number, "line", "expected a JSON object")
        else:
            articles = record.get("articles")
            shipment, errors = _validate(record, [line_number] * (len(articles) if isinstance(articles, list) else 0),
                                         line_number, csv_names=False)
            yield from errors if errors else [shipment]


def read_shipments(path: str | Path, limits: InputLimits | None = None) -> Iterator[Shipment | RowError]:
    """Shipments and row errors, in file order (a CSV item at its last row), from a .csv or
    .jsonl file."""
    path = Path(path)
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            yield from read_jsonl(handle, limits)
        else:
            yield from read_csv(handle, limits)
