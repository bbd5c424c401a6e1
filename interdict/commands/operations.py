"""Watching crawls: `interdict jobs` (the job history), `interdict status` and `interdict
metrics` (interdict/monitoring.py), and `interdict handoff` (markets paused at a wall)."""

from __future__ import annotations

import json
import sys

from interdict.commands.base import Command, add_store_option
from interdict.errors import UserError


class Jobs(Command):
    name = "jobs"
    help = "crawl job history: start, end, status, pages, listings, errors, bans"
    description = ("Each market crawl as recorded in the store: when it ran, how it ended (finished, failed with "
                   "the reason, paused at a wall, interrupted when its process died), pages, listings "
                   "new/updated/unchanged, errors, bans, circuit renewals and the mirror that served most pages. "
                   "Latest first.")

    def add_options(self, parser):
        parser.add_argument("--market", help="only this market")
        parser.add_argument("--limit", type=int, default=50)
        parser.add_argument("--json", action="store_true", help="one JSON object per job")
        add_store_option(parser)

    def run(self, args, config) -> int:
        from index import open_store

        with open_store(config, args.store) as store:
            jobs = store.jobs(market=args.market, limit=args.limit)
        for job in jobs:
            if args.json:
                print(job.model_dump_json())
                continue
            took = f"{job.seconds:.0f} s" if job.seconds is not None else "running"
            gone = (f", {job.listings_inactivated} listings and {job.vendors_disappeared} vendors gone inactive"
                    if job.listings_inactivated or job.vendors_disappeared else "")
            print(f"{job.started:%Y-%m-%d %H:%M:%S}  {job.market:<12} {job.status:<11} {took:>8}  {job.pages} pages, "
                  f"{job.listings} listings ({job.listings_new} new, {job.listings_updated} updated, "
                  f"{job.listings_unchanged} unchanged), {job.errors} errors, {job.bans} bans, "
                  f"{job.circuit_renewals} renewals{f', mirror {job.mirror}' if job.mirror else ''}{gone}"
                  f"{f' — {job.reason}' if job.reason else ''}")
        if not jobs:
            print("no crawl job recorded yet" + (f" for {args.market}" if args.market else ""), file=sys.stderr)
        return 0


class Status(Command):
    name = "status"
    help = "each market: up, failing, paused at a wall, running; mirror; last success"
    description = ("From the job history and the hand-off states. Exit 1 when a market is failing or paused (for "
                   "monitoring scripts).")

    def add_options(self, parser):
        add_store_option(parser)

    def run(self, args, config) -> int:
        from index import open_store
        from interdict.monitoring import frontier_lines, market_statuses

        with open_store(config, args.store) as store:
            statuses = market_statuses(config, store)
        frontier = frontier_lines(config)
        for s in statuses:
            success = f"{s.last_success.ended:%Y-%m-%d %H:%M}" if s.last_success and s.last_success.ended else "never"
            print(f"{s.market:<16} {s.state:<14} last success {success:<17} mirror {s.mirror or '—'}"
                  + (f"  ({s.detail})" if s.detail else ""))
            if s.market in frontier:
                print(f"{'':<16} {frontier[s.market]}")
        return 1 if any(s.state in ("failing", "paused") for s in statuses) else 0


class Metrics(Command):
    name = "metrics"
    help = "crawl and index metrics in Prometheus text format (also GET /api/metrics)"

    def add_options(self, parser):
        add_store_option(parser)

    def run(self, args, config) -> int:
        from index import open_store
        from interdict.monitoring import metrics_text

        with open_store(config, args.store) as store:
            sys.stdout.write(metrics_text(config, store).decode())
        return 0


class Handoff(Command):
    name = "handoff"
    help = "markets paused at a login wall, CAPTCHA or DDoS queue, for an operator"
    description = ("list: each paused market with the URL, since when, what was seen and how to resume. resolve "
                   "MARKET: clear the pause (e.g. after a DDoS queue has passed). Supplying a fresh session for a "
                   "market in crawl.sessions_file resumes it at its next crawl by itself.")

    def add_options(self, parser):
        parser.add_argument("action", nargs="?", default="list", choices=["list", "resolve"])
        parser.add_argument("market", nargs="?", metavar="MARKET")
        parser.add_argument("--note", help="resolve: why (kept in the hand-off history)")
        parser.add_argument("--json", action="store_true", help="list: one JSON object per paused market")

    def run(self, args, config) -> int:
        from dataclasses import asdict

        from crawlers.handoff import MarketStates

        states = MarketStates(config.crawl.state_dir)
        if args.action == "resolve":
            if not args.market:
                raise UserError("handoff resolve needs a market name")
            config.market(args.market)
            pause = states.resume(args.market, args.note or "resolved by the operator")
            if pause is None:
                raise UserError(f"market {args.market!r} is not paused")
            print(f"{args.market}: resumed (was paused since {pause.since}: {pause.reason} at {pause.url})",
                  file=sys.stderr)
            return 0
        pauses = states.pauses()
        if args.json:
            for pause in pauses:
                print(json.dumps(asdict(pause), ensure_ascii=False))
            return 0
        if not pauses:
            print("no market is paused")
            return 0
        for pause in pauses:
            print(f"{pause.market}: PAUSED since {pause.since} — {pause.reason} at {pause.url}\n"
                  f"    seen: {pause.seen}\n"
                  f"    session in use: {pause.session or 'none'}; to resume, put a fresh session for "
                  f"[{pause.market}] in {config.crawl.sessions_file} (or run `interdict handoff resolve "
                  f"{pause.market}`) and crawl again")
        return 0
