"""The embedded store: one SQLite file with FTS5, zero set-up, the default."""

from __future__ import annotations

import logging
import sqlite3
import statistics
import time
import uuid
from typing import Any
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from contracts.documents import ListingChange, ListingDocument, UpsertReport, VendorChange, VendorDocument, listing_id, vendor_id
from contracts.identifiers import identifier_key, identifier_keys
from contracts.images import ImageRow
from contracts.jobs import CrawlJob
from contracts.listings import EnrichedListing, EnrichedVendor
from index.documents import merge_listing, merge_vendor, photo_rows, repeated_sightings, sighting_digest, sighting_digests
from index.embedded_postings import postings_for
from index.embedded_schema import (AFTER_MIGRATION, FTS_SCHEMA, IN_CHUNK, SCHEMA, SCHEMA_VERSION, TERMS_SCHEMA,
                                   WITH_DOCS, iso, rows_in)
from index.embedded_search import search
from index.lifecycle import LifecycleReport, missed
from index.profiles import ListingProfile, blocking_keys, listing_profile
from index.query import Query, SearchResult, filter_terms, text_fields
from index.store import Store, StoreError, read_document
from index.trends import TrendQuery, TrendResult, micros, unit_periods
from index.embedded_trends import embedded_trend

log = logging.getLogger(__name__)

# Page cache per connection. A writer's terms and full-text indexes outgrow SQLite's default
# 2 MB at a few tens of thousands of listings (every batch would reread them); readers — the web
# service keeps a connection per request in flight — keep a smaller one.
READ_CACHE_KIB = 16 * 1024
WRITE_CACHE_KIB = 64 * 1024
BUSY_SECONDS = 30  # how long a writer waits for another to let go of the file
# Pages the write-ahead log may hold before SQLite copies it into the database (its default:
# 1,000). A bulk load rewrites the same full-text and term pages batch after batch; copying
# them less often took a 100k-listing `interdict index` from 51 s to 48 s.
BULK_CHECKPOINT_PAGES = 20_000
JULIAN_DAY_OF_ORDINAL_0 = 1721424.5  # julianday('0001-01-01') - date(1, 1, 1).toordinal()


def _same_derived(before: ListingDocument | None, after: ListingDocument) -> bool:
    """Whether a document's filter terms and full-text row stay as they were: it was seen
    again and only its dates moved."""
    return before is not None and before.status == after.status and (
        before.data is after.data or (before.content_hash == after.content_hash
                                      and before.data.enrichment == after.data.enrichment))


def _term_rows(rowid: int, doc: ListingDocument, profile: ListingProfile) -> list[tuple[int, str, str, str]]:
    return ([(rowid, field, key, label) for field, pairs in filter_terms(doc).items() for key, label in pairs]
            + [(rowid, "block", key, "") for key in blocking_keys(profile)])


class EmbeddedStore(Store):
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._writing = False  # a connection that writes gets the bigger page cache
        self._bulk_depth = 0  # inside bulk_writes()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # One thread uses a store at a time (the web server checks one out per request), but
            # the server closes them all from its own thread at shutdown.
            self.db = sqlite3.connect(self.path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
            row = self._set_up()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"cannot open embedded store {self.path}: {exc}") from None
        if row is None:
            # OR IGNORE: another store opening the same new file at this moment wrote it first
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            # a file made again where another was: no search may take it for the one it knew
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('epoch', ?)", (uuid.uuid4().hex,))
        elif int(row[0]) > SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer Interdict (schema {row[0]}, this one reads "
                             f"{SCHEMA_VERSION})")
        elif int(row[0]) < SCHEMA_VERSION:
            self.migrate()
        self.db.execute(AFTER_MIGRATION)
        self.postings = postings_for(self.path)

    def _set_up(self) -> tuple | None:
        """Pragmas and schema; the stored schema version. Switching a new file to WAL takes a
        lock SQLite does not wait for, so two stores opening one new file at once (two
        requests, two crawls) retry instead of failing."""
        deadline = time.monotonic() + BUSY_SECONDS
        while True:
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                self.db.execute("PRAGMA foreign_keys=ON")
                self.db.execute("PRAGMA synchronous=NORMAL")
                self.db.execute(f"PRAGMA cache_size=-{READ_CACHE_KIB}")
                self.db.executescript(SCHEMA)
                self.db.execute(FTS_SCHEMA)
                return self.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    def migrate(self) -> str:
        """Rebuild what is derived from the stored documents (filter terms, match profiles,
        full-text index) with this version's rules; the documents themselves are kept."""
        with self._transaction():
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(listings)")}
            if "data_digest" not in columns:
                self.db.execute("ALTER TABLE listings ADD COLUMN data_digest TEXT")  # filled as listings are rewritten
            if "doc" in columns:  # schema 13 and before: each document inside its listings row
                self.db.execute("INSERT OR REPLACE INTO listing_docs (rowid, doc) SELECT rowid, doc FROM listings")
                self.db.execute("ALTER TABLE listings DROP COLUMN doc")
            if "version" not in columns:
                self.db.execute("ALTER TABLE listings ADD COLUMN version INTEGER NOT NULL DEFAULT 0")
            for index in ("listings_price", "listings_first_seen"):  # searches sort and filter in memory
                self.db.execute(f"DROP INDEX IF EXISTS {index}")
            self._new_epoch()
            self.db.execute("DROP TABLE IF EXISTS listings_fts")
            self.db.execute(FTS_SCHEMA)
            self.db.execute("DROP TABLE IF EXISTS terms")  # an earlier release's may have another shape
            for statement in TERMS_SCHEMA.split(";")[:-1]:  # not executescript: it would commit
                self.db.execute(statement)
            self.db.execute("DELETE FROM profiles")
            self.db.execute("DELETE FROM lives")
            self.db.execute("DELETE FROM unit_periods")
            self.db.execute("DELETE FROM listing_photos")
            set_aside = []
            for table, model in (("listings", ListingDocument), ("vendors", VendorDocument)):
                if table == "vendors":
                    self.db.execute("DELETE FROM vendor_identifiers")
                batch: list[ListingDocument] = []
                for doc_id, doc_json in self._rows_in_order(table):
                    doc, reason = read_document(model, doc_json)
                    if doc is None:
                        set_aside.append(self._set_aside(table, doc_id, doc_json, reason))
                    elif isinstance(doc, ListingDocument):
                        batch.append(doc)
                        if len(batch) >= IN_CHUNK:
                            self._write_listings(batch, {}, set())  # the derived tables were cleared above
                            batch = []
                    elif isinstance(doc, VendorDocument):
                        self._write_vendor_identifiers(doc)
                self._write_listings(batch, {}, set())
            self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        return "\n".join([f"{self.path}: {self.count_listings()} listings reindexed (schema {SCHEMA_VERSION}); "
                          f"{len(set_aside)} unreadable document(s) set aside in table unreadable_documents",
                          *set_aside])

    def _rows_in_order(self, table: str) -> Iterator[tuple[str, str]]:
        """(id, doc) of every row, read ``IN_CHUNK`` at a time by rowid: the caller may rewrite
        rows as it goes, and a million documents do not fit in memory at once."""
        source = WITH_DOCS if table == "listings" else f"{table} l"
        after = -1
        while rows := self.db.execute(f"SELECT l.rowid, l.id, doc FROM {source} WHERE l.rowid > ? ORDER BY l.rowid"
                                      " LIMIT ?", (after, IN_CHUNK)).fetchall():
            after = rows[-1][0]
            yield from ((doc_id, doc_json) for _, doc_id, doc_json in rows)

    def _set_aside(self, table: str, doc_id: str, doc_json: str, reason: str) -> str:
        """Move a document this release cannot read out of the index, keeping it whole."""
        self.unreadable.add(f"{doc_id}: {reason}")
        self.db.execute("INSERT OR REPLACE INTO unreadable_documents VALUES (?, ?, ?, ?, ?)",
                        (doc_id, table, doc_json, reason, iso(datetime.now(UTC))))
        self.db.execute(f"DELETE FROM {table} WHERE id = ?", (doc_id,))
        self._new_epoch()
        return f"  set aside {table[:-1]} {doc_id}: {reason}"

    # -- writing ---------------------------------------------------------------------------
    @contextmanager
    def bulk_writes(self) -> Iterator[None]:
        # Every batch stays searchable on return (each is its own transaction); only the log's
        # copying into the database is put off, and done once at the end.
        self._bulk_depth += 1
        if self._bulk_depth == 1:
            self.db.execute(f"PRAGMA wal_autocheckpoint={BULK_CHECKPOINT_PAGES}")
        try:
            yield
        finally:
            self._bulk_depth -= 1
            if not self._bulk_depth:
                try:
                    self.db.execute("PRAGMA wal_autocheckpoint=1000")
                    self.db.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:  # the writes are in the log, and safe there
                    log.warning("embedded store %s: checkpoint after bulk writes failed: %s", self.path, exc)

    def upsert_listings(self, items: Iterable[EnrichedListing], digests: Sequence[str | None] | None = None,
                        changes: list[ListingChange] | None = None) -> UpsertReport:
        report = UpsertReport()
        items = list(items)
        with self._transaction():
            ids = [listing_id(item.listing.market, item.listing.listing_key) for item in items]
            sightings = sighting_digests(items, digests)
            repeated = repeated_sightings(ids, sightings, dict(self._listing_columns("data_digest", ids)))
            report.unchanged += sum(repeated)
            merging = [(doc_id, item) for doc_id, item, same in zip(ids, items, repeated) if not same]
            stored, present = self._stored_listings([doc_id for doc_id, _ in merging])
            changed: dict[str, ListingDocument] = {}
            for doc_id, item in merging:
                existing = changed[doc_id] if doc_id in changed else stored.get(doc_id)
                doc, outcome = merge_listing(existing, item)
                setattr(report, outcome, getattr(report, outcome) + 1)
                if doc != existing:
                    changed[doc_id] = doc
            self._write_listings(list(changed.values()), stored, present,
                                 {id(item): digest for item, digest in zip(items, sightings)})
        if changes is not None:  # once the transaction holds
            changes.extend(ListingChange(stored.get(doc_id), doc) for doc_id, doc in changed.items()
                           if doc != stored.get(doc_id))
        return report

    def listing_digests(self, ids: Collection[str]) -> dict[str, str]:
        return {doc_id: digest for doc_id, digest in self._listing_columns("data_digest", list(ids)) if digest}

    def _stored_listings(self, ids: list[str]) -> tuple[dict[str, ListingDocument], set[str]]:
        """The stored documents of these ids that can be read, and every id that has a row."""
        docs: dict[str, ListingDocument] = {}
        present: set[str] = set()
        for doc_id, doc_json in self._listing_columns("d.doc", ids):
            present.add(doc_id)
            if (doc := self.decode(ListingDocument, doc_json, doc_id)) is not None:
                docs[doc_id] = doc
        return docs, present

    def _listing_columns(self, column: str, ids: list[str]) -> Iterator[tuple[str, Any]]:
        """(id, ``column``) of the listings (``l``; their documents: ``d``) of these ids, looked
        up ``IN_CHUNK`` at a time."""
        source = WITH_DOCS if column.startswith("d.") else "listings l"
        yield from rows_in(self.db, f"SELECT l.id, {column} FROM {source} WHERE l.id IN", list(dict.fromkeys(ids)))

    def _write_listings(self, docs: list[ListingDocument], stored: dict[str, ListingDocument],
                        present: set[str], digests: dict[int, str] | None = None) -> None:
        """Documents written in bulk, one statement per table: each row, its match profile and
        life, and — unless only its dates moved since ``stored`` (same content, enrichment and
        status) — its filter terms and full-text row. ``present``: ids that have a row already
        (their old terms and full-text row go); empty when the derived tables were cleared.
        ``digests``: sighting digests already computed, by the id() of the item."""
        if not docs:
            return
        version = int(self.db.execute(
            "INSERT INTO meta VALUES ('version', '1') ON CONFLICT(key) DO UPDATE"
            " SET value = CAST(value AS INTEGER) + 1 RETURNING value").fetchone()[0])
        self.db.executemany(
            "INSERT INTO listings (id, market, listing_key, first_seen, last_seen, price_usd, data_digest, version)"
            " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET first_seen=excluded.first_seen,"
            " last_seen=excluded.last_seen, price_usd=excluded.price_usd, data_digest=excluded.data_digest,"
            " version=excluded.version",
            [(doc.id, doc.market, doc.listing_key, iso(doc.first_seen), iso(doc.last_seen),
              doc.data.enrichment.price_usd, (digests or {}).get(id(doc.data)) or sighting_digest(doc.data), version)
             for doc in docs])
        rowids = dict(self._listing_columns("l.rowid", [doc.id for doc in docs]))
        self.db.executemany("INSERT INTO listing_docs (rowid, doc) VALUES (?,?)"
                            " ON CONFLICT(rowid) DO UPDATE SET doc=excluded.doc",
                            [(rowids[doc.id], doc.model_dump_json()) for doc in docs])
        profiles = {doc.id: listing_profile(doc) for doc in docs}
        self.db.executemany("INSERT INTO profiles (doc, id, profile) VALUES (?,?,?)"
                            " ON CONFLICT(doc) DO UPDATE SET profile=excluded.profile",
                            [(rowids[doc.id], doc.id, profiles[doc.id].to_json()) for doc in docs])
        self.db.executemany("INSERT INTO lives (doc, first_day, last_day) VALUES (?, julianday(?), julianday(?))"
                            " ON CONFLICT(doc) DO UPDATE SET first_day=excluded.first_day, last_day=excluded.last_day",
                            [(rowids[doc.id], iso(doc.first_seen), iso(doc.last_seen)) for doc in docs])
        self.db.executemany("DELETE FROM unit_periods WHERE doc = ?", [(rowids[doc.id],) for doc in docs])
        self.db.executemany("INSERT INTO unit_periods (doc, start_us, end_us, included, usd, unit) VALUES (?,?,?,?,?,?)",
                            [(rowids[doc.id], micros(start), micros(end), included, usd, unit) for doc in docs
                             for start, end, included, usd, unit in unit_periods(doc)])
        self.db.executemany("DELETE FROM listing_photos WHERE doc = ?", [(rowids[doc.id],) for doc in docs])
        self.db.executemany("INSERT INTO listing_photos (doc, sha256, phash, dhash, vendor) VALUES (?,?,?,?,?)",
                            [(rowids[doc.id], row.sha256, row.phash, row.dhash, row.vendor) for doc in docs
                             for row in photo_rows(doc)])
        derived = [doc for doc in docs if not _same_derived(stored.get(doc.id), doc)]
        replaced = [(rowids[doc.id],) for doc in derived if doc.id in present]
        self.db.executemany("DELETE FROM terms WHERE doc=?", replaced)
        self.db.executemany("DELETE FROM listings_fts WHERE rowid=?", replaced)
        self.db.executemany(
            "INSERT OR IGNORE INTO terms (doc, field, key, label) VALUES (?,?,?,?)",
            [row for doc in derived for row in _term_rows(rowids[doc.id], doc, profiles[doc.id])])
        self.db.executemany("INSERT INTO listings_fts (rowid, title, description, extra) VALUES (?,?,?,?)",
                            [(rowids[doc.id], *text_fields(doc)) for doc in derived])

    def upsert_vendors(self, items: Iterable[EnrichedVendor], changes: list[VendorChange] | None = None) -> UpsertReport:
        report = UpsertReport()
        before: dict[str, VendorDocument | None] = {}
        written: dict[str, VendorDocument] = {}
        with self._transaction():
            for item in items:
                existing = self.get_vendor(vendor_id(item.vendor.market, item.vendor.name))
                doc, outcome = merge_vendor(existing, item)
                before.setdefault(doc.id, existing)
                written[doc.id] = doc
                setattr(report, outcome, getattr(report, outcome) + 1)
                self.db.execute(
                    "INSERT INTO vendors (id, market, name, first_seen, last_seen, doc) VALUES (?,?,?,?,?,?)"
                    " ON CONFLICT(id) DO UPDATE SET first_seen=excluded.first_seen,"
                    " last_seen=excluded.last_seen, doc=excluded.doc",
                    (doc.id, doc.market, doc.name, iso(doc.first_seen), iso(doc.last_seen), doc.model_dump_json()),
                )
                self._write_vendor_identifiers(doc)
        if changes is not None:  # once the transaction holds
            changes.extend(VendorChange(before[i], doc) for i, doc in written.items() if doc != before[i])
        return report

    def listing_urls(self, market: str, seen_since: datetime) -> Iterator[str]:
        rows = self.db.execute(f"SELECT json_extract(doc, '$.data.listing.url') FROM {WITH_DOCS}"
                               " WHERE l.market = ? AND l.last_seen >= ?", (market, iso(seen_since)))
        return (url for (url,) in rows)

    def record_missed(self, market: str, crawl_started: datetime, crawl_ended: datetime,
                      after: int) -> LifecycleReport:
        report = LifecycleReport()
        with self._transaction():
            # inactive listings are left as they are: nothing about them changes while gone
            rows = self.db.execute(
                f"SELECT l.id, doc FROM {WITH_DOCS} WHERE l.market = ? AND l.last_seen < ? AND l.rowid NOT IN"
                " (SELECT doc FROM terms WHERE field = 'status' AND key = 'inactive')",
                (market, iso(crawl_started))).fetchall()
            for doc_id, doc_json in rows:
                doc = self.decode(ListingDocument, doc_json, doc_id)
                if doc is None:
                    continue
                doc, gone = missed(doc, crawl_ended, after)
                report.count("listings", gone)
                if gone:
                    self._write_listings([doc], {}, {doc.id})
                else:
                    self.db.execute("UPDATE listing_docs SET doc = ? WHERE rowid = (SELECT rowid FROM listings"
                                    " WHERE id = ?)", (doc.model_dump_json(), doc.id))
            rows = self.db.execute("SELECT id, doc FROM vendors WHERE market = ? AND last_seen < ?",
                                   (market, iso(crawl_started))).fetchall()
            for doc_id, doc_json in rows:
                vendor = self.decode(VendorDocument, doc_json, doc_id)
                if vendor is None or vendor.status == "inactive":
                    continue
                vendor, gone = missed(vendor, crawl_ended, after)
                report.count("vendors", gone)
                self.db.execute("UPDATE vendors SET doc = ? WHERE id = ?", (vendor.model_dump_json(), vendor.id))
        return report

    def _write_vendor_identifiers(self, doc: VendorDocument) -> None:
        self.db.execute("DELETE FROM vendor_identifiers WHERE vendor=?", (doc.id,))
        self.db.executemany("INSERT OR IGNORE INTO vendor_identifiers (value, vendor) VALUES (?,?)",
                            [(key, doc.id) for v in doc.data.enrichment.identifier_values() for key in identifier_keys(v)])

    def delete_listing(self, doc_id: str) -> bool:
        with self._transaction():
            row = self.db.execute("SELECT rowid FROM listings WHERE id=?", (doc_id,)).fetchone()
            if row is None:
                return False
            self.db.execute("DELETE FROM listings_fts WHERE rowid=?", (row[0],))
            self.db.execute("DELETE FROM terms WHERE doc=?", (row[0],))
            self.db.execute("DELETE FROM listings WHERE rowid=?", (row[0],))
            self._new_epoch()
        return True

    def _new_epoch(self) -> None:
        """Listings went (or were all rewritten): searches read everything again."""
        self.db.execute("INSERT OR REPLACE INTO meta VALUES ('epoch', ?)", (uuid.uuid4().hex,))

    # -- reading ---------------------------------------------------------------------------
    def get_listing(self, doc_id: str) -> ListingDocument | None:
        row = self.db.execute(f"SELECT doc FROM {WITH_DOCS} WHERE l.id=?", (doc_id,)).fetchone()
        return self.decode(ListingDocument, row[0], doc_id) if row else None

    def iter_listings(self) -> Iterator[ListingDocument]:
        for doc_id, doc_json in self.db.execute(f"SELECT l.id, doc FROM {WITH_DOCS} ORDER BY l.rowid"):
            if (doc := self.decode(ListingDocument, doc_json, doc_id)) is not None:
                yield doc

    def iter_vendors(self) -> Iterator[VendorDocument]:
        for doc_id, doc_json in self.db.execute("SELECT id, doc FROM vendors ORDER BY id"):
            if (doc := self.decode(VendorDocument, doc_json, doc_id)) is not None:
                yield doc

    def get_vendor(self, doc_id: str) -> VendorDocument | None:
        row = self.db.execute("SELECT doc FROM vendors WHERE id=?", (doc_id,)).fetchone()
        return self.decode(VendorDocument, row[0], doc_id) if row else None

    def iter_profiles(self) -> Iterator[ListingProfile]:
        for (profile,) in self.db.execute("SELECT profile FROM profiles ORDER BY doc"):
            yield ListingProfile.from_json(profile)

    def candidates(self, keys: Collection[str], per_key: int, around: date | None = None) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for key in keys:
            if around is None:
                rows = self.db.execute(
                    "SELECT p.id FROM terms t JOIN profiles p ON p.doc = t.doc"
                    " WHERE t.field = 'block' AND t.key = ? ORDER BY t.doc DESC LIMIT ?", (key, per_key)).fetchall()
            else:  # days between the date and the listing's life (0 within it), nearest first
                day = around.toordinal() + JULIAN_DAY_OF_ORDINAL_0  # the date's midnight, as julianday() gives it
                rows = self.db.execute(
                    "SELECT p.id FROM (SELECT t.doc, max(? - v.last_day, v.first_day - ?, 0) AS gap"
                    " FROM terms t JOIN lives v ON v.doc = t.doc WHERE t.field = 'block' AND t.key = ?"
                    " ORDER BY gap, t.doc DESC LIMIT ?) nearest JOIN profiles p ON p.doc = nearest.doc"
                    " ORDER BY nearest.gap, nearest.doc DESC", (day, day, key, per_key)).fetchall()
            if rows:
                out[key] = [i for (i,) in rows]
        return out

    def key_counts(self, keys: Collection[str]) -> dict[str, int]:
        wanted = list(dict.fromkeys(keys))
        out: dict[str, int] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            out.update(self.db.execute(
                f"SELECT key, COUNT(*) FROM terms WHERE field = 'block' AND key IN ({','.join('?' * len(chunk))})"
                " GROUP BY key", chunk).fetchall())
        return out

    def lifetimes(self) -> dict[str, float]:
        days: dict[str, list[float]] = {}
        for market, span in self.db.execute(
                "SELECT market, julianday(last_seen) - julianday(first_seen) AS span FROM listings"
                " WHERE span >= 1 ORDER BY market, span"):
            days.setdefault(market, []).append(span)
        return {market: statistics.median(spans) for market, spans in days.items()}

    def profiles(self, ids: Collection[str]) -> dict[str, ListingProfile]:
        wanted = list(ids)
        out: dict[str, ListingProfile] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            for doc_id, profile in self.db.execute(
                    f"SELECT id, profile FROM profiles WHERE id IN ({','.join('?' * len(chunk))})", chunk):
                out[doc_id] = ListingProfile.from_json(profile)
        return out

    def listing_photos(self) -> Iterator[ImageRow]:
        for doc_id, market, vendor, sha256, phash, dhash in self.db.execute(
                "SELECT l.id, l.market, p.vendor, p.sha256, p.phash, p.dhash FROM listing_photos p"
                " JOIN listings l ON l.rowid = p.doc ORDER BY p.doc, p.sha256"):
            yield ImageRow(listing_id=doc_id, market=market, vendor=vendor, sha256=sha256, phash=phash, dhash=dhash)

    def vendors_with_identifiers(self, values: Collection[str]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        folded = list({identifier_key(v) for v in values})
        for start in range(0, len(folded), 500):
            chunk = folded[start:start + 500]
            for value, vendor in self.db.execute(
                    f"SELECT value, vendor FROM vendor_identifiers WHERE value IN ({','.join('?' * len(chunk))})",
                    chunk):
                out.setdefault(value, []).append(vendor)
        return out

    def count_listings(self) -> int:
        return self.db.execute("SELECT count(*) FROM listings").fetchone()[0]

    def count_vendors(self) -> int:
        return self.db.execute("SELECT count(*) FROM vendors").fetchone()[0]

    def save_job(self, job: CrawlJob) -> None:
        self.db.execute("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, ?)",
                        (job.id, job.market, job.started.isoformat(), job.model_dump_json()))

    def jobs(self, market: str | None = None, limit: int = 50) -> list[CrawlJob]:
        where, params = ("WHERE market = ?", [market]) if market else ("", [])
        rows = self.db.execute(f"SELECT doc FROM jobs {where} ORDER BY started DESC, id DESC LIMIT ?", [*params, limit])
        return [CrawlJob.model_validate_json(row[0]) for row in rows]

    def search(self, query: Query) -> SearchResult:
        words, terms = self.plan(query)
        return search(self.db, self.postings, query, words, terms, lambda doc_json, doc_id: self.decode(ListingDocument, doc_json, doc_id))

    def trends(self, query: TrendQuery) -> TrendResult:
        _, clauses = self.plan(query.search())
        try:
            with self.postings.lock:
                own = not self.db.in_transaction
                if own:
                    self.db.execute("BEGIN")  # one snapshot for the refresh and the arrays read after it
                try:
                    self.postings.refresh(self.db)
                    return embedded_trend(self.db, self.postings, query, clauses)
                finally:
                    if own:
                        self.db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            raise StoreError(f"trends failed: {exc}") from None

    # -- plumbing --------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[None]:
        if not self._writing:
            self.db.execute(f"PRAGMA cache_size=-{WRITE_CACHE_KIB}")
            self._writing = True
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def close(self) -> None:
        self.db.close()
