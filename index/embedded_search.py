"""Search in the embedded store: filters, counts, facets and sorts on the in-memory postings
and columns (index/embedded_postings.py), words on SQLite's full-text index, and only the
documents of the page shown read from the file."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

import numpy as np
from pyroaring import BitMap

from contracts.documents import ListingDocument
from index.embedded_postings import Postings, bitmap
from index.embedded_schema import WITH_DOCS, rows_in
from index.highlight import highlights
from index.query import FacetCount, Hit, Query, SearchResult, TermClause, TextQuery, parse_text
from index.store import StoreError
from index.trends import micros

# bm25 column weights: a hit in the title counts most.
_BM25 = "bm25(listings_fts, 4.0, 1.0, 2.0)"


def _fts_phrase(tokens: list[str]) -> str:
    # Tokens are [^\W_]+ runs, so they hold no quotes; quoting makes FTS5 syntax inert.
    return '"' + " ".join(tokens) + '"'


def _fts_match(text: TextQuery) -> str | None:
    """The FTS5 expression of the words a listing must hold (and must not), if any must."""
    if not text.must:
        return None
    return " AND ".join(_fts_phrase(c) for c in text.must) + "".join(f" NOT {_fts_phrase(c)}" for c in text.must_not)


def _full_text(db: sqlite3.Connection, match: str) -> BitMap:
    """The rowids the full-text index matches, joined into one string by SQLite."""
    joined = db.execute("SELECT group_concat(rowid) FROM listings_fts WHERE listings_fts MATCH ?", (match,)).fetchone()[0]
    return bitmap(np.array(joined.split(","), dtype=np.uint32)) if joined else BitMap()


def _matching(db: sqlite3.Connection, postings: Postings, query: Query, text: TextQuery, fts: str | None,
              terms: list[TermClause]) -> tuple[BitMap, int]:
    """The rowids the query matches, and how many the full-text index matched (0 without words)."""
    result = postings.all.copy()
    matched = 0
    if fts:
        words = _full_text(db, fts)
        result &= words
        matched = len(words)
    elif text.must_not:
        result -= _full_text(db, " OR ".join(_fts_phrase(c) for c in text.must_not))
    for clause in terms:
        holding = BitMap()
        for field, values in {clause.field: clause.values, **clause.also}.items():
            bitmaps = postings.field(db, field)
            holding = holding.union(*(bitmaps[v] for v in values if v in bitmaps))
        result = result - holding if clause.negate else result & holding
    columns = postings.columns
    dates = columns.last_seen if query.date_field == "last_seen" else columns.first_seen
    bounds: list[tuple[np.ndarray, float | None, float | None]] = [
        (columns.price, query.price_min_usd, query.price_max_usd),
        (dates, None if query.date_from is None else micros(query.date_from),
         None if query.date_to is None else micros(query.date_to))]
    if any(low is not None or high is not None for _, low, high in bounds):
        rowids = _array(result)
        keep = np.ones(len(rowids), dtype=bool)
        for column, low, high in bounds:  # an absent price (NaN) is within no bounds
            if low is not None:
                keep &= column[rowids] >= low
            if high is not None:
                keep &= column[rowids] <= high
        result = bitmap(rowids[keep])
    return result, matched


def _array(rowids: BitMap) -> np.ndarray:
    return np.frombuffer(rowids.to_array(), dtype=np.uint32).astype(np.int64)


def _ordered(postings: Postings, rowids: np.ndarray, key: np.ndarray, want: int) -> list[int]:
    """The first ``want`` of ``rowids`` by ``key`` ascending, then id: only the rows whose key is
    within the first ``want`` are sorted."""
    if want < len(rowids):
        kth = np.partition(key, want - 1)[want - 1]
        within = key <= kth
        rowids, key = rowids[within], key[within]
    columns = postings.columns
    order = np.lexsort((columns.id_low[rowids], columns.id_high[rowids], key))
    return rowids[order][:want].tolist()


def _sort_key(postings: Postings, rowids: np.ndarray, sort: str) -> np.ndarray:
    columns = postings.columns
    if sort in ("price", "-price"):
        price = columns.price[rowids]
        return np.where(np.isnan(price), np.inf, price if sort == "price" else -price)  # absent prices last
    field = sort.lstrip("-") if sort != "relevance" else "last_seen"
    seen = getattr(columns, field)[rowids].astype(np.float64)  # microseconds: exact below 2**53
    return seen if sort in ("first_seen", "last_seen") else -seen


def _by_relevance(db: sqlite3.Connection, postings: Postings, fts: str, result: BitMap, want: int,
                  matched: int) -> list[tuple[int, float]]:
    """The first ``want`` of ``result`` by bm25, then id. SQLite ranks the full-text matches; the
    filters keep ``len(result)`` of its ``matched``, so about want * matched / len(result) of its
    best are read, more until every row scoring as well as the last one wanted is in."""
    limit = max(64, int(want * matched / max(len(result), 1) * 1.5) + 16)
    while True:
        ranked = db.execute(f"SELECT rowid, {_BM25} FROM listings_fts WHERE listings_fts MATCH ? ORDER BY {_BM25}"
                            " LIMIT ?", (fts, limit)).fetchall()
        kept = [(rowid, score) for rowid, score in ranked if rowid in result]
        exhausted = len(ranked) < limit
        if exhausted or (len(kept) >= want and ranked[-1][1] > kept[want - 1][1]):
            break
        limit *= 4
    if len(kept) > want and not exhausted:
        kept = [(rowid, score) for rowid, score in kept if score <= kept[want - 1][1]]
    columns = postings.columns
    kept.sort(key=lambda rs: (rs[1], int(columns.id_high[rs[0]]), int(columns.id_low[rs[0]])))
    return kept[:want]


def _facet(db: sqlite3.Connection, postings: Postings, field: str, result: BitMap, size: int) -> list[FacetCount]:
    counts = [(-n, key) for key, bitmap in postings.field(db, field).items()
              if (n := bitmap.intersection_cardinality(result))]
    counts.sort()
    return [FacetCount(value=key, label=postings.label(field, key), count=-n) for n, key in counts[:size]]


def search(db: sqlite3.Connection, postings: Postings, query: Query, words: str, terms: list[TermClause],
           decode: Callable[[str, str], ListingDocument | None]) -> SearchResult:
    """The page, total and facets of a planned query (Store.plan: words, term clauses);
    ``decode``: (document JSON, id) -> the document, or None when it cannot be read."""
    text = parse_text(words)
    fts = _fts_match(text)
    want = query.offset + query.limit
    try:
        with postings.lock:
            # One snapshot of the file for the refresh and every read after it.
            own = not db.in_transaction
            if own:
                db.execute("BEGIN")
            try:
                postings.refresh(db)
                result, matched = _matching(db, postings, query, text, fts, terms)
                facets = {f: _facet(db, postings, f, result, query.facet_size) for f in query.facets}
                scores: dict[int, float | None] = {}
                if want and result:
                    if fts and query.sort == "relevance":
                        scores = dict(_by_relevance(db, postings, fts, result, want, matched))
                    else:
                        rowids = _array(result)
                        scores = dict.fromkeys(_ordered(postings, rowids, _sort_key(postings, rowids, query.sort),
                                                        want))
                page = list(scores)[query.offset:]
                rows = {rowid: (doc_id, doc) for rowid, doc_id, doc in _documents(db, page)}
            finally:
                if own:
                    db.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        raise StoreError(f"search failed: {exc}") from None
    hits = []
    skipped = 0
    for rowid in page:
        doc_id, doc_json = rows[rowid]  # in the snapshot the postings were brought up to
        doc = decode(doc_json, doc_id)
        if doc is None:
            skipped += 1
            continue
        score = scores[rowid]
        hits.append(Hit(document=doc, score=-score if score is not None else None,
                        highlights=highlights(doc.data.listing.title, doc.data.listing.description, text)))
    return SearchResult(total=len(result), hits=hits, facets=facets, unreadable=skipped)


def _documents(db: sqlite3.Connection, rowids: list[int]) -> list[tuple[int, str, str]]:
    return list(rows_in(db, f"SELECT l.rowid, l.id, d.doc FROM {WITH_DOCS} WHERE l.rowid IN", rowids))
