"""Reading the index: `interdict search` (full text, filters, facets) and `interdict vendors`
(a vendor by name, alias or identifier)."""

from __future__ import annotations

import json
import sys

from index import FILTER_FIELDS
from index.query import EXACT_FILTERS, SORTS
from interdict.commands.base import Command, add_store_option, finite, iso_date
from interdict.errors import UserError


def filters_of(pairs: list[str]) -> dict[str, list[str]]:
    """--filter FIELD=VALUE, repeated: the same field any of its values, fields all of them."""
    filters: dict[str, list[str]] = {}
    for pair in pairs:
        field, sep, value = pair.partition("=")
        if not sep or not value:
            raise UserError(f"--filter {pair!r}: expected FIELD=VALUE, e.g. ships_from=NL")
        filters.setdefault(field.strip(), []).append(value)
    return filters


class Search(Command):
    name = "search"
    help = "full-text search with filters and facets"
    description = ("Words must all match (accents and case ignored); \"quoted phrases\" match in order; -word "
                   "excludes. Filters: " + ", ".join([*FILTER_FIELDS, *EXACT_FILTERS])
                   + " (ships_to=US also finds listings to North America or worldwide that do not exclude US; "
                     "ships_to_exact=US only those naming US).")

    def add_options(self, parser):
        parser.add_argument("query", nargs="?", default="", metavar="QUERY")
        add_store_option(parser)
        parser.add_argument("--filter", "-f", action="append", default=[], metavar="FIELD=VALUE",
                            help="exact filter; repeat for more (same field: any of, different fields: all of)")
        parser.add_argument("--price-min", type=finite, metavar="USD")
        parser.add_argument("--price-max", type=finite, metavar="USD")
        parser.add_argument("--since", metavar="DATE", help="last seen on or after (ISO date or datetime)")
        parser.add_argument("--until", metavar="DATE", help="last seen on or before")
        parser.add_argument("--first-seen", action="store_true", help="--since/--until apply to first seen instead")
        parser.add_argument("--sort", default="relevance", choices=SORTS)
        parser.add_argument("--limit", type=int, default=10)
        parser.add_argument("--offset", type=int, default=0)
        parser.add_argument("--facet", action="append", default=[], metavar="FIELD",
                            help="count values of FIELD over the hits")
        parser.add_argument("--json", action="store_true", help="one JSON document per hit (and a last facets line)")

    def run(self, args, config) -> int:
        from index import Query, open_store
        from interdict.render import facet_line, hit_lines

        query = Query(text=args.query, filters=filters_of(args.filter), price_min_usd=args.price_min,
                      price_max_usd=args.price_max, date_field="first_seen" if args.first_seen else "last_seen",
                      date_from=iso_date(args.since, "--since"), date_to=iso_date(args.until, "--until"),
                      facets=args.facet, sort=args.sort, limit=args.limit, offset=args.offset)
        with open_store(config, args.store) as store:
            result = store.search(query)
        if result.unreadable:
            print(f"interdict: {result.unreadable} stored document(s) of this page could not be read and were left "
                  f"out (`interdict store migrate` sets them aside)", file=sys.stderr)
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


class Vendors(Command):
    name = "vendors"
    help = "find vendors by name, alias or identifier, on one market or all"
    description = ("QUERY: a vendor name (any case and accents) or an identifier in any written form: PGP "
                   "fingerprint (spaced or not) or key id (0x…), wallet, e-mail, phone, @handle, onion. Aliases "
                   "(vendors sharing an identifier) are listed with what they share.")

    def add_options(self, parser):
        parser.add_argument("query", metavar="QUERY")
        add_store_option(parser)
        parser.add_argument("--market", action="append", default=[], metavar="MARKET",
                            help="only this market; repeat for more")
        parser.add_argument("--limit", type=int, default=20)
        parser.add_argument("--json", action="store_true", help="one JSON object per vendor")

    def run(self, args, config) -> int:
        from index import open_store
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
