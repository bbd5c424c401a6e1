"""A TAXII 2.1 server for the watchlist (read-only): discovery at /taxii2/, one API root
(`watchlist`), a collection per kind of term plus one with everything, objects with
`added_after`, `limit`/`next` and `match[id|type|version|spec_version]`, manifests and the
versions of each object. Keys with the watchlist permission (the risk-engine role) read it;
every request is audited like the /api/ routes, errors are TAXII error messages in JSON.

The objects come from the feed ledger (matching.feed_ledger), refreshed from the index at most
every `[watchlist] taxii_refresh_seconds` (a pull waits for a refresh at most
`taxii_refresh_wait_seconds`), so an `added_after` pull gives what changed."""

from __future__ import annotations

import json
from datetime import datetime

from fastapi import APIRouter, HTTPException, Request, Response

from interdict.web.auth import CanPullWatchlist
from interdict.web.deps import ConfigDep
from matching.feed_ledger import FeedLedger, Version
from matching.stix import stable_uuid

TAXII = "application/taxii+json;version=2.1"
STIX = "application/stix+json;version=2.1"
ROOT = "watchlist"
MAX_PAGE = 1000
MAX_CONTENT = 10_000_000
_KIND_TITLES = {"product": "Products", "slang": "Product slang", "vendor": "Vendors",
                "identifier": "Vendor identifiers", "route": "Shipping routes",
                "concealment": "Concealment methods", "declaration": "False declarations"}


def _collections() -> dict[str, tuple[str, str, set[str] | None]]:
    """{collection id: (title, description, term kinds or None for all)}."""
    out: dict[str, tuple[str, str, set[str] | None]] = {str(stable_uuid("taxii-collection:all")): ("Watchlist", "Every term of the risk-engine feed.", None)}
    for kind, title in _KIND_TITLES.items():
        out[str(stable_uuid("taxii-collection:" + kind))] = (
            title, f"{title} from the dark-web and marketplace listings Interdict indexes.", {kind})
    return out


COLLECTIONS = _collections()
router = APIRouter(prefix="/taxii2", tags=["taxii"], include_in_schema=True)


def taxii(body: dict, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status_code=status, media_type=TAXII, headers=headers)


def error(status: int, title: str, description: str = "") -> Response:
    body = {"title": title, "http_status": str(status)}
    if description:
        body["description"] = description
    return taxii(body, status)


def _accepts(request: Request) -> None:
    accept = request.headers.get("accept", "*/*").lower().replace(" ", "")
    if not any(t in accept for t in ("application/taxii+json", "*/*", "application/*")):
        raise HTTPException(406, f"this server answers {TAXII}")


def _root(api_root: str) -> None:
    if api_root != ROOT:
        raise HTTPException(404, f"no API root {api_root!r} (the one here: {ROOT})")


def _collection(collection_id: str) -> tuple[str, str, set[str] | None]:
    found = COLLECTIONS.get(collection_id)
    if found is None:
        raise HTTPException(404, f"no collection {collection_id!r}")
    return found


def _resource(collection_id: str) -> dict:
    title, description, _ = COLLECTIONS[collection_id]
    return {"id": collection_id, "title": title, "description": description, "can_read": True, "can_write": False,
            "media_types": [STIX]}


@router.get("/", summary="TAXII discovery")
def discovery(request: Request, who: CanPullWatchlist) -> Response:
    _accepts(request)
    who.audit("taxii", "discovery")
    root = str(request.url_for("api_root", api_root=ROOT))
    return taxii({"title": "Interdict TAXII server", "description": "Watchlist feeds for customs risk engines "
                  "and threat-intelligence platforms (STIX 2.1).", "default": root, "api_roots": [root]})


@router.get("/{api_root}/", summary="TAXII API root", name="api_root")
def api_root(api_root: str, request: Request, who: CanPullWatchlist) -> Response:
    _accepts(request)
    _root(api_root)
    who.audit("taxii", api_root)
    return taxii({"title": "Interdict watchlist", "description": "Terms derived from the index, curated terms.",
                  "versions": [TAXII], "max_content_length": MAX_CONTENT})


@router.get("/{api_root}/collections/", summary="TAXII collections")
def collections(api_root: str, request: Request, who: CanPullWatchlist) -> Response:
    _accepts(request)
    _root(api_root)
    who.audit("taxii", f"{api_root}/collections")
    return taxii({"collections": [_resource(c) for c in COLLECTIONS]})


@router.get("/{api_root}/collections/{collection_id}/", summary="A TAXII collection")
def collection(api_root: str, collection_id: str, request: Request, who: CanPullWatchlist) -> Response:
    _accepts(request)
    _root(api_root)
    _collection(collection_id)
    who.audit("taxii", f"{api_root}/collections/{collection_id}")
    return taxii(_resource(collection_id))


@router.get("/{api_root}/collections/{collection_id}/objects/", summary="Objects of a collection")
def objects(api_root: str, collection_id: str, request: Request, who: CanPullWatchlist,
            config: ConfigDep) -> Response:
    found, more, after = _page(api_root, collection_id, request, who, config, "objects")
    return _envelope(found, more, after, [v.body for v in found], "objects")


@router.get("/{api_root}/collections/{collection_id}/manifest/", summary="Manifest of a collection")
def manifest(api_root: str, collection_id: str, request: Request, who: CanPullWatchlist,
             config: ConfigDep) -> Response:
    found, more, after = _page(api_root, collection_id, request, who, config, "manifest")
    records = [{"id": v.object_id, "date_added": v.date_added, "version": v.version, "media_type": STIX} for v in found]
    return _envelope(found, more, after, records, "objects")


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/", summary="One object's versions")
def one_object(api_root: str, collection_id: str, object_id: str, request: Request, who: CanPullWatchlist,
               config: ConfigDep) -> Response:
    found, more, after = _page(api_root, collection_id, request, who, config, "object", object_id)
    if not found and not _exists(request, collection_id, object_id):
        raise HTTPException(404, f"no object {object_id!r} in this collection")
    return _envelope(found, more, after, [v.body for v in found], "objects")


@router.get("/{api_root}/collections/{collection_id}/objects/{object_id}/versions/", summary="An object's versions")
def versions(api_root: str, collection_id: str, object_id: str, request: Request, who: CanPullWatchlist,
             config: ConfigDep) -> Response:
    found, more, after = _page(api_root, collection_id, request, who, config, "versions", object_id,
                               default_version="all")
    if not found and not _exists(request, collection_id, object_id):
        raise HTTPException(404, f"no object {object_id!r} in this collection")
    return _envelope(found, more, after, [v.version for v in found], "versions")


@router.api_route("/{api_root}/collections/{collection_id}/objects/", methods=["POST"], include_in_schema=False)
@router.api_route("/{api_root}/collections/{collection_id}/objects/{object_id}/", methods=["DELETE"],
                  include_in_schema=False)
def read_only(api_root: str, collection_id: str, who: CanPullWatchlist) -> Response:
    _root(api_root)
    _collection(collection_id)
    raise HTTPException(403, "the watchlist collections are read-only (can_write: false)")


@router.get("/{api_root}/status/{status_id}/", include_in_schema=False)
def status(api_root: str, status_id: str, who: CanPullWatchlist) -> Response:
    _root(api_root)
    raise HTTPException(404, "no status resources: nothing is ever added to these collections")


# -- paging ----------------------------------------------------------------------------------
def _ledger(request: Request) -> FeedLedger:
    return request.app.state.feed_ledger


def _page(api_root: str, collection_id: str, request: Request, who, config, what: str,
          object_id: str | None = None, default_version: str = "last") -> tuple[list[Version], bool, int]:
    _accepts(request)
    _root(api_root)
    _, _, kinds = _collection(collection_id)
    query = request.query_params
    limit = _int(query.get("limit", "100"), "limit", 1)
    after_seq = _int(query.get("next", "0"), "next", 0)
    added_after = None
    if "added_after" in query:
        try:
            added_after = datetime.fromisoformat(query["added_after"].replace("Z", "+00:00"))
        except ValueError:
            raise HTTPException(400, f"added_after is not a timestamp: {query['added_after'][:40]!r}") from None
        if added_after.tzinfo is None:
            raise HTTPException(400, "added_after needs a time zone (end it with Z)")
    spec_versions = _split(query.get("match[spec_version]"))
    ids = {object_id} if object_id else _split(query.get("match[id]"))
    which = _split(query.get("match[version]")) or {default_version}
    _ledger(request).refresh_soon(request.app.state.stores.checkout, config.watchlist)
    found: list[Version] = []
    if not spec_versions or "2.1" in spec_versions:
        found = _ledger(request).versions(kinds, added_after=added_after, after_seq=after_seq,
                                          types=_split(query.get("match[type]")), ids=ids, which=which,
                                          limit=min(limit, MAX_PAGE))
    more = len(found) > min(limit, MAX_PAGE)
    found = found[:min(limit, MAX_PAGE)]
    who.audit("taxii", f"{api_root}/collections/{collection_id}/{what}", object=object_id, returned=len(found),
              added_after=query.get("added_after"), more=more or None)
    return found, more, found[-1].seq if found else after_seq


def _exists(request: Request, collection_id: str, object_id: str) -> bool:
    return bool(_ledger(request).versions(COLLECTIONS[collection_id][2], ids={object_id}, which={"all"}, limit=1))


def _envelope(found: list[Version], more: bool, after: int, items: list, key: str) -> Response:
    body: dict = {"more": more}
    if more:
        body["next"] = str(after)
    if items:
        body[key] = items
    headers = {}
    if found:
        headers = {"X-TAXII-Date-Added-First": min(v.date_added for v in found),
                   "X-TAXII-Date-Added-Last": max(v.date_added for v in found)}
    return taxii(body, headers=headers)


def _int(text: str, name: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise HTTPException(400, f"{name} must be a whole number") from None
    if value < least:
        raise HTTPException(400, f"{name} must be at least {least}")
    return value


def _split(value: str | None) -> set[str]:
    return {v.strip() for v in value.split(",") if v.strip()} if value else set()
