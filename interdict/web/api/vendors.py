"""/api/vendors: vendors found by name, alias or identifier, and one vendor with its profile,
aliases and listings on every market (interdict/web/vendors.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from index.vendor_search import find_vendors
from interdict.web.auth import CanRead, CanSearch
from interdict.web.deps import StoreDep
from interdict.web.vendors import vendor_profile

router = APIRouter(prefix="/vendors", tags=["vendors"])


@router.get("", summary="Find vendors by name, alias or identifier (any written form), on some markets or all")
def vendors(who: CanSearch, store: StoreDep, q: Annotated[str, Query(min_length=1)],
            market: Annotated[list[str], Query()] = [], limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[dict]:
    hits = find_vendors(store, q, market, limit)
    who.audit("search", f"vendors: {q}", filters={"market": market} if market else {}, total=len(hits))
    return [hit.as_dict() for hit in hits]


@router.get("/{doc_id}", summary="A vendor: profile, aliases by shared identifiers, listings on every market")
def vendor(doc_id: str, who: CanRead, store: StoreDep, limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> dict:
    profile = vendor_profile(store, doc_id, limit)
    who.audit("view", f"vendor/{doc_id}", found=profile is not None)
    if profile is None:
        raise HTTPException(404, f"no vendor {doc_id}")
    return profile
