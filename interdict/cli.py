"""The `interdict` command. Subcommands read and write JSON Lines so they pipe into each
other and into jq; a user mistake gives one line on stderr and a non-zero exit.

Each subcommand is a `Command` class in interdict/commands (options beside the handler, as
Scrapy's command classes); this module finds them, parses, and turns errors into one line."""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from pydantic import ValidationError

import interdict.commands
from config import ConfigError, load_config
from enrichment import tune_gc_for_volume
from index import QueryError, StoreError
from interdict.commands.base import Command
from interdict.errors import UserError


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake on the command line is one line, like every other error."""

    def error(self, message: str):
        self.exit(2, f"interdict: error: {message} (see {self.prog} --help)\n")


def commands() -> dict[str, Command]:
    """Every subcommand in interdict/commands, by name."""
    found: dict[str, Command] = {}
    for module_info in pkgutil.iter_modules(interdict.commands.__path__):
        module = importlib.import_module(f"interdict.commands.{module_info.name}")
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, Command) and value.__module__ == module.__name__
                    and "name" in vars(value)):
                if value.name in found:
                    raise RuntimeError(f"two commands named {value.name!r}: {type(found[value.name])} and {value}")
                found[value.name] = value()
    return dict(sorted(found.items()))


def build_parser(known: dict[str, Command] | None = None) -> argparse.ArgumentParser:
    parser = _Parser(prog="interdict", description=(
        "Dark-web and marketplace intelligence for customs: crawl markets, enrich listings, "
        "index and search them."))
    parser.add_argument("--config",
                        help="operator config file merged over the defaults (or $INTERDICT_CONFIG)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for name, command in (known or commands()).items():
        command.add_options(sub.add_parser(name, help=command.help, description=command.description or command.help))
    return parser


def main(argv: list[str] | None = None) -> int:
    known = commands()
    args = build_parser(known).parse_args(argv)
    tune_gc_for_volume()  # enrichment is a third faster (enrichment.GC_THRESHOLDS)
    try:
        return known[args.command].run(args, load_config(args.config))
    except (UserError, ConfigError, StoreError, QueryError) as exc:
        print(f"interdict: error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except ValidationError as exc:
        from contracts.inputs import describe_invalid

        print(f"interdict: error: {describe_invalid(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interdict: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (head, jq) went away: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one line, no traceback
        if args.debug:
            raise
        print(f"interdict: internal error: {type(exc).__name__}: {exc} (run with --debug for details)", file=sys.stderr)
        return 70


if __name__ == "__main__":
    sys.exit(main())
