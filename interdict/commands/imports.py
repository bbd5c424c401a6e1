"""`interdict import`: pages, archives, WARC files and datasets brought into the store
(interdict/imports)."""

from __future__ import annotations

from interdict.commands.base import Command, add_store_option, captured_at


class Import(Command):
    name = "import"
    help = "saved pages, archives, WARC files and datasets -> the store (docs/import.md)"
    description = ("Bring in real captures: saved pages and folders of them (found by content, recursively), "
                   ".tar/.tar.gz/.zip archives (read in place), WARC files of any crawler, and CSV / JSON Lines / "
                   "MySQL-dump datasets (columns mapped with --map). Each listing keeps its capture date and a "
                   "reference to the page, kept as WARC evidence; a re-run skips what was imported.")

    def add_options(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")
        parser.add_argument("--market", help="the market's name (default: the pages' host, or the archive's top "
                            "folder); no config entry needed")
        parser.add_argument("--captured", metavar="DATE", help="when the captures were made (ISO date), where the "
                            "input does not say (WARC-Date and date columns win); default: the files' modification "
                            "time")
        parser.add_argument("--format", choices=["auto", "html", "warc", "csv", "jsonl", "sql"], default="auto",
                            help="what the inputs are (default: told by content)")
        parser.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                            help="datasets: the column that holds FIELD (title, vendor, price, currency, "
                                 "description, ships_from, ships_to, category, url, date, market; vendors: name, "
                                 "profile, pgp_key, contact, joined); COL1+COL2 joins columns; unmapped fields are "
                                 "guessed and printed")
        parser.add_argument("--encoding", default="utf-8",
                            help="datasets: their text encoding (e.g. mac_roman, cp1252)")
        parser.add_argument("--currency", metavar="CODE", help="datasets: the currency of bare price numbers "
                            "(e.g. BTC)")
        parser.add_argument("--kind", choices=["listings", "vendors"], default="listings",
                            help="datasets: rows are listings (default) or vendor profiles")
        parser.add_argument("--generic", action="store_true", help="pages: the generic extractor even where a page "
                            "object knows the market")
        parser.add_argument("--workers", type=int, default=0, help="pages: parser processes (default: one per core)")
        add_store_option(parser)

    def run(self, args, config) -> int:
        from interdict.imports.run import import_captures

        args.captured = captured_at(args.captured)
        return import_captures(args, config)
