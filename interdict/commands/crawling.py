"""Crawling: `interdict crawl` (markets into the store, now) and `interdict schedule` (crawls
on cron schedules, interdict/schedule.py)."""

from __future__ import annotations

import argparse
import sys

from interdict.commands.base import EXIT_PARTIAL, Command, add_store_option, finite
from interdict.errors import UserError


def crawl_targets(markets: list[str], base_urls: list[str]) -> dict[str, str | None]:
    """Each market to crawl with the URL given for it by --base-url ([MARKET=]URL), else None."""
    targets: dict[str, str | None] = dict.fromkeys(markets)
    for value in base_urls:
        market, sep, url = value.partition("=")
        if not sep or "://" in market:
            if len(markets) > 1:
                raise UserError(f"--base-url {value!r}: name the market (MARKET=URL) when crawling several")
            market, url = markets[0], value
        if market not in targets:
            raise UserError(f"--base-url {value!r}: {market!r} is not among the markets to crawl")
        if not url.startswith(("http://", "https://")):
            raise UserError(f"--base-url {value!r}: the URL must start with http:// or https://")
        targets[market] = url
    return targets


class Crawl(Command):
    name = "crawl"
    help = "crawl one or more configured markets into the store"
    description = ("Crawl markets named in config/markets.toml; listings are validated, enriched and indexed as "
                   "they arrive.")

    def add_options(self, parser):
        parser.add_argument("markets", nargs="+", metavar="MARKET")
        add_store_option(parser)
        parser.add_argument("--base-url", action="append", default=[], metavar="[MARKET=]URL",
                            help="crawl this URL instead of the market's configured one; MARKET= when naming several")
        parser.add_argument("--output", "-o", metavar="FILE",
                            help="also write enriched listings as JSON Lines ('-' = stdout)")
        parser.add_argument("--verbose", action="store_true", help="Scrapy's INFO log on stderr")
        parser.add_argument("--mode", choices=["full", "incremental"], default="full",
                            help="full: every page (and what is gone becomes inactive); incremental: skip listing "
                                 "pages seen within crawl.incremental_refresh_days")
        parser.add_argument("--join", action="store_true",
                            help="with a shared frontier (crawl.frontier): work on a crawl of the market under way, "
                                 "beside its other workers, rather than skip the market")
        parser.add_argument("--trigger", default="manual", help=argparse.SUPPRESS)  # schedule:NAME from a schedule

    def run(self, args, config) -> int:
        from interdict.crawl import run_crawls

        for name in args.markets:
            config.market(name)
        if args.join and not config.crawl.frontier:
            raise UserError("--join shares a crawl through crawl.frontier (a Redis URL), and none is configured")
        targets = crawl_targets(args.markets, args.base_url)
        reports = run_crawls(config, targets, args.store or config.store.path, args.output, args.verbose,
                             trigger=args.trigger, mode=args.mode, join=args.join)
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


class Schedule(Command):
    name = "schedule"
    help = "crawls on cron schedules ([schedules.NAME] in the config): list, run"
    description = ("`schedule list` shows each schedule and its next run; `schedule run` runs them until "
                   "interrupted (each run an `interdict crawl` process; never two crawls of one market at once); "
                   "`schedule run --once NAME` runs one now.")

    def add_options(self, parser):
        parser.add_argument("action", choices=["list", "run"])
        parser.add_argument("--once", metavar="NAME",
                            help="run this schedule now, once, and exit with its crawl's status")
        parser.add_argument("--stop-after", type=finite, metavar="SECONDS", help="stop scheduling after this long "
                            "(a crawl under way finishes first)")
        add_store_option(parser)

    def run(self, args, config) -> int:
        from datetime import UTC, datetime

        from config import cron_trigger
        from interdict.schedule import run_once, run_schedules

        schedules = config.schedules
        if args.action == "list":
            now = datetime.now(UTC)
            for name, schedule in schedules.items():
                upcoming = cron_trigger(schedule.cron, schedule.timezone).get_next_fire_time(None, now)
                print(f"{name:<16} {schedule.cron:<18} {schedule.mode:<11} {', '.join(schedule.markets):<24} "
                      f"next {upcoming:%Y-%m-%d %H:%M:%S %Z}{'  on Scrapyd' if schedule.target == 'scrapyd' else ''}")
            if not schedules:
                print("no schedule configured ([schedules.NAME] in the config)", file=sys.stderr)
            return 0
        if args.once:
            if args.once not in schedules:
                raise UserError(f"unknown schedule {args.once!r} (configured: {', '.join(schedules) or 'none'})")
            return run_once(args.once, schedules[args.once], config, args.store)
        if not schedules:
            raise UserError("no schedule configured ([schedules.NAME] in the config): nothing to run")
        run_schedules(config, args.store, args.stop_after)
        return 0
