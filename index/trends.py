"""Trends over time, computed by each store from its own structures (aggregations, not
documents loaded into Python): the price per unit (USD per gram, millilitre or unit) of listings
by month or week, split by a filter field (origin, market…), and the listings and vendors
active in each period.

What both stores count, so that they agree:
- a listing is **active** in a period its life (first seen .. last seen) overlaps;
- its **price per unit** in a period is that of each price it had during the period: a price
  holds from the sighting that showed it to the next price change (the last until last seen),
  in USD at the crawl's rates, divided by the quantity its price buys (its first tier's, else
  the one quantity its text names); a listing without one has no price per unit;
- a **vendor** is active in a period one of its listings is, counted once.
Periods are calendar months (or weeks from Monday), UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from contracts.documents import ListingDocument
from index.query import Query

Measure = Literal["unit_price", "listings", "vendors"]
Interval = Literal["month", "week"]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONDAY = datetime(1970, 1, 5, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class TrendQuery(BaseModel):
    measure: Measure = "unit_price"
    filters: dict[str, list[str]] = {}  # as a search's: product, category, market, vendor_id, ships_from…
    by: str | None = None  # a filter field to split by (ships_from, market, category…); None: one series
    interval: Interval = "month"
    date_from: datetime | None = None  # periods from the one holding it (default: the first listing's)
    date_to: datetime | None = None  # to the one holding it (default: the last sighting's)
    top: int = Field(8, ge=1, le=50)  # series kept when split (the most listings); the rest go in "other"

    def search(self) -> Query:
        """The filters as a search, which validates and normalises them as every search does."""
        return Query(filters=self.filters, limit=0)


class TrendSeries(BaseModel):
    key: str  # the split field's value ("" when not split; "other": the rest)
    label: str
    values: list[float | None]  # per period: the mean price per unit, or the count
    counts: list[int]  # per period: the prices averaged, or the listings/vendors counted
    unit: str = ""  # unit_price: g, ml or unit


class TrendResult(BaseModel):
    measure: Measure
    interval: Interval
    periods: list[str]  # "2026-03" or "2026-W11"
    series: list[TrendSeries]


def micros(moment: datetime) -> int:
    """Microseconds since 1970 (exact: the embedded store keeps dates to the microsecond)."""
    return (moment - _EPOCH) // _MICROSECOND


def period_index(moment: datetime, interval: Interval) -> int:
    """The period holding ``moment``: months since January 1970, or weeks since a Monday."""
    moment = moment.astimezone(UTC)
    if interval == "month":
        return (moment.year - 1970) * 12 + moment.month - 1
    return (moment - _MONDAY) // timedelta(days=7)


def period_start(index: int, interval: Interval) -> datetime:
    if interval == "month":
        return datetime(1970 + index // 12, index % 12 + 1, 1, tzinfo=UTC)
    return _MONDAY + timedelta(days=7 * index)


def period_label(index: int, interval: Interval) -> str:
    start = period_start(index, interval)
    if interval == "month":
        return f"{start:%Y-%m}"
    year, week, _ = start.isocalendar()
    return f"{year}-W{week:02d}"


def unit_of(doc: ListingDocument) -> tuple[float, str] | None:
    """(quantity, unit) the listing's price buys: its first tier's, else its one quantity."""
    enr = doc.data.enrichment
    if enr.tiers and enr.tiers[0].quantity is not None and enr.tiers[0].quantity.amount > 0:
        return enr.tiers[0].quantity.amount, enr.tiers[0].quantity.unit
    units = {(q.amount, q.unit) for q in enr.quantities if q.amount > 0}
    return next(iter(units)) if len(units) == 1 else None


def unit_periods(doc: ListingDocument) -> list[tuple[datetime, datetime, bool, float, str]]:
    """(start, end, end included, USD per unit, unit) of each price the listing had."""
    unit = unit_of(doc)
    if unit is None:
        return []
    amount, name = unit
    points = sorted(((p.at, p.price_usd) for p in doc.price_history if p.price_usd is not None), key=lambda p: p[0])
    if not points and doc.data.enrichment.price_usd is not None:
        return [(doc.first_seen, doc.last_seen, True, doc.data.enrichment.price_usd / amount, name)]
    periods = []
    for i, (at, usd) in enumerate(points):
        last = i == len(points) - 1
        end = doc.last_seen if last else points[i + 1][0]
        if end > at or (last and end == at):
            periods.append((at, end, last, usd / amount, name))
    return periods


def end_index(end: datetime, included: bool, interval: Interval) -> int:
    """The last period a span ending at ``end`` overlaps (an excluded end: not its own period
    when it falls on the period's first microsecond)."""
    return period_index(end if included else end - _MICROSECOND, interval)
