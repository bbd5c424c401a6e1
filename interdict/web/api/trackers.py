"""/api/trackers and /api/alerts: an analyst's trackers and the alerts they raised
(docs/trackers.md). A key owns the trackers it made and sees only those and their alerts; an
admin's key sees every tracker."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException
from pydantic import BaseModel, Field, ValidationError

from contracts.trackers import CHANGE_KINDS, ChangeKind, Tracker
from interdict.trackers import (TrackerDefinitionError, TrackerError, answering_now, check_targets, make_tracker,
                                tracker_query)
from interdict.trackers.book import TrackerBook
from interdict.web.auth import Authorised, CanTrack
from interdict.web.deps import ConfigDep, StoreDep, TrackersDep
from interdict.web.api.listings import hit_out

router = APIRouter(tags=["trackers"])


class TrackerIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["search", "regex", "identifier", "vendor", "product"]
    query: dict[str, Any] = Field({}, description="text, filters, price_min_usd, price_max_usd (as /api/search)")
    pattern: str | None = Field(None, description="regex: RE2 syntax, over title and description")
    vendors: list[str] = Field([], description="vendor: its name and aliases")
    on: list[ChangeKind] = Field(list(CHANGE_KINDS), description="the changes to alert on (of those that apply)")
    price_change_percent: float = Field(10.0, gt=0, le=1000, allow_inf_nan=False)
    deliver: list[str] = ["web"]
    digest: bool = False


def owner_of(who: Authorised) -> str | None:
    """Whose trackers a caller sees: its own, or everyone's for an admin (None)."""
    return None if who.key.role == "admin" else who.key.id


def _own(book: TrackerBook, tracker_id: str, who: Authorised) -> Tracker:
    try:
        return book.get(tracker_id, owner_of(who))
    except TrackerError as exc:
        raise HTTPException(404, str(exc)) from None


def tracker_out(tracker: Tracker, book: TrackerBook) -> dict:
    return {**tracker.model_dump(mode="json"), "unread": book.unread_count([tracker.id])}


@router.get("/trackers", summary="Trackers: the caller's own (an admin: all), each with its unread alerts")
def trackers(who: CanTrack, book: TrackersDep) -> list[dict]:
    found = book.trackers(owner_of(who))
    who.audit("trackers", "trackers", count=len(found))
    return [tracker_out(t, book) for t in found]


@router.post("/trackers", status_code=201, summary="Make a tracker; it is tried on every ingest from now on")
def add_tracker(who: CanTrack, book: TrackersDep, store: StoreDep, config: ConfigDep,
                wanted: Annotated[TrackerIn, Body()]) -> dict:
    fields = wanted.model_dump()
    if wanted.kind != "vendor" and "on" not in wanted.model_fields_set:
        fields["on"] = [k for k in CHANGE_KINDS if k not in ("new_market", "new_identifier")]
    try:
        check_targets(wanted.deliver, config.alerts)
        tracker = book.add(make_tracker(store, who.key.id, **fields))
    except TrackerDefinitionError as exc:
        raise HTTPException(422, str(exc)) from None
    except ValidationError as exc:
        raise HTTPException(422, exc.errors(include_url=False, include_context=False, include_input=False)) from None
    who.audit("trackers", f"tracker/{tracker.id}", created=tracker.name, kind=tracker.kind)
    return tracker_out(tracker, book)


@router.get("/trackers/{tracker_id}", summary="A tracker and its latest alerts")
def tracker(tracker_id: str, who: CanTrack, book: TrackersDep, limit: int = 50) -> dict:
    found = _own(book, tracker_id, who)
    who.audit("trackers", f"tracker/{tracker_id}")
    return {**tracker_out(found, book),
            "alerts": [a.model_dump(mode="json") for a in book.alerts([tracker_id], limit=min(limit, 1000))]}


@router.get("/trackers/{tracker_id}/test", summary="The listings of the index that answer the tracker now")
def test_tracker(tracker_id: str, who: CanTrack, book: TrackersDep, store: StoreDep, limit: int = 20) -> dict:
    found = _own(book, tracker_id, who)
    try:
        tracker_query(found)
        total, docs, read = answering_now(store, found, min(limit, 200))
    except TrackerDefinitionError as exc:
        raise HTTPException(422, str(exc)) from None
    who.audit("trackers", f"tracker/{tracker_id}/test", total=total)
    return {"total": total, "read": read, "hits": [hit_out(d, None, {}) for d in docs]}


@router.delete("/trackers/{tracker_id}", summary="Remove a tracker and its alerts")
def remove_tracker(tracker_id: str, who: CanTrack, book: TrackersDep) -> dict:
    found = _own(book, tracker_id, who)
    gone = book.remove(found.id)
    who.audit("trackers", f"tracker/{tracker_id}", removed=found.name, alerts=gone)
    return {"removed": found.id, "alerts": gone}


@router.get("/alerts", summary="Alerts of the caller's trackers (an admin: all), newest first")
def alerts(who: CanTrack, book: TrackersDep, unread: bool = False, tracker: str | None = None,
           limit: int = 50, offset: int = 0) -> dict:
    mine = [_own(book, tracker, who).id] if tracker else [t.id for t in book.trackers(owner_of(who))]
    found = book.alerts(mine, unread=unread, limit=min(max(limit, 0), 1000), offset=max(offset, 0)) if mine else []
    who.audit("alerts", tracker or "alerts", unread=unread, count=len(found))
    return {"unread": book.unread_count(mine) if mine else 0, "alerts": [a.model_dump(mode="json") for a in found]}


class ReadIn(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=1000)
    read: bool = True


@router.post("/alerts/read", summary="Mark alerts read (or unread again)")
def mark_read(who: CanTrack, book: TrackersDep, marked: Annotated[ReadIn, Body()]) -> dict:
    mine = {t.id for t in book.trackers(owner_of(who))}
    found = [a for a in (book.alert(i) for i in marked.ids) if a is not None and a.tracker_id in mine]
    if len(found) != len(set(marked.ids)):
        raise HTTPException(404, "no such alert among the caller's trackers' alerts")
    changed = book.mark_read([a.id for a in found], marked.read)
    who.audit("alerts", "alerts/read", ids=marked.ids, read=marked.read)
    return {"changed": changed}
