"""`interdict jobs`: the crawl job history (crawlers.history) as lines or JSON."""

from __future__ import annotations

import sys

from index import open_store


def cmd_jobs(args, config) -> int:
    with open_store(config, args.store) as store:
        jobs = store.jobs(market=args.market, limit=args.limit)
    for job in jobs:
        if args.json:
            print(job.model_dump_json())
            continue
        took = f"{job.seconds:.0f} s" if job.seconds is not None else "running"
        print(f"{job.started:%Y-%m-%d %H:%M:%S}  {job.market:<12} {job.status:<11} {took:>8}  {job.pages} pages, "
              f"{job.listings} listings ({job.listings_new} new, {job.listings_updated} updated, "
              f"{job.listings_unchanged} unchanged), {job.errors} errors, {job.bans} bans, "
              f"{job.circuit_renewals} renewals{f', mirror {job.mirror}' if job.mirror else ''}"
              f"{f', {job.listings_inactivated} listings and {job.vendors_disappeared} vendors gone inactive' if job.listings_inactivated or job.vendors_disappeared else ''}"
              f"{f' — {job.reason}' if job.reason else ''}")
    if not jobs:
        print("no crawl job recorded yet" + (f" for {args.market}" if args.market else ""), file=sys.stderr)
    return 0
