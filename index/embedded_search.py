"""Search in the embedded store: the query as SQL over the listings rows, the filter terms and
the full-text index; documents read only for the page shown."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from contracts.documents import ListingDocument
from index.embedded_schema import iso
from index.highlight import highlights
from index.query import FacetCount, Hit, Query, SearchResult, TermClause, parse_text
from index.store import StoreError

_SORT_SQL = {
    "price": "l.price_usd IS NULL, l.price_usd ASC, l.id",
    "-price": "l.price_usd IS NULL, l.price_usd DESC, l.id",
    "last_seen": "l.last_seen ASC, l.id",
    "-last_seen": "l.last_seen DESC, l.id",
    "first_seen": "l.first_seen ASC, l.id",
    "-first_seen": "l.first_seen DESC, l.id",
}
# bm25 column weights: a hit in the title counts most.
_BM25 = "bm25(listings_fts, 4.0, 1.0, 2.0)"


def _fts_phrase(tokens: list[str]) -> str:
    # Tokens are [^\W_]+ runs, so they hold no quotes; quoting makes FTS5 syntax inert.
    return '"' + " ".join(tokens) + '"'


def _where(query: Query, words: str, terms: list[TermClause]) -> tuple[str, list, str | None]:
    clauses: list[str] = []
    params: list[Any] = []
    text = parse_text(words)
    fts = None
    if text.must:
        fts = " AND ".join(_fts_phrase(c) for c in text.must)
        fts += "".join(f" NOT {_fts_phrase(c)}" for c in text.must_not)
    elif text.must_not:
        clauses.append("l.rowid NOT IN (SELECT rowid FROM listings_fts WHERE listings_fts MATCH ?)")
        params.append(" OR ".join(_fts_phrase(c) for c in text.must_not))
    for clause in terms:
        fields = {clause.field: clause.values, **clause.also}
        either = " OR ".join(f"(field=? AND key IN ({','.join('?' * len(values))}))" for values in fields.values())
        clauses.append(f"l.rowid {'NOT IN' if clause.negate else 'IN'} (SELECT doc FROM terms WHERE {either})")
        params += [p for field, values in fields.items() for p in (field, *values)]
    if query.price_min_usd is not None:
        clauses.append("l.price_usd >= ?")
        params.append(query.price_min_usd)
    if query.price_max_usd is not None:
        clauses.append("l.price_usd <= ?")
        params.append(query.price_max_usd)
    if query.date_from is not None:
        clauses.append(f"l.{query.date_field} >= ?")
        params.append(iso(query.date_from))
    if query.date_to is not None:
        clauses.append(f"l.{query.date_field} <= ?")
        params.append(iso(query.date_to))
    return " AND ".join(clauses) or "1", params, fts

def search(db: sqlite3.Connection, query: Query, words: str, terms: list[TermClause],
           decode: Callable[[str, str], ListingDocument | None]) -> SearchResult:
    """The page, total and facets of a planned query (Store.plan: words, term clauses);
    ``decode``: (document JSON, id) -> the document, or None when it cannot be read."""
    where, params, fts = _where(query, words, terms)
    if fts:
        source = "listings l JOIN listings_fts ON listings_fts.rowid = l.rowid AND listings_fts MATCH ?"
        params = [fts, *params]
    else:
        source = "listings l"
    # What matches, as rowids, for the count and the facets: the full-text index alone
    # when words are all there is; nothing to narrow when there is nothing at all.
    if where != "1":
        matching: tuple[str, list] | None = (f"SELECT l.rowid FROM {source} WHERE {where}", params)
    elif fts:
        matching = ("SELECT rowid FROM listings_fts WHERE listings_fts MATCH ?", [fts])
    else:
        matching = None
    try:
        total = db.execute(*(("SELECT count(*) FROM listings", []) if matching is None else
                                  (f"SELECT count(*) FROM ({matching[0]})", matching[1]))).fetchone()[0]
        if query.sort == "relevance":
            order = f"{_BM25}, l.id" if fts else "l.last_seen DESC, l.id"
        else:
            order = _SORT_SQL[query.sort]
        rows = db.execute(
            f"SELECT l.rowid, l.id, {_BM25 if fts else 'NULL'} FROM {source} WHERE {where} ORDER BY {order}"
            " LIMIT ? OFFSET ?", [*params, query.limit, query.offset]).fetchall()
        docs = dict(db.execute(f"SELECT rowid, doc FROM listing_docs WHERE rowid IN ({','.join('?' * len(rows))})",
                                    [rowid for rowid, _, _ in rows]))
        facets = {f: _facet(db, f, matching, query.facet_size) for f in query.facets}
    except sqlite3.OperationalError as exc:
        raise StoreError(f"search failed: {exc}") from None
    hits = []
    text = parse_text(words)
    skipped = 0
    for rowid, doc_id, score in rows:
        doc = decode(docs[rowid], doc_id)
        if doc is None:
            skipped += 1
            continue
        hits.append(Hit(document=doc, score=-score if score is not None else None,
                        highlights=highlights(doc.data.listing.title, doc.data.listing.description, text)))
    return SearchResult(total=total, hits=hits, facets=facets, unreadable=skipped)

def _facet(db: sqlite3.Connection, field: str, matching: tuple[str, list] | None, size: int) -> list[FacetCount]:
    within, params = ("", []) if matching is None else (f" AND t.doc IN ({matching[0]})", matching[1])
    rows = db.execute(
        f"SELECT t.key, min(t.label), count(*) AS n FROM terms t WHERE t.field=?{within}"
        " GROUP BY t.key ORDER BY n DESC, t.key LIMIT ?", [field, *params, size]).fetchall()
    return [FacetCount(value=k, label=label, count=n) for k, label, n in rows]
