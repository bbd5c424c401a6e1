"""/api/watchlist: the terms risk engines pull (JSON, CSV, strict STIX 2.1, a MISP event),
whole or since a cursor (in the JSON body, and in the X-Interdict-Cursor header for every
format), with an ETag so an unchanged feed costs a 304; and /api/watchlist/misp-feed/, a MISP
feed (manifest.json, one event per kind of term, hashes.csv) a MISP instance pulls."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from fastapi import APIRouter, HTTPException, Request, Response

from interdict.web.auth import CanPullWatchlist
from interdict.web.deps import ConfigDep, StoreDep
from matching import misp, watchlist

router = APIRouter(tags=["watchlist"])
MEDIA = {"json": "application/json", "csv": "text/csv", "stix": "application/stix+json;version=2.1",
         "misp": "application/json"}


def _etagged(request: Request, body: str, media_type: str, headers: dict) -> Response:
    etag = '"' + hashlib.sha256(body.encode()).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "no-cache", **headers}
    if etag in [t.strip() for t in request.headers.get("if-none-match", "").split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


@router.get("/watchlist", summary="Watchlist terms for risk engines (JSON, CSV, STIX 2.1, MISP), whole or since a cursor")
def watchlist_feed(request: Request, who: CanPullWatchlist, store: StoreDep, config: ConfigDep,
                   format: Literal["json", "csv", "stix", "misp"] = "json", since: str | None = None,
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
            "stix": lambda: watchlist.to_stix(terms, settings),
            "misp": lambda: json.dumps(misp.watchlist_event(terms, settings.tlp), ensure_ascii=False)}[format]()
    response = _etagged(request, body, MEDIA[format], {"X-Interdict-Cursor": cursor})
    who.audit("export", "watchlist", format=format, since=since, terms=len(terms),
              not_modified=response.status_code == 304)
    return response


@router.get("/watchlist/misp-feed/{name}", summary="A MISP feed of the watchlist: manifest.json, <event uuid>.json, "
            "hashes.csv")
def misp_feed(name: str, request: Request, who: CanPullWatchlist, store: StoreDep, config: ConfigDep) -> Response:
    settings = config.watchlist
    files = misp.feed(watchlist.feed(watchlist.derive_terms(store, settings)), settings.tlp)
    if name not in files:
        raise HTTPException(404, f"no {name!r} in the MISP feed (start from manifest.json)")
    content = files[name]
    body = content["text"] if name.endswith(".csv") else json.dumps(content, ensure_ascii=False)
    response = _etagged(request, body, "text/csv" if name.endswith(".csv") else "application/json", {})
    who.audit("export", "watchlist", format="misp-feed", file=name, not_modified=response.status_code == 304)
    return response
