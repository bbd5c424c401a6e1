"""`interdict watchlist export`: terms for risk engines (JSON, CSV, STIX 2.1), whole or as
the increment since an earlier export's cursor."""

from __future__ import annotations

import sys
from pathlib import Path

from index import open_store
from interdict.errors import UserError
from matching import watchlist


def cmd_watchlist(args, config) -> int:
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
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    print(f"{len(terms)} term(s){' changed since the cursor given' if args.since else ''}; "
          f"next increment: --since {cursor}", file=sys.stderr)
    return 0
