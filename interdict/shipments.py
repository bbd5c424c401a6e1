"""Shipment commands: `shipments check` (validate files), `shipments generate` (a synthetic
stream with planted matches), `match` (shipments against the index) and `eval matching`."""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from contracts.inputs import InputLimits
from contracts.matches import ShipmentMatches
from contracts.shipments import Shipment
from index import open_store
from interdict.errors import UserError
from matching.shipments import RowError, read_shipments

EXIT_BAD_ROWS = 1


def _read(files: list[str], problems: list[int], config) -> Iterator[Shipment]:
    """Good shipments of every file; bad rows and unreadable files on stderr, counted."""
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


def cmd_shipments(args, config) -> int:
    if args.action == "generate":
        return _generate(args, config)
    if not args.files:
        raise UserError("shipments check: name one or more files")
    problems = [0]
    shipments = 0
    for shipment in _read(args.files, problems, config):
        shipments += 1
        if args.json:
            print(shipment.model_dump_json())
    print(f"{shipments} shipment(s) read, {problems[0]} problem(s) reported", file=sys.stderr)
    return EXIT_BAD_ROWS if problems[0] else 0


def _generate(args, config) -> int:
    from matching.synthetic import StreamGenerator

    if not args.out:
        raise UserError("shipments generate: --out FILE is required (and --truth FILE to keep the planted answers)")
    with open_store(config, args.store) as store:
        generator = StreamGenerator(store, seed=args.seed)
        with open(args.out, "w", encoding="utf-8") as out, ExitStack() as files:
            truth_file = files.enter_context(open(args.truth, "w", encoding="utf-8")) if args.truth else None
            for shipment, truth in generator.stream(args.count, decoy_share=args.decoys):
                out.write(shipment.model_dump_json(exclude_none=True) + "\n")
                if truth_file:
                    truth_file.write(json.dumps(truth.__dict__) + "\n")
    print(f"{args.count} shipment(s) written to {args.out}" + (f", planted answers to {args.truth}" if args.truth else ""),
          file=sys.stderr)
    return 0


def _settings(args, config):
    updates = {k: v for k, v in (("threshold", args.threshold), ("top", args.top)) if v is not None}
    return config.matching.model_copy(update=updates)


def cmd_match(args, config) -> int:
    from matching.matcher import match_in_processes

    settings = _settings(args, config)
    problems = [0]
    shipments = matched = 0
    started = time.monotonic()
    results = match_in_processes(partial(open_store, config, args.store), _read(args.files, problems, config),
                                 args.workers, settings, encode=partial(_shown, as_json=args.json,
                                                                        threshold=settings.threshold))
    for has_match, text in results:
        shipments += 1
        matched += has_match
        print(text)
    elapsed = time.monotonic() - started
    print(f"{shipments} shipment(s) matched in {elapsed:.1f} s ({shipments / elapsed if elapsed else 0:,.0f}/s): "
          f"{matched} with a match at or above {settings.threshold:g}; {problems[0]} problem(s) reported",
          file=sys.stderr)
    return EXIT_BAD_ROWS if problems[0] else 0


def _shown(result: ShipmentMatches, as_json: bool, threshold: float) -> tuple[bool, str]:
    """(a match at or above the threshold, the text printed): made in the matching workers."""
    has_match = bool(result.best and result.best.score >= threshold)
    return has_match, result.to_json() if as_json else render(result, threshold)


def render(result: ShipmentMatches, threshold: float) -> str:
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
        lines.append(f"  {mark} {match.score:.3f}  {match.market} / {match.vendor}: {what}  [{match.listing_id or match.vendor_id}]")
        for reason in match.reasons:
            lines.append(f"      {reason.contribution:+.2f} {reason.code}: {reason.detail}")
    return "\n".join(lines)


def _demo_index(config, folder: Path) -> str:
    """The demo catalog indexed as months of crawls leave it (staggered listing lifetimes), in
    a scratch embedded store: the index the figures in docs/matching.md were measured on."""
    from datetime import UTC, datetime

    from enrichment.pipeline import Enricher
    from index.embedded import EmbeddedStore
    from interdict.demo.catalog import Catalog
    from interdict.demo.records import index_catalog

    path = folder / "demo-index.db"
    with EmbeddedStore(path) as store:
        index_catalog(store, Enricher.from_settings(config.enrichment), Catalog(config.demo.seed),
                      datetime(2026, 1, 1, tzinfo=UTC))
    return str(path)


# The shared datasets as docs/import.md brings them in: (path under --data, import options).
REAL_DATASETS = (
    ("agora-2014", ["--market", "agora", "--currency", "BTC"]),
    ("alphabay-2017", ["--market", "alphabay", "--encoding", "mac_roman"]),
    ("torrez-2021/Product_dataset_new.csv", ["--market", "torrez"]),
    ("dream-2016-sellers", ["--kind", "vendors", "--market", "dream"]),
)


def _real_index(config, data: Path, path: Path) -> str:
    """The shared datasets imported into an embedded store at ``path`` (kept: a second run with
    the same --store reuses it), each listing dated when it was captured (a dataset's date
    column or the date in its file names), evidence and crawl state beside it."""
    from index.embedded import EmbeddedStore
    from interdict.cli import _parser
    from interdict.imports import cmd_import

    with EmbeddedStore(path) as store:
        if store.count_listings():
            print(f"{path}: {store.count_listings()} listings already indexed: reused", file=sys.stderr)
            return str(path)
    found = [(data / name, options) for name, options in REAL_DATASETS if (data / name).exists()]
    if not found:
        raise UserError(f"none of the shared datasets under {data} ({', '.join(n for n, _ in REAL_DATASETS)})")
    scratch = path.parent / f"{path.stem}-import"
    settings = config.model_copy(update={
        "evidence": config.evidence.model_copy(update={"dir": str(scratch / "evidence")}),
        "crawl": config.crawl.model_copy(update={"state_dir": str(scratch / "state")}),
        "store": config.store.model_copy(update={"spool_dir": str(scratch / "spool")})})
    for source, options in found:
        done = cmd_import(_parser().parse_args(["import", str(source), *options, "--store", str(path)]), settings)
        if done not in (0, 1):  # 1: some rows named and skipped, the rest imported
            raise UserError(f"importing {source} failed (exit {done})")
    return str(path)


def eval_matching(args, config) -> int:
    settings = _settings(args, config)
    if args.demo and args.data:
        raise UserError("eval matching: --demo or --data, not both")
    with tempfile.TemporaryDirectory(prefix="interdict-eval-") as scratch:
        if args.demo:
            target = _demo_index(config, Path(scratch))
        elif args.data:
            if not Path(args.data).is_dir():
                raise UserError(f"no datasets at {args.data} (expected the shared data folder; see its README)")
            target = _real_index(config, Path(args.data), Path(args.store) if args.store else Path(scratch) / "real.db")
        else:
            target = args.store
        # The real index: plant from every listing, not the first ones indexed (one dataset).
        return _eval_on(args, config, settings, target, pool=None if args.data else 20_000)


WIDE = 3000  # candidates per key and per parcel for --ceiling: every offer that fits, in practice


def _eval_on(args, config, settings, target, pool: int | None) -> int:
    from index.profiles import listing_profile
    from matching.evaluation import evaluate_matching, explain_misses, recall_ceiling
    from matching.matcher import Matcher
    from matching.synthetic import StreamGenerator

    with open_store(config, target) as store:
        if not store.count_listings():
            raise UserError("the store is empty: crawl or index listings first (`interdict demo` fills one)")
        generator = StreamGenerator(store, seed=args.seed, pool=pool)
        stream = list(generator.stream(args.shipments, decoy_share=args.decoys))
        started = time.monotonic()
        matcher = Matcher(store, settings)
        results = list(matcher.match(s for s, _ in stream))
        elapsed = time.monotonic() - started
        profiles = {p.id: p for _, p in generator.listings}
        for result in results:
            for match in result.matches:
                if match.listing_id and match.listing_id not in profiles:
                    doc = store.get_listing(match.listing_id)
                    if doc is not None:
                        profiles[doc.id] = listing_profile(doc)
        report = evaluate_matching(results, {t.item_id: t for _, t in stream}, profiles, settings.threshold)
        report.misses = explain_misses(matcher, stream, results, profiles)
        if args.ceiling:
            wide = Matcher(store, settings.model_copy(update={"candidates_per_key": WIDE, "max_candidates": WIDE}))
            report.ceiling = recall_ceiling(wide, stream, profiles)
    print(report.table())
    print(f"{len(results)} shipments against {len(generator.listings)} listings in {elapsed:.1f} s "
          f"(seed {args.seed})")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "threshold": report.threshold, "seed": args.seed, "shipments": len(results),
            "by_mode": {m: c.__dict__ for m, c in report.by_mode.items()},
            "sweep": {str(t): {"precision": p, "recall_top1": r} for t, (p, r) in report.sweep.items()},
            "misses": {mode: dict(counts) for mode, counts in report.misses.items()},
            "ceiling": {mode: {"fair": fair, "ties_won": won} for mode, (fair, won) in (report.ceiling or {}).items()},
        }, indent=1))
    return 0
