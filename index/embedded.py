"""The embedded store: one SQLite file with FTS5, zero set-up, the default."""

from __future__ import annotations

import sqlite3
import statistics
import time
from typing import Any
from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

from contracts.documents import ListingDocument, UpsertReport, VendorDocument, listing_id, vendor_id
from contracts.identifiers import identifier_key, identifier_keys
from contracts.jobs import CrawlJob
from contracts.listings import EnrichedListing, EnrichedVendor
from index.documents import merge_listing, merge_vendor, repeated_sightings, sighting_digest
from index.highlight import highlights
from index.lifecycle import LifecycleReport, missed
from index.profiles import ListingProfile, blocking_keys, listing_profile
from index.query import (
    FacetCount,
    Hit,
    Query,
    SearchResult,
    filter_terms,
    TermClause,
    parse_text,
    text_fields,
)
from index.store import Store, StoreError, read_document

# Page cache per connection. A writer's terms and full-text indexes outgrow SQLite's default
# 2 MB at a few tens of thousands of listings (every batch would reread them); readers — the web
# service keeps a connection per request in flight — keep a smaller one.
READ_CACHE_KIB = 16 * 1024
WRITE_CACHE_KIB = 64 * 1024
IN_CHUNK = 500  # ids per "IN (...)" lookup, and documents per write when rebuilding
BUSY_SECONDS = 30  # how long a writer waits for another to let go of the file
SCHEMA_VERSION = 13  # 7: ships_to_excluded terms (region-aware place filters); 8: identifier keys, vendor_id terms;
# 9: title-word keys (t:) for the matcher's document frequencies; 10: product-and-quantity keys (q:);
# 11: listings' lives in Julian days (lives), for candidates around a date; 12: terms clustered by (field, key);
# 13: listings.data_digest (index.documents.sighting_digest): a repeated sighting costs a lookup
JULIAN_DAY_OF_ORDINAL_0 = 1721424.5  # julianday('0001-01-01') - date(1, 1, 1).toordinal()
# Filter terms and blocking keys, clustered by (field, key): a filter or a facet reads one
# range of the table, labels included, with no lookup per row; one B-tree less to write.
TERMS_SCHEMA = """
CREATE TABLE IF NOT EXISTS terms (
    field TEXT NOT NULL,
    key TEXT NOT NULL,
    doc INTEGER NOT NULL REFERENCES listings(rowid) ON DELETE CASCADE,
    label TEXT NOT NULL,
    PRIMARY KEY (field, key, doc)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS terms_doc ON terms(doc);
"""
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- documents `migrate` found unreadable (written by an older release, or damaged): kept whole
CREATE TABLE IF NOT EXISTS unreadable_documents (
    id TEXT PRIMARY KEY, kind TEXT NOT NULL, doc TEXT NOT NULL, reason TEXT NOT NULL, set_aside TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS listings (
    rowid INTEGER PRIMARY KEY,
    id TEXT UNIQUE NOT NULL,
    market TEXT NOT NULL,
    listing_key TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    price_usd REAL,
    doc TEXT NOT NULL,
    data_digest TEXT
);
CREATE INDEX IF NOT EXISTS listings_last_seen ON listings(last_seen);
CREATE INDEX IF NOT EXISTS listings_first_seen ON listings(first_seen);
CREATE INDEX IF NOT EXISTS listings_price ON listings(price_usd);
"""
SCHEMA += TERMS_SCHEMA + """
CREATE TABLE IF NOT EXISTS vendors (
    id TEXT PRIMARY KEY,
    market TEXT NOT NULL,
    name TEXT NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    doc TEXT NOT NULL
);
-- Match profiles (index/profiles.py) beside, not inside, the listings rows: a profile read
-- after the document column would walk the document's overflow pages first.
CREATE TABLE IF NOT EXISTS profiles (
    doc INTEGER PRIMARY KEY REFERENCES listings(rowid) ON DELETE CASCADE,
    id TEXT UNIQUE NOT NULL,
    profile TEXT NOT NULL
);
-- Each listing's life in Julian days, in rows a few bytes wide: the matcher orders thousands
-- of a blocking key's listings by their distance from a parcel's date, and a listings row
-- holds the whole document.
CREATE TABLE IF NOT EXISTS lives (
    doc INTEGER PRIMARY KEY REFERENCES listings(rowid) ON DELETE CASCADE,
    first_day REAL NOT NULL,
    last_day REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    market TEXT NOT NULL,
    started TEXT NOT NULL,
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_started ON jobs(started, id);
CREATE TABLE IF NOT EXISTS vendor_identifiers (
    value TEXT NOT NULL,
    vendor TEXT NOT NULL REFERENCES vendors(id) ON DELETE CASCADE,
    PRIMARY KEY (value, vendor)
) WITHOUT ROWID;
"""
# Holds index.query.text_fields: already folded and tokenised, identical for every store.
FTS_SCHEMA = """CREATE VIRTUAL TABLE IF NOT EXISTS listings_fts USING fts5(
    title, description, extra, tokenize = "unicode61 remove_diacritics 0")"""
_SORT_SQL = {
    "price": "l.price_usd IS NULL, l.price_usd ASC, l.id",
    "-price": "l.price_usd IS NULL, l.price_usd DESC, l.id",
    "last_seen": "l.last_seen ASC, l.id",
    "-last_seen": "l.last_seen DESC, l.id",
    "first_seen": "l.first_seen ASC, l.id",
    "-first_seen": "l.first_seen DESC, l.id",
}
# bm25 column weights: a hit in the title counts most.
_BM25 = "bm25(listings_fts, 4.0, 1.0, 2.0)"


def _same_derived(before: ListingDocument | None, after: ListingDocument) -> bool:
    """Whether a document's filter terms and full-text row stay as they were: it was seen
    again and only its dates moved."""
    return before is not None and before.status == after.status and (
        before.data is after.data or (before.content_hash == after.content_hash
                                      and before.data.enrichment == after.data.enrichment))


def _term_rows(rowid: int, doc: ListingDocument, profile: ListingProfile) -> list[tuple[int, str, str, str]]:
    return ([(rowid, field, key, label) for field, pairs in filter_terms(doc).items() for key, label in pairs]
            + [(rowid, "block", key, "") for key in blocking_keys(profile)])


def _iso(value) -> str:
    return value.isoformat(timespec="microseconds")


def _fts_phrase(tokens: list[str]) -> str:
    # Tokens are [^\W_]+ runs, so they hold no quotes; quoting makes FTS5 syntax inert.
    return '"' + " ".join(tokens) + '"'


class EmbeddedStore(Store):
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._writing = False  # a connection that writes gets the bigger page cache
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
        elif int(row[0]) > SCHEMA_VERSION:
            raise StoreError(f"{self.path} was written by a newer Interdict (schema {row[0]}, this one reads "
                             f"{SCHEMA_VERSION})")
        elif int(row[0]) < SCHEMA_VERSION:
            self.migrate()

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
            if "data_digest" not in {row[1] for row in self.db.execute("PRAGMA table_info(listings)")}:
                self.db.execute("ALTER TABLE listings ADD COLUMN data_digest TEXT")  # filled as listings are rewritten
            self.db.execute("DROP TABLE IF EXISTS listings_fts")
            self.db.execute(FTS_SCHEMA)
            self.db.execute("DROP TABLE IF EXISTS terms")  # an earlier release's may have another shape
            for statement in TERMS_SCHEMA.split(";")[:-1]:  # not executescript: it would commit
                self.db.execute(statement)
            self.db.execute("DELETE FROM profiles")
            self.db.execute("DELETE FROM lives")
            set_aside = []
            for table, model in (("listings", ListingDocument), ("vendors", VendorDocument)):
                if table == "vendors":
                    self.db.execute("DELETE FROM vendor_identifiers")
                batch: list[ListingDocument] = []
                for doc_id, doc_json in self.db.execute(f"SELECT id, doc FROM {table}").fetchall():
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

    def _set_aside(self, table: str, doc_id: str, doc_json: str, reason: str) -> str:
        """Move a document this release cannot read out of the index, keeping it whole."""
        self.unreadable.add(f"{doc_id}: {reason}")
        self.db.execute("INSERT OR REPLACE INTO unreadable_documents VALUES (?, ?, ?, ?, ?)",
                        (doc_id, table, doc_json, reason, _iso(datetime.now(UTC))))
        self.db.execute(f"DELETE FROM {table} WHERE id = ?", (doc_id,))
        return f"  set aside {table[:-1]} {doc_id}: {reason}"

    # -- writing ---------------------------------------------------------------------------
    def upsert_listings(self, items: Iterable[EnrichedListing]) -> UpsertReport:
        report = UpsertReport()
        items = list(items)
        with self._transaction():
            ids = [listing_id(item.listing.market, item.listing.listing_key) for item in items]
            digests = [sighting_digest(item) for item in items]
            repeated = repeated_sightings(ids, digests, dict(self._listing_columns("data_digest", ids)))
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
                                 {id(item): digest for item, digest in zip(items, digests)})
        return report

    def _stored_listings(self, ids: list[str]) -> tuple[dict[str, ListingDocument], set[str]]:
        """The stored documents of these ids that can be read, and every id that has a row."""
        docs: dict[str, ListingDocument] = {}
        present: set[str] = set()
        for doc_id, doc_json in self._listing_columns("doc", ids):
            present.add(doc_id)
            if (doc := self.decode(ListingDocument, doc_json, doc_id)) is not None:
                docs[doc_id] = doc
        return docs, present

    def _listing_columns(self, column: str, ids: list[str]) -> Iterator[tuple[str, Any]]:
        """(id, ``column``) of the listings of these ids, looked up ``IN_CHUNK`` at a time."""
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), IN_CHUNK):
            chunk = unique[start:start + IN_CHUNK]
            yield from self.db.execute(
                f"SELECT id, {column} FROM listings WHERE id IN ({','.join('?' * len(chunk))})", chunk).fetchall()

    def _write_listings(self, docs: list[ListingDocument], stored: dict[str, ListingDocument],
                        present: set[str], digests: dict[int, str] | None = None) -> None:
        """Documents written in bulk, one statement per table: each row, its match profile and
        life, and — unless only its dates moved since ``stored`` (same content, enrichment and
        status) — its filter terms and full-text row. ``present``: ids that have a row already
        (their old terms and full-text row go); empty when the derived tables were cleared.
        ``digests``: sighting digests already computed, by the id() of the item."""
        if not docs:
            return
        self.db.executemany(
            "INSERT INTO listings (id, market, listing_key, first_seen, last_seen, price_usd, doc, data_digest)"
            " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET first_seen=excluded.first_seen,"
            " last_seen=excluded.last_seen, price_usd=excluded.price_usd, doc=excluded.doc,"
            " data_digest=excluded.data_digest",
            [(doc.id, doc.market, doc.listing_key, _iso(doc.first_seen), _iso(doc.last_seen),
              doc.data.enrichment.price_usd, doc.model_dump_json(),
              (digests or {}).get(id(doc.data)) or sighting_digest(doc.data)) for doc in docs])
        rowids = dict(self._listing_columns("rowid", [doc.id for doc in docs]))
        profiles = {doc.id: listing_profile(doc) for doc in docs}
        self.db.executemany("INSERT INTO profiles (doc, id, profile) VALUES (?,?,?)"
                            " ON CONFLICT(doc) DO UPDATE SET profile=excluded.profile",
                            [(rowids[doc.id], doc.id, profiles[doc.id].to_json()) for doc in docs])
        self.db.executemany("INSERT INTO lives (doc, first_day, last_day) VALUES (?, julianday(?), julianday(?))"
                            " ON CONFLICT(doc) DO UPDATE SET first_day=excluded.first_day, last_day=excluded.last_day",
                            [(rowids[doc.id], _iso(doc.first_seen), _iso(doc.last_seen)) for doc in docs])
        derived = [doc for doc in docs if not _same_derived(stored.get(doc.id), doc)]
        replaced = [(rowids[doc.id],) for doc in derived if doc.id in present]
        self.db.executemany("DELETE FROM terms WHERE doc=?", replaced)
        self.db.executemany("DELETE FROM listings_fts WHERE rowid=?", replaced)
        self.db.executemany(
            "INSERT OR IGNORE INTO terms (doc, field, key, label) VALUES (?,?,?,?)",
            [row for doc in derived for row in _term_rows(rowids[doc.id], doc, profiles[doc.id])])
        self.db.executemany("INSERT INTO listings_fts (rowid, title, description, extra) VALUES (?,?,?,?)",
                            [(rowids[doc.id], *text_fields(doc)) for doc in derived])

    def upsert_vendors(self, items: Iterable[EnrichedVendor]) -> UpsertReport:
        report = UpsertReport()
        with self._transaction():
            for item in items:
                existing = self.get_vendor(vendor_id(item.vendor.market, item.vendor.name))
                doc, outcome = merge_vendor(existing, item)
                setattr(report, outcome, getattr(report, outcome) + 1)
                self.db.execute(
                    "INSERT INTO vendors (id, market, name, first_seen, last_seen, doc) VALUES (?,?,?,?,?,?)"
                    " ON CONFLICT(id) DO UPDATE SET first_seen=excluded.first_seen,"
                    " last_seen=excluded.last_seen, doc=excluded.doc",
                    (doc.id, doc.market, doc.name, _iso(doc.first_seen), _iso(doc.last_seen), doc.model_dump_json()),
                )
                self._write_vendor_identifiers(doc)
        return report

    def listing_urls(self, market: str, seen_since: datetime) -> Iterator[str]:
        rows = self.db.execute("SELECT json_extract(doc, '$.data.listing.url') FROM listings"
                               " WHERE market = ? AND last_seen >= ?", (market, _iso(seen_since)))
        return (url for (url,) in rows)

    def record_missed(self, market: str, crawl_started: datetime, crawl_ended: datetime,
                      after: int) -> LifecycleReport:
        report = LifecycleReport()
        with self._transaction():
            # inactive listings are left as they are: nothing about them changes while gone
            rows = self.db.execute(
                "SELECT id, doc FROM listings WHERE market = ? AND last_seen < ? AND rowid NOT IN"
                " (SELECT doc FROM terms WHERE field = 'status' AND key = 'inactive')",
                (market, _iso(crawl_started))).fetchall()
            for doc_id, doc_json in rows:
                doc = self.decode(ListingDocument, doc_json, doc_id)
                if doc is None:
                    continue
                doc, gone = missed(doc, crawl_ended, after)
                report.count("listings", gone)
                if gone:
                    self._write_listings([doc], {}, {doc.id})
                else:
                    self.db.execute("UPDATE listings SET doc = ? WHERE id = ?", (doc.model_dump_json(), doc.id))
            rows = self.db.execute("SELECT id, doc FROM vendors WHERE market = ? AND last_seen < ?",
                                   (market, _iso(crawl_started))).fetchall()
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
        return True

    # -- reading ---------------------------------------------------------------------------
    def get_listing(self, doc_id: str) -> ListingDocument | None:
        row = self.db.execute("SELECT doc FROM listings WHERE id=?", (doc_id,)).fetchone()
        return self.decode(ListingDocument, row[0], doc_id) if row else None

    def iter_listings(self) -> Iterator[ListingDocument]:
        for doc_id, doc_json in self.db.execute("SELECT id, doc FROM listings ORDER BY rowid"):
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

    def _where(self, query: Query, words: str, terms: list[TermClause]) -> tuple[str, list, str | None]:
        clauses: list[str] = []
        params: list[Any] = []
        text = parse_text(words)
        fts = None
        if text.must:
            fts = " AND ".join(_fts_phrase(c) for c in text.must)
            fts += "".join(f" NOT {_fts_phrase(c)}" for c in text.must_not)
        elif text.must_not:
            clauses.append("l.rowid NOT IN (SELECT rowid FROM listings_fts WHERE listings_fts MATCH ?)")
            params.append(" OR ".join(_fts_phrase(c) for c in text.must_not))
        for clause in terms:
            fields = {clause.field: clause.values, **clause.also}
            either = " OR ".join(f"(field=? AND key IN ({','.join('?' * len(values))}))" for values in fields.values())
            clauses.append(f"l.rowid {'NOT IN' if clause.negate else 'IN'} (SELECT doc FROM terms WHERE {either})")
            params += [p for field, values in fields.items() for p in (field, *values)]
        if query.price_min_usd is not None:
            clauses.append("l.price_usd >= ?")
            params.append(query.price_min_usd)
        if query.price_max_usd is not None:
            clauses.append("l.price_usd <= ?")
            params.append(query.price_max_usd)
        if query.date_from is not None:
            clauses.append(f"l.{query.date_field} >= ?")
            params.append(_iso(query.date_from))
        if query.date_to is not None:
            clauses.append(f"l.{query.date_field} <= ?")
            params.append(_iso(query.date_to))
        return " AND ".join(clauses) or "1", params, fts

    def search(self, query: Query) -> SearchResult:
        words, terms = self.plan(query)
        where, params, fts = self._where(query, words, terms)
        if fts:
            source = "listings l JOIN listings_fts ON listings_fts.rowid = l.rowid AND listings_fts MATCH ?"
            params = [fts, *params]
        else:
            source = "listings l"
        try:
            total = self.db.execute(f"SELECT count(*) FROM {source} WHERE {where}", params).fetchone()[0]
            if query.sort == "relevance":
                order = f"{_BM25}, l.id" if fts else "l.last_seen DESC, l.id"
            else:
                order = _SORT_SQL[query.sort]
            cols = f"l.id, l.doc, {_BM25}" if fts else "l.id, l.doc, NULL"
            rows = self.db.execute(
                f"SELECT {cols} FROM {source} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
                [*params, query.limit, query.offset],
            ).fetchall()
            facets = {f: self._facet(f, source, where, params, query.facet_size) for f in query.facets}
        except sqlite3.OperationalError as exc:
            raise StoreError(f"search failed: {exc}") from None
        hits = []
        text = parse_text(words)
        skipped = 0
        for doc_id, doc_json, score in rows:
            doc = self.decode(ListingDocument, doc_json, doc_id)
            if doc is None:
                skipped += 1
                continue
            hits.append(Hit(document=doc, score=-score if score is not None else None,
                            highlights=highlights(doc.data.listing.title, doc.data.listing.description, text)))
        return SearchResult(total=total, hits=hits, facets=facets, unreadable=skipped)

    def _facet(self, field: str, source: str, where: str, params: list, size: int) -> list[FacetCount]:
        rows = self.db.execute(
            f"SELECT t.key, min(t.label), count(*) AS n FROM terms t WHERE t.field=? AND t.doc IN"
            f" (SELECT l.rowid FROM {source} WHERE {where}) GROUP BY t.key ORDER BY n DESC, t.key LIMIT ?",
            [field, *params, size],
        ).fetchall()
        return [FacetCount(value=k, label=label, count=n) for k, label, n in rows]

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
