"""What a request handler needs, as FastAPI dependencies (`Annotated[..., Depends()]`): the
service's settings and stores, a store (with its matcher) checked out for the request, and
the search a request asks for.

Handlers run on the server's worker threads. A store is checked out of a pool for one
request and handed back after it, so a SQLite connection serves one request at a time and
no handler needs to know which thread it is on."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Query, Request
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from config import Settings
from index.photo_links import PhotoCatalog
from index.query import FILTER_FIELDS, SORTS, Query as ListingQuery, QueryError
from index.store import Store
from interdict.trackers.book import TrackerBook
from interdict.web.access import AccessStore
from interdict.web.reviews import ReviewStore
from matching.matcher import Matcher


@dataclass
class PooledStore:
    store: Store
    matcher: Matcher | None = field(default=None)  # made at first use; its candidate caches outlive a request


class StorePool:
    """Stores opened as requests need them (at most one per request in flight), reused, all
    closed together when the service stops."""

    def __init__(self, open_store: Callable[[], Store]):
        self._open = open_store
        self._idle: queue.SimpleQueue[PooledStore] = queue.SimpleQueue()
        self._all: list[PooledStore] = []
        self._lock = threading.Lock()

    def take(self) -> PooledStore | None:
        """An idle store, if there is one (never blocks)."""
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            return None

    def open(self) -> PooledStore:
        """A new store for the pool (blocks: connects, may create the schema)."""
        entry = PooledStore(self._open())
        with self._lock:
            self._all.append(entry)
        return entry

    def give_back(self, entry: PooledStore) -> None:
        self._idle.put(entry)

    @contextmanager
    def checkout(self) -> Iterator[PooledStore]:
        entry = self.take() or self.open()
        try:
            yield entry
        finally:
            self.give_back(entry)

    def close(self) -> None:
        with self._lock:
            for entry in self._all:
                entry.store.close()
            self._all.clear()


# The dependencies that only hand over an object are coroutines: FastAPI runs a plain
# function dependency on a worker thread, and each such hop costs a request ~0.3 ms.
async def _settings(request: Request) -> Settings:
    return request.app.state.config


async def _access(request: Request) -> AccessStore:
    return request.app.state.access


async def _reviews(request: Request) -> ReviewStore:
    return request.app.state.reviews


async def _pooled(request: Request) -> AsyncIterator[PooledStore]:
    pool: StorePool = request.app.state.stores
    entry = pool.take()
    if entry is None:
        entry = await run_in_threadpool(pool.open)
    try:
        yield entry
    finally:
        pool.give_back(entry)


class PhotoCatalogs:
    """The service's near-duplicate index of listing photos (index.photo_links), read from the
    store again once older than ``max_age`` seconds: building it reads every photo's hashes, too
    much for each page that shows photos."""

    def __init__(self, max_age: float = 30.0):
        self.max_age = max_age
        self._lock = threading.Lock()
        self._catalog: PhotoCatalog | None = None
        self._built = 0.0

    def get(self, store: Store) -> PhotoCatalog:
        with self._lock:
            if self._catalog is None or time.monotonic() - self._built > self.max_age:
                self._catalog, self._built = PhotoCatalog.of(store), time.monotonic()
            return self._catalog


async def _photo_catalogs(request: Request) -> PhotoCatalogs:
    return request.app.state.photos


def _trackers(request: Request) -> TrackerBook:
    return request.app.state.trackers


async def _store(entry: Annotated[PooledStore, Depends(_pooled)]) -> Store:
    return entry.store


def _matcher(entry: Annotated[PooledStore, Depends(_pooled)], settings: Annotated[Settings, Depends(_settings)]) -> Matcher:
    if entry.matcher is None:  # reads the index's statistics: on a worker thread
        entry.matcher = Matcher(entry.store, settings.matching)
    return entry.matcher


def _photos(catalogs: Annotated[PhotoCatalogs, Depends(_photo_catalogs)],
            entry: Annotated[PooledStore, Depends(_pooled)]) -> PhotoCatalog:
    return catalogs.get(entry.store)  # on a worker thread: it may read the store


ConfigDep = Annotated[Settings, Depends(_settings)]
PhotosDep = Annotated[PhotoCatalog, Depends(_photos)]
AccessDep = Annotated[AccessStore, Depends(_access)]
ReviewsDep = Annotated[ReviewStore, Depends(_reviews)]
TrackersDep = Annotated[TrackerBook, Depends(_trackers)]
StoreDep = Annotated[Store, Depends(_store)]  # the same store as MatcherDep's within a request
MatcherDep = Annotated[Matcher, Depends(_matcher)]


class ListingFilters(BaseModel):
    """The exact filters of a listing search (index.query FILTER_FIELDS and EXACT_FILTERS): a
    field's values are any of, fields all of."""

    market: list[str] = []
    vendor: list[str] = []
    vendor_id: list[str] = []
    category: list[str] = []
    market_category: list[str] = []
    product: list[str] = []
    hs_code: list[str] = []
    currency: list[str] = []
    identifier: list[str] = Field([], description="an identifier in any written form (PGP key, wallet, e-mail…)")
    status: list[str] = Field([], description="active or inactive")
    ships_from: list[str] = Field([], description="ISO country or region; a region or worldwide also matches")
    ships_to: list[str] = Field([], description="ISO country; listings to its region or worldwide that do not "
                                                "exclude it match too")
    ships_from_exact: list[str] = Field([], description="only listings that name this place")
    ships_to_exact: list[str] = Field([], description="only listings that name this place")
    ships_to_excluded: list[str] = []

    def asked(self) -> dict[str, list[str]]:
        return {name: getattr(self, name) for name in ListingFilters.model_fields if getattr(self, name)}


class SearchParams(ListingFilters):
    q: str = ""
    price_min_usd: float | None = Field(None, allow_inf_nan=False)
    price_max_usd: float | None = Field(None, allow_inf_nan=False)
    date_field: Literal["last_seen", "first_seen"] = "last_seen"
    date_from: datetime | None = None
    date_to: datetime | None = None
    sort: Literal[SORTS] = "relevance"  # type: ignore[valid-type]
    facets: str = Field("market,category,ships_from", description="comma-separated fields to count")
    limit: int = Field(20, ge=0, le=200)
    offset: int = Field(0, ge=0, le=10_000)


def listing_query(text: str = "", filters: dict[str, list[str]] | None = None, **options) -> ListingQuery:
    """The index query, or 422 with the reason."""
    try:
        return ListingQuery(text=text, filters=filters or {}, **{k: v for k, v in options.items() if v is not None})
    except (ValidationError, QueryError) as exc:
        raise HTTPException(422, str(exc).splitlines()[0] if isinstance(exc, QueryError) else exc.errors(
            include_url=False, include_context=False)) from None


async def _search(params: Annotated[SearchParams, Query()]) -> ListingQuery:
    facets = [f.strip() for f in params.facets.split(",") if f.strip() in FILTER_FIELDS]
    return listing_query(params.q, params.asked(), price_min_usd=params.price_min_usd,
                         price_max_usd=params.price_max_usd, date_field=params.date_field,
                         date_from=params.date_from, date_to=params.date_to, sort=params.sort, limit=params.limit,
                         offset=params.offset, facets=facets)


async def _filters(filters: Annotated[ListingFilters, Query()]) -> ListingFilters:
    # FastAPI reads a query model only as a dependant's one query parameter: hence this step.
    return filters


SearchDep = Annotated[ListingQuery, Depends(_search)]
FiltersDep = Annotated[ListingFilters, Depends(_filters)]  # the filters alone (the web app's pages)
