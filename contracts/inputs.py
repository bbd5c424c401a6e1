"""Rules for data entering Interdict, wherever it enters (records, pages, uploads, the API):
null means absent, numbers are finite, text is repaired, and one bad line is named and
skipped — never the run. Readers of JSON Lines and CSV use ``json_lines`` and
``csv_records``; contracts call ``nulls_absent`` and ``repair_text``."""

from __future__ import annotations

import csv
import json
import math
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import orjson
from pydantic import ValidationError

# A lone surrogate ("\ud83d", half of a cut emoji) is valid JSON but no encoder accepts it.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]", re.ASCII)
# Lines the fast decoder (orjson) could read differently from json take the slower path: an
# integer beyond 64 bits (orjson makes it a float: seen as a run of 19 digits, which digits in
# text also make) or an escape of a surrogate (to be repaired). A regular expression looking for
# the digits cost more than decoding; a byte table does not.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else 0x20 for b in range(256))
_LONG_NUMBER = b"0" * 19

DEFAULT_MAX_LINE_CHARS = 16 * 1024 * 1024


@dataclass(frozen=True)
class InputLimits:
    """The configured limits (config [input]) as the readers take them."""

    max_line_chars: int = DEFAULT_MAX_LINE_CHARS
    max_field_lines: int = 50
    max_problems: int = 1000


@dataclass
class Problems:
    """Problems of one input: the first ``limit`` kept with what they say, the rest counted."""

    limit: int = 1000
    named: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, text: str) -> bool:
        """Count a problem; True when it is one of those named."""
        self.count += 1
        if len(self.named) < self.limit:
            self.named.append(text)
            return True
        return False


class BadLine(ValueError):
    """One line of input that cannot be used; the message says why."""


def describe_invalid(exc: ValidationError) -> str:
    """The first problem of a refused record, with its field path: "price.amount: ..."."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "record"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def repair_text(value: str) -> str:
    """Lone surrogates become U+FFFD, the replacement character."""
    return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value


def repair(value: Any) -> Any:
    """``repair_text`` applied to every string (keys included) of a decoded JSON value."""
    if isinstance(value, str):
        return repair_text(value)
    if isinstance(value, dict):
        return {repair_text(k): repair(v) for k, v in value.items()}
    if isinstance(value, list):
        return [repair(v) for v in value]
    return value


def _first_not_finite(value: Any, path: str = "") -> str | None:
    if isinstance(value, float):
        return None if math.isfinite(value) else path or "value"
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        found = _first_not_finite(item, f"{path}.{key}" if path else str(key))
        if found:
            return found
    return None


def decode_line(line: str) -> Any:
    """The JSON value of one line, or BadLine naming what is wrong with it: not JSON, nested
    too deep, an integer too long to convert, a number that is not finite (1e999, NaN,
    Infinity: the field is named). Lone surrogates are repaired. (How long a line may be is
    the reader's to bound: bounded_lines.)"""
    try:
        data = line.encode()
    except UnicodeEncodeError:  # a lone surrogate in the text itself
        data = b""
    if data and _LONG_NUMBER not in data.translate(_DIGITS_AS_ZERO) and not (
            b"\\u" in data and _SURROGATE_ESCAPE.search(line)):
        try:  # 2-3 times faster; anything it refuses (NaN, 1e999, bad JSON…) is read below, to be named
            return orjson.loads(data)
        except orjson.JSONDecodeError:
            pass
    odd: list[str] = []

    def number(text: str) -> float:
        value = float(text)
        if not math.isfinite(value):
            odd.append(text)
        return value

    def constant(name: str) -> float:
        odd.append(name)
        return float(name)

    try:
        # The hooks run only for floats and NaN/Infinity: cheaper than looking for them first.
        value = json.loads(line, parse_float=number, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise BadLine(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise BadLine("nested too deeply to read") from None
    except ValueError as exc:  # int() of thousands of digits, and the like
        raise BadLine(f"a value cannot be read: {str(exc)[:120]}") from None
    except MemoryError:
        raise BadLine("too large to read in memory") from None
    if odd:
        raise BadLine(f"{_first_not_finite(value)}: {odd[0][:40]} is not a finite number")
    return repair(value) if _SURROGATE_ESCAPE.search(line) else value


def nulls_absent(data: Any, fields: Any = None) -> Any:
    """A record's nulls mean "not given": keys whose value is null are dropped (so defaults
    apply and a required field says it is missing) and nulls inside lists are left out.
    ``fields``, when given, limits this to the model's own fields (other keys are kept as
    they came)."""
    if not isinstance(data, dict):
        return data
    if not any(v is None or (type(v) is list and None in v) for v in data.values()):
        return data
    out = {}
    for key, value in data.items():
        if fields is not None and key not in fields:
            out[key] = value
        elif value is None:
            continue
        elif type(value) is list and None in value:
            out[key] = [v for v in value if v is not None]
        else:
            out[key] = value
    return out


def bounded_lines(stream: IO[str], max_chars: int = DEFAULT_MAX_LINE_CHARS) -> Iterator[tuple[int, str | None]]:
    """(line number, line) for each line of ``stream``; the line is None when it is longer
    than ``max_chars`` (then it was read and dropped piece by piece, never held whole)."""
    lineno = 0
    while True:
        line = stream.readline(max_chars + 1)
        if not line:
            return
        lineno += 1
        if len(line) > max_chars and not line.endswith("\n"):
            while (more := stream.readline(1 << 20)) and not more.endswith("\n"):
                pass
            yield lineno, None
        else:
            yield lineno, line


def json_lines(stream: IO[str], max_chars: int = DEFAULT_MAX_LINE_CHARS) -> Iterator[tuple[int, Any]]:
    """(line number, JSON value or BadLine) for every line that is not blank."""
    for lineno, line in bounded_lines(stream, max_chars):
        if line is None:
            yield lineno, BadLine(f"line longer than the limit of {max_chars:,} characters (input.max_line_chars)")
        elif line.strip():
            try:
                yield lineno, decode_line(line)
            except BadLine as exc:
                yield lineno, exc


def _quote_open_after(line: str, in_quotes: bool, delimiter: str = ",") -> bool | None:
    """Is a quoted CSV cell still open at the end of ``line``? (RFC 4180: a quote opens a
    cell only at its start; "" inside one is a quote; quotes inside an unquoted cell are
    text.) None when a quote closes a cell but text follows it: not well-formed."""
    i, n, at_cell_start = 0, len(line), not in_quotes
    while i < n:
        if in_quotes:
            j = line.find('"', i)
            if j < 0:
                return True
            if line.startswith('""', j):
                i = j + 2
                continue
            if j + 1 < n and line[j + 1] not in (delimiter, "\r", "\n"):
                return None  # text after a closing quote: this quote did not close a cell
            in_quotes, at_cell_start, i = False, False, j + 1
        elif at_cell_start and line[i] == '"':
            in_quotes, i = True, i + 1
        else:
            j = line.find(delimiter, i)
            if j < 0:
                return False
            i, at_cell_start = j + 1, True
    return in_quotes


def csv_records(stream: IO[str], max_field_lines: int = 50,
                max_chars: int = DEFAULT_MAX_LINE_CHARS) -> Iterator[tuple[int, list[str] | BadLine]]:
    """(line number where the record starts, its cells or BadLine) for every CSV record.
    Quoted cells may span lines; one still open after ``max_field_lines`` lines or at the end
    of the file is reported at its opening line, and reading resumes on the line after it, so
    the rows it would have swallowed are read as rows."""
    source = bounded_lines(stream, max_chars)
    pushed_back: deque[tuple[int, str | None]] = deque()

    def next_line() -> tuple[int, str | None] | None:
        return pushed_back.popleft() if pushed_back else next(source, None)

    while (item := next_line()) is not None:
        lineno, line = item
        if line is None:
            yield lineno, BadLine(f"line longer than the limit of {max_chars:,} characters (input.max_line_chars)")
            continue
        if '"' in line and _quote_open_after(line, False):
            parts, taken, problem = [line], [], None
            while problem is None:
                if len(parts) >= max_field_lines:
                    problem = f"a quoted cell opened on this line is not closed within {max_field_lines} lines " \
                              f"(input.max_field_lines); reading resumed on the next line"
                elif (following := next_line()) is None:
                    problem = "a quoted cell opened on this line is not closed before the end of the file; " \
                              "reading resumed on the next line"
                else:
                    taken.append(following)
                    if following[1] is None:
                        problem = "a quoted cell opened on this line runs into an over-long line"
                    else:
                        parts.append(following[1])
                        still_open = _quote_open_after(following[1], True)
                        if still_open is None:
                            problem = f"a quoted cell opened on this line closes on line {following[0]} with text " \
                                      f"after its closing quote; reading resumed on the next line"
                        elif not still_open:
                            break
            if problem:
                pushed_back.extendleft(reversed(taken))
                yield lineno, BadLine(problem)
                continue
            line = "".join(parts)
        if not line.strip():
            continue
        try:
            yield lineno, next(csv.reader((line,)))
        except csv.Error as exc:
            yield lineno, BadLine(f"not a CSV record ({exc})")


def sql_value_tuples(text: str) -> Iterator[list[str | None]]:
    """The value tuples of a MySQL dump's INSERT statements (strings unescaped, NULL as None).
    A dump cut short ends the tuples (BadLine names where)."""
    try:
        yield from _sql_tuples(text)
    except IndexError:
        raise BadLine("the SQL dump ends inside a value (cut short?)") from None


_SQL_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "0": "\0", "Z": "\x1a"}
_CREATE_TABLE_RE = re.compile(r"CREATE TABLE\s+`?(\w+)`?\s*\((.*?)\)\s*(?:ENGINE|;)", re.S | re.I)
_COLUMN_RE = re.compile(r"^\s*`(\w+)`", re.M)


def sql_columns(text: str) -> list[str]:
    """The column names of the first table a MySQL dump creates."""
    match = _CREATE_TABLE_RE.search(text)
    return _COLUMN_RE.findall(match.group(2)) if match else []


def _sql_tuples(text: str) -> Iterator[list[str | None]]:
    i, size = 0, len(text)
    while True:
        start = text.find("VALUES (", i)
        if start < 0:
            return
        i = start + len("VALUES ")
        while i < size and text[i] == "(":
            i += 1
            row: list[str | None] = []
            while True:
                if text[i] == "'":
                    i += 1
                    chunk = []
                    while text[i] != "'":
                        if text[i] == "\\":
                            chunk.append(_SQL_ESCAPES.get(text[i + 1], text[i + 1]))
                            i += 2
                        else:
                            chunk.append(text[i])
                            i += 1
                    row.append("".join(chunk))
                    i += 1
                else:
                    end = min(p for p in (text.find(",", i), text.find(")", i)) if p >= 0)
                    token = text[i:end].strip()
                    row.append(None if token == "NULL" else token)
                    i = end
                if text[i] == ",":
                    i += 1
                    continue
                i += 1  # the closing parenthesis
                break
            yield row
            if text[i] == ",":
                i += 1
