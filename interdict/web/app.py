"""The Interdict web service: the API (interdict.web.api) and the analyst web app
(interdict.web.ui) in one FastAPI app, with the security headers every response carries."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from config import Settings, load_config
from index.store import Store, StoreError
from interdict.web.access import AccessStore
from interdict.web import taxii
from interdict.web.api import router
from interdict.web.auth import audit_unrecorded
from interdict.web.deps import PhotoCatalogs, StorePool
from interdict.trackers import Deliverer, TrackerBook
from interdict.web.reviews import ReviewStore
from matching.feed_ledger import FeedLedger

DELIVERY_INTERVAL = 30.0  # seconds between the service's looks for alert deliveries due


def create_app(open_store: Callable[[], Store], access_path: str, config: Settings | None = None,
               max_upload: int | None = None) -> FastAPI:
    """``config``: the settings the service runs with (matching, watchlist, markets for the
    metrics); the loaded configuration when not given."""
    config = config or load_config()
    # No public /docs or /openapi.json: the API's description is served to key holders only.
    app = FastAPI(title="Interdict", version="0.1.0", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=_lifespan, description="Dark-web and marketplace intelligence for customs: search, "
                  "vendors, shipment matching, match review and watchlist feeds. Every route but /health needs an "
                  "API key (Authorization: Bearer <key>) whose role grants it.")
    app.state.config = config
    app.state.stores = StorePool(open_store)
    app.state.access = AccessStore(access_path, config.api.audit_key_file, config.api.audit_head_file)
    app.state.reviews = ReviewStore(access_path)
    app.state.trackers = TrackerBook(access_path)
    app.state.feed_ledger = FeedLedger(access_path)
    app.state.max_upload = max_upload or config.api.max_upload_bytes
    app.state.photos = PhotoCatalogs()

    @app.get("/health", include_in_schema=False)
    def health() -> dict:
        return {"status": "ok"}

    @app.exception_handler(StoreError)
    def store_error(request: Request, exc: StoreError) -> JSONResponse:
        return JSONResponse({"detail": f"the index cannot answer: {exc}"}, status_code=503)

    app.include_router(router)
    app.include_router(taxii.router)
    _add_web_app(app)
    return app


def service_app(config: Settings, store_target: str | None = None) -> FastAPI:
    """The app `interdict serve` runs: the configured store (or ``store_target``) and access file."""
    from index import open_store

    return create_app(partial(open_store, config, store_target), config.api.path, config)


SECURITY_HEADERS = {
    # Pages load only their own CSS and script: injected markup could not run or phone home.
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _add_web_app(app: FastAPI) -> None:
    from fastapi.exception_handlers import http_exception_handler
    from fastapi.staticfiles import StaticFiles
    from starlette.exceptions import HTTPException as StarletteHTTPException

    from interdict.web import entities, photos, trackers_ui, trends_ui, ui

    app.include_router(ui.router)
    app.include_router(trackers_ui.router)
    app.include_router(entities.pages)
    app.include_router(trends_ui.pages)
    app.include_router(photos.pages)
    app.mount("/static", StaticFiles(directory=ui.STATIC), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def pages_or_json(request: Request, exc: StarletteHTTPException):
        if request.url.path.startswith("/taxii2/"):  # a TAXII error message
            response = taxii.error(exc.status_code, str(exc.detail))
            response.headers.update(exc.headers or {})
            return response
        if request.url.path.startswith(("/api/", "/static/")) or request.url.path == "/health":
            return await http_exception_handler(request, exc)
        return ui.ui_error(request, exc)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        # every request that presented a key is in the audit log, refusals included
        await run_in_threadpool(audit_unrecorded, request, response.status_code)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.path.startswith(("/api/", "/taxii2/")) or request.cookies:
            response.headers.setdefault("Cache-Control", "no-store")
        return response


@asynccontextmanager
async def _lifespan(app: FastAPI):
    # Alerts whose delivery failed are retried while the service runs (crawls send the rest).
    access = app.state.access
    deliverer = Deliverer(app.state.trackers, app.state.config.alerts,
                          lambda action, target, detail, status: access.record(None, action, target, detail, status))
    with deliverer.running(interval=DELIVERY_INTERVAL):
        yield
    app.state.stores.close()
    app.state.access.close()
    app.state.reviews.close()
    app.state.trackers.close()
    app.state.feed_ledger.close()
