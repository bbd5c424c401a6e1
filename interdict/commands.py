"""The `interdict` subcommands, one `cmd_<name>` each; interdict/cli.py parses and dispatches."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from pydantic import ValidationError

from contracts.inputs import describe_invalid
from contracts.listings import EnrichedListing, EnrichedVendor, Listing, VendorProfile
from index import Query, open_store
from interdict.errors import UserError
from interdict.evidence import cmd_evidence  # noqa: F401 - dispatched by name from cli.py
from interdict.handoff import cmd_handoff  # noqa: F401 - dispatched by name from cli.py
from interdict.imports import cmd_import  # noqa: F401 - dispatched by name from cli.py
from interdict.jobs import cmd_jobs  # noqa: F401 - dispatched by name from cli.py
from interdict.jsonl import LineErrors, read_records
from interdict.monitoring import cmd_metrics, cmd_status  # noqa: F401 - dispatched by name from cli.py
from interdict.progress import Progress
from interdict.schedule import cmd_schedule  # noqa: F401 - dispatched by name from cli.py
from interdict.service import cmd_audit, cmd_keys, cmd_serve  # noqa: F401 - dispatched by name from cli.py
from interdict.shipments import cmd_match, cmd_shipments  # noqa: F401 - dispatched by name from cli.py
from interdict.watchlist import cmd_watchlist  # noqa: F401 - dispatched by name from cli.py

EXIT_PARTIAL = 1
INDEX_BATCH = 500


def _decode(data: bytes) -> str:
    from crawlers.extract.encoding import decode_html

    return decode_html(data)[0]


def _captured(value: str | None) -> datetime | None:
    """--captured: the day (or moment) the pages were saved, UTC unless it says otherwise."""
    found = _date(value, "--captured")
    return found.replace(tzinfo=UTC) if found is not None and found.tzinfo is None else found


def _date(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise UserError(f"{option}: {value!r} is not an ISO date such as 2026-11-28") from None


def _filters(pairs: list[str]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or not value:
            raise UserError(f"--filter {pair!r}: expected FIELD=VALUE, e.g. ships_from=NL")
        filters.setdefault(field.strip(), []).append(value)
    return filters


def cmd_search(args, config) -> int:
    from interdict.render import facet_line, hit_lines

    query = Query(text=args.query, filters=_filters(args.filter), price_min_usd=args.price_min,
                  price_max_usd=args.price_max, date_field="first_seen" if args.first_seen else "last_seen",
                  date_from=_date(args.since, "--since"), date_to=_date(args.until, "--until"),
                  facets=args.facet, sort=args.sort, limit=args.limit, offset=args.offset)
    with open_store(config, args.store) as store:
        result = store.search(query)
    if result.unreadable:
        print(f"interdict: {result.unreadable} stored document(s) of this page could not be read and were left out "
              f"(`interdict store migrate` sets them aside)", file=sys.stderr)
    if args.json:
        for hit in result.hits:
            print(json.dumps({"score": hit.score, "highlights": hit.highlights,
                              **hit.document.model_dump(mode="json")}, ensure_ascii=False))
        if args.facet:
            print(json.dumps({"total": result.total, "facets": {f: [c.model_dump() for c in counts]
                                                                  for f, counts in result.facets.items()}}))
        return 0
    print(f"{result.total} listing(s) match" + (f"; showing {args.offset + 1}–{args.offset + len(result.hits)}"
                                                 if result.hits else ""))
    for hit in result.hits:
        print("\n".join(hit_lines(hit)))
    for field, counts in result.facets.items():
        print(facet_line(field, counts))
    return 0


def cmd_vendors(args, config) -> int:
    from index.vendor_search import find_vendors

    if not args.query.strip():
        raise UserError("vendors: give a name or an identifier to look for")
    with open_store(config, args.store) as store:
        hits = find_vendors(store, args.query, args.market, args.limit)
    if args.json:
        for hit in hits:
            print(json.dumps(hit.as_dict(), ensure_ascii=False, default=str))
        return 0
    print(f"{len(hits)} vendor(s) match")
    for hit in hits:
        seen = f" · last seen {hit.last_seen.date()}" if hit.last_seen else ""
        print(f"{hit.name}  [{hit.market}]  {hit.listings} listing(s) · "
              f"{'profile crawled' if hit.profile else 'known from its listings'}{seen}  id {hit.id}")
        for why in hit.why:
            print(f"    {why}")
    return 0


def cmd_crawl(args, config) -> int:
    from interdict.crawl import run_crawls

    for name in args.markets:
        config.market(name)
    if args.join and not config.crawl.frontier:
        raise UserError("--join shares a crawl through crawl.frontier (a Redis URL), and none is configured")
    targets: dict[str, str | None] = dict.fromkeys(args.markets)
    for value in args.base_url:
        market, sep, url = value.partition("=")
        if not sep or "://" in market:
            if len(args.markets) > 1:
                raise UserError(f"--base-url {value!r}: name the market (MARKET=URL) when crawling several")
            market, url = args.markets[0], value
        if market not in targets:
            raise UserError(f"--base-url {value!r}: {market!r} is not among the markets to crawl")
        if not url.startswith(("http://", "https://")):
            raise UserError(f"--base-url {value!r}: the URL must start with http:// or https://")
        targets[market] = url
    store_path = args.store or config.store.path
    reports = run_crawls(config, targets, store_path, args.output, args.verbose, trigger=args.trigger, mode=args.mode,
                         join=args.join)
    for report in reports:
        print("\n".join(report.lines()), file=sys.stderr)
    paused = [r.market for r in reports if r.paused]
    failed = [r.market for r in reports if r.pages == 0 and not r.paused and not r.skipped]
    cut_short = [r.market for r in reports if r.pages and not r.paused
                 and r.stats.get("finish_reason") not in (None, "finished")]
    if any(r.skipped for r in reports):
        return EXIT_PARTIAL
    if paused:
        print(f"interdict: {', '.join(paused)} paused at a wall: see `interdict handoff`", file=sys.stderr)
        return EXIT_PARTIAL
    if failed:
        print(f"interdict: error: no page could be fetched from {', '.join(failed)}", file=sys.stderr)
        return EXIT_PARTIAL
    if cut_short:
        print(f"interdict: error: the crawl of {', '.join(cut_short)} ended early (see above)", file=sys.stderr)
        return EXIT_PARTIAL
    return 0


def cmd_parse(args, config) -> int:
    """Saved pages -> one JSON object per listing found (a listing page gives one, an index
    page one per listing block); pages without listings are reported on stderr with the
    reason. --as-listing prints the crawl contract instead (what `index` takes)."""
    from crawlers.extract import parse_page, to_listing
    from crawlers.extract.walls import merged_markers
    from crawlers.pages import PROFILES, PageError, profile_for_html

    failures = 0
    captured = _captured(args.captured)
    for name in args.files:
        path = Path(name)
        try:
            html = _decode(path.read_bytes())
        except OSError as exc:
            print(f"interdict: {name}: cannot read: {exc.strerror}", file=sys.stderr)
            failures += 1
            continue
        market = config.markets.get(args.market) if args.market else None  # a market no longer crawled is fine
        profile = None if args.generic else (PROFILES.get(market.profile) if market else None) or profile_for_html(html)
        market_name = args.market or (profile.name if profile else "")
        crawled_at = captured or datetime.fromtimestamp(path.stat().st_mtime, UTC)
        url = args.url or path.resolve().as_uri()
        result = parse_page(html, url, profile, market_name, crawled_at,
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


CRAWLED_LISTING_KEYS = {"market", "url", "listing_key", "crawled_at"}


def cmd_enrich(args, config) -> int:
    """Crawled listings (what `parse` and `crawl -o` print) come back as {listing, enrichment};
    raw records (at least a title, fields as markets show them) come back as themselves plus
    an `enrichment` object (docs/enrichment.md). Input order is kept."""
    from contracts.listings import RawListing
    from enrichment.pipeline import Enricher

    errors = LineErrors(args.input)
    enricher = Enricher.from_settings(config.enrichment)
    progress = Progress("enriched")

    def flush(kind: str, batch: list[tuple[dict, object]]) -> None:
        if kind == "listing":
            for enriched in enricher.enrich_listings(item for _, item in batch):
                sys.stdout.write(enriched.model_dump_json() + "\n")
                progress.tick()
            return
        results = enricher.enrich_raw(item for _, item in batch)
        for (original, _), (_, enrichment) in zip(batch, results):
            # The record goes back exactly as it came, with the enrichment added.
            original["enrichment"] = enrichment.model_dump(mode="json", exclude={"search_text"})
            sys.stdout.write(json.dumps(original, ensure_ascii=False) + "\n")
            progress.tick()

    kind, batch = "", []
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


def cmd_eval(args, config) -> int:
    from enrichment.evaluation.run import evaluate, write_json
    from enrichment.pipeline import Enricher

    if args.stage == "matching":
        from interdict.shipments import eval_matching

        return eval_matching(args, config)
    if args.stage == "watchlist":
        return _eval_watchlist(args, config)
    if not args.data:
        raise UserError(f"eval {args.stage}: --data DIR is required (the shared datasets folder)")
    data = Path(args.data)
    if not data.is_dir():
        raise UserError(f"no datasets at {data} (expected the shared data folder; see its README)")
    if args.stage == "parsing":
        return _eval_parsing(args, data)
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


def _eval_watchlist(args, config) -> int:
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


def _eval_parsing(args, data: Path) -> int:
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


def _as_indexable(record: dict, market: str | None = None):
    """Accept what the other commands print: enriched records, plain ones, search hits, and
    raw records (a title and fields as markets show them, as `enrich` takes them)."""
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
        from contracts.listings import RawListing
        from interdict.imports.records import listing_from_raw

        return listing_from_raw(RawListing.model_validate(record), market, None)
    raise ValueError("neither a listing nor a vendor record (nor a raw record with a title)")


def cmd_index(args, config) -> int:
    from crawlers.ingest import Ingest
    from enrichment.pipeline import Enricher

    target = args.store or config.store.path
    errors = LineErrors(args.input)
    progress = Progress("indexed")
    with open_store(config, target) as store:
        ingest = Ingest(store, config.store.spool_dir, target, lambda: Enricher.from_settings(config.enrichment),
                        batch_size=INDEX_BATCH)
        if args.replay:
            waiting = len(ingest.writer.spool.batches())
            if not ingest.drain():
                raise UserError(f"store still unavailable; {ingest.writer.spool.pending_records()} record(s) "
                                "stay spooled")
            print(f"replayed {waiting} spooled batch(es)", file=sys.stderr)
            return 0
        for lineno, record in read_records(args.input, errors, config.input.max_line_chars):
            try:
                ingest.add(_as_indexable(record, args.market))
            except (ValidationError, ValueError) as exc:
                reason = describe_invalid(exc) if isinstance(exc, ValidationError) else str(exc)
                errors.add(lineno, reason)
                continue
            progress.tick()
        ingest.flush()
    progress.done()
    report = ingest.report
    print(f"indexed {report.line()}; {len(errors.errors)} line(s) skipped", file=sys.stderr)
    return EXIT_PARTIAL if errors.errors or report.spooled else 0


def cmd_store(args, config) -> int:
    with open_store(config, args.store) as store:
        print(store.migrate())
    return 0


def cmd_demo(args, config) -> int:
    from interdict.demo.run import run_demo, serve_only

    seed = config.demo.seed if args.seed is None else args.seed
    epoch = config.demo.epoch if args.epoch is None else args.epoch
    if args.serve_only:
        return serve_only(config, seed, epoch, walls=args.walls)
    return run_demo(config, seed, epoch, args.store or config.store.path, args.verbose, tor=args.tor)


__all__ = ["cmd_crawl", "cmd_demo", "cmd_enrich", "cmd_eval", "cmd_index", "cmd_parse", "cmd_search", "cmd_store"]
