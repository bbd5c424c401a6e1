"""`interdict eval`: each stage measured — enrichment and parsing on the labelled real data,
matching on a synthetic shipment stream with planted matches (on the demo catalog, the real
datasets or a store), and the watchlist feed of a store."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from interdict.commands.base import Command, add_store_option, finite
from interdict.commands.shipments import matching_settings
from interdict.errors import UserError


class Eval(Command):
    name = "eval"
    help = ("measure a stage: `eval enrichment|parsing --data DIR` on labelled real data, `eval matching` on a "
            "synthetic shipment stream with planted matches")
    description = ("enrichment: per-field precision, recall and F1 of the enrichment stage against the markets' "
                   "own structured fields, on a development and a held-out part (split by vendor; "
                   "docs/enrichment.md). parsing: per-field accuracy of the generic extractor on the labelled "
                   "market pages (docs/parsing.md). watchlist: the default feed of --store — left-out terms per "
                   "reason, the share of generic English words, the heaviest terms per kind and the reviewed share "
                   "kept (docs/matching.md).")

    def add_options(self, parser):
        parser.add_argument("stage", choices=["enrichment", "parsing", "matching", "watchlist"])
        parser.add_argument("--data", metavar="DIR", help="enrichment, parsing: the shared datasets folder "
                            "(../shared/data); matching: index its datasets (into --store, kept and reused, else a "
                            "scratch store) and plant shipments from them")
        add_store_option(parser)
        parser.add_argument("--shipments", type=int, default=3000,
                            help="matching: synthetic shipments (default 3000)")
        parser.add_argument("--demo", action="store_true", help="matching: on the demo catalog indexed with "
                            "staggered listing lifetimes in a scratch store (the figures of docs/matching.md), not "
                            "--store")
        parser.add_argument("--decoys", type=finite, default=0.4, help="matching: share of lawful decoys "
                            "(default 0.4)")
        parser.add_argument("--seed", type=int, default=7, help="matching: seed of the synthetic stream")
        parser.add_argument("--ceiling", action="store_true", help="matching: also the recall@5 any ranking could "
                            "reach with what the parcels say (every offer that fits scored alone; slow)")
        parser.add_argument("--threshold", type=finite, help="matching: score that makes a match (default: config)")
        parser.add_argument("--top", type=int, help=argparse.SUPPRESS)
        parser.add_argument("--datasets", metavar="NAMES",
                            help="comma-separated subset: agora,torrez,alphabay,dream,routes")
        parser.add_argument("--limit", type=int, metavar="N", help="an even sample of N listings per dataset")
        parser.add_argument("--json", metavar="FILE", help="also write the scores as JSON")
        parser.add_argument("--errors", metavar="FILE",
                            help="write up to 200 missed categories per dataset (dev part only)")
        parser.add_argument("--draw", type=int, metavar="N", help="watchlist: print N feed terms drawn with a fixed "
                            "seed (JSON Lines) to review instead of the report")

    def run(self, args, config) -> int:
        if args.stage == "matching":
            return eval_matching(args, config)
        if args.stage == "watchlist":
            return eval_watchlist(args, config)
        if not args.data:
            raise UserError(f"eval {args.stage}: --data DIR is required (the shared datasets folder)")
        data = Path(args.data)
        if not data.is_dir():
            raise UserError(f"no datasets at {data} (expected the shared data folder; see its README)")
        if args.stage == "parsing":
            return eval_parsing(args, data)
        return eval_enrichment(args, config, data)


def eval_enrichment(args, config, data: Path) -> int:
    from enrichment.evaluation.run import evaluate, write_json
    from enrichment.pipeline import Enricher

    enricher = Enricher.from_settings(config.enrichment)
    datasets = args.datasets.split(",") if args.datasets else None
    report = evaluate(data, enricher, datasets=datasets, limit=args.limit, keep_errors=200 if args.errors else 0)
    if not report.listings:
        raise UserError(f"none of the known datasets found under {data}")
    print(report.table())
    if args.json:
        write_json(report, Path(args.json))
    if args.errors:
        Path(args.errors).write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in report.errors))
    return 0


def eval_watchlist(args, config) -> int:
    from index import open_store
    from matching import watchlist
    from matching.watchlist_evaluation import draw, report

    with open_store(config, args.store) as store:
        if not store.count_listings():
            raise UserError("the store is empty: crawl, import or index listings first")
        terms = watchlist.derive_terms(store, config.watchlist)
    if args.draw:
        for row in draw(watchlist.feed(terms), args.draw):
            print(json.dumps(row, ensure_ascii=False))
        return 0
    print(report(terms))
    return 0


def eval_parsing(args, data: Path) -> int:
    from crawlers.extract.detail_evaluation import evaluate_detail_pages
    from crawlers.extract.evaluation import evaluate_parsing

    report = evaluate_parsing(data)
    details = evaluate_detail_pages(data)
    if not report.pages and not report.unlabelled and not details.pages:
        raise UserError(f"no market pages under {data / 'market-html'} or {data / 'listing-pages'}")
    print(details.table())
    print(report.table())
    if args.json:
        Path(args.json).write_text(json.dumps({"detail_pages": details.as_json(), "index_pages": report.as_json()},
                                              indent=1) + "\n", encoding="utf-8")
    return 0


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


def real_index(config, data: Path, path: Path) -> str:
    """The shared datasets imported into an embedded store at ``path`` (kept: a second run with
    the same --store reuses it), each listing dated when it was captured (a dataset's date
    column or the date in its file names), evidence and crawl state beside it."""
    from index.embedded import EmbeddedStore
    from interdict.cli import build_parser
    from interdict.commands.imports import Import

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
        done = Import().run(build_parser().parse_args(["import", str(source), *options, "--store", str(path)]),
                            settings)
        if done not in (0, 1):  # 1: some rows named and skipped, the rest imported
            raise UserError(f"importing {source} failed (exit {done})")
    return str(path)


def eval_matching(args, config) -> int:
    settings = matching_settings(args, config)
    if args.demo and args.data:
        raise UserError("eval matching: --demo or --data, not both")
    with tempfile.TemporaryDirectory(prefix="interdict-eval-") as scratch:
        if args.demo:
            target = _demo_index(config, Path(scratch))
        elif args.data:
            if not Path(args.data).is_dir():
                raise UserError(f"no datasets at {args.data} (expected the shared data folder; see its README)")
            target = real_index(config, Path(args.data), Path(args.store) if args.store else Path(scratch) / "real.db")
        else:
            target = args.store
        # The real index: plant from every listing, not the first ones indexed (one dataset).
        return _eval_on(args, config, settings, target, pool=None if args.data else 20_000)


WIDE = 3000  # candidates per key and per parcel for --ceiling: every offer that fits, in practice


def _eval_on(args, config, settings, target, pool: int | None) -> int:
    from index import open_store
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
