"""Whether one listing document answers a query, decided in Python the way both stores decide
it (the same folded tokens, filter terms and bounds): what a tracker's saved search needs to
look at what an ingest just wrote without a search per tracker and batch. A store plans the
query first (``Store.plan``: identifiers among the words, vendors holding an identifier), so
the clauses are the ones its own search would run."""

from __future__ import annotations

from dataclasses import dataclass

from contracts.documents import ListingDocument
from index.query import Query, TermClause, filter_terms, parse_text, text_fields


@dataclass(frozen=True)
class ListingTerms:
    """What a query looks at in one document, derived once for every query to be tried."""

    fields: tuple[str, ...]  # title, description, everything else: " token token ", padded
    terms: dict[str, frozenset[str]]  # filter field -> normalised keys
    document: ListingDocument

    @classmethod
    def of(cls, doc: ListingDocument) -> "ListingTerms":
        return cls(fields=tuple(f" {text} " for text in text_fields(doc)),
                   terms={f: frozenset(k for k, _ in pairs) for f, pairs in filter_terms(doc).items()},
                   document=doc)


class ListingMatcher:
    """One planned query (``Store.plan(query)``: its words and term clauses), tried on
    documents one at a time."""

    def __init__(self, query: Query, words: str, clauses: list[TermClause]) -> None:
        text = parse_text(words)
        # A phrase is its tokens in a row within one field, as FTS5 and a phrase query find it.
        self.must = [f" {' '.join(tokens)} " for tokens in text.must]
        self.must_not = [f" {' '.join(tokens)} " for tokens in text.must_not]
        self.clauses = clauses
        self.query = query

    def matches(self, listing: ListingTerms | ListingDocument) -> bool:
        terms = listing if isinstance(listing, ListingTerms) else ListingTerms.of(listing)
        if not all(any(p in field for field in terms.fields) for p in self.must):
            return False
        if any(p in field for p in self.must_not for field in terms.fields):
            return False
        for clause in self.clauses:
            holding = any(value in terms.terms.get(field, ())
                          for field, values in {clause.field: clause.values, **clause.also}.items() for value in values)
            if holding == clause.negate:
                return False
        query = self.query
        if (query.price_min_usd is not None or query.price_max_usd is not None) and not _within(
                terms.document.data.enrichment.price_usd, query.price_min_usd, query.price_max_usd):
            return False  # an absent price is within no bounds
        return _within(getattr(terms.document, query.date_field), query.date_from, query.date_to)


def _within(value, low, high) -> bool:
    """``value`` within the bounds given (None: unbounded on that side); an absent value is not."""
    return value is not None and (low is None or value >= low) and (high is None or value <= high)
