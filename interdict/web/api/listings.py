"""/api/search and /api/listings/{id}: listings found by text, filters and facets, and one
listing with its entities, price history and evidence reference."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field

from contracts.documents import ListingDocument, vendor_id
from interdict.web.auth import CanRead, CanSearch
from interdict.web.deps import SearchDep, StoreDep
from interdict.web.safe import highlighted_html

router = APIRouter(tags=["listings"])


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
                  price=item.price.amount if item.price else None,
                  currency=item.price.currency if item.price else None, price_usd=enr.price_usd,
                  category=enr.category, ships_from=enr.ships_from, ships_to=enr.ships_to,
                  first_seen=doc.first_seen, last_seen=doc.last_seen, score=score,
                  highlights_html={f: highlighted_html(t) for f, t in highlights.items()})


@router.get("/search", response_model=SearchOut, summary="Search listings: text, filters, facets, highlights")
def search(who: CanSearch, query: SearchDep, store: StoreDep) -> SearchOut:
    result = store.search(query)
    who.audit("search", query.text or "*", filters=query.filters, total=result.total)
    return SearchOut(total=result.total, hits=[hit_out(h.document, h.score, h.highlights) for h in result.hits],
                     facets={f: [c.model_dump() for c in counts] for f, counts in result.facets.items()},
                     unreadable=result.unreadable)


@router.get("/listings/{doc_id}", summary="A listing: fields, entities, price history, evidence reference")
def listing(doc_id: str, who: CanRead, store: StoreDep) -> dict:
    doc = store.get_listing(doc_id)
    who.audit("view", f"listing/{doc_id}", found=doc is not None)
    if doc is None:
        raise HTTPException(404, f"no listing {doc_id}")
    return doc.model_dump(mode="json")
