"""Reading JSON Lines input record by record, naming every line that cannot be used."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from interdict.errors import UserError


@dataclass
class LineErrors:
    source: str
    errors: list[tuple[int, str]] = field(default_factory=list)

    def add(self, lineno: int, reason: str) -> None:
        self.errors.append((lineno, reason))
        print(f"interdict: {self.source}:{lineno}: skipped: {reason}", file=sys.stderr)


def open_input(path: str | None) -> tuple[IO[str], str]:
    if path in (None, "-"):
        return sys.stdin, "<stdin>"
    try:
        return Path(path).open(encoding="utf-8", errors="replace"), path
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None


def read_records(path: str | None, errors: LineErrors | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every line that holds a JSON object; others are reported."""
    stream, name = open_input(path)
    errors = errors if errors is not None else LineErrors(name)
    errors.source = name
    with stream if stream is not sys.stdin else _no_close(stream):
        for lineno, line in enumerate(stream, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.add(lineno, f"not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            if not isinstance(record, dict):
                errors.add(lineno, f"expected a JSON object, got {type(record).__name__}")
                continue
            yield lineno, record


def describe_validation(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "record"
    more = f" (+{exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


class _no_close:
    def __init__(self, stream: IO[str]):
        self.stream = stream

    def __enter__(self) -> IO[str]:
        return self.stream

    def __exit__(self, *exc: object) -> None:
        pass
