"""`interdict handoff`: markets paused at a wall, what was seen, and how to resume them."""

from __future__ import annotations

import json
import sys
from dataclasses import asdict

from crawlers.handoff import MarketStates
from interdict.errors import UserError


def cmd_handoff(args, config) -> int:
    states = MarketStates(config.crawl.state_dir)
    if args.action == "resolve":
        if not args.market:
            raise UserError("handoff resolve needs a market name")
        config.market(args.market)
        pause = states.resume(args.market, args.note or "resolved by the operator")
        if pause is None:
            raise UserError(f"market {args.market!r} is not paused")
        print(f"{args.market}: resumed (was paused since {pause.since}: {pause.reason} at {pause.url})", file=sys.stderr)
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
              f"    session in use: {pause.session or 'none'}; to resume, put a fresh session for [{pause.market}] "
              f"in {config.crawl.sessions_file} (or run `interdict handoff resolve {pause.market}`) and crawl again")
    return 0
