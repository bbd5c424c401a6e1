"""The `interdict` command. Subcommands read and write JSON Lines so they pipe into each
other and into jq; a user mistake gives one line on stderr and a non-zero exit."""

from __future__ import annotations

import argparse
import math
import os
import sys

from pydantic import ValidationError

from config import ConfigError, load_config
from enrichment import tune_gc_for_volume
from index import FILTER_FIELDS, QueryError, StoreError
from index.query import EXACT_FILTERS
from interdict.errors import UserError



class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake on the command line is one line, like every other error."""

    def error(self, message: str):
        self.exit(2, f"interdict: error: {message} (see {self.prog} --help)\n")


def finite(text: str) -> float:
    """An argparse type: a float that is a number (not inf or nan)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="interdict", description=(
        "Dark-web and marketplace intelligence for customs: crawl markets, enrich listings, "
        "index and search them."))
    parser.add_argument("--config", help="operator config file merged over the defaults (or $INTERDICT_CONFIG)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    def store_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument("--store", metavar="PATH|URL", help="embedded store file, 'elasticsearch' (the configured "
                       "cluster) or a cluster URL (default: config store.backend / store.path)")

    p = sub.add_parser("demo", help="run the whole chain on the bundled demo markets and print a summary",
                       description="Start the demo marketplaces on loopback, crawl them, enrich, index "
                                   "into the embedded store, and print a summary and a sample search.")
    store_arg(p)
    p.add_argument("--seed", type=int, help="content seed (default: config demo.seed)")
    p.add_argument("--epoch", type=int, help="market state; a later epoch moves some prices")
    p.add_argument("--tor", action="store_true",
                   help="serve the markets as onion services on a private Tor network and crawl them through it")
    p.add_argument("--walls", action="store_true",
                   help="with --serve-only: a members-only section behind a login (Sable) and a CAPTCHA (Vesper)")
    p.add_argument("--serve-only", action="store_true",
                   help="only serve the demo markets on their configured URLs until interrupted")
    p.add_argument("--verbose", action="store_true", help="Scrapy's INFO log on stderr")

    p = sub.add_parser("crawl", help="crawl one or more configured markets into the store",
                       description="Crawl markets named in config/markets.toml; listings are validated, "
                                   "enriched and indexed as they arrive.")
    p.add_argument("markets", nargs="+", metavar="MARKET")
    store_arg(p)
    p.add_argument("--base-url", action="append", default=[], metavar="[MARKET=]URL",
                   help="crawl this URL instead of the market's configured one; MARKET= when naming several")
    p.add_argument("--output", "-o", metavar="FILE", help="also write enriched listings as JSON Lines ('-' = stdout)")
    p.add_argument("--verbose", action="store_true", help="Scrapy's INFO log on stderr")
    p.add_argument("--mode", choices=["full", "incremental"], default="full",
                   help="full: every page (and what is gone becomes inactive); incremental: skip listing pages "
                        "seen within crawl.incremental_refresh_days")
    p.add_argument("--join", action="store_true",
                   help="with a shared frontier (crawl.frontier): work on a crawl of the market under way, beside "
                        "its other workers, rather than skip the market")
    p.add_argument("--trigger", default="manual", help=argparse.SUPPRESS)  # schedule:NAME when a schedule runs it

    p = sub.add_parser("parse", help="saved market pages -> one JSON object per listing found",
                       description="Read saved pages with their market's page object when one recognises them, "
                                   "else with the generic extractor (any market layout): a listing page gives one "
                                   "object, an index page one per listing block, each with title, price, vendor, "
                                   "ships_from, ships_to, category, description and a confidence per field. Pages "
                                   "with no listing (walls, errors, empty) are named on stderr with the reason.")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--market", help="market name from the config (default: recognised from the page)")
    p.add_argument("--url", help="the URL the page was fetched from (default: a file:// URL)")
    p.add_argument("--as-listing", action="store_true",
                   help="print the crawl contract (what `enrich` and `index` take) instead; confident fields only")
    p.add_argument("--generic", action="store_true",
                   help="read every page with the generic extractor, even where a page object knows the market")
    p.add_argument("--captured", metavar="DATE",
                   help="when the pages were saved (ISO date; default: each file's modification time)")

    p = sub.add_parser("enrich", help="listings (JSON Lines) -> enriched listings (JSON Lines)",
                       description="Each line: a crawled listing (as `parse` prints it) or a raw record with at "
                                   "least a title and optionally description, vendor, price, currency, ships_from, "
                                   "ships_to, category, market, date, as text the way a market shows them. Raw "
                                   "records come back unchanged plus an `enrichment` object (docs/enrichment.md).")
    p.add_argument("input", nargs="?", default="-", metavar="FILE|-")

    p = sub.add_parser("eval", help="measure a stage: `eval enrichment|parsing --data DIR` on labelled real data, "
                       "`eval matching` on a synthetic shipment stream with planted matches",
                       description="enrichment: per-field precision, recall and F1 of the enrichment stage against "
                                   "the markets' own structured fields, on a development and a held-out part (split "
                                   "by vendor; docs/enrichment.md). parsing: per-field accuracy of the generic "
                                   "extractor on the labelled market pages (docs/parsing.md). watchlist: the default "
                                   "feed of --store — left-out terms per reason, the share of generic English words, "
                                   "the heaviest terms per kind and the reviewed share kept (docs/matching.md).")
    p.add_argument("stage", choices=["enrichment", "parsing", "matching", "watchlist"])
    p.add_argument("--data", metavar="DIR", help="enrichment, parsing: the shared datasets folder (../shared/data); "
                   "matching: index its datasets (into --store, kept and reused, else a scratch store) and plant "
                   "shipments from them")
    store_arg(p)
    p.add_argument("--shipments", type=int, default=3000, help="matching: synthetic shipments (default 3000)")
    p.add_argument("--demo", action="store_true", help="matching: on the demo catalog indexed with staggered "
                   "listing lifetimes in a scratch store (the figures of docs/matching.md), not --store")
    p.add_argument("--decoys", type=finite, default=0.4, help="matching: share of lawful decoys (default 0.4)")
    p.add_argument("--seed", type=int, default=7, help="matching: seed of the synthetic stream")
    p.add_argument("--ceiling", action="store_true", help="matching: also the recall@5 any ranking could reach "
                   "with what the parcels say (every offer that fits scored alone; slow)")
    p.add_argument("--threshold", type=finite, help="matching: score that makes a match (default: config)")
    p.add_argument("--top", type=int, help=argparse.SUPPRESS)
    p.add_argument("--datasets", metavar="NAMES", help="comma-separated subset: agora,torrez,alphabay,dream,routes")
    p.add_argument("--limit", type=int, metavar="N", help="an even sample of N listings per dataset")
    p.add_argument("--json", metavar="FILE", help="also write the scores as JSON")
    p.add_argument("--errors", metavar="FILE", help="write up to 200 missed categories per dataset (dev part only)")
    p.add_argument("--draw", type=int, metavar="N", help="watchlist: print N feed terms drawn with a fixed seed "
                   "(JSON Lines) to review instead of the report")

    p = sub.add_parser("shipments", help="check shipment files (CSV or JSON Lines): every bad row named",
                       description="Read postal/express shipment records (CN23/ITMATT/ICS2-like; format and sample "
                                   "in docs/shipments.md). Bad rows are reported as FILE:ROW: COLUMN: REASON; an item "
                                   "with a bad row is not processed and says so; exit 1 if anything was reported.")
    p.add_argument("action", choices=["check", "generate"], help="check FILE...: validate; generate: a synthetic "
                   "stream from the indexed listings with planted matches and lawful decoys (docs/matching.md)")
    p.add_argument("files", nargs="*", metavar="FILE")
    p.add_argument("--json", action="store_true", help="check: print each good shipment as JSON (normalised)")
    p.add_argument("--out", metavar="FILE", help="generate: write the shipments here (JSON Lines)")
    p.add_argument("--truth", metavar="FILE", help="generate: write the planted answers here (JSON Lines)")
    p.add_argument("--count", type=int, default=1000, help="generate: shipments (default 1000)")
    p.add_argument("--decoys", type=finite, default=0.4, help="generate: share of lawful decoys (default 0.4)")
    p.add_argument("--seed", type=int, default=7)
    store_arg(p)

    p = sub.add_parser("match", help="match shipment files against the indexed listings, with reasons",
                       description="Each shipment's best matching listings (or vendors), each with a score (a "
                                   "probability) and the reasons that make it up, and the declaration's own risk "
                                   "flags (docs/matching.md). Bad rows are reported as by `shipments check`.")
    p.add_argument("files", nargs="+", metavar="FILE")
    store_arg(p)
    p.add_argument("--json", action="store_true", help="one JSON object per shipment")
    p.add_argument("--workers", type=int, default=1, help="processes (one per core; default 1)")
    p.add_argument("--threshold", type=finite, help="score that makes a match (default: config matching.threshold)")
    p.add_argument("--top", type=int, help="matches kept per shipment (default: config matching.top)")

    p = sub.add_parser("watchlist", help="terms for risk engines from the index: `watchlist export`",
                       description="Products and slang, vendor names and aliases, identifiers, routes, concealment "
                                   "and declaration phrases, each with first/last seen, listing count, markets, "
                                   "countries, HS codes and example listings, plus the curated terms of config "
                                   "[watchlist], each with a weight (0-1). The default feed leaves out common "
                                   "and generic words and terms below watchlist.min_weight (--all keeps them, with "
                                   "the reason). The cursor printed on stderr gives the next increment (--since).")
    p.add_argument("action", choices=["export"])
    p.add_argument("--all", action="store_true", help="every term, those the default feed leaves out too (see `excluded`)")
    p.add_argument("--format", default="json", choices=["json", "csv", "stix"])
    p.add_argument("--since", metavar="CURSOR", help="only terms new or seen again since the export that printed it")
    p.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    store_arg(p)

    p = sub.add_parser("jobs", help="crawl job history: start, end, status, pages, listings, errors, bans",
                       description="Each market crawl as recorded in the store: when it ran, how it ended (finished, "
                                   "failed with the reason, paused at a wall, interrupted when its process died), "
                                   "pages, listings new/updated/unchanged, errors, bans, circuit renewals and the "
                                   "mirror that served most pages. Latest first.")
    p.add_argument("--market", help="only this market")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--json", action="store_true", help="one JSON object per job")
    store_arg(p)

    p = sub.add_parser("schedule", help="crawls on cron schedules ([schedules.NAME] in the config): list, run",
                       description="`schedule list` shows each schedule and its next run; `schedule run` runs "
                                   "them until interrupted (each run an `interdict crawl` process; never two "
                                   "crawls of one market at once); `schedule run --once NAME` runs one now.")
    p.add_argument("action", choices=["list", "run"])
    p.add_argument("--once", metavar="NAME", help="run this schedule now, once, and exit with its crawl's status")
    p.add_argument("--stop-after", type=finite, metavar="SECONDS", help="stop scheduling after this long "
                   "(a crawl under way finishes first)")
    store_arg(p)

    p = sub.add_parser("status", help="each market: up, failing, paused at a wall, running; mirror; last success",
                       description="From the job history and the hand-off states. Exit 1 when a market is failing "
                                   "or paused (for monitoring scripts).")
    store_arg(p)

    p = sub.add_parser("metrics", help="crawl and index metrics in Prometheus text format (also GET /api/metrics)")
    store_arg(p)

    p = sub.add_parser("serve", help="the HTTP API and analyst web app (config [api]; docs/api.md)",
                       description="Search, listings, vendors, shipment matching, match review and the watchlist "
                                   "feed over HTTP. Every route but /health needs an API key: `interdict keys create`.")
    store_arg(p)
    p.add_argument("--host", help="address to listen on (default: config api.host, loopback)")
    p.add_argument("--port", type=int, help="port (default: config api.port)")

    p = sub.add_parser("keys", help="API keys: `keys create NAME --role ROLE`, `keys list`, `keys revoke KEY_ID`",
                       description="Roles: analyst (search, read, match, review), risk-engine (watchlist, match), "
                                   "admin (keys, audit, crawl jobs, metrics), monitor (metrics). A key is printed once, at creation, and kept "
                                   "only as a digest.")
    p.add_argument("action", nargs="?", default="list", choices=["create", "list", "revoke"])
    p.add_argument("name", nargs="?", metavar="NAME|KEY_ID", help="create: who or what uses it; revoke: its id")
    p.add_argument("--role", choices=["analyst", "risk-engine", "admin", "monitor"])

    p = sub.add_parser("audit", help="the API's audit log: who searched, viewed, exported or matched what, when",
                       description="Oldest first of the latest --limit records. --verify checks the hash chain "
                                   "that links every record to the one before it (exit 1 if a record was altered "
                                   "or removed).")
    p.add_argument("--limit", type=int, default=100)
    p.add_argument("--action", help="only this action: search, view, match, review, export, keys, denied")
    p.add_argument("--key", metavar="KEY_ID", help="only this key's records")
    p.add_argument("--json", action="store_true")
    p.add_argument("--verify", action="store_true")

    p = sub.add_parser("handoff", help="markets paused at a login wall, CAPTCHA or DDoS queue, for an operator",
                       description="list: each paused market with the URL, since when, what was seen and how to "
                                   "resume. resolve MARKET: clear the pause (e.g. after a DDoS queue has passed). "
                                   "Supplying a fresh session for a market in crawl.sessions_file resumes it at its "
                                   "next crawl by itself.")
    p.add_argument("action", nargs="?", default="list", choices=["list", "resolve"])
    p.add_argument("market", nargs="?", metavar="MARKET")
    p.add_argument("--note", help="resolve: why (kept in the hand-off history)")
    p.add_argument("--json", action="store_true", help="list: one JSON object per paused market")

    p = sub.add_parser("evidence", help="the raw page behind a document, and a check of the WARC archive",
                       description="show DOC_ID: the page an indexed listing or vendor was read from, as archived "
                                   "(metadata and digests on stderr, the page on stdout). verify: re-compute every "
                                   "record's SHA-256 digests and check every indexed document's reference; exit 1 "
                                   "on any mismatch. The archive is config evidence.dir.")
    p.add_argument("action", choices=["show", "verify"])
    p.add_argument("doc_id", nargs="?", metavar="DOC_ID", help="a document id (`search --json` prints it)")
    p.add_argument("--headers-only", action="store_true", help="show: metadata and digests only")
    store_arg(p)

    p = sub.add_parser("import", help="saved pages, archives, WARC files and datasets -> the store (docs/import.md)",
                       description="Bring in real captures: saved pages and folders of them (found by content, "
                                   "recursively), .tar/.tar.gz/.zip archives (read in place), WARC files of any "
                                   "crawler, and CSV / JSON Lines / MySQL-dump datasets (columns mapped with --map). "
                                   "Each listing keeps its capture date and a reference to the page, kept as WARC "
                                   "evidence; a re-run skips what was imported.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--market", help="the market's name (default: the pages' host, or the archive's top folder); "
                   "no config entry needed")
    p.add_argument("--captured", metavar="DATE", help="when the captures were made (ISO date), where the input "
                   "does not say (WARC-Date and date columns win); default: the files' modification time")
    p.add_argument("--format", choices=["auto", "html", "warc", "csv", "jsonl", "sql"], default="auto",
                   help="what the inputs are (default: told by content)")
    p.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                   help="datasets: the column that holds FIELD (title, vendor, price, currency, description, "
                        "ships_from, ships_to, category, url, date, market; vendors: name, profile, pgp_key, "
                        "contact, joined); COL1+COL2 joins columns; unmapped fields are guessed and printed")
    p.add_argument("--encoding", default="utf-8", help="datasets: their text encoding (e.g. mac_roman, cp1252)")
    p.add_argument("--currency", metavar="CODE", help="datasets: the currency of bare price numbers (e.g. BTC)")
    p.add_argument("--kind", choices=["listings", "vendors"], default="listings",
                   help="datasets: rows are listings (default) or vendor profiles")
    p.add_argument("--generic", action="store_true", help="pages: the generic extractor even where a page object "
                   "knows the market")
    p.add_argument("--workers", type=int, default=0, help="pages: parser processes (default: one per core)")
    store_arg(p)

    p = sub.add_parser("index", help="enriched listings or plain listings (JSON Lines) -> the store")
    p.add_argument("input", nargs="?", default="-", metavar="FILE|-")
    store_arg(p)
    p.add_argument("--market", help="raw records (a title and fields as `enrich` takes them): their market, "
                   "where a record has no market field")
    p.add_argument("--replay", action="store_true",
                   help="only send what waits in the store's spool (batches kept while it was unavailable)")

    p = sub.add_parser("store", help="store maintenance: `store migrate`")
    p.add_argument("action", choices=["migrate"], help="migrate: Elasticsearch: next index version behind the "
                   "alias; embedded: rebuild the search structures from the stored documents")
    store_arg(p)

    p = sub.add_parser("vendors", help="find vendors by name, alias or identifier, on one market or all",
                       description="QUERY: a vendor name (any case and accents) or an identifier in any written "
                                   "form: PGP fingerprint (spaced or not) or key id (0x…), wallet, e-mail, phone, "
                                   "@handle, onion. Aliases (vendors sharing an identifier) are listed with what "
                                   "they share.")
    p.add_argument("query", metavar="QUERY")
    store_arg(p)
    p.add_argument("--market", action="append", default=[], metavar="MARKET", help="only this market; repeat for more")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true", help="one JSON object per vendor")

    p = sub.add_parser("search", help="full-text search with filters and facets",
                       description="Words must all match (accents and case ignored); \"quoted phrases\" "
                                   "match in order; -word excludes. Filters: " + ", ".join([*FILTER_FIELDS, *EXACT_FILTERS])
                                   + " (ships_to=US also finds listings to North America or worldwide that do not "
                                     "exclude US; ships_to_exact=US only those naming US).")
    p.add_argument("query", nargs="?", default="", metavar="QUERY")
    store_arg(p)
    p.add_argument("--filter", "-f", action="append", default=[], metavar="FIELD=VALUE",
                   help="exact filter; repeat for more (same field: any of, different fields: all of)")
    p.add_argument("--price-min", type=finite, metavar="USD")
    p.add_argument("--price-max", type=finite, metavar="USD")
    p.add_argument("--since", metavar="DATE", help="last seen on or after (ISO date or datetime)")
    p.add_argument("--until", metavar="DATE", help="last seen on or before")
    p.add_argument("--first-seen", action="store_true", help="--since/--until apply to first seen instead")
    p.add_argument("--sort", default="relevance", choices=["relevance", "price", "-price", "last_seen", "-last_seen",
                                                            "first_seen", "-first_seen"])
    p.add_argument("--limit", type=int, default=10)
    p.add_argument("--offset", type=int, default=0)
    p.add_argument("--facet", action="append", default=[], metavar="FIELD", help="count values of FIELD over the hits")
    p.add_argument("--json", action="store_true", help="one JSON document per hit (and a last facets line)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    tune_gc_for_volume()  # enrichment is a third faster (enrichment.GC_THRESHOLDS)
    try:
        config = load_config(args.config)
        from interdict import commands

        return getattr(commands, f"cmd_{args.command}")(args, config)
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
