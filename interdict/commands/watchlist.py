"""`interdict watchlist export`: terms for risk engines (JSON, CSV, strict STIX 2.1, a MISP
event, a MISP feed folder), whole or as the increment since an earlier export's cursor."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from interdict.commands.base import Command, add_store_option, write_out
from interdict.errors import UserError


class Watchlist(Command):
    name = "watchlist"
    help = "terms for risk engines from the index: `watchlist export`"
    description = ("Products and slang, vendor names and aliases, identifiers, routes, concealment and declaration "
                   "phrases, each with first/last seen, listing count, markets, countries, HS codes and example "
                   "listings, plus the curated terms of config [watchlist], each with a weight (0-1). The default "
                   "feed leaves out common and generic words and terms below watchlist.min_weight (--all keeps "
                   "them, with the reason). The cursor printed on stderr gives the next increment (--since). "
                   "Formats: json (with the cursor), csv, stix (a strict STIX 2.1 bundle), misp (a MISP event), "
                   "misp-feed (a MISP feed folder: --out DIR). docs/feeds.md.")

    def add_options(self, parser):
        parser.add_argument("action", choices=["export"])
        parser.add_argument("--all", action="store_true",
                            help="every term, those the default feed leaves out too (see `excluded`)")
        parser.add_argument("--format", default="json", choices=["json", "csv", "stix", "misp", "misp-feed"])
        parser.add_argument("--since", metavar="CURSOR",
                            help="only terms new or seen again since the export that printed it")
        parser.add_argument("--out", metavar="PATH", help="write here instead of stdout (misp-feed: a folder)")
        parser.add_argument("--gps", action="store_true",
                            help="the GPS positions of listing photos too, as identifiers (json and csv; needs "
                                 "config images.export_gps = true: an analyst's export, never a risk engine's feed)")
        add_store_option(parser)

    def run(self, args, config) -> int:
        from index import open_store
        from matching import misp, watchlist

        settings = config.watchlist
        if args.format == "misp-feed" and not args.out:
            raise UserError("--format misp-feed writes a folder: give it with --out DIR")
        if args.gps and not config.images.export_gps:
            raise UserError("--gps: GPS export is opt-in; set images.export_gps = true in the operator's config")
        if args.gps and args.format not in ("json", "csv"):
            raise UserError("--gps: GPS positions leave in json or csv only (STIX and MISP have no object for them)")
        with open_store(config, args.store) as store:
            terms = watchlist.feed(watchlist.derive_terms(store, settings, gps=args.gps), args.all)
        cursor = watchlist.make_cursor(terms, settings)
        if args.since:
            try:
                terms = watchlist.since(terms, args.since, settings)
            except watchlist.CursorError as exc:
                raise UserError(str(exc)) from None
        if args.format == "misp-feed":
            written = misp.write_feed(misp.feed(terms, settings.tlp), Path(args.out))
            print(f"MISP feed: {len(written) - 2} event(s), manifest.json and hashes.csv in {args.out}", file=sys.stderr)
        else:
            text = {"json": lambda: watchlist.to_json(terms, cursor), "csv": lambda: watchlist.to_csv(terms),
                    "stix": lambda: watchlist.to_stix(terms, settings),
                    "misp": lambda: json.dumps(misp.watchlist_event(terms, settings.tlp), ensure_ascii=False,
                                               indent=1)}[args.format]()
            write_out(text, args.out)
        print(f"{len(terms)} term(s){' changed since the cursor given' if args.since else ''}; "
              f"next increment: --since {cursor}", file=sys.stderr)
        return 0
