"""`interdict trends`: prices per unit, or listings or vendors active, per month or week,
computed in the store (docs/entities.md), as CSV or JSON."""

from __future__ import annotations

import csv
import io
import sys

from index import FILTER_FIELDS
from interdict.commands.base import Command, add_store_option, iso_date, write_out
from interdict.commands.search import filters_of
from interdict.errors import UserError


def trend_csv(result) -> str:
    """One row per period and series; crawled labels made safe for spreadsheets."""
    from matching.watchlist import csv_safe

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["period", "series", "value", "count", "unit", "measure"])
    for series in result.series:
        for period, value, count in zip(result.periods, series.values, series.counts):
            writer.writerow([period, csv_safe(series.label), "" if value is None else f"{value:.4f}".rstrip("0").rstrip("."),
                             count, series.unit, result.measure])
    return out.getvalue()


class Trends(Command):
    name = "trends"
    help = "prices per unit, listings or vendors active, per month or week (CSV or JSON)"
    description = ("--measure unit_price (USD per gram, millilitre or unit: the prices each listing had, while "
                   "they held, over the quantity its price buys), listings or vendors (active: a life that "
                   "overlaps the period). Filters as `interdict search` takes them; --by FIELD splits into a "
                   "series per value (the --top most listed, the rest as 'other').")

    def add_options(self, parser):
        parser.add_argument("--measure", default="unit_price", choices=["unit_price", "listings", "vendors"])
        parser.add_argument("--product", action="append", default=[], metavar="PRODUCT")
        parser.add_argument("--category", action="append", default=[], metavar="CATEGORY")
        parser.add_argument("--market", action="append", default=[], metavar="MARKET")
        parser.add_argument("--vendor-id", action="append", default=[], metavar="ID",
                            help="one vendor's timeline (the id `interdict vendors` prints)")
        parser.add_argument("--filter", "-f", action="append", default=[], metavar="FIELD=VALUE")
        parser.add_argument("--by", metavar="FIELD", help=f"split by: {', '.join(FILTER_FIELDS)}")
        parser.add_argument("--top", type=int, default=8, help="series kept when split (default 8)")
        parser.add_argument("--interval", default="month", choices=["month", "week"])
        parser.add_argument("--since", metavar="DATE")
        parser.add_argument("--until", metavar="DATE")
        parser.add_argument("--format", default="csv", choices=["csv", "json"])
        parser.add_argument("--out", metavar="FILE")
        add_store_option(parser)

    def run(self, args, config) -> int:
        from index import open_store
        from index.trends import TrendQuery

        filters = filters_of(args.filter)
        for field, values in (("product", args.product), ("category", args.category), ("market", args.market),
                              ("vendor_id", args.vendor_id)):
            if values:
                filters.setdefault(field, []).extend(values)
        if args.by and args.by not in FILTER_FIELDS:
            raise UserError(f"--by {args.by!r}: one of {', '.join(FILTER_FIELDS)}")
        query = TrendQuery(measure=args.measure, filters=filters, by=args.by, interval=args.interval,
                           top=args.top, date_from=iso_date(args.since, "--since"), date_to=iso_date(args.until, "--until"))
        query.search()  # the filters checked as a search checks them (a mistake: one line, from cli.py)
        with open_store(config, args.store) as store:
            result = store.trends(query)
        text = trend_csv(result) if args.format == "csv" else result.model_dump_json(indent=1) + "\n"
        write_out(text, args.out)
        print(f"{len(result.series)} series over {len(result.periods)} {args.interval}(s)", file=sys.stderr)
        return 0
