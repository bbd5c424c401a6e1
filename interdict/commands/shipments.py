"""Shipments: `interdict shipments check` (validate files), `shipments generate` (a synthetic
stream with planted matches) and `interdict match` (shipments against the index)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial

from interdict.commands.base import Command, add_store_option, finite
from interdict.errors import UserError

EXIT_BAD_ROWS = 1


def read_shipment_files(files: list[str], problems: list[int], config) -> Iterator:
    """Good shipments of every file; bad rows and unreadable files on stderr, counted."""
    from contracts.inputs import InputLimits
    from contracts.shipments import Shipment
    from matching.shipments import RowError, read_shipments

    limits = InputLimits(**config.input.model_dump())
    for name in files:
        try:
            for found in read_shipments(name, limits):
                if isinstance(found, RowError):
                    problems[0] += 1
                    print(found.line(name), file=sys.stderr)
                elif isinstance(found, Shipment):
                    yield found
        except BrokenPipeError:
            raise  # the reader went away (head, jq): handled by the CLI
        except OSError as exc:
            print(f"interdict: {name}: cannot read: {exc.strerror}", file=sys.stderr)
            problems[0] += 1


def matching_settings(args, config):
    """config [matching] with --threshold and --top where given."""
    updates = {k: v for k, v in (("threshold", args.threshold), ("top", args.top)) if v is not None}
    return config.matching.model_copy(update=updates)


class Shipments(Command):
    name = "shipments"
    help = "check shipment files (CSV or JSON Lines): every bad row named"
    description = ("Read postal/express shipment records (CN23/ITMATT/ICS2-like; format and sample in "
                   "docs/shipments.md). Bad rows are reported as FILE:ROW: COLUMN: REASON; an item with a bad row "
                   "is not processed and says so; exit 1 if anything was reported.")

    def add_options(self, parser):
        parser.add_argument("action", choices=["check", "generate"], help="check FILE...: validate; generate: a "
                            "synthetic stream from the indexed listings with planted matches and lawful decoys "
                            "(docs/matching.md)")
        parser.add_argument("files", nargs="*", metavar="FILE")
        parser.add_argument("--json", action="store_true", help="check: print each good shipment as JSON (normalised)")
        parser.add_argument("--out", metavar="FILE", help="generate: write the shipments here (JSON Lines)")
        parser.add_argument("--truth", metavar="FILE", help="generate: write the planted answers here (JSON Lines)")
        parser.add_argument("--count", type=int, default=1000, help="generate: shipments (default 1000)")
        parser.add_argument("--decoys", type=finite, default=0.4,
                            help="generate: share of lawful decoys (default 0.4)")
        parser.add_argument("--seed", type=int, default=7)
        add_store_option(parser)

    def run(self, args, config) -> int:
        if args.action == "generate":
            return self.generate(args, config)
        if not args.files:
            raise UserError("shipments check: name one or more files")
        problems = [0]
        shipments = 0
        for shipment in read_shipment_files(args.files, problems, config):
            shipments += 1
            if args.json:
                print(shipment.model_dump_json())
        print(f"{shipments} shipment(s) read, {problems[0]} problem(s) reported", file=sys.stderr)
        return EXIT_BAD_ROWS if problems[0] else 0

    def generate(self, args, config) -> int:
        from index import open_store
        from matching.synthetic import StreamGenerator

        if not args.out:
            raise UserError("shipments generate: --out FILE is required (and --truth FILE to keep the planted "
                            "answers)")
        with open_store(config, args.store) as store:
            generator = StreamGenerator(store, seed=args.seed)
            with open(args.out, "w", encoding="utf-8") as out, ExitStack() as files:
                truth_file = files.enter_context(open(args.truth, "w", encoding="utf-8")) if args.truth else None
                for shipment, truth in generator.stream(args.count, decoy_share=args.decoys):
                    out.write(shipment.model_dump_json(exclude_none=True) + "\n")
                    if truth_file:
                        truth_file.write(json.dumps(truth.__dict__) + "\n")
        print(f"{args.count} shipment(s) written to {args.out}"
              + (f", planted answers to {args.truth}" if args.truth else ""), file=sys.stderr)
        return 0


class Match(Command):
    name = "match"
    help = "match shipment files against the indexed listings, with reasons"
    description = ("Each shipment's best matching listings (or vendors), each with a score (a probability) and the "
                   "reasons that make it up, and the declaration's own risk flags (docs/matching.md). Bad rows are "
                   "reported as by `shipments check`.")

    def add_options(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        add_store_option(parser)
        parser.add_argument("--json", action="store_true", help="one JSON object per shipment")
        parser.add_argument("--workers", type=int, default=1, help="processes (one per core; default 1)")
        parser.add_argument("--threshold", type=finite,
                            help="score that makes a match (default: config matching.threshold)")
        parser.add_argument("--top", type=int, help="matches kept per shipment (default: config matching.top)")

    def run(self, args, config) -> int:
        from index import open_store
        from matching.matcher import match_in_processes

        settings = matching_settings(args, config)
        problems = [0]
        shipments = matched = 0
        started = time.monotonic()
        results = match_in_processes(partial(open_store, config, args.store),
                                     read_shipment_files(args.files, problems, config), args.workers, settings,
                                     encode=partial(shown, as_json=args.json, threshold=settings.threshold))
        for has_match, text in results:
            shipments += 1
            matched += has_match
            print(text)
        elapsed = time.monotonic() - started
        print(f"{shipments} shipment(s) matched in {elapsed:.1f} s ({shipments / elapsed if elapsed else 0:,.0f}/s): "
              f"{matched} with a match at or above {settings.threshold:g}; {problems[0]} problem(s) reported",
              file=sys.stderr)
        return EXIT_BAD_ROWS if problems[0] else 0


def shown(result, as_json: bool, threshold: float) -> tuple[bool, str]:
    """(a match at or above the threshold, the text printed): made in the matching workers."""
    has_match = bool(result.best and result.best.score >= threshold)
    return has_match, result.to_json() if as_json else render(result, threshold)


def render(result, threshold: float) -> str:
    """One shipment for a terminal: its risk, flags, and each match with its reasons. (Crawled
    and declared text reach here without control characters: the contracts strip them.)"""
    lines = [f"{result.item_id}  risk {result.risk:.2f}"]
    for flag in result.risk_flags:
        lines.append(f"  ! {flag.code}: {flag.detail} (+{flag.contribution:g})")
    if not result.matches:
        lines.append("  no candidate listing")
    for match in result.matches:
        mark = "MATCH" if match.score >= threshold else "maybe"
        what = match.title if match.title else "(vendor; no listing fits)"
        lines.append(f"  {mark} {match.score:.3f}  {match.market} / {match.vendor}: {what}  "
                     f"[{match.listing_id or match.vendor_id}]")
        for reason in match.reasons:
            lines.append(f"      {reason.contribution:+.2f} {reason.code}: {reason.detail}")
    return "\n".join(lines)
