"""Trends (index.trends) on the embedded store: the filters as the postings' bitmaps, listings'
lives from the search columns, the price periods and each listing's vendor as arrays read once
per change of the file, and every period's count or sum as a difference array run through a
cumulative sum — no document is read."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

import numpy as np
from pyroaring import BitMap

from index.embedded_postings import Postings
from index.embedded_search import _array, _matching
from index.query import TermClause, parse_text
from index.trends import Interval, TrendQuery, TrendResult, TrendSeries, period_index, period_label

UNITS = ("g", "ml", "unit")
_UNIT_CODE = "CASE unit WHEN 'g' THEN 0 WHEN 'ml' THEN 1 ELSE 2 END"


@dataclass
class _Arrays:
    """What trends read beside the postings, for one state (epoch, version) of the file."""

    state: tuple[str, int]
    doc: np.ndarray  # price periods: listing rowid
    start: np.ndarray  # microseconds
    end: np.ndarray  # microseconds, the last one of the period
    usd: np.ndarray
    unit: np.ndarray  # index into UNITS
    vendor: np.ndarray  # per rowid: the vendor's number (-1: none)


def _numbers(db: sqlite3.Connection, column: str, dtype) -> np.ndarray:
    """One column of unit_periods, in rowid order, through one joined string (a million rows
    cross into Python as one value)."""
    joined = db.execute(f"SELECT group_concat(v) FROM (SELECT {column} AS v FROM unit_periods ORDER BY rowid)"
                        ).fetchone()[0]
    if not joined:
        return np.zeros(0, dtype=dtype)
    # numbers under 2**53 (microseconds until the year 2255) pass through a double exactly
    return np.fromstring(joined, dtype=np.float64, sep=",").astype(dtype)


def _arrays(db: sqlite3.Connection, postings: Postings) -> _Arrays:
    state = (postings.epoch, postings.version)
    cached = getattr(postings, "trend_arrays", None)
    if cached is not None and cached.state == state:
        return cached
    vendor = np.full(len(postings.columns.price), -1, dtype=np.int64)
    for number, rowids in enumerate(postings.field(db, "vendor_id").values()):
        vendor[_array(rowids)] = number
    end = _numbers(db, "end_us - 1 + included", np.int64)  # an excluded end: the microsecond before it
    arrays = _Arrays(state, _numbers(db, "doc", np.int64), _numbers(db, "start_us", np.int64), end,
                     _numbers(db, "usd", np.float64), _numbers(db, _UNIT_CODE, np.int64), vendor)
    postings.trend_arrays = arrays  # type: ignore[attr-defined]
    return arrays


def _periods(moments: np.ndarray, interval: Interval) -> np.ndarray:
    """Each moment's period (months since 1970, or weeks since Monday 1970-01-05)."""
    at = moments.astype("datetime64[us]")
    if interval == "month":
        return at.astype("datetime64[M]").astype(np.int64)
    return (at.astype("datetime64[D]").astype(np.int64) - 4) // 7


def _spans(first: np.ndarray, last: np.ndarray, p0: int, n: int, weights: np.ndarray | None = None) -> np.ndarray:
    """Per period p0 .. p0 + n - 1: how many spans [first, last] overlap it (or the sum of their weights)."""
    start = np.clip(first - p0, 0, n)
    stop = np.clip(last - p0 + 1, 0, n)
    keep = start < stop
    w = None if weights is None else weights[keep]
    return np.cumsum(np.bincount(start[keep], w, n + 1) - np.bincount(stop[keep], w, n + 1))[:n]


def _distinct(owner: np.ndarray, first: np.ndarray, last: np.ndarray, p0: int, n: int) -> np.ndarray:
    """Per period: how many owners (vendors) have a span overlapping it, each counted once."""
    start = np.clip(first - p0, 0, n)
    stop = np.clip(last - p0 + 1, 0, n)
    keep = (start < stop) & (owner >= 0)
    owner, start, lengths = owner[keep], start[keep], (stop - start)[keep]
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    pairs = np.unique(np.repeat(owner, lengths) * n + np.repeat(start, lengths) + offsets)
    return np.bincount(pairs % n, minlength=n)


def embedded_trend(db: sqlite3.Connection, postings: Postings, q: TrendQuery, clauses: list[TermClause]) -> TrendResult:
    """The trend of a planned query (the filters' term clauses), postings brought up to date."""
    result, _ = _matching(db, postings, q.search(), parse_text(""), None, clauses)
    columns = postings.columns
    groups: list[tuple[str, str, BitMap]] = [("", "", result)]
    if q.by:
        counted = sorted((-n, key) for key, bitmap in postings.field(db, q.by).items()
                         if (n := bitmap.intersection_cardinality(result)))
        top = [(key, postings.label(q.by, key), postings.field(db, q.by)[key] & result) for _, key in counted[:q.top]]
        rest = result - BitMap.union(*(b for _, _, b in top)) if top else result
        groups = top + ([("other", "other", rest)] if rest else [])
    arrays = _arrays(db, postings) if q.measure != "listings" else None
    rowids = _array(result)
    if q.measure == "unit_price":
        assert arrays is not None
        member = np.zeros(len(columns.price), dtype=bool)
        member[rowids] = True
        chosen = member[arrays.doc] if len(arrays.doc) else np.zeros(0, dtype=bool)
        units = np.bincount(arrays.unit[chosen], minlength=len(UNITS))
        unit = int(np.argmax(units)) if units.any() else 0  # the unit most of the prices are in
        chosen &= arrays.unit == unit
        first, last = _periods(arrays.start, q.interval), _periods(arrays.end, q.interval)
        span_first, span_last = first[chosen], last[chosen]
    else:
        first, last = _periods(columns.first_seen, q.interval), _periods(columns.last_seen, q.interval)
        span_first, span_last = first[rowids], last[rowids]
    p0 = period_index(q.date_from, q.interval) if q.date_from else (int(span_first.min()) if len(span_first) else 0)
    p1 = period_index(q.date_to, q.interval) if q.date_to else (int(span_last.max()) if len(span_last) else -1)
    n = max(p1 - p0 + 1, 0)
    if not n:
        return TrendResult(measure=q.measure, interval=q.interval, periods=[], series=[])
    series = []
    for key, label, members in groups:
        ids = _array(members)
        if q.measure == "unit_price":
            assert arrays is not None
            inside = np.zeros(len(columns.price), dtype=bool)
            inside[ids] = True
            pick = chosen & inside[arrays.doc]
            counts = _spans(first[pick], last[pick], p0, n)
            sums = _spans(first[pick], last[pick], p0, n, arrays.usd[pick])
            values: list[float | None] = [float(s / c) if c else None for s, c in zip(sums, counts)]
            if counts.any():  # a group with listings but no price in this unit says nothing
                series.append(TrendSeries(key=key, label=label, values=values, counts=[int(c) for c in counts],
                                          unit=UNITS[unit]))
        else:
            if q.measure == "listings":
                counts = _spans(first[ids], last[ids], p0, n)
            else:
                assert arrays is not None
                counts = _distinct(arrays.vendor[ids], first[ids], last[ids], p0, n)
            series.append(TrendSeries(key=key, label=label, values=[float(c) for c in counts],
                                      counts=[int(c) for c in counts]))
    return TrendResult(measure=q.measure, interval=q.interval,
                       periods=[period_label(p, q.interval) for p in range(p0, p0 + n)], series=series)

