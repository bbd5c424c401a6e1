"""The HTTP API over the Store (docs/api.md): one router per resource — listings (search),
vendors, matching and review batches, the watchlist feed, trackers and alerts, keys, operations — each route
behind a key whose role grants it (interdict/web/auth.py); every use is audited. What a
handler needs comes as a FastAPI dependency (interdict/web/deps.py)."""

from __future__ import annotations

from fastapi import APIRouter

from interdict.web import entities, photos, trends_ui
from interdict.web.api import keys, listings, matching, operations, trackers, vendors, watchlist

router = APIRouter(prefix="/api")
for resource in (listings, vendors, matching, watchlist, trackers, keys, operations):
    router.include_router(resource.router)
router.include_router(entities.api)
router.include_router(trends_ui.api)
router.include_router(photos.api)
