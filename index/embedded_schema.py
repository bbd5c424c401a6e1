"""The embedded store's SQLite schema: tables, indexes, and the version that says which
release wrote a file (an older file is migrated when opened: index/embedded.py)."""

from collections.abc import Iterator

SCHEMA_VERSION = 17  # 7: ships_to_excluded terms (region-aware place filters); 8: identifier keys, vendor_id terms;
# 9: title-word keys (t:) for the matcher's document frequencies; 10: product-and-quantity keys (q:);
# 11: listings' lives in Julian days (lives), for candidates around a date; 12: terms clustered by (field, key);
# 13: listings.data_digest (index.documents.sighting_digest): a repeated sighting costs a lookup;
# 14: documents in listing_docs, beside the listings rows; 15: listings.version, what searches catch up with;
# 16: unit_periods (index.trends): each price a listing had per gram, millilitre or unit, and when;
# 17: listing_photos: each listing photo's digest and perceptual hashes (near-duplicate search)
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
    data_digest TEXT,
    -- meta 'version' when the row was last written: a search's postings read what changed
    -- since they last looked (index/embedded_postings.py)
    version INTEGER NOT NULL DEFAULT 0
);
-- The documents beside the listings rows, not inside them: a filter, count or sort walks
-- rows a hundred bytes wide (dozens to a page, not one) and reads only the documents it shows.
CREATE TABLE IF NOT EXISTS listing_docs (
    rowid INTEGER PRIMARY KEY REFERENCES listings(rowid) ON DELETE CASCADE,
    doc TEXT NOT NULL
);
-- (revisits and lifecycle: listings of a market seen since or before a date; searches sort and
-- filter in memory)
CREATE INDEX IF NOT EXISTS listings_last_seen ON listings(last_seen);
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
-- Each listing photo's digest and perceptual hashes (16 hex digits: a 64-bit hash does not fit
-- SQLite's signed integers), and its vendor: the near-duplicate search reads them all at once.
CREATE TABLE IF NOT EXISTS listing_photos (
    doc INTEGER NOT NULL REFERENCES listings(rowid) ON DELETE CASCADE,
    sha256 TEXT NOT NULL,
    phash TEXT NOT NULL,
    dhash TEXT NOT NULL,
    vendor TEXT NOT NULL,
    PRIMARY KEY (doc, sha256)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS listing_photos_sha256 ON listing_photos(sha256);
-- Each price a listing had per unit (index.trends.unit_periods), in microseconds since 1970:
-- what price trends aggregate, read into arrays as the search columns are.
CREATE TABLE IF NOT EXISTS unit_periods (
    doc INTEGER NOT NULL REFERENCES listings(rowid) ON DELETE CASCADE,
    start_us INTEGER NOT NULL,
    end_us INTEGER NOT NULL,
    included INTEGER NOT NULL,
    usd REAL NOT NULL,
    unit TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS unit_periods_doc ON unit_periods(doc);
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
# A listing's row and its document, as queries join them.
WITH_DOCS = "listings l JOIN listing_docs d ON d.rowid = l.rowid"
IN_CHUNK = 500  # values per "IN (...)" lookup (and documents per write when rebuilding)


def rows_in(db, sql: str, values: list, before: tuple = ()) -> Iterator[tuple]:
    """The rows of ``sql``, which ends in "IN", for these values, ``IN_CHUNK`` at a time;
    ``before``: the parameters ahead of the list."""
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start:start + IN_CHUNK]
        yield from db.execute(f"{sql} ({','.join('?' * len(chunk))})", [*before, *chunk]).fetchall()


def iso(value) -> str:
    """A date as stored: ISO 8601 to the microsecond, so that text order is time order."""
    return value.isoformat(timespec="microseconds")


# Indexes on columns an older file gains in its migration: made once the columns exist.
AFTER_MIGRATION = "CREATE INDEX IF NOT EXISTS listings_version ON listings(version)"
