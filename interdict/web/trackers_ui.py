"""The web app's trackers and alerts: the caller's trackers with their unread alerts, a form to
make one, and each tracker's alerts linking to the listing (writes go through /api/trackers and
/api/alerts from the page's script, as every write of the web app does)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse

from contracts.trackers import CHANGE_KINDS
from interdict.trackers import TrackerError
from interdict.trackers.describe import describe
from interdict.web.api.trackers import owner_of
from interdict.web.auth import CanTrack
from interdict.web.deps import ConfigDep, TrackersDep
from interdict.web.ui import page

router = APIRouter(include_in_schema=False)
PAGE = 50


@router.get("/trackers")
def trackers_page(request: Request, who: CanTrack, book: TrackersDep, config: ConfigDep) -> HTMLResponse:
    trackers = book.trackers(owner_of(who))
    ids = [t.id for t in trackers]
    unread = book.alerts(ids, unread=True, limit=PAGE) if ids else []
    who.audit("view", "trackers", count=len(trackers))
    return page(request, "trackers.html", key=who.key, trackers=trackers, describe=describe,
                unread={t.id: book.unread_count([t.id]) for t in trackers}, alerts=unread,
                names={t.id: t.name for t in trackers}, changes=CHANGE_KINDS,
                targets=["web", *(f"webhook:{n}" for n in config.alerts.webhooks)])


@router.get("/trackers/{tracker_id}")
def tracker_page(tracker_id: str, request: Request, who: CanTrack, book: TrackersDep, offset: int = 0) -> HTMLResponse:
    try:
        tracker = book.get(tracker_id, owner_of(who))
    except TrackerError as exc:
        raise HTTPException(404, str(exc)) from None
    offset = max(0, offset)
    who.audit("view", f"tracker/{tracker_id}")
    return page(request, "tracker.html", key=who.key, tracker=tracker, what=describe(tracker),
                alerts=book.alerts([tracker.id], limit=PAGE, offset=offset), unread=book.unread_count([tracker.id]),
                offset=offset, page_size=PAGE)
