"""`interdict trackers`: saved searches, patterns, identifiers, vendors and products watched on
every ingest (a crawl, `index`, `import`), and the alerts they raised (docs/trackers.md)."""

from __future__ import annotations

import json
import sys

from contracts.trackers import CHANGE_KINDS
from interdict.commands.base import Command, add_store_option, finite
from interdict.commands.search import filters_of
from interdict.errors import UserError

OWNER = "cli"  # trackers made on the command line belong to the operator (the API's admin sees them)


def _definition(args) -> dict:
    """The tracker's fields from the options: one kind, its query around it."""
    kinds = [k for k, given in (("search", args.search is not None), ("regex", args.regex), ("identifier", args.identifier),
                                ("vendor", args.vendor), ("product", args.product or args.category)) if given]
    if len(kinds) != 1:
        raise UserError("trackers add: give one of --search, --regex, --identifier, --vendor, --product/--category")
    kind = kinds[0]
    filters = filters_of(args.filter)
    for field, values in (("identifier", [args.identifier] if args.identifier else []), ("product", args.product),
                          ("category", args.category), ("ships_from", args.ships_from), ("ships_to", args.ships_to)):
        if values:
            filters.setdefault(field, []).extend(values)
    query = {"text": args.search or "", "filters": filters, "price_min_usd": args.price_min,
             "price_max_usd": args.price_max}
    query = {k: v for k, v in query.items() if v not in ("", {}, None)}
    on = [k.strip() for k in args.on.split(",")] if args.on else list(CHANGE_KINDS)
    unknown = [k for k in on if k not in CHANGE_KINDS]
    if unknown:
        raise UserError(f"--on: unknown change {', '.join(unknown)} (known: {', '.join(CHANGE_KINDS)})")
    if kind != "vendor" and not args.on:
        on = [k for k in on if k not in ("new_market", "new_identifier")]
    fields = {"name": args.target, "kind": kind, "query": query, "on": on, "deliver": args.deliver or ["web"],
              "digest": args.digest, "vendors": [v for v in [args.vendor, *args.alias] if v],
              "pattern": args.regex}
    if args.price_change is not None:
        fields["price_change_percent"] = args.price_change
    return fields


class Trackers(Command):
    name = "trackers"
    help = "what to watch on every ingest, and the alerts raised: `trackers add|list|show|rm|test|alerts`"
    description = ("A tracker is a search (--search WORDS with --filter, --price-min/--price-max), a regular "
                   "expression over title and description (--regex, RE2 syntax), an identifier (--identifier), a "
                   "vendor with its aliases (--vendor NAME --alias OTHER) or a product or category with a route "
                   "(--product, --category, --from, --to). Every crawl, `index` and `import` tries it on the "
                   "listings it writes and raises an alert, once per listing and kind of change: "
                   + ", ".join(CHANGE_KINDS) + " (the last two: vendor trackers).")

    def add_options(self, parser):
        parser.add_argument("action", choices=["add", "list", "show", "rm", "test", "alerts", "deliver", "deliveries"])
        parser.add_argument("target", nargs="?", metavar="NAME|ID",
                            help="add: the tracker's name; show, rm, test: its id")
        what = parser.add_argument_group("what to watch (add)")
        what.add_argument("--search", metavar="WORDS", help="words and \"phrases\" as `interdict search` takes them")
        what.add_argument("--regex", metavar="PATTERN", help="RE2 expression over title and description (any case)")
        what.add_argument("--identifier", metavar="VALUE", help="a PGP key, wallet, e-mail, handle, phone or onion")
        what.add_argument("--vendor", metavar="NAME")
        what.add_argument("--alias", action="append", default=[], metavar="NAME", help="another name of the vendor")
        what.add_argument("--product", action="append", default=[], metavar="PRODUCT")
        what.add_argument("--category", action="append", default=[], metavar="CATEGORY")
        what.add_argument("--from", dest="ships_from", action="append", default=[], metavar="COUNTRY")
        what.add_argument("--to", dest="ships_to", action="append", default=[], metavar="COUNTRY")
        what.add_argument("--filter", "-f", action="append", default=[], metavar="FIELD=VALUE")
        what.add_argument("--price-min", type=finite, metavar="USD")
        what.add_argument("--price-max", type=finite, metavar="USD")
        how = parser.add_argument_group("when and how to tell (add)")
        how.add_argument("--on", metavar="KINDS", help=f"comma-separated, of {', '.join(CHANGE_KINDS)} (default: all "
                         "that apply)")
        how.add_argument("--price-change", type=finite, metavar="PERCENT",
                         help="smallest price move that is a change (default 10)")
        how.add_argument("--deliver", action="append", metavar="WHERE",
                         help="web (default), webhook:NAME or email:ADDRESS (config [alerts]); repeat for more")
        how.add_argument("--digest", action="store_true", help="e-mail: one message a day instead of one per alert")
        parser.add_argument("--digest-now", action="store_true",
                            help="deliver: also send the daily digests now (run it daily from cron or a schedule)")
        parser.add_argument("--dead", action="store_true", help="deliveries: only the dead letters")
        parser.add_argument("--retry", action="append", type=int, default=[], metavar="DELIVERY",
                            help="deliveries: send this dead letter again from its first attempt; repeat for more")
        parser.add_argument("--unread", action="store_true", help="alerts: only those not read yet")
        parser.add_argument("--mark-read", action="store_true", help="alerts: mark those shown as read")
        parser.add_argument("--limit", type=int, default=20)
        parser.add_argument("--json", action="store_true", help="JSON, one object per line")
        add_store_option(parser)

    def run(self, args, config) -> int:
        from interdict.trackers import TrackerBook, TrackerDefinitionError, TrackerError

        try:
            with TrackerBook(config.api.path) as book:
                return getattr(self, f"_{args.action}")(args, config, book)
        except (TrackerError, TrackerDefinitionError) as exc:
            raise UserError(str(exc)) from None

    def _print(self, args, rows: list[dict], lines: list[str]) -> None:
        if args.json:
            for row in rows:
                print(json.dumps(row, ensure_ascii=False, default=str))
        else:
            print("\n".join(lines))

    def _add(self, args, config, book) -> int:
        from index import open_store
        from interdict.trackers import check_targets, make_tracker
        from interdict.trackers.describe import describe

        if not args.target:
            raise UserError("trackers add NAME: give the tracker a name")
        check_targets(args.deliver or [], config.alerts)
        with open_store(config, args.store) as store:
            tracker = make_tracker(store, OWNER, **_definition(args))
        book.add(tracker)
        self._print(args, [tracker.model_dump(mode="json")], [f"{tracker.id}  {tracker.name}: {describe(tracker)}"])
        if tracker.kind == "vendor":
            print(f"known now: {len(tracker.known_markets)} market(s), {len(tracker.known_identifiers)} identifier(s)",
                  file=sys.stderr)
        return 0

    def _list(self, args, config, book) -> int:
        from interdict.trackers.describe import describe

        trackers = book.trackers()
        unread = {t.id: book.unread_count([t.id]) for t in trackers}
        self._print(args, [{**t.model_dump(mode="json"), "unread": unread[t.id]} for t in trackers],
                    [f"{t.id}  {t.kind:10} {t.name}: {describe(t)}  [{', '.join(t.on)}]  {unread[t.id]} unread"
                     for t in trackers] or ["no trackers (`interdict trackers add NAME --search WORDS`)"])
        return 0

    def _show(self, args, config, book) -> int:
        from interdict.trackers.describe import describe

        tracker = book.get(self._id(args))
        alerts = book.alerts([tracker.id], limit=args.limit)
        self._print(args, [{**tracker.model_dump(mode="json"), "alerts": [a.model_dump(mode="json") for a in alerts]}],
                    [f"{tracker.id}  {tracker.name} ({tracker.kind}, owner {tracker.owner}): {describe(tracker)}",
                     f"  on {', '.join(tracker.on)}; price moves of {tracker.price_change_percent:g}% or more; "
                     f"delivered to {', '.join(tracker.deliver)}{' (daily digest)' if tracker.digest else ''}",
                     *_alert_lines(alerts)])
        return 0

    def _rm(self, args, config, book) -> int:
        tracker_id = self._id(args)
        gone = book.remove(tracker_id)
        print(f"removed {tracker_id} and its {gone} alert(s)", file=sys.stderr)
        return 0

    def _test(self, args, config, book) -> int:
        """The listings of the index that answer the tracker now (what it would have alerted on)."""
        from index import open_store
        from interdict.trackers import answering_now

        tracker = book.get(self._id(args))
        with open_store(config, args.store) as store:
            total, found, read = answering_now(store, tracker, args.limit)
        self._print(args, [{"id": d.id, "market": d.market, "title": d.data.listing.title,
                            "url": d.data.listing.url} for d in found],
                    [f"{total} listing(s) answer {tracker.id} now" + (f" (of the {read} read)" if tracker.pattern else ""),
                     *(f"  {d.id}  [{d.market}] {d.data.listing.title}" for d in found)])
        return 0

    def _alerts(self, args, config, book) -> int:
        alerts = book.alerts([args.target] if args.target else None, unread=args.unread, limit=args.limit)
        if args.mark_read and alerts:
            book.mark_read([a.id for a in alerts])
        self._print(args, [a.model_dump(mode="json") for a in alerts], _alert_lines(alerts) or ["no alerts"])
        return 0

    def _deliver(self, args, config, book) -> int:
        """What is due now (retries included), and the digests when asked."""
        from interdict.trackers import delivering

        with delivering(config, book) as deliverer:
            done = deliverer.run_due()
            digests = deliverer.send_digests() if args.digest_now else None
        print(f"delivered {done.sent}, {done.retrying} to retry, {done.dead} out of attempts (dead letters), "
              f"{done.waiting} waiting for a receiver that failed"
              + (f"; digests: {digests.sent} alert(s) sent, {digests.retrying} kept" if digests else ""),
              file=sys.stderr)
        return 0 if not (done.retrying or done.dead or done.waiting or (digests and digests.retrying)) else 1

    def _deliveries(self, args, config, book) -> int:
        if args.retry:
            print(f"{book.retry(args.retry)} dead letter(s) to send again (`interdict trackers deliver`)",
                  file=sys.stderr)
            return 0
        found = book.deliveries("dead" if args.dead else None, limit=args.limit)
        self._print(args, [d.__dict__ | {"payload": json.loads(d.payload)} for d in found],
                    [f"  {d.id:>5} {d.status:8} {d.target}  alert #{d.alert_id}  attempts {d.attempts}"
                     + (f"  {d.error}" if d.error else "") for d in found] or ["no deliveries"])
        return 0

    @staticmethod
    def _id(args) -> str:
        if not args.target:
            raise UserError(f"trackers {args.action} ID: give the tracker's id (`interdict trackers list`)")
        return args.target


def _alert_lines(alerts) -> list[str]:
    return [f"  #{a.id} {'  ' if a.read else '* '}{a.at:%Y-%m-%d %H:%M} {a.tracker_id} {a.kind}: {a.detail}  "
            f"[{a.market}] {a.listing_id}" for a in alerts]
