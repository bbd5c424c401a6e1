"""Dataset files (CSV, JSON Lines, MySQL dumps) to listings or vendor profiles, row by row.

Each file is decoded in the encoding given (``--encoding``; AlphaBay's CSVs are Mac Roman),
its columns mapped to fields (records.guess_mapping, printed so the user can correct it), and
every row becomes a record or a reason it could not, named by file and line.
"""

from __future__ import annotations

import io
import re
import sys
from typing import Any, Iterator

from pydantic import ValidationError

from contracts.inputs import BadLine, csv_records, describe_invalid, json_lines, sql_columns, sql_value_tuples
from contracts.listings import Capture
from interdict.imports.records import (
    Incomplete, describe_mapping, guess_mapping, listing_from_raw, mapped, raw_listing, vendor_from_row,
)
from interdict.imports.sources import Member

# A price column that names its currency: "price in $", "price_usd", "btc_price".
_CURRENCY_IN_NAME = (("$", "USD"), ("usd", "USD"), ("btc", "BTC"), ("eur", "EUR"), ("€", "EUR"), ("xmr", "XMR"),
                     ("gbp", "GBP"), ("aud", "AUD"), ("cad", "CAD"))
MAX_FIELD_LINES = 500
_SAID: set[str] = set()  # datasets hold long multi-line cells (feedback, descriptions)


def _text(member: Member, encoding: str) -> str:
    try:
        return member.data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise BadLine(f"not {encoding} text (byte {exc.start}): give its encoding with --encoding, "
                      "e.g. --encoding mac_roman or cp1252") from None
    except LookupError:
        raise BadLine(f"unknown encoding {encoding!r}") from None


def _rows(member: Member, text: str, limit: int) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line, row as column -> value, or why the line is no row)."""
    if member.kind == "jsonl":
        for lineno, value in json_lines(io.StringIO(text), limit):
            if isinstance(value, BadLine):
                yield lineno, str(value)
            elif not isinstance(value, dict):
                yield lineno, "not a JSON object"
            else:
                yield lineno, value
        return
    if member.kind == "sql":
        columns = sql_columns(text)
        try:
            for number, values in enumerate(sql_value_tuples(text), 1):
                if len(values) != len(columns):
                    yield number, f"row of {len(values)} values for {len(columns)} columns"
                else:
                    yield number, dict(zip(columns, values))
        except BadLine as exc:
            yield 0, str(exc)
        return
    header: list[str] | None = None
    for lineno, cells in csv_records(io.StringIO(text, newline=""), MAX_FIELD_LINES, limit):
        if isinstance(cells, BadLine):
            yield lineno, str(cells)
        elif header is None:
            header = [c.strip() for c in cells]
        elif len(cells) != len(header):
            yield lineno, f"{len(cells)} cells for {len(header)} columns"
        else:
            yield lineno, dict(zip(header, cells))


def _currency_from(mapping: dict[str, list[str]]) -> str | None:
    for column in mapping.get("price", []):
        lowered = column.lower()
        for mark, code in _CURRENCY_IN_NAME:
            if re.search(rf"(?<![a-z]){re.escape(mark)}(?![a-z])", lowered):
                return code
    return None


def dataset_records(member: Member, args, market: str | None) -> Iterator[tuple[str, Any]]:
    """(where, Listing | VendorProfile | Incomplete (a row that is no listing) | why a row could
    not be read) for every row of a dataset."""
    kind = getattr(args, "kind", "listings")
    given = dict(pair.split("=", 1) for pair in args.map or [])
    try:
        text = _text(member, args.encoding)
    except BadLine as exc:
        yield member.where, str(exc)
        return
    mapping: dict[str, list[str]] | None = None
    currency = args.currency
    for lineno, row in _rows(member, text, args.max_line_chars):
        where = f"{member.where}:{lineno}"
        if isinstance(row, str):
            yield where, row
            continue
        if mapping is None:
            mapping = guess_mapping(list(row), given, kind)
            currency = currency or _currency_from(mapping)
            said = f"columns {describe_mapping(mapping)}" + (
                f" (prices in {currency})" if currency and "currency" not in mapping else "")
            if said not in _SAID:  # once per layout, not once per file of a 70-file dataset
                _SAID.add(said)
                print(f"interdict: {member.where}: {said} — correct with --map FIELD=COLUMN", file=sys.stderr)
            if kind == "listings" and "title" not in mapping:
                yield member.where, "no title column found: name it with --map title=COLUMN"
                return
        fields = mapped(row, mapping)
        if currency and "currency" not in fields:
            fields["currency"] = currency
        if kind == "listings" and not fields.get("title"):
            yield where, Incomplete("no title")
            continue
        try:
            yield where, _record(fields, kind, market, member, args.captured, lineno)
        except ValidationError as exc:
            yield where, f"not a listing: {describe_invalid(exc)}"
        except Incomplete as exc:
            yield where, exc
        except ValueError as exc:
            yield where, str(exc)


def _record(fields: dict[str, Any], kind: str, market: str | None, member: Member, captured, lineno: int):
    dated = bool(fields.get("date"))
    when = captured or member.named_date or member.mtime
    capture = Capture(source=member.source, member=f"{member.name}:{lineno}".lstrip(":"),
                      archive_sha256=member.archive_sha256,
                      captured_from="column" if dated else "option" if captured else
                      "filename" if member.named_date else "mtime",
                      approximate=not dated and not captured and not member.named_date)
    if kind == "vendors":
        return vendor_from_row(fields, market, when)
    listing = listing_from_raw(raw_listing(fields), market, when)
    if not dated:
        listing = listing.model_copy(update={"crawled_at": when or listing.crawled_at})
    return listing.model_copy(update={"capture": capture})
