"""`interdict parse | enrich | index | demo`: the commands that move JSON Lines along."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from enrichment.contracts import EnrichedListing, EnrichedVendor, Listing, VendorProfile
from interdict.errors import UserError
from interdict.jsonl import LineErrors, describe_validation, read_records
from interdict.progress import Progress

EXIT_PARTIAL = 1
INDEX_BATCH = 500


def _decode(data: bytes) -> str:
    from w3lib.encoding import html_to_unicode

    return html_to_unicode(None, data)[1]


def cmd_parse(args, config) -> int:
    from crawlers.pages import PROFILES, PageError, profile_for_html

    failures = 0
    for name in args.files:
        path = Path(name)
        try:
            html = _decode(path.read_bytes())
        except OSError as exc:
            print(f"interdict: {name}: cannot read: {exc.strerror}", file=sys.stderr)
            failures += 1
            continue
        if args.market:
            market = config.market(args.market)
            profile = PROFILES.get(market.profile)
            market_name = market.name
        else:
            profile = profile_for_html(html)
            market_name = profile.name if profile else ""
        if profile is None:
            print(f"interdict: {name}: no page object recognises this page (name one with --market)", file=sys.stderr)
            failures += 1
            continue
        url = args.url or path.resolve().as_uri()
        page = profile.listing_page(url, html, market_name, datetime.fromtimestamp(path.stat().st_mtime, UTC))
        try:
            listing = page.to_listing()
        except PageError as exc:
            print(f"interdict: {name}: not a usable listing page ({exc.reason})", file=sys.stderr)
            failures += 1
            continue
        print(listing.model_dump_json())
    return EXIT_PARTIAL if failures else 0


def cmd_enrich(args, config) -> int:
    from enrichment.pipeline import Enricher

    errors = LineErrors(args.input)
    enricher = Enricher(config.enrichment.config or None, config.enrichment.batch_size)
    progress = Progress("enriched")

    def listings():
        for lineno, record in read_records(args.input, errors):
            try:
                yield Listing.model_validate(record)
            except ValidationError as exc:
                errors.add(lineno, f"not a listing: {describe_validation(exc)}")

    for enriched in enricher.enrich_listings(listings()):
        sys.stdout.write(enriched.model_dump_json() + "\n")
        progress.tick()
    progress.done()
    return EXIT_PARTIAL if errors.errors else 0


def _as_indexable(record: dict):
    """Accept what the other commands print: enriched records, plain ones, search hits."""
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
    raise ValueError("neither a listing nor a vendor record")


def cmd_index(args, config) -> int:
    from index import UpsertReport, open_store
    from index.spool import SpooledWriter, spool_for

    target = args.store or config.store.path
    errors = LineErrors(args.input)
    progress = Progress("indexed")
    report, vendor_report = UpsertReport(), UpsertReport()
    enricher = None
    spooled = 0
    with open_store(config, target) as store:
        writer = SpooledWriter(store, spool_for(config.store.spool_dir, target))
        if args.replay:
            waiting = len(writer.spool.batches())
            if not writer.drain():
                raise UserError(f"store still unavailable; {writer.spool.pending_records()} record(s) stay spooled")
            print(f"replayed {waiting} spooled batch(es)", file=sys.stderr)
            return 0
        batch: list = []

        def flush() -> None:
            nonlocal report, vendor_report, enricher, spooled
            plain = [r for r in batch if isinstance(r, (Listing, VendorProfile))]
            if plain and enricher is None:
                from enrichment.pipeline import Enricher

                enricher = Enricher(config.enrichment.config or None, config.enrichment.batch_size)
            listings = [r for r in batch if isinstance(r, EnrichedListing)]
            listings += list(enricher.enrich_listings(r for r in plain if isinstance(r, Listing))) if plain else []
            vendors = [r for r in batch if isinstance(r, EnrichedVendor)]
            vendors += list(enricher.enrich_vendors(r for r in plain if isinstance(r, VendorProfile))) if plain else []
            for kind, records in (("listings", listings), ("vendors", vendors)):
                result = writer.write(kind, records)
                if result is None:
                    spooled += len(records)
                elif kind == "listings":
                    report += result
                else:
                    vendor_report += result
            progress.tick(len(batch))
            batch.clear()

        for lineno, record in read_records(args.input, errors):
            try:
                batch.append(_as_indexable(record))
            except (ValidationError, ValueError) as exc:
                reason = describe_validation(exc) if isinstance(exc, ValidationError) else str(exc)
                errors.add(lineno, reason)
                continue
            if len(batch) >= INDEX_BATCH:
                flush()
        flush()
    progress.done()
    print(f"indexed listings: {report.new} new, {report.updated} updated, {report.unchanged} unchanged; "
          f"vendors: {vendor_report.new} new, {vendor_report.updated} updated; "
          f"{len(errors.errors)} line(s) skipped"
          + (f"; store unavailable: {spooled} record(s) spooled (`interdict index --replay` sends them)"
             if spooled else ""), file=sys.stderr)
    return EXIT_PARTIAL if errors.errors or spooled else 0


def cmd_store(args, config) -> int:
    from index import open_store

    with open_store(config, args.store) as store:
        print(store.migrate())
    return 0


def cmd_demo(args, config) -> int:
    from interdict.demo.run import run_demo, serve_only

    seed = config.demo.seed if args.seed is None else args.seed
    epoch = config.demo.epoch if args.epoch is None else args.epoch
    if args.serve_only:
        return serve_only(config, seed, epoch)
    return run_demo(config, seed, epoch, args.store or config.store.path, args.verbose, tor=args.tor)


__all__ = ["cmd_demo", "cmd_enrich", "cmd_index", "cmd_parse", "UserError"]
