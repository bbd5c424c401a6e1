"""Reading JSON Lines input record by record, naming every line that cannot be used."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from contracts.inputs import DEFAULT_MAX_LINE_CHARS, BadLine, json_lines
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
        if hasattr(sys.stdin, "reconfigure"):  # bytes that are not UTF-8 become U+FFFD, as in files
            sys.stdin.reconfigure(errors="replace")
        return sys.stdin, "<stdin>"
    try:
        return Path(path).open(encoding="utf-8", errors="replace"), path
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None


def read_records(path: str | None, errors: LineErrors | None = None,
                 max_chars: int = DEFAULT_MAX_LINE_CHARS) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for every line that holds a JSON object; others (bad JSON, too
    deep, too long, numbers that are not finite) are reported and skipped."""
    stream, name = open_input(path)
    errors = errors if errors is not None else LineErrors(name)
    errors.source = name
    with stream if stream is not sys.stdin else _no_close(stream):
        for lineno, record in json_lines(stream, max_chars):
            if isinstance(record, BadLine):
                errors.add(lineno, str(record))
            elif not isinstance(record, dict):
                errors.add(lineno, f"expected a JSON object, got {type(record).__name__}")
            else:
                yield lineno, record


class _no_close:
    def __init__(self, stream: IO[str]):
        self.stream = stream

    def __enter__(self) -> IO[str]:
        return self.stream

    def __exit__(self, *exc: object) -> None:
        pass
