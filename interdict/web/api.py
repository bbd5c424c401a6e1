"""The HTTP API over the Store (docs/api.md): search, listings, vendors, matching, match
review and the watchlist feed, each behind a key whose role grants it; every use is audited.

Handlers are plain functions run on the server's worker threads; each thread has its own
store connection (a SQLite connection serves one thread at a time)."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query as Param, Request, Response
from pydantic import BaseModel, Field, ValidationError

from contracts.documents import ListingDocument, vendor_id
from contracts.inputs import BadLine, InputLimits, Problems, csv_records, decode_line
from contracts.matches import ShipmentMatches
from contracts.shipments import Shipment
from index.query import FILTER_FIELDS, SORTS, Query, QueryError
from index.store import Store
from index.vendor_search import find_vendors
from interdict.web.access import ROLES, AccessError, ApiKey
from interdict.web.auth import audit_use, require
from interdict.web.reviews import Decision, ReviewError, ReviewStore
from interdict.web.safe import highlighted_html
from interdict.web.vendors import vendor_profile
from matching import watchlist
from matching.matcher import Matcher
from matching.shipments import read_csv, read_jsonl


def store_of(request: Request) -> Store:
    return request.app.state.stores.get()


router = APIRouter(prefix="/api")


# -- search and reading ----------------------------------------------------------------------
class HitOut(BaseModel):
    id: str
    market: str
    title: str
    vendor: str
    vendor_id: str
    price: float | None  # None: the listing shows no price
    currency: str | None
    price_usd: float | None
    category: str | None
    ships_from: list[str]
    ships_to: list[str]
    first_seen: datetime
    last_seen: datetime
    score: float | None
    highlights_html: dict[str, str] = Field(description="fragments, HTML-escaped, matches in <mark>")


class SearchOut(BaseModel):
    total: int
    hits: list[HitOut]
    facets: dict[str, list[dict]]
    unreadable: int = Field(0, description="stored documents of this page left out: they cannot be read "
                                           "(`interdict store migrate` sets them aside)")


def hit_out(doc: ListingDocument, score: float | None, highlights: dict[str, str]) -> HitOut:
    item, enr = doc.data.listing, doc.data.enrichment
    return HitOut(id=doc.id, market=doc.market, title=item.title, vendor=item.vendor.name,
                  vendor_id=vendor_id(doc.market, item.vendor.name),
                  price=item.price.amount if item.price else None, currency=item.price.currency if item.price else None, price_usd=enr.price_usd, category=enr.category,
                  ships_from=enr.ships_from, ships_to=enr.ships_to, first_seen=doc.first_seen,
                  last_seen=doc.last_seen, score=score,
                  highlights_html={f: highlighted_html(t) for f, t in highlights.items()})


def search_query(q: str = "", filters: dict[str, list[str]] | None = None, **options) -> Query:
    try:
        return Query(text=q, filters=filters or {}, **{k: v for k, v in options.items() if v is not None})
    except (ValidationError, QueryError) as exc:
        raise HTTPException(422, str(exc).splitlines()[0] if isinstance(exc, QueryError) else exc.errors(
            include_url=False, include_context=False)) from None


@router.get("/search", response_model=SearchOut, summary="Search listings: text, filters, facets, highlights")
def search(request: Request, key: Annotated[ApiKey, Depends(require("search"))], q: str = "",
           market: Annotated[list[str], Param()] = [], vendor: Annotated[list[str], Param()] = [],
           category: Annotated[list[str], Param()] = [], product: Annotated[list[str], Param()] = [],
           ships_from: Annotated[list[str], Param()] = [], ships_to: Annotated[list[str], Param()] = [],
           ships_from_exact: Annotated[list[str], Param()] = [], ships_to_exact: Annotated[list[str], Param()] = [],
           hs_code: Annotated[list[str], Param()] = [], identifier: Annotated[list[str], Param()] = [],
           price_min_usd: float | None = Param(None, allow_inf_nan=False),
           price_max_usd: float | None = Param(None, allow_inf_nan=False),
           date_field: Literal["last_seen", "first_seen"] = "last_seen", date_from: datetime | None = None,
           date_to: datetime | None = None, sort: Literal[SORTS] = "relevance",  # type: ignore[valid-type]
           facets: str = "market,category,ships_from", limit: int = Param(20, ge=0, le=200),
           offset: int = Param(0, ge=0, le=10_000)) -> SearchOut:
    filters = {"market": market, "vendor": vendor, "category": category, "product": product,
               "ships_from": ships_from, "ships_to": ships_to, "ships_from_exact": ships_from_exact,
               "ships_to_exact": ships_to_exact, "hs_code": hs_code, "identifier": identifier}
    query = search_query(q, filters, price_min_usd=price_min_usd, price_max_usd=price_max_usd,
                         date_field=date_field, date_from=date_from, date_to=date_to, sort=sort, limit=limit,
                         offset=offset, facets=[f for f in facets.split(",") if f.strip() in FILTER_FIELDS])
    result = store_of(request).search(query)
    audit_use(request, key, "search", q or "*", filters={k: v for k, v in filters.items() if v}, total=result.total)
    return SearchOut(total=result.total, hits=[hit_out(h.document, h.score, h.highlights) for h in result.hits],
                     facets={f: [c.model_dump() for c in counts] for f, counts in result.facets.items()},
                     unreadable=result.unreadable)


@router.get("/listings/{doc_id}", summary="A listing: fields, entities, price history, evidence reference")
def listing(doc_id: str, request: Request, key: Annotated[ApiKey, Depends(require("read"))]) -> dict:
    doc = store_of(request).get_listing(doc_id)
    audit_use(request, key, "view", f"listing/{doc_id}", found=doc is not None)
    if doc is None:
        raise HTTPException(404, f"no listing {doc_id}")
    return doc.model_dump(mode="json")


@router.get("/vendors", summary="Find vendors by name, alias or identifier (any written form), on some markets or all")
def vendors(request: Request, key: Annotated[ApiKey, Depends(require("search"))], q: str = Param(min_length=1),
            market: Annotated[list[str], Param()] = [], limit: int = Param(20, ge=1, le=200)) -> list[dict]:
    hits = find_vendors(store_of(request), q, market, limit)
    audit_use(request, key, "search", f"vendors: {q}", filters={"market": market} if market else {}, total=len(hits))
    return [hit.as_dict() for hit in hits]


@router.get("/vendors/{doc_id}", summary="A vendor: profile, aliases by shared identifiers, listings on every market")
def vendor(doc_id: str, request: Request, key: Annotated[ApiKey, Depends(require("read"))],
           limit: int = Param(200, ge=1, le=1000)) -> dict:
    profile = vendor_profile(store_of(request), doc_id, limit)
    audit_use(request, key, "view", f"vendor/{doc_id}", found=profile is not None)
    if profile is None:
        raise HTTPException(404, f"no vendor {doc_id}")
    return profile


# -- matching and review ---------------------------------------------------------------------
def _matcher(request: Request) -> Matcher:
    """One matcher per thread and store: its candidate caches outlive a request."""
    stores = request.app.state.stores
    local = stores.local
    matcher = getattr(local, "matcher", None)
    if matcher is None:
        matcher = local.matcher = Matcher(stores.get(), request.app.state.matching)
    return matcher


async def read_upload(request: Request) -> bytes:
    """The request body, refused with 413 as soon as it passes config api.max_upload_bytes
    (never read whole into memory first)."""
    limit = request.app.state.max_upload
    refused = HTTPException(413, f"upload larger than {limit:,} bytes (config api.max_upload_bytes)")
    if int(request.headers.get("content-length") or 0) > limit:
        raise refused
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise refused
    return bytes(body)


def shipments_from_body(body: bytes, content_type: str, limits: InputLimits,
                        max_rows: int) -> tuple[list[Shipment], Problems]:
    """Good shipments and the bad rows (the first ``limits.max_problems`` named, the rest
    counted) of an upload, read row by row; more than ``max_rows`` rows: 413."""
    text = body.decode("utf-8-sig", errors="replace")
    kind = content_type.split(";")[0].strip().lower()
    problems = Problems(limits.max_problems)
    too_many = HTTPException(413, f"upload has more than {max_rows:,} rows (config api.max_upload_rows)")
    if kind in ("application/json", ""):
        try:
            data = decode_line(text)  # as long as the upload may be (api.max_upload_bytes)
        except BadLine as exc:
            raise HTTPException(422, f"body is not usable JSON: {exc}") from None
        records = data if isinstance(data, list) else [data]
        if len(records) > max_rows:
            raise too_many
        shipments = []
        for number, record in enumerate(records, 1):
            try:
                shipments.append(Shipment.model_validate(record))
            except ValidationError as exc:
                for e in exc.errors():
                    problems.add(f"shipment {number}: {'.'.join(map(str, e['loc']))}: {e['msg']}")
        return shipments, problems
    if kind in ("text/csv", "application/csv"):
        items = read_csv(io.StringIO(text, newline=""), limits)
    elif kind in ("application/x-ndjson", "application/jsonl", "application/jsonlines"):
        items = read_jsonl(io.StringIO(text), limits)
    else:
        raise HTTPException(415, "send application/json (a shipment or a list), text/csv or application/x-ndjson")
    if text.count("\n") + 1 > max_rows and _rows(text, kind, limits) > max_rows:  # lines bound rows from above
        raise too_many
    shipments = []
    for item in items:
        if isinstance(item, Shipment):
            shipments.append(item)
        else:
            problems.add(f"line {item.row}: {item.column}: {item.reason}")
    return shipments, problems


def _rows(text: str, kind: str, limits: InputLimits) -> int:
    """Data rows of a CSV (records after the header) or JSON Lines (lines not blank) body."""
    if kind.endswith("csv"):
        return sum(1 for _ in csv_records(io.StringIO(text, newline=""), limits.max_field_lines,
                                          limits.max_line_chars)) - 1
    return sum(1 for line in io.StringIO(text) if line.strip())


class MatchOut(BaseModel):
    results: list[dict]
    problems: list[str] = Field(description="bad rows, each with line, column and reason; good rows are matched "
                                            "(the first [input] max_problems)")
    problems_total: int = Field(0, description="every problem, named or not")


def _upload(request: Request, body: bytes) -> tuple[list[Shipment], Problems]:
    config = request.app.state.config
    return shipments_from_body(body, request.headers.get("content-type", ""), InputLimits(**config.input.model_dump()),
                               config.api.max_upload_rows)


@router.post("/match", response_model=MatchOut, summary="Match shipments (JSON, CSV or JSON Lines body)")
async def match(request: Request, key: Annotated[ApiKey, Depends(require("match"))]) -> MatchOut:
    shipments, problems = _upload(request, await read_upload(request))
    results = await run_matching(request, shipments)
    audit_use(request, key, "match", f"{len(shipments)} shipment(s)", items=[s.item_id for s in shipments][:50],
              problems=problems.count)
    return MatchOut(results=[_result_json(r) for r in results], problems=problems.named,
                    problems_total=problems.count)


async def run_matching(request: Request, shipments: list[Shipment]) -> list[ShipmentMatches]:
    from starlette.concurrency import run_in_threadpool

    def work() -> list[ShipmentMatches]:
        return list(_matcher(request).match(shipments))

    return await run_in_threadpool(work)


def _result_json(result: ShipmentMatches) -> dict:
    return json.loads(result.to_json())


@router.post("/batches", summary="Match an uploaded batch and keep it for review")
async def create_batch(request: Request, key: Annotated[ApiKey, Depends(require("review"))],
                       name: str = "upload") -> dict:
    shipments, problems = _upload(request, await read_upload(request))
    results = await run_matching(request, shipments)
    batch = request.app.state.reviews.add_batch(name[:200], key.name, results, problems)
    audit_use(request, key, "match", f"batch/{batch.id}", name=name, shipments=len(results), problems=problems.count)
    return {**batch.__dict__, "matched": sum(bool(r.matches) for r in results)}


@router.get("/batches", summary="Batches kept for review, newest first")
def batches(request: Request, key: Annotated[ApiKey, Depends(require("review"))]) -> list[dict]:
    return [b.__dict__ for b in request.app.state.reviews.batches()]


def _batch_or_404(request: Request, batch_id: str):
    batch = request.app.state.reviews.batch(batch_id)
    if batch is None:
        raise HTTPException(404, f"no batch {batch_id}")
    return batch


@router.get("/batches/{batch_id}", summary="A batch's results with the reviews given so far")
def batch(batch_id: str, request: Request, key: Annotated[ApiKey, Depends(require("review"))],
          offset: int = Param(0, ge=0), limit: int = Param(100, ge=1, le=1000)) -> dict:
    found = _batch_or_404(request, batch_id)
    reviews = request.app.state.reviews.reviews(batch_id)
    audit_use(request, key, "view", f"batch/{batch_id}")
    return {**found.__dict__, "results": [_result_json(r) for r in request.app.state.reviews.results(
        batch_id, offset, limit)], "reviews": [r.__dict__ for r in reviews.values()]}


class ReviewIn(BaseModel):
    item_id: str
    target: str = Field(description="the match's listing id, or vendor:<vendor id> for a vendor match")
    decision: Decision
    note: str = ""


@router.put("/batches/{batch_id}/reviews", summary="Confirm or reject a match")
def review(batch_id: str, request: Request, key: Annotated[ApiKey, Depends(require("review"))],
           decision: Annotated[ReviewIn, Body()]) -> dict:
    _batch_or_404(request, batch_id)
    try:
        done = request.app.state.reviews.review(batch_id, decision.item_id, decision.target, decision.decision,
                                                decision.note, key.name)
    except ReviewError as exc:
        raise HTTPException(404, str(exc)) from None
    audit_use(request, key, "review", f"batch/{batch_id}/{decision.item_id}", target=decision.target,
              decision=decision.decision)
    return done.__dict__


@router.get("/batches/{batch_id}/export", summary="A batch's matches with their reviews (JSON Lines or CSV)")
def export_batch(batch_id: str, request: Request, key: Annotated[ApiKey, Depends(require("review"))],
                 format: Literal["jsonl", "csv"] = "jsonl") -> Response:
    _batch_or_404(request, batch_id)
    reviews: ReviewStore = request.app.state.reviews
    body = reviews.export_csv(batch_id) if format == "csv" else reviews.export_jsonl(batch_id)
    audit_use(request, key, "export", f"batch/{batch_id}", format=format)
    media = "text/csv" if format == "csv" else "application/x-ndjson"
    return Response(body, media_type=f"{media}; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="interdict-batch-{batch_id}.{format}"'})


# -- the watchlist feed ----------------------------------------------------------------------
@router.get("/watchlist", summary="Watchlist terms for risk engines (JSON, CSV, STIX 2.1), whole or since a cursor")
def watchlist_feed(request: Request, key: Annotated[ApiKey, Depends(require("watchlist"))],
                   format: Literal["json", "csv", "stix"] = "json", since: str | None = None,
                   all: bool = False) -> Response:
    settings = request.app.state.watchlist
    terms = watchlist.feed(watchlist.derive_terms(store_of(request), settings), all)
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
    audit_use(request, key, "export", "watchlist", format=format, since=since, terms=len(terms), not_modified=unchanged)
    if unchanged:
        return Response(status_code=304, headers=headers)
    media = {"json": "application/json", "csv": "text/csv", "stix": "application/stix+json;version=2.1"}[format]
    return Response(body, media_type=media, headers=headers)


# -- administration --------------------------------------------------------------------------
class KeyIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    role: Literal[tuple(ROLES)]  # type: ignore[valid-type]


@router.get("/keys", summary="API keys (never the keys themselves)")
def keys(request: Request, key: Annotated[ApiKey, Depends(require("keys"))]) -> list[dict]:
    return [k.__dict__ for k in request.app.state.access.keys()]


@router.post("/keys", status_code=201, summary="Create a key; the response is the only time it is shown")
def create_key(request: Request, key: Annotated[ApiKey, Depends(require("keys"))],
               wanted: Annotated[KeyIn, Body()]) -> dict:
    made, token = request.app.state.access.create_key(wanted.name, wanted.role)
    audit_use(request, key, "keys", f"key/{made.id}", created=made.name, role=made.role)
    return {**made.__dict__, "key": token}


@router.delete("/keys/{key_id}", summary="Revoke a key")
def revoke_key(key_id: str, request: Request, key: Annotated[ApiKey, Depends(require("keys"))]) -> dict:
    try:
        revoked = request.app.state.access.revoke(key_id)
    except AccessError as exc:
        raise HTTPException(404, str(exc)) from None
    audit_use(request, key, "keys", f"key/{key_id}", revoked=revoked.name)
    return revoked.__dict__


@router.get("/jobs", summary="Crawl job history, latest first")
def jobs(request: Request, key: Annotated[ApiKey, Depends(require("jobs"))], market: str | None = None,
         limit: int = Param(50, ge=1, le=1000)) -> list[dict]:
    return [job.model_dump(mode="json") for job in store_of(request).jobs(market=market, limit=limit)]


@router.get("/metrics", summary="Crawl and index metrics in Prometheus text format")
def metrics(request: Request, key: Annotated[ApiKey, Depends(require("metrics"))]) -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST

    from interdict.monitoring import metrics_text

    return Response(metrics_text(request.app.state.config, store_of(request)), media_type=CONTENT_TYPE_LATEST)


@router.get("/audit", summary="The audit log, latest first")
def audit(request: Request, key: Annotated[ApiKey, Depends(require("audit"))],
          limit: int = Param(100, ge=1, le=10_000), action: str | None = None, key_id: str | None = None) -> list[dict]:
    return [r.__dict__ for r in request.app.state.access.audit(limit, action, key_id)]


@router.get("/openapi.json", include_in_schema=False)
def openapi(request: Request, key: Annotated[ApiKey, Depends(require(None))]) -> dict:
    return request.app.openapi()
