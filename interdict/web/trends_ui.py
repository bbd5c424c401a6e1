"""Trends in the web app and the API: prices per unit, listings or vendors active per month or
week, computed by the store (index.trends) and drawn on the server as SVG."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from index.query import FILTER_FIELDS, QueryError
from index.store import Store
from index.trends import TrendQuery, TrendResult
from interdict.web import charts
from interdict.web.auth import CanSearch
from interdict.web.deps import StoreDep
from interdict.web.ui import page

api = APIRouter(tags=["trends"])
pages = APIRouter(include_in_schema=False)
SPLITS = ("", "ships_from", "market", "category", "product", "ships_to")
TITLES = {"unit_price": "Price per unit, mean of the prices in force", "listings": "Listings active",
          "vendors": "Vendors active"}


def trend(store: Store, measure: str, interval: str, by: str, filters: dict[str, list[str]],
          since: datetime | None, until: datetime | None, top: int = 8) -> TrendResult:
    if by and by not in FILTER_FIELDS:
        raise HTTPException(422, f"by: one of {', '.join(FILTER_FIELDS)}")
    try:
        query = TrendQuery(measure=measure, interval=interval, by=by or None, top=top, date_from=since, date_to=until,
                           filters={f: v for f, v in filters.items() if v})
        query.search()
    except (ValidationError, QueryError) as exc:
        raise HTTPException(422, str(exc).splitlines()[0] if isinstance(exc, QueryError) else exc.errors(
            include_url=False, include_context=False, include_input=False)) from None
    return store.trends(query)


def trend_chart(result: TrendResult, title: str) -> str:
    unit = next((f"USD per {s.unit}" for s in result.series if s.unit), "")
    return charts.lines(result.periods, [(s.label or "all", s.values) for s in result.series], title, unit)


@api.get("/trends", response_model=TrendResult, summary="Prices per unit, or listings or vendors active, per period")
def trends_api(who: CanSearch, store: StoreDep, measure: Literal["unit_price", "listings", "vendors"] = "unit_price",
               interval: Literal["month", "week"] = "month", by: str = "", product: str = "", category: str = "",
               market: str = "", vendor_id: str = "", ships_from: str = "", since: datetime | None = None,
               until: datetime | None = None, top: int = 8) -> TrendResult:
    filters = {"product": [product], "category": [category], "market": [market], "vendor_id": [vendor_id],
               "ships_from": [ships_from]}
    result = trend(store, measure, interval, by, {f: [v for v in vs if v] for f, vs in filters.items()}, since, until,
                   max(1, min(top, 50)))
    who.audit("search", f"trends: {measure}", by=by, product=product, category=category, market=market,
              vendor_id=vendor_id, periods=len(result.periods))
    return result


@pages.get("/trends")
def trends_page(request: Request, who: CanSearch, store: StoreDep, measure: str = "unit_price",
                interval: str = "month", by: str = "ships_from", product: str = "cocaine", category: str = "",
                market: str = "", since: str = "", until: str = "") -> HTMLResponse:
    if measure not in TITLES or interval not in ("month", "week") or by not in SPLITS:
        raise HTTPException(422, "measure, interval or split not known")
    try:
        first, last = (datetime.fromisoformat(d) if d else None for d in (since, until))
    except ValueError:
        raise HTTPException(422, "since and until are dates such as 2026-01-01") from None
    result = trend(store, measure, interval, by, {"product": [product] if product else [],
                                                  "category": [category] if category else [],
                                                  "market": [market] if market else []}, first, last)
    named = " ".join(x for x in (product, category, market) if x)
    title = f"{TITLES[measure]}{' · ' + named if named else ''}{' by ' + by if by else ''}, per {interval}"
    who.audit("search", f"trends: {measure}", by=by, product=product, category=category, market=market)
    return page(request, "trends.html", key=who.key, result=result, chart=trend_chart(result, title), measure=measure,
                interval=interval, by=by, product=product, category=category, market=market, since=since,
                until=until, splits=SPLITS, titles=TITLES)
