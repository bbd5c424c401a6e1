"""The shared query model (index.query) as Elasticsearch searches, and their answers as
search results: the half of the Elasticsearch store that reads."""

from __future__ import annotations

from contracts.documents import ListingDocument
from index.elastic_mappings import TEXT_FIELDS
from index.highlight import highlights
from index.query import FacetCount, Hit, Query, SearchResult, TermClause, parse_text

LABEL_SEPARATOR = "\x1f"  # between a facet value and its label in the `labels.*` keywords
MAX_RESULT_WINDOW = 10_000  # Elasticsearch's default index.max_result_window, unless the index says otherwise
# Ties are broken by id, as the embedded store breaks them: by its halves as numbers in an
# index made with them (sorting on the id keyword made a deep page of all listings five times
# slower), by the keyword in an index made before them, until `interdict store migrate`.
_SORT_KEYS: dict[str, list[str | dict]] = {
    "relevance": ["_score"],
    "price": [{"price_usd": {"order": "asc", "missing": "_last"}}],
    "-price": [{"price_usd": {"order": "desc", "missing": "_last"}}],
    "last_seen": [{"last_seen": "asc"}],
    "-last_seen": [{"last_seen": "desc"}],
    "first_seen": [{"first_seen": "asc"}],
    "-first_seen": [{"first_seen": "desc"}],
}
_BY_ID_HALVES = [{"id_high": "asc"}, {"id_low": "asc"}]
_BY_ID = [{"id": "asc"}]


def sort_by(name: str, id_halves: bool) -> list:
    """The sort of that name (Query.sort's), ties broken by id."""
    return [*_SORT_KEYS[name], *(_BY_ID_HALVES if id_halves else _BY_ID)]


_SIGNED = 1 << 63


def id_halves(doc_id: str) -> tuple[int, int]:
    """A document id (32 hex digits) as two signed 64-bit numbers in the id's order (each half
    shifted down by 2**63: Elasticsearch's longs are signed)."""
    return int(doc_id[:16], 16) - _SIGNED, int(doc_id[16:32], 16) - _SIGNED


def _terms(clause: TermClause) -> dict:
    """One clause: its field's terms, or any of its fields' (an identifier or its holders' listings)."""
    if not clause.also:
        return {"terms": {f"terms.{clause.field}": clause.values}}
    fields = {clause.field: clause.values, **clause.also}
    return {"bool": {"should": [{"terms": {f"terms.{f}": v}} for f, v in fields.items()], "minimum_should_match": 1}}


def bool_query(query: Query, words: str, clauses: list[TermClause]) -> dict:
    text = parse_text(words)
    fields = [f"{name}^{weight:g}" for name, weight in TEXT_FIELDS.items()]

    def phrase(tokens: list[str]) -> dict:
        return {"multi_match": {"query": " ".join(tokens), "type": "phrase", "fields": fields}}

    filters: list[dict] = [_terms(c) for c in clauses if not c.negate]
    excluded = [_terms(c) for c in clauses if c.negate]
    price = {k: v for k, v in (("gte", query.price_min_usd), ("lte", query.price_max_usd)) if v is not None}
    if price:
        filters.append({"range": {"price_usd": price}})
    dates = {k: v.isoformat() for k, v in (("gte", query.date_from), ("lte", query.date_to)) if v is not None}
    if dates:
        filters.append({"range": {query.date_field: dates}})
    return {"bool": {"must": [phrase(c) for c in text.must] or [{"match_all": {}}],
                     "must_not": [phrase(c) for c in text.must_not] + excluded, "filter": filters}}


def search_body(query: Query, words: str, clauses: list[TermClause], id_halves: bool) -> dict:
    """``id_halves``: whether the index holds every listing's id_high and id_low (sort_by)."""
    text = parse_text(words)
    sort = sort_by("-last_seen" if query.sort == "relevance" and not text.must else query.sort, id_halves)
    body = {"query": bool_query(query, words, clauses), "sort": sort, "from": query.offset, "size": query.limit,
            "track_total_hits": True, "track_scores": True}
    aggs = {f: {"terms": {"field": f"labels.{f}", "size": query.facet_size * 5 + 50}} for f in query.facets}
    if aggs:
        body["aggs"] = aggs
    return body


def sort_values_at(es, index: str, body: dict, offset: int, window: int = MAX_RESULT_WINDOW) -> list | None:
    """Sort values of the hit just before ``offset``, reached in search_after steps of at most
    ``window`` hits (the index's max_result_window)."""
    after, seen = None, 0
    while seen < offset:
        step = min(window, offset - seen)
        page = {"query": body["query"], "sort": body["sort"], "size": step, "_source": False,
                "track_total_hits": False, **({"search_after": after} if after else {})}
        hits = es.search(index=index, body=page)["hits"]["hits"]
        if not hits:
            break
        after, seen = hits[-1]["sort"], seen + len(hits)
    return after


def search_result(query: Query, words: str, response: dict, decode) -> SearchResult:
    """The result of one search response; ``decode`` (Store.decode) reads each document and
    skips, naming it, one it cannot read."""
    text = parse_text(words)
    hits = []
    skipped = 0
    for raw in response["hits"]["hits"]:
        doc = decode(ListingDocument, raw["_source"]["doc"], raw["_id"])
        if doc is None:
            skipped += 1
            continue
        hits.append(Hit(document=doc, score=raw.get("_score") if text.must else None,
                        highlights=highlights(doc.data.listing.title, doc.data.listing.description, text)))
    facets = {f: facet_counts(response["aggregations"][f]["buckets"], query.facet_size) for f in query.facets}
    return SearchResult(total=response["hits"]["total"]["value"], hits=hits, facets=facets, unreadable=skipped)


def facet_counts(buckets: list[dict], size: int) -> list[FacetCount]:
    """Buckets of `value<sep>label` keywords merged per value (one value may carry labels that
    differ between documents), the most frequent first."""
    counts: dict[str, list] = {}
    for bucket in buckets:
        key, _, label = bucket["key"].partition(LABEL_SEPARATOR)
        entry = counts.setdefault(key, [0, label])
        entry[0] += bucket["doc_count"]
        entry[1] = min(entry[1], label)
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1][0], kv[0]))[:size]
    return [FacetCount(value=k, label=label, count=n) for k, (n, label) in ordered]
