"""Trends (index.trends) on Elasticsearch: date histograms over each listing's life and over its
nested price periods (date_range fields put a document in every bucket its range overlaps),
split by a terms aggregation, vendors counted by cardinality — the same counts and means as the
embedded store's arrays."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.documents import ListingDocument
from index.elastic_search import LABEL_SEPARATOR, bool_query
from index.query import TermClause
from index.trends import TrendQuery, TrendResult, TrendSeries, period_index, period_label, period_start, unit_periods

UNIT_MAX = 3  # g, ml, unit
VENDORS_EXACT = 40_000  # cardinality is exact below this many vendors per period


def trend_fields(doc: ListingDocument) -> dict:
    """What a listing's source holds for trends: its life and its prices per unit."""
    return {"life": {"gte": doc.first_seen.isoformat(), "lte": doc.last_seen.isoformat()},
            "unit_periods": [{"during": {"gte": start.isoformat(), ("lte" if included else "lt"): end.isoformat()},
                              "start": start.isoformat(), "last": end.isoformat(), "usd": usd, "unit": unit}
                             for start, end, included, usd, unit in unit_periods(doc)]}


def _moment(value: float | None) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, UTC) if value is not None else None


def elastic_trend(es, index: str, q: TrendQuery, clauses: list[TermClause]) -> TrendResult:
    query = bool_query(q.search(), "", clauses)
    prices = q.measure == "unit_price"
    # first: the periods the data spans, and the unit most prices are in
    if prices:
        first = {"nested": {"path": "unit_periods"}, "aggs": {
            "units": {"terms": {"field": "unit_periods.unit", "size": UNIT_MAX, "order": [{"_count": "desc"},
                                                                                      {"_key": "asc"}]}},
            "start": {"min": {"field": "unit_periods.start"}}, "last": {"max": {"field": "unit_periods.last"}}}}
        found = es.search(index=index, query=query, size=0, aggs={"spread": first})["aggregations"]["spread"]
        units = found["units"]["buckets"]
        unit = units[0]["key"] if units else "g"
        begin, end = _moment(found["start"]["value"]), _moment(found["last"]["value"])
    else:
        spread = {"start": {"min": {"field": "first_seen"}}, "last": {"max": {"field": "last_seen"}}}
        found = es.search(index=index, query=query, size=0, aggs=spread)["aggregations"]
        unit, begin, end = "", _moment(found["start"]["value"]), _moment(found["last"]["value"])
    p0 = period_index(q.date_from, q.interval) if q.date_from else (period_index(begin, q.interval) if begin else 0)
    p1 = period_index(q.date_to, q.interval) if q.date_to else (period_index(end, q.interval) if end else -1)
    n = max(p1 - p0 + 1, 0)
    periods = [period_label(p, q.interval) for p in range(p0, p0 + n)]
    if not n:
        return TrendResult(measure=q.measure, interval=q.interval, periods=[], series=[])
    bounds = {"min": period_start(p0, q.interval).isoformat(), "max": period_start(p1, q.interval).isoformat()}
    histogram: dict = {"date_histogram": {"field": "unit_periods.during" if prices else "life",
                                    "calendar_interval": q.interval, "min_doc_count": 0,
                                    "extended_bounds": bounds, "hard_bounds": bounds}}
    if prices:
        histogram["aggs"] = {"usd": {"sum": {"field": "unit_periods.usd"}}}
        over_time: dict = {"nested": {"path": "unit_periods"}, "aggs": {"unit": {
            "filter": {"term": {"unit_periods.unit": unit}}, "aggs": {"periods": histogram}}}}
    else:
        if q.measure == "vendors":
            histogram["aggs"] = {"vendors": {"cardinality": {"field": "terms.vendor_id",
                                                             "precision_threshold": VENDORS_EXACT}}}
        over_time = histogram
    aggs: dict = {"all": over_time}
    if q.by:
        aggs = {"groups": {"terms": {"field": f"labels.{q.by}", "size": q.top,
                                     "order": [{"_count": "desc"}, {"_key": "asc"}]}, "aggs": {"all": over_time}}}
    answer = es.search(index=index, query=query, size=0, aggs=aggs)["aggregations"]
    groups: list[tuple[str, str, dict]] = [("", "", answer["all"])] if not q.by else []
    if q.by:
        top = []
        for bucket in answer["groups"]["buckets"]:
            key, _, label = bucket["key"].partition(LABEL_SEPARATOR)
            top.append(key)
            groups.append((key, label or key, bucket["all"]))
        rest = {"bool": {"filter": [query], "must_not": [{"terms": {f"terms.{q.by}": top}}]}} if top else query
        other = es.search(index=index, query=rest, size=0, aggs={"all": over_time}, track_total_hits=True)
        if other["hits"]["total"]["value"]:
            groups.append(("other", "other", other["aggregations"]["all"]))
    series = []
    for key, label, found in groups:
        buckets = found["unit"]["periods"]["buckets"] if prices else found["buckets"]
        by_period = {period_index(datetime.fromtimestamp(b["key"] / 1000, UTC), q.interval): b for b in buckets}
        counts, values = [], []
        for p in range(p0, p0 + n):
            bucket = by_period.get(p)
            count = bucket["doc_count"] if bucket else 0
            if q.measure == "vendors":
                count = bucket["vendors"]["value"] if bucket else 0
            counts.append(int(count))
            if prices:
                values.append(bucket["usd"]["value"] / count if bucket and count else None)
            else:
                values.append(float(count))
        if prices and not any(counts):
            continue  # a group with listings but no price in this unit says nothing
        series.append(TrendSeries(key=key, label=label, values=values, counts=counts, unit=unit))
    return TrendResult(measure=q.measure, interval=q.interval, periods=periods, series=series)
