"""What every `interdict` subcommand is: a class with its options beside its handler, as
Scrapy's command classes are (`scrapy.commands.ScrapyCommand`). interdict/cli.py finds them in
this package, so a new command is one class in the module of its group.

Command modules import only what parsing needs at the top; the work's imports (spaCy,
Scrapy, the stores) stay inside ``run`` so `interdict --help` and every command start fast."""

from __future__ import annotations

import argparse
import math
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

from interdict.errors import UserError

EXIT_PARTIAL = 1  # the run went through, and something was named and skipped on the way


class Command:
    name: ClassVar[str]
    help: ClassVar[str]  # the line in `interdict --help`
    description: ClassVar[str | None] = None  # `interdict NAME --help`; the help line when None

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        """The command's arguments and options."""

    def run(self, args: argparse.Namespace, config) -> int:
        """Do the work; the exit status. A user's mistake is raised as UserError."""
        raise NotImplementedError


def add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", metavar="PATH|URL", help="embedded store file, 'elasticsearch' (the configured "
                        "cluster) or a cluster URL (default: config store.backend / store.path)")


def write_out(text: str, out: str | None) -> None:
    """A command's output: to the file --out names, else to stdout (ending in a newline)."""
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")


def finite(text: str) -> float:
    """An argparse type: a float that is a number (not inf or nan)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def iso_date(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option}: {value!r} is not an ISO date such as 2026-11-28") from None


def captured_at(value: str | None) -> datetime | None:
    """--captured: the day (or moment) pages were saved, UTC unless it says otherwise."""
    found = iso_date(value, "--captured")
    return found.replace(tzinfo=UTC) if found is not None and found.tzinfo is None else found
