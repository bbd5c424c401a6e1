"""The stages as commands that pipe into each other over JSON Lines: `interdict parse` (saved
pages -> listings), `interdict enrich` (listings -> enriched listings) and `interdict index`
(any of them -> the store)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from interdict.commands.base import EXIT_PARTIAL, Command, add_store_option, captured_at
from interdict.errors import UserError

CRAWLED_LISTING_KEYS = {"market", "url", "listing_key", "crawled_at"}


class Parse(Command):
    name = "parse"
    help = "saved market pages -> one JSON object per listing found"
    description = ("Read saved pages with their market's page object when one recognises them, else with the "
                   "generic extractor (any market layout): a listing page gives one object, an index page one per "
                   "listing block, each with title, price, vendor, ships_from, ships_to, category, description and "
                   "a confidence per field. Pages with no listing (walls, errors, empty) are named on stderr with "
                   "the reason.")

    def add_options(self, parser):
        parser.add_argument("files", nargs="+", metavar="FILE")
        parser.add_argument("--market", help="market name from the config (default: recognised from the page)")
        parser.add_argument("--url", help="the URL the page was fetched from (default: a file:// URL)")
        parser.add_argument("--as-listing", action="store_true", help="print the crawl contract (what `enrich` "
                            "and `index` take) instead; confident fields only")
        parser.add_argument("--generic", action="store_true",
                            help="read every page with the generic extractor, even where a page object knows the "
                                 "market")
        parser.add_argument("--captured", metavar="DATE",
                            help="when the pages were saved (ISO date; default: each file's modification time)")

    def run(self, args, config) -> int:
        from crawlers.extract import parse_page, to_listing
        from crawlers.extract.encoding import decode_html
        from crawlers.extract.walls import merged_markers
        from crawlers.pages import PROFILES, PageError, profile_for_html

        failures = 0
        captured = captured_at(args.captured)
        for name in args.files:
            path = Path(name)
            try:
                html = decode_html(path.read_bytes())[0]
            except OSError as exc:
                print(f"interdict: {name}: cannot read: {exc.strerror}", file=sys.stderr)
                failures += 1
                continue
            market = config.markets.get(args.market) if args.market else None  # one no longer crawled is fine
            profile = None if args.generic else (
                (PROFILES.get(market.profile) if market else None) or profile_for_html(html))
            market_name = args.market or (profile.name if profile else "")
            crawled_at = captured or datetime.fromtimestamp(path.stat().st_mtime, UTC)
            result = parse_page(html, args.url or path.resolve().as_uri(), profile, market_name, crawled_at,
                                merged_markers(market.wall_markers) if market else None)
            if not result.listings:
                print(f"interdict: {name}: no listing ({result.drop_reason or 'nothing found'}"
                      + (f": {result.wall.seen}" if result.wall else "") + ")", file=sys.stderr)
                failures += 1
                continue
            if result.drops:
                print(f"interdict: {name}: " + ", ".join(f"{n} block(s) dropped ({r})" for r, n in result.drops.items()),
                      file=sys.stderr)
            for position, parsed in enumerate(result.listings):
                parsed.source = str(path)
                if not args.as_listing:
                    print(parsed.model_dump_json(exclude_none=True))
                    continue
                if result.page_object_listings:
                    print(result.page_object_listings[position].model_dump_json())
                    continue
                if not market_name:
                    raise UserError("--as-listing on a page no page object reads needs --market NAME")
                try:
                    print(to_listing(parsed, market_name, crawled_at).model_dump_json())
                except PageError as exc:
                    print(f"interdict: {name}: listing {position}: not confident enough to index ({exc.reason})",
                          file=sys.stderr)
                    failures += 1
        return EXIT_PARTIAL if failures else 0


class Enrich(Command):
    """Crawled listings (what `parse` and `crawl -o` print) come back as {listing, enrichment};
    raw records (at least a title, fields as markets show them) come back as themselves plus
    an `enrichment` object (docs/enrichment.md). Input order is kept."""

    name = "enrich"
    help = "listings (JSON Lines) -> enriched listings (JSON Lines)"
    description = ("Each line: a crawled listing (as `parse` prints it) or a raw record with at least a title and "
                   "optionally description, vendor, price, currency, ships_from, ships_to, category, market, date, "
                   "as text the way a market shows them. Raw records come back unchanged plus an `enrichment` "
                   "object (docs/enrichment.md).")

    def add_options(self, parser):
        parser.add_argument("input", nargs="?", default="-", metavar="FILE|-")

    def run(self, args, config) -> int:
        from pydantic import ValidationError

        from contracts.inputs import describe_invalid
        from contracts.listings import Listing, RawListing
        from enrichment.pipeline import Enricher
        from interdict.jsonl import LineErrors, read_records
        from interdict.progress import Progress

        errors = LineErrors(args.input)
        enricher = Enricher.from_settings(config.enrichment)
        progress = Progress("enriched")

        def flush(kind: str, batch: list[tuple[dict, Listing | RawListing]]) -> None:
            if kind == "listing":
                for enriched in enricher.enrich_listings(item for _, item in batch if isinstance(item, Listing)):
                    sys.stdout.write(enriched.model_dump_json() + "\n")
                    progress.tick()
                return
            results = enricher.enrich_raw(item for _, item in batch if isinstance(item, RawListing))
            for (original, _), (_, enrichment) in zip(batch, results):
                # The record goes back exactly as it came, with the enrichment added.
                original["enrichment"] = enrichment.model_dump(mode="json", exclude={"search_text"})
                sys.stdout.write(json.dumps(original, ensure_ascii=False) + "\n")
                progress.tick()

        kind, batch = "", list[tuple[dict, Listing | RawListing]]()
        for lineno, record in read_records(args.input, errors, config.input.max_line_chars):
            this = "listing" if CRAWLED_LISTING_KEYS <= record.keys() else "raw"
            try:
                item = Listing.model_validate(record) if this == "listing" else RawListing.model_validate(record)
            except ValidationError as exc:
                errors.add(lineno, f"not a listing: {describe_invalid(exc)}")
                continue
            if batch and (this != kind or len(batch) >= enricher.batch_size):
                flush(kind, batch)
                batch = []
            kind = this
            batch.append((record, item))
        if batch:
            flush(kind, batch)
        progress.done()
        return EXIT_PARTIAL if errors.errors else 0


def as_indexable(record: dict, market: str | None = None):
    """What the other commands print, as the store takes it: enriched records, plain ones,
    search hits, and raw records (a title and fields as markets show them, as `enrich` takes
    them)."""
    from contracts.listings import EnrichedListing, EnrichedVendor, Listing, RawListing, VendorProfile

    if "listing" in record and "enrichment" in record:
        return EnrichedListing.model_validate(record)
    if "vendor" in record and "enrichment" in record:
        return EnrichedVendor.model_validate(record)
    if "data" in record and "listing_key" in record:  # a document from `search --json`
        return EnrichedListing.model_validate(record["data"])
    if "listing_key" in record:
        return Listing.model_validate(record)
    if "profile" in record or "pgp_key" in record:
        return VendorProfile.model_validate(record)
    if "title" in record:
        from interdict.imports.records import listing_from_raw

        return listing_from_raw(RawListing.model_validate(record), market, None)
    raise ValueError("neither a listing nor a vendor record (nor a raw record with a title)")


def _enricher(config):
    from enrichment.pipeline import Enricher  # imported (spaCy with it) when a record needs enriching

    return Enricher.from_settings(config.enrichment)


class Index(Command):
    name = "index"
    help = "enriched listings or plain listings (JSON Lines) -> the store"

    def add_options(self, parser):
        parser.add_argument("input", nargs="?", default="-", metavar="FILE|-")
        add_store_option(parser)
        parser.add_argument("--market", help="raw records (a title and fields as `enrich` takes them): their "
                            "market, where a record has no market field")
        parser.add_argument("--replay", action="store_true",
                            help="only send what waits in the store's spool (batches kept while it was unavailable)")

    def run(self, args, config) -> int:
        from concurrent.futures import Future, wait

        from pydantic import ValidationError

        from contracts.inputs import describe_invalid
        from contracts.listings import EnrichedListing, Listing
        from crawlers.ingest import Ingest
        from index import open_store, record_digest
        from index.store import BULK_BATCH
        from interdict.bulk import collected_per_batch
        from interdict.jsonl import LineErrors, read_records
        from interdict.progress import Progress
        from interdict.trackers import alerting

        target = args.store or config.store.path
        errors = LineErrors(args.input)
        progress = Progress("indexed")
        with open_store(config, target) as store, alerting(config, store) as evaluator:
            ingest = Ingest(store, config.store.spool_dir, target, lambda: _enricher(config), batch_size=BULK_BATCH,
                            on_changes=evaluator)
            if args.replay:
                waiting = len(ingest.writer.spool.batches())
                if not ingest.drain():
                    raise UserError(f"store still unavailable; {ingest.writer.spool.pending_records()} record(s) "
                                    "stay spooled")
                print(f"replayed {waiting} spooled batch(es)", file=sys.stderr)
                return 0
            # Enriched listings wait in runs of up to a batch to be checked against the store: those
            # it holds as they are (a replayed file) are counted without being validated. While the
            # store looks a run up, the next one is read.
            unchecked: list[tuple[int, dict, tuple[str, str]]] = []
            asked: list[tuple[list[tuple[int, dict, tuple[str, str]]], Future]] = []  # one run at most

            def add(lineno: int, record: dict, digest: str | None = None) -> None:
                try:
                    item = as_indexable(record, args.market)
                except (ValidationError, ValueError) as exc:
                    errors.add(lineno, describe_invalid(exc) if isinstance(exc, ValidationError) else str(exc))
                    return
                if digest is None and isinstance(item, (Listing, EnrichedListing)):
                    settle()  # a listing read some other way: the ones read before it go first
                elif digest is None:
                    wait([answer for _, answer in asked])  # the store is asked one thing at a time
                ingest.add(item, digest)

            def settle_asked() -> None:
                while asked:
                    run, answer = asked.pop()
                    for (lineno, record, (_, digest)), held in zip(run, ingest.held(answer)):
                        if not held:
                            add(lineno, record, digest)

            def ask() -> None:
                settle_asked()
                if unchecked:
                    asked.append((list(unchecked), ingest.look_up([s for _, _, s in unchecked])))
                    unchecked.clear()

            def settle() -> None:
                ask()
                settle_asked()

            with store.bulk_writes(), collected_per_batch() as batch_done:
                for lineno, record in read_records(args.input, errors, config.input.max_line_chars):
                    if (sighting := record_digest(record)) is not None:
                        unchecked.append((lineno, record, sighting))
                        if len(unchecked) >= BULK_BATCH:
                            ask()
                    else:
                        add(lineno, record)
                    progress.tick()
                    if progress.count % BULK_BATCH == 0:  # as a batch has just been written, mostly
                        batch_done()
                settle()
                ingest.flush()
        progress.done()
        report = ingest.report
        raised = f"; {evaluator.alerts} alert(s) raised" if evaluator is not None else ""
        print(f"indexed {report.line()}; {len(errors.errors)} line(s) skipped{raised}", file=sys.stderr)
        return EXIT_PARTIAL if errors.errors or report.spooled else 0
