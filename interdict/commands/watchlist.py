"""`interdict watchlist export`: terms for risk engines (JSON, CSV, STIX 2.1), whole or as
the increment since an earlier export's cursor."""

from __future__ import annotations

import sys

from interdict.commands.base import Command, add_store_option, write_out
from interdict.errors import UserError


class Watchlist(Command):
    name = "watchlist"
    help = "terms for risk engines from the index: `watchlist export`"
    description = ("Products and slang, vendor names and aliases, identifiers, routes, concealment and declaration "
                   "phrases, each with first/last seen, listing count, markets, countries, HS codes and example "
                   "listings, plus the curated terms of config [watchlist], each with a weight (0-1). The default "
                   "feed leaves out common and generic words and terms below watchlist.min_weight (--all keeps "
                   "them, with the reason). The cursor printed on stderr gives the next increment (--since).")

    def add_options(self, parser):
        parser.add_argument("action", choices=["export"])
        parser.add_argument("--all", action="store_true",
                            help="every term, those the default feed leaves out too (see `excluded`)")
        parser.add_argument("--format", default="json", choices=["json", "csv", "stix"])
        parser.add_argument("--since", metavar="CURSOR",
                            help="only terms new or seen again since the export that printed it")
        parser.add_argument("--out", metavar="FILE", help="write here instead of stdout")
        add_store_option(parser)

    def run(self, args, config) -> int:
        from index import open_store
        from matching import watchlist

        with open_store(config, args.store) as store:
            terms = watchlist.feed(watchlist.derive_terms(store, config.watchlist), args.all)
        cursor = watchlist.make_cursor(terms, config.watchlist)
        if args.since:
            try:
                terms = watchlist.since(terms, args.since, config.watchlist)
            except watchlist.CursorError as exc:
                raise UserError(str(exc)) from None
        if args.format == "json":
            text = watchlist.to_json(terms, cursor)
        elif args.format == "csv":
            text = watchlist.to_csv(terms)
        else:
            text = watchlist.to_stix(terms, cursor)
        write_out(text, args.out)
        print(f"{len(terms)} term(s){' changed since the cursor given' if args.since else ''}; "
              f"next increment: --since {cursor}", file=sys.stderr)
        return 0
