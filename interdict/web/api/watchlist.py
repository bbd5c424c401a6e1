"""/api/watchlist: the terms risk engines pull (JSON, CSV, STIX 2.1), whole or since a
cursor, with an ETag so an unchanged feed costs a 304."""

from __future__ import annotations

import hashlib
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response

from interdict.web.auth import CanPullWatchlist
from interdict.web.deps import ConfigDep, StoreDep
from matching import watchlist

router = APIRouter(tags=["watchlist"])
MEDIA = {"json": "application/json", "csv": "text/csv", "stix": "application/stix+json;version=2.1"}


@router.get("/watchlist", summary="Watchlist terms for risk engines (JSON, CSV, STIX 2.1), whole or since a cursor")
def watchlist_feed(request: Request, who: CanPullWatchlist, store: StoreDep, config: ConfigDep,
                   format: Literal["json", "csv", "stix"] = "json", since: str | None = None,
                   all: bool = False) -> Response:
    settings = config.watchlist
    terms = watchlist.feed(watchlist.derive_terms(store, settings), all)
    cursor = watchlist.make_cursor(terms, settings)
    if since:
        try:
            terms = watchlist.since(terms, since, settings)
        except watchlist.CursorError as exc:
            raise HTTPException(422, str(exc)) from None
    body = {"json": lambda: watchlist.to_json(terms, cursor), "csv": lambda: watchlist.to_csv(terms),
            "stix": lambda: watchlist.to_stix(terms, cursor)}[format]()
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "X-Interdict-Cursor": cursor, "Cache-Control": "no-cache"}
    unchanged = etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]
    who.audit("export", "watchlist", format=format, since=since, terms=len(terms), not_modified=unchanged)
    if unchanged:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA[format], headers=headers)
