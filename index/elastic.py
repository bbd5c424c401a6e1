"""The Elasticsearch store: versioned indices behind aliases, explicit mappings, bulk
upserts with history merged in Python (no painless), and the shared query model.

Text matching uses the same folded tokens as the embedded store (index.query.text_fields)
with ES's core `whitespace` analyzer, so both stores match the same words; the test
distribution lacks analysis-common, and normalisation lives in `enrichment` anyway.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from functools import partial
from datetime import UTC, date, datetime
from collections.abc import Collection, Iterable, Iterator, Sequence
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import orjson
from elasticsearch import ApiError, AuthenticationException, ConnectionError as ESConnectionError, Elasticsearch
from elasticsearch import NotFoundError, TransportError, helpers

from contracts.documents import ListingChange, ListingDocument, UpsertReport, VendorChange, VendorDocument, listing_id, vendor_id
from contracts.identifiers import identifier_key, identifier_keys
from contracts.images import ImageRow
from contracts.jobs import CrawlJob
from contracts.listings import EnrichedListing, EnrichedVendor
from index.documents import merge_listing, merge_vendor, photo_rows, repeated_sightings, sighting_digest, sighting_digests
from index.elastic_trends import elastic_trend, trend_fields
from index.elastic_serializer import SERIALIZERS
from index.elastic_mappings import JOBS_MAPPING, LISTINGS_MAPPING, VENDORS_MAPPING, missing_properties
from index.elastic_search import (LABEL_SEPARATOR, MAX_RESULT_WINDOW, id_halves, search_body, search_result, sort_by,
                                  sort_values_at)
from index.lifecycle import LifecycleReport, missed
from index.profiles import ListingProfile, blocking_keys, listing_profile
from index.trends import TrendQuery, TrendResult
from index.query import Query, SearchResult, filter_terms, text_fields
from index.store import Store, StoreError, StoreUnavailable, read_document

log = logging.getLogger(__name__)
SCHEMA_VERSION = 1
CONFLICT_RETRIES = 5
MSEARCH_BATCH = 200  # candidate searches per _msearch request
# A batch goes out as bulk requests of this many documents (or bytes), two in flight: the node
# indexes one chunk while this process builds the next.
BULK_CHUNK_DOCS = 250
BULK_CHUNK_BYTES = 8 << 20
BULK_IN_FLIGHT = 2


def _redact(url: str) -> str:
    """A URL fit for a message: no user, no password."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class ElasticsearchStore(Store):
    calls_wait_on_network = True

    def __init__(self, settings, url: str | None = None, index_prefix: str | None = None):
        self.urls = [url] if url else list(settings.urls)
        self.prefix = index_prefix or settings.index_prefix
        self.layout = {"number_of_shards": settings.shards, "number_of_replicas": settings.replicas}
        kwargs = {"request_timeout": settings.request_timeout, "verify_certs": settings.verify_certs}
        if settings.ca_certs:
            kwargs["ca_certs"] = settings.ca_certs
        if settings.api_key:
            kwargs["api_key"] = settings.api_key
        elif settings.username:
            kwargs["basic_auth"] = (settings.username, settings.password)
        self.es = Elasticsearch(self.urls, serializers=SERIALIZERS, **kwargs)
        self.listings = f"{self.prefix}-listings"
        self._window: int | None = None
        self.vendors = f"{self.prefix}-vendors"
        self.jobs_index = f"{self.prefix}-jobs"
        self._ready = False  # indices are checked on first use: a down cluster must not stop a crawl
        self._halves = False
        self._bulk_depth = 0  # inside bulk_writes(): no refresh per request
        self._unrefreshed = False
        self._senders: ThreadPoolExecutor | None = None

    # -- plumbing --------------------------------------------------------------------------
    @property
    def _id_halves(self) -> bool:
        """Whether every listing of the index holds its id's halves (elastic_search.sort_by)."""
        if not self._ready:
            self._call(lambda: None)
        return self._halves

    def _call(self, fn, *args, **kwargs):
        with self._errors():
            if not self._ready:
                self._ensure_indices()
                self._ready = True
            return fn(*args, **kwargs)

    @contextmanager
    def _errors(self):
        """Client exceptions as StoreError / StoreUnavailable, phrased for the operator."""
        where = ", ".join(_redact(u) for u in self.urls)
        try:
            yield
        except AuthenticationException:
            raise StoreError(f"Elasticsearch at {where} rejected the credentials (401)") from None
        except ESConnectionError as exc:
            raise StoreUnavailable(f"cannot reach Elasticsearch at {where}: {type(exc).__name__}") from None
        except ApiError as exc:
            error = StoreUnavailable if exc.meta.status == 429 or exc.meta.status >= 500 else StoreError
            try:
                detail = exc.body["error"]["root_cause"][0]["reason"]
            except (KeyError, IndexError, TypeError):
                detail = ""
            raise error(f"Elasticsearch at {where} answered {exc.meta.status}: {exc.message}"
                        + (f" ({detail})" if detail else "")) from None
        except TransportError as exc:
            raise StoreUnavailable(f"Elasticsearch at {where}: {exc.message}") from None

    def _ensure_indices(self) -> None:
        mappings: tuple[tuple[str, dict], ...] = ((self.listings, LISTINGS_MAPPING), (self.vendors, VENDORS_MAPPING))
        for alias, mapping in mappings:
            if not self.es.indices.exists_alias(name=alias):
                index = f"{alias}-v{SCHEMA_VERSION}"
                if not self.es.indices.exists(index=index):
                    self.es.indices.create(index=index, mappings=mapping,
                                           settings=self.layout)
                self.es.indices.put_alias(index=index, name=alias, is_write_index=True)
            # Fields a release adds are additive: an older index takes them at once (its
            # documents gain them through `interdict store migrate`); existing fields stay.
            current = next(iter(self.es.indices.get_mapping(index=alias).values()))["mappings"]
            missing = missing_properties(mapping["properties"], current.get("properties", {}))
            if missing:
                self.es.indices.put_mapping(index=alias, properties=missing)
            if alias == self.listings:
                self._halves = bool(current.get("_meta", {}).get("id_halves"))
        if not self.es.indices.exists(index=self.jobs_index):  # a plain index: its mapping never changes
            self.es.indices.create(index=self.jobs_index, mappings=JOBS_MAPPING,
                                   settings=self.layout)
        # A busy node may still be starting the new shards: searching them now answers 503.
        self.es.cluster.health(index=[self.listings, self.vendors, self.jobs_index], wait_for_status="yellow",
                               timeout="60s")

    def close(self) -> None:
        if self._senders:
            self._senders.shutdown()
        self.es.close()

    @contextmanager
    def bulk_writes(self) -> Iterator[None]:
        # A refresh per bulk request ("wait_for") holds each one up to the refresh interval
        # (1 s): inside, writes go without one and the block ends with a single refresh.
        self._bulk_depth += 1
        try:
            yield
        finally:
            self._bulk_depth -= 1
            if not self._bulk_depth and self._unrefreshed:
                self._unrefreshed = False
                try:
                    self._call(self.es.indices.refresh, index=[self.listings, self.vendors])
                except StoreError as exc:  # what was written stays written: searchable at the next refresh
                    log.warning("refresh after bulk writes failed (%s); they become searchable within the "
                                "index's refresh interval", exc)

    def _refresh_policy(self) -> str | bool:
        """The refresh a write about to be sent asks for: none inside bulk_writes(), whose end
        then owes one (noted here, as the write is decided), else wait for it."""
        if self._bulk_depth:
            self._unrefreshed = True
            return False
        return "wait_for"

    def migrate(self) -> str:
        """Create the next version of each index with this release's mapping, copy every
        document into it (re-deriving the indexed fields), then move the alias in one step.
        The old index is kept for rollback. Run it while no crawl is writing."""
        return self._call(self._migrate)

    def _migrate(self) -> str:
        moved = []
        for alias, mapping, model, source in (
                (self.listings, LISTINGS_MAPPING, ListingDocument, self._listing_source),
                (self.vendors, VENDORS_MAPPING, VendorDocument, self._vendor_source)):
            old = next(iter(self.es.indices.get_alias(name=alias)))
            version = int(old.rsplit("-v", 1)[1]) + 1
            new = f"{alias}-v{version}"
            # No refresh while copying (nothing searches the new index before the alias moves),
            # then one; bulk requests as the batch writes send them, several in flight.
            self.es.indices.create(index=new, mappings=mapping, settings={**self.layout, "refresh_interval": "-1"})
            left_out: list[str] = []

            def actions():
                for hit in helpers.scan(self.es, index=old, query={"query": {"match_all": {}}}):
                    doc, reason = read_document(model, hit["_source"]["doc"])
                    if doc is None:  # stays in the old index, which is kept
                        self.unreadable.add(f"{hit['_id']}: {reason}")
                        left_out.append(f"  left in {old}: {hit['_id']}: {reason}")
                    else:
                        yield {"_op_type": "index", "_index": new, "_id": hit["_id"], "_source": source(doc)}

            copied = sum(ok for ok, _ in helpers.parallel_bulk(
                self.es, actions(), thread_count=BULK_IN_FLIGHT, chunk_size=BULK_CHUNK_DOCS,
                max_chunk_bytes=BULK_CHUNK_BYTES))
            self.es.indices.put_settings(index=new, settings={"refresh_interval": None})
            self.es.indices.refresh(index=new)
            self.es.indices.update_aliases(actions=[
                {"remove": {"index": old, "alias": alias}},
                {"add": {"index": new, "alias": alias, "is_write_index": True}}])
            moved.append(f"{alias}: {old} -> {new} ({copied} documents; {len(left_out)} unreadable left in "
                         f"{old}, which is kept)")
            moved.extend(left_out)
        self._ready = False  # the new indices' mappings are read at the next call
        return "\n".join(moved)

    # -- writing ---------------------------------------------------------------------------
    def _listing_source(self, doc: ListingDocument, digests: dict[int, str] | None = None) -> bytes | dict:
        """The indexed form of a listing, as JSON (the document written by pydantic straight to
        JSON rather than through a dict); ``digests``: sighting digests already computed, by the
        id() of the item."""
        title, description, extra = text_fields(doc)
        terms = filter_terms(doc)
        profile = listing_profile(doc)
        id_high, id_low = id_halves(doc.id)
        source = {
            "id": doc.id, "id_high": id_high, "id_low": id_low, "market": doc.market, "listing_key": doc.listing_key,
            "first_seen": doc.first_seen.isoformat(), "last_seen": doc.last_seen.isoformat(),
            "price_usd": doc.data.enrichment.price_usd,
            "lifetime_days": (doc.last_seen - doc.first_seen).total_seconds() / 86400,
            "title_t": title, "description_t": description, "extra_t": extra,
            "terms": {f: [k for k, _ in pairs] for f, pairs in terms.items()},
            "labels": {f: [f"{k}{LABEL_SEPARATOR}{label}" for k, label in pairs] for f, pairs in terms.items()},
            "block": blocking_keys(profile),
            "photos": [row.model_dump(include={"sha256", "phash", "dhash", "vendor"}) for row in photo_rows(doc)],
            **trend_fields(doc),
            "profile": profile.to_json(),
            "data_digest": (digests or {}).get(id(doc.data)) or sighting_digest(doc.data),
        }
        try:
            return orjson.dumps({**source, "doc": orjson.Fragment(doc.model_dump_json())})
        except orjson.JSONEncodeError:  # what orjson cannot write, the client's serializer does
            return {**source, "doc": doc.model_dump(mode="json")}

    def _upsert(self, alias: str, model, items: list, doc_id, merge, source,
                digests: dict[int, str] | None = None, written: dict[str, tuple] | None = None) -> UpsertReport:
        """Merge with what is stored and write with optimistic concurrency; a conflict
        (another writer got there first) re-reads and merges again. With ``digests`` (listings:
        each item's sighting digest by its id()), an item that is the very sighting its document
        holds is counted unchanged unread. ``written`` gains (stored, written) per document id
        that was written."""
        report = UpsertReport()
        pending = list(items)
        build = partial(source, digests=digests) if digests is not None else source
        for _ in range(CONFLICT_RETRIES):
            if not pending:
                break
            ids = list(dict.fromkeys(doc_id(i) for i in pending))
            if digests is not None:
                known = self._listing_digests(alias, ids)
                repeated = repeated_sightings([doc_id(i) for i in pending], [digests[id(i)] for i in pending], known)
                report.unchanged += sum(repeated)
                pending = [i for i, same in zip(pending, repeated) if not same]
                ids = [key for key in dict.fromkeys(doc_id(i) for i in pending) if key in known]
            current = {d["_id"]: d for d in self.es.mget(index=alias, ids=ids, source=["doc"])["docs"]
                       if d.get("found")} if ids else {}
            # an unreadable stored document is replaced by the new one, as if it were absent
            stored = {key: doc for key, d in current.items()
                      if (doc := self.decode(model, d["_source"]["doc"], key)) is not None}
            merged: dict = {}
            outcomes: list[tuple[str, str]] = []
            for item in pending:
                key = doc_id(item)
                merged[key], outcome = merge(merged.get(key, stored.get(key)), item)
                outcomes.append((key, outcome))
            sending = []
            chunk: list[dict] = []
            refresh = self._refresh_policy()
            for key, doc in merged.items():
                if doc == stored.get(key):
                    continue
                action = {"_op_type": "index", "_index": alias, "_id": key, "_source": build(doc)}
                if key in current:
                    action.update(if_seq_no=current[key]["_seq_no"], if_primary_term=current[key]["_primary_term"])
                else:
                    action["_op_type"] = "create"
                chunk.append(action)
                if len(chunk) >= BULK_CHUNK_DOCS:
                    sending.append(self._bulk_sender().submit(self._send, chunk, refresh))
                    chunk = []
            if chunk:
                sending.append(self._bulk_sender().submit(self._send, chunk, refresh))
            wait(sending)  # every chunk is settled before anything is reported or retried
            conflicted: set[str] = set()
            rejected: set[str] = set()
            overloaded = 0
            for failed in (f.result() for f in sending):
                for result in failed:
                    status = result.get("status", 0)
                    if status == 409:
                        conflicted.add(result["_id"])
                    elif status == 429 or status >= 500:
                        overloaded += 1
                    else:  # a document the mapping refuses: report it, never retry it forever
                        rejected.add(result["_id"])
                        log.error("Elasticsearch rejected document %s: %s", result["_id"],
                                  result.get("error", {}).get("reason", result))
            if overloaded:
                raise StoreUnavailable(f"Elasticsearch refused {overloaded} document(s) after retries (overloaded)")
            if written is not None:
                written.update((key, (stored.get(key), doc)) for key, doc in merged.items()
                               if doc != stored.get(key) and key not in rejected and key not in conflicted)
            for key, outcome in outcomes:
                if key in rejected:
                    report.rejected += 1
                elif key not in conflicted:
                    setattr(report, outcome, getattr(report, outcome) + 1)
            pending = [i for i in pending if doc_id(i) in conflicted]
        if pending:
            raise StoreError(f"{len(pending)} document(s) kept conflicting with concurrent writers")
        return report

    def _bulk_sender(self) -> ThreadPoolExecutor:
        if self._senders is None:
            self._senders = ThreadPoolExecutor(BULK_IN_FLIGHT, thread_name_prefix="interdict-bulk")
        return self._senders

    def _send(self, actions: list[dict], refresh: str | bool) -> list[dict]:
        """One bulk request (429s retried per document with backoff): the results of the
        documents that failed."""
        failed = []
        for ok, info in helpers.streaming_bulk(self.es, actions, chunk_size=len(actions), max_chunk_bytes=BULK_CHUNK_BYTES,
                                               raise_on_error=False, raise_on_exception=True, refresh=refresh,
                                               max_retries=3, initial_backoff=1):
            if not ok:
                failed.append(next(iter(info.values())))
        return failed

    def upsert_listings(self, items: Iterable[EnrichedListing], digests: Sequence[str | None] | None = None,
                        changes: list[ListingChange] | None = None) -> UpsertReport:
        items = list(items)
        if not items:
            return UpsertReport()
        written: dict[str, tuple] = {}
        report = self._call(self._upsert, self.listings, ListingDocument, items,
                            lambda i: listing_id(i.listing.market, i.listing.listing_key), merge_listing,
                            self._listing_source, dict(zip(map(id, items), sighting_digests(items, digests))), written)
        if changes is not None:
            changes.extend(ListingChange(*pair) for pair in written.values())
        return report

    def listing_digests(self, ids: Collection[str]) -> dict[str, str]:
        found = self._call(self._listing_digests, self.listings, list(ids)) if ids else {}
        return {doc_id: digest for doc_id, digest in found.items() if digest}

    def _listing_digests(self, alias: str, ids: list[str]) -> dict[str, str | None]:
        """The data digest of every stored document of these ids (None: it has none)."""
        return {d["_id"]: d["_source"].get("data_digest")
                for d in self.es.mget(index=alias, ids=ids, source=["data_digest"])["docs"] if d.get("found")}

    def upsert_vendors(self, items: Iterable[EnrichedVendor], changes: list[VendorChange] | None = None) -> UpsertReport:
        items = list(items)
        if not items:
            return UpsertReport()
        written: dict[str, tuple] = {}
        report = self._call(self._upsert, self.vendors, VendorDocument, items,
                            lambda i: vendor_id(i.vendor.market, i.vendor.name), merge_vendor, self._vendor_source,
                            None, written)
        if changes is not None:
            changes.extend(VendorChange(*pair) for pair in written.values())
        return report

    @staticmethod
    def _vendor_source(doc: VendorDocument) -> dict:
        identifiers = list(dict.fromkeys(k for v in doc.data.enrichment.identifier_values() for k in identifier_keys(v)))
        return {"id": doc.id, "market": doc.market, "name": doc.name, "first_seen": doc.first_seen.isoformat(),
                "last_seen": doc.last_seen.isoformat(), "identifiers": identifiers,
                "doc": doc.model_dump(mode="json")}

    def listing_urls(self, market: str, seen_since: datetime) -> Iterator[str]:
        self._call(lambda: None)  # indices exist, cluster answers
        query = {"bool": {"filter": [{"term": {"market": market}},
                                     {"range": {"last_seen": {"gte": seen_since.isoformat()}}}]}}
        with self._errors():
            for hit in helpers.scan(self.es, index=self.listings, query={"query": query},
                                    _source=["doc.data.listing.url"], size=1000):
                yield hit["_source"]["doc"]["data"]["listing"]["url"]

    def record_missed(self, market: str, crawl_started: datetime, crawl_ended: datetime,
                      after: int) -> LifecycleReport:
        return self._call(self._record_missed, market, crawl_started.isoformat(), crawl_ended, after)

    def _record_missed(self, market: str, started: str, ended: datetime, after: int) -> LifecycleReport:
        report = LifecycleReport()
        for alias, model, kind in ((self.listings, ListingDocument, "listings"), (self.vendors, VendorDocument, "vendors")):
            query = {"bool": {"filter": [{"term": {"market": market}}, {"range": {"last_seen": {"lt": started}}}]}}
            if kind == "listings":  # inactive ones are left alone: not even read (vendors have no status field)
                query["bool"]["must_not"] = [{"term": {"terms.status": "inactive"}}]
            actions = []
            for hit in helpers.scan(self.es, index=alias, query={"query": query}, _source=["doc"],
                                    seq_no_primary_term=True, size=1000):
                doc = cast(ListingDocument | VendorDocument | None, self.decode(model, hit["_source"]["doc"], hit["_id"]))
                if doc is None or doc.status == "inactive":
                    continue
                doc, gone = missed(doc, ended, after)
                report.count(kind, gone)
                # a conflict means a writer saw it meanwhile: then it was not missed after all
                source = self._listing_source(doc) if isinstance(doc, ListingDocument) else self._vendor_source(doc)
                actions.append({"_index": alias, "_id": doc.id, "_source": source,
                                "if_seq_no": hit["_seq_no"], "if_primary_term": hit["_primary_term"]})
            for ok, info in helpers.streaming_bulk(self.es, actions, raise_on_error=False,
                                                   refresh=self._refresh_policy()):
                if not ok and next(iter(info.values())).get("status") != 409:
                    raise StoreError(f"Elasticsearch refused a lifecycle update: {info}")
        return report

    def delete_listing(self, doc_id: str) -> bool:
        def delete() -> bool:
            try:
                self.es.delete(index=self.listings, id=doc_id, refresh="wait_for")
            except NotFoundError:
                return False
            return True

        return self._call(delete)

    # -- reading ---------------------------------------------------------------------------
    def _get(self, alias: str, doc_id: str):
        try:
            return self.es.get(index=alias, id=doc_id)["_source"]["doc"]
        except NotFoundError:
            return None

    def get_listing(self, doc_id: str) -> ListingDocument | None:
        doc = self._call(self._get, self.listings, doc_id)
        return self.decode(ListingDocument, doc, doc_id) if doc else None

    def _scan(self, alias: str, field: str = "doc") -> Iterator[tuple[str, Any]]:
        self._call(lambda: None)  # indices exist, cluster answers
        with self._errors():
            for hit in helpers.scan(self.es, index=alias, query={"query": {"match_all": {}}}, _source=[field], size=1000):
                yield hit["_id"], hit["_source"][field]

    def listing_photos(self) -> Iterator[ImageRow]:
        self._call(lambda: None)
        with self._errors():
            for hit in helpers.scan(self.es, index=self.listings, _source=["market", "photos"], size=1000,
                                    query={"query": {"exists": {"field": "photos.sha256"}}}):
                for photo in hit["_source"].get("photos") or ():
                    yield ImageRow(listing_id=hit["_id"], market=hit["_source"]["market"], **photo)

    def iter_profiles(self) -> Iterator[ListingProfile]:
        return (ListingProfile.from_json(p) for _, p in self._scan(self.listings, "profile"))

    def iter_listings(self) -> Iterator[ListingDocument]:
        return (doc for doc_id, raw in self._scan(self.listings)
                if (doc := self.decode(ListingDocument, raw, doc_id)) is not None)

    def iter_vendors(self) -> Iterator[VendorDocument]:
        return (doc for doc_id, raw in self._scan(self.vendors)
                if (doc := self.decode(VendorDocument, raw, doc_id)) is not None)

    def get_vendor(self, doc_id: str) -> VendorDocument | None:
        doc = self._call(self._get, self.vendors, doc_id)
        return self.decode(VendorDocument, doc, doc_id) if doc else None

    def candidates(self, keys: Collection[str], per_key: int, around: date | None = None) -> dict[str, list[str]]:
        keys = list(dict.fromkeys(keys))
        out: dict[str, list[str]] = {}
        day = f"{around.isoformat()}T00:00:00Z" if around else None
        for start in range(0, len(keys), MSEARCH_BATCH):
            chunk = keys[start:start + MSEARCH_BATCH]
            searches: list[dict] = []
            for key in chunk:
                for query, sort in self._candidate_searches(key, day, self._id_halves):
                    searches += [{"index": self.listings},
                                 {"query": query, "size": per_key, "_source": False, "sort": sort,
                                  "track_total_hits": False}]
            responses = self._call(self.es.msearch, searches=searches)["responses"]
            parts = 1 if day is None else 3
            for n, key in enumerate(chunk):
                found = []
                for response in responses[n * parts:(n + 1) * parts]:
                    if "error" in response:
                        reason = response["error"].get("reason", response["error"])
                        raise StoreError(f"candidate search for {key!r} failed: {reason}")
                    found.append(response["hits"]["hits"])
                ids = [hit["_id"] for hit in found[0]] if around is None else self._nearest(found, around, per_key)
                if ids:
                    out[key] = ids
        return out

    @staticmethod
    def _candidate_searches(key: str, day: str | None, halves: bool) -> list[tuple[dict, list]]:
        """Without a date: the most recent. With one (no scripting: the integ-test node has no
        Painless), three searches that split the key's listings: on sale that day, last seen
        before it (nearest first), first seen after it (nearest first)."""
        term = {"term": {"block": key}}
        if day is None:
            return [(term, sort_by("-last_seen", halves))]
        return [({"bool": {"filter": [term, {"range": {"first_seen": {"lte": day}}},
                                      {"range": {"last_seen": {"gte": day}}}]}}, sort_by("-last_seen", halves)),
                ({"bool": {"filter": [term, {"range": {"last_seen": {"lt": day}}}]}}, sort_by("-last_seen", halves)),
                ({"bool": {"filter": [term, {"range": {"first_seen": {"gt": day}}}]}}, sort_by("first_seen", halves))]

    @staticmethod
    def _nearest(found: list[list[dict]], around: date, per_key: int) -> list[str]:
        """Listings on sale that day first, then the others by days from their life to it."""
        midnight = datetime(around.year, around.month, around.day, tzinfo=UTC).timestamp() * 1000
        during, after, before = found
        outside = [((midnight - hit["sort"][0]) / 86_400_000, hit["_id"]) for hit in after]
        outside += [((hit["sort"][0] - midnight) / 86_400_000, hit["_id"]) for hit in before]
        outside.sort(key=lambda d: d[0])
        return ([hit["_id"] for hit in during] + [i for _, i in outside])[:per_key]

    def key_counts(self, keys: Collection[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(keys))
        out: dict[str, int] = {}
        for start in range(0, len(wanted), 1000):
            chunk = wanted[start:start + 1000]
            body = {"size": 0, "query": {"terms": {"block": chunk}},
                    "aggs": {"keys": {"terms": {"field": "block", "include": chunk, "size": len(chunk)}}}}
            response = self._call(self.es.search, index=self.listings, body=body)
            out.update((b["key"], b["doc_count"]) for b in response["aggregations"]["keys"]["buckets"])
        return out

    def lifetimes(self) -> dict[str, float]:
        body = {"size": 0, "query": {"range": {"lifetime_days": {"gte": 1}}},
                "aggs": {"markets": {"terms": {"field": "market", "size": 10_000},
                                     "aggs": {"median": {"percentiles": {"field": "lifetime_days", "percents": [50]}}}}}}
        response = self._call(self.es.search, index=self.listings, body=body)
        return {b["key"]: next(iter(b["median"]["values"].values())) for b in response["aggregations"]["markets"]["buckets"]}

    def profiles(self, ids: Collection[str]) -> dict[str, ListingProfile]:
        wanted = list(ids)
        out: dict[str, ListingProfile] = {}
        for start in range(0, len(wanted), 1000):
            docs = self._call(self.es.mget, index=self.listings, ids=wanted[start:start + 1000],
                              _source=["profile"])["docs"]
            for doc in docs:
                if doc.get("found") and "profile" in doc["_source"]:
                    out[doc["_id"]] = ListingProfile.from_json(doc["_source"]["profile"])
        return out

    def vendors_with_identifiers(self, values: Collection[str]) -> dict[str, list[str]]:
        folded = list({identifier_key(v) for v in values})
        out: dict[str, list[str]] = {}
        for start in range(0, len(folded), 1000):
            chunk = set(folded[start:start + 1000])
            response = self._call(self.es.search, index=self.vendors, query={"terms": {"identifiers": list(chunk)}},
                                  size=10_000, _source=["id", "identifiers"])
            for hit in response["hits"]["hits"]:
                for value in chunk.intersection(hit["_source"]["identifiers"]):
                    out.setdefault(value, []).append(hit["_source"]["id"])
        return out

    def count_listings(self) -> int:
        return self._call(self.es.count, index=self.listings)["count"]

    def count_vendors(self) -> int:
        return self._call(self.es.count, index=self.vendors)["count"]

    def save_job(self, job: CrawlJob) -> None:
        self._call(self.es.index, index=self.jobs_index, id=job.id, refresh="wait_for",
                   document={"market": job.market, "started": job.started.isoformat(), "job_id": job.id,
                             "doc": job.model_dump(mode="json")})

    def jobs(self, market: str | None = None, limit: int = 50) -> list[CrawlJob]:
        query = {"term": {"market": market}} if market else {"match_all": {}}
        found = self._call(self.es.search, index=self.jobs_index, query=query, size=limit,
                           sort=[{"started": "desc"}, {"job_id": "desc"}])
        return [CrawlJob.model_validate(hit["_source"]["doc"]) for hit in found["hits"]["hits"]]

    def _result_window(self) -> int:
        """The index's index.max_result_window (10,000 unless an operator changed it), read once."""
        if self._window is None:
            found = self._call(self.es.indices.get_settings, index=self.listings, name="index.max_result_window",
                               include_defaults=True)
            settings = next(iter(found.values()))
            value = (settings.get("settings", {}).get("index", {}).get("max_result_window")
                     or settings.get("defaults", {}).get("index", {}).get("max_result_window"))
            self._window = int(value or MAX_RESULT_WINDOW)
        return self._window

    def trends(self, query: TrendQuery) -> TrendResult:
        _, clauses = self.plan(query.search())
        return self._call(elastic_trend, self.es, self.listings, query, clauses)

    def search(self, query: Query) -> SearchResult:
        words, clauses = self.plan(query)
        body = search_body(query, words, clauses, self._id_halves)
        if query.offset and query.offset + query.limit > self._result_window():
            # from+size stops at the result window: walk there with search_after instead
            body["search_after"] = self._call(sort_values_at, self.es, self.listings, body, query.offset,
                                              self._result_window())
            body["from"] = 0
        return search_result(query, words, self._call(self.es.search, index=self.listings, body=body), self.decode)
