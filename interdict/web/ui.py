"""The analyst web app: overview charts, search with facets, listing and vendor pages, and
match review — server-rendered pages over the same Store and the same access rules as the
API (a page needs the permission its API route needs; after the login form an HttpOnly,
SameSite=Strict cookie holds a web session id, never the key: interdict/web/auth.py). Crawled text is escaped by the templates
(Jinja2 autoescape); pages load nothing but their own CSS and script (CSP 'self')."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from contracts.documents import vendor_id
from index.query import FILTER_FIELDS, PLACE_FILTERS, Query
from index.trends import TrendQuery
from index.vendor_search import find_vendors
from interdict.web import charts
from interdict.web.api.listings import hit_out
from interdict.web.auth import SESSION_COOKIE, CanRead, CanReview, CanSearch, caller, from_another_site, record
from interdict.web.deps import AccessDep, ConfigDep, FiltersDep, PhotosDep, ReviewsDep, StoreDep, listing_query
from interdict.web.photos import listing_photos, vendor_photos
from interdict.web.vendors import vendor_profile

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
_TEMPLATES = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(default=True),
                         trim_blocks=True, lstrip_blocks=True)
FACETS = ("market", "category", "ships_from", "ships_to", "vendor", "status")
PAGE = 20

router = APIRouter(include_in_schema=False)


def page(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    html = _TEMPLATES.get_template(template).render(request=request, **context)
    return HTMLResponse(html, status_code=status)


def ui_error(request: Request, exc: StarletteHTTPException) -> Response:
    """Pages answer a missing key with the login form, anything else with a readable page."""
    if exc.status_code == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)
    return page(request, "error.html", status=exc.status_code, status_code=exc.status_code, detail=exc.detail)


def _safe_next(target: str | None) -> str:
    # Only paths of this site: "//host" or "https://..." would make the login an open redirect.
    return target if target and target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login")
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    return page(request, "login.html", next=_safe_next(next), failed=False)


def _refuse_cross_site(request: Request, what: str) -> Response | None:
    if from_another_site(request):
        record(request, None, "denied", request.url.path, {"reason": f"{what} posted from another site"}, status=403)
        return page(request, "error.html", status=403, status_code=403,
                    detail=f"{what} refused: the form was sent from another site")
    return None


@router.post("/login")
async def login(request: Request, access: AccessDep, config: ConfigDep) -> Response:
    if refused := _refuse_cross_site(request, "login"):
        return refused
    form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
    key_text = (form.get("key") or [""])[0].strip()
    target = _safe_next((form.get("next") or ["/"])[0])
    key = access.authenticate(key_text) if key_text else None
    if key is None:
        record(request, None, "denied", "/login", {"reason": "login with an unknown or revoked key"}, status=401)
        return page(request, "login.html", status=401, next=target, failed=True)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        access.end_session(previous)
    record(request, key, "login", "/login")
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(SESSION_COOKIE, access.start_session(key), httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https", max_age=config.api.session_max_hours * 3600)
    return response


@router.post("/logout")
def logout(request: Request, access: AccessDep) -> Response:
    if refused := _refuse_cross_site(request, "logout"):
        return refused
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        who = caller(request)
        access.end_session(session)
        record(request, who.key, "logout", "/logout")
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# -- overview --------------------------------------------------------------------------------
@router.get("/")
def overview(request: Request, who: CanSearch, store: StoreDep) -> HTMLResponse:
    everything = store.search(Query(facets=["ships_from", "category", "vendor", "market"], facet_size=12, limit=0))
    counts = {f: [(c.label, c.count) for c in everything.facets.get(f, [])] for f in ("ships_from", "category",
                                                                                     "vendor", "market")}
    periods, series = _categories_by_month(store, [c for c, _ in counts["category"][:6]])
    who.audit("view", "overview")
    return page(request, "overview.html", key=who.key, total=everything.total, markets=counts["market"], charts=[
        charts.bars(counts["ships_from"], "Listings by ships-from country", href="/search?ships_from={value}"),
        charts.bars(counts["vendor"][:10], "Top vendors by listings", href="/search?vendor={value}"),
        charts.stacked_columns(periods, series, "Listings first seen per month, by category"),
    ])


def _categories_by_month(store, categories: list[str], months: int = 12) -> tuple[list[str], dict[str, list[int]]]:
    latest = store.search(Query(sort="-first_seen", limit=1)).hits
    if not latest or not categories:
        return [], {}
    end = latest[0].document.first_seen
    starts = []
    year, month = end.year, end.month
    for _ in range(months):
        starts.append(datetime(year, month, 1, tzinfo=UTC))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    starts.reverse()
    series: dict[str, list[int]] = {c: [] for c in categories}
    for i, start in enumerate(starts):
        stop = starts[i + 1] if i + 1 < len(starts) else None
        result = store.search(Query(date_field="first_seen", date_from=start, date_to=stop, limit=0,
                                    facets=["category"], facet_size=1000))
        found = {c.label: c.count for c in result.facets.get("category", [])}
        for c in categories:
            series[c].append(found.get(c, 0))
    first = next((i for i in range(len(starts)) if any(v[i] for v in series.values())), 0)
    return [s.strftime("%Y-%m") for s in starts[first:]], {c: v[first:] for c, v in series.items()}


# -- search ----------------------------------------------------------------------------------
@router.get("/search")
def search_page(request: Request, who: CanSearch, store: StoreDep, shown: FiltersDep, q: str = "",
                sort: str = "relevance", offset: int = 0, exact_places: str = "") -> HTMLResponse:
    filters = {f: v for f, v in shown.asked().items() if f in FILTER_FIELDS}
    exact = exact_places == "1"  # the check-box: places as the listing names them
    asked = {(f"{f}_exact" if exact and f in PLACE_FILTERS else f): v for f, v in filters.items()}
    query = listing_query(q, asked, sort=sort, offset=max(0, min(offset, 10_000)), limit=PAGE, facets=list(FACETS))
    result = store.search(query)
    who.audit("search", q or "*", filters=asked, total=result.total)
    base = [("q", q)] + [(f, v) for f, values in filters.items() for v in values]
    base += ([("sort", sort)] if sort != "relevance" else []) + ([("exact_places", "1")] if exact else [])

    def link(**change) -> str:
        params = [(k, v) for k, v in base if k not in change] + [(k, v) for k, v in change.items() if v is not None]
        return "/search?" + urlencode(params)

    def toggle(field: str, value: str) -> str:
        pairs = [(k, v) for k, v in base if (k, v) != (field, value)]
        if (field, value) not in base:
            pairs.append((field, value))
        return "/search?" + urlencode(pairs)

    return page(request, "search.html", key=who.key, q=q, sort=sort, result=result, offset=query.offset,
                hits=[hit_out(h.document, h.score, h.highlights) for h in result.hits], filters=filters, exact=exact,
                facets=result.facets, toggle=toggle, link=link, page_size=PAGE)


@router.get("/vendors")
def vendors_page(request: Request, who: CanSearch, store: StoreDep, shown: FiltersDep, q: str = "") -> HTMLResponse:
    market = shown.market
    hits = find_vendors(store, q, market) if q.strip() else []
    if q.strip():
        who.audit("search", f"vendors: {q}", filters={"market": market} if market else {}, total=len(hits))
    return page(request, "vendors.html", key=who.key, q=q, market=market, hits=hits)


# -- a listing, a vendor ---------------------------------------------------------------------
@router.get("/listings/{doc_id}")
def listing_page(doc_id: str, request: Request, who: CanRead, store: StoreDep, photos: PhotosDep,
                 config: ConfigDep) -> HTMLResponse:
    doc = store.get_listing(doc_id)
    who.audit("view", f"listing/{doc_id}", found=doc is not None)
    if doc is None:
        raise HTTPException(404, f"no listing {doc_id}")
    item = doc.data.listing
    chart = charts.price_line([(p.at, p.amount) for p in doc.price_history],
                              item.price.currency if item.price else "")
    return page(request, "listing.html", key=who.key, doc=doc, item=item, enr=doc.data.enrichment, chart=chart,
                vendor_id=vendor_id(doc.market, item.vendor.name),
                photos=listing_photos(store, photos, doc, config.images.link_max_sum))


@router.get("/vendors/{doc_id}")
def vendor_page(doc_id: str, request: Request, who: CanRead, store: StoreDep, photos: PhotosDep,
                config: ConfigDep) -> HTMLResponse:
    profile = vendor_profile(store, doc_id)
    who.audit("view", f"vendor/{doc_id}", found=profile is not None)
    if profile is None:
        raise HTTPException(404, f"no vendor {doc_id}")
    active = store.trends(TrendQuery(measure="listings", filters={"vendor_id": [doc_id]}))
    timeline = charts.lines(active.periods, [("listings active", s.values) for s in active.series],
                            "Its listings active per month")
    return page(request, "vendor.html", key=who.key, profile=profile, vendor=profile["vendor"], timeline=timeline,
                photos=vendor_photos(store, photos, doc_id, config.images.link_max_sum))


# -- match review ----------------------------------------------------------------------------
@router.get("/review")
def batches_page(request: Request, who: CanReview, reviews: ReviewsDep) -> HTMLResponse:
    return page(request, "batches.html", key=who.key, batches=reviews.batches())


@router.get("/review/{batch_id}")
def batch_page(batch_id: str, request: Request, who: CanReview, reviews: ReviewsDep, offset: int = 0) -> HTMLResponse:
    batch = reviews.batch(batch_id)
    if batch is None:
        raise HTTPException(404, f"no batch {batch_id}")
    who.audit("view", f"batch/{batch_id}")
    return page(request, "batch.html", key=who.key, batch=batch, results=reviews.results(batch_id, max(0, offset), 50),
                reviews=reviews.reviews(batch_id), offset=max(0, offset))
