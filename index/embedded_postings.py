"""The embedded store's search structures in memory: one compressed bitmap of listing rowids
per filter term, and the sort and range columns as arrays, kept in step with the SQLite file.

A filter, a count or a facet over a million listings is then a few bitmap operations rather
than a walk over hundreds of thousands of rows (Lucene and Elasticsearch keep the same
structures: postings and doc values). The file stays the truth: every write of a listing
stamps its row with a new ``version`` (index/embedded.py), and a search first reads the rows
stamped since it last looked, whoever wrote them (another process, another connection); a
deletion changes the ``epoch``, and everything is read again. One ``Postings`` per database
file per process, shared by its connections; a field's bitmaps are read the first time a
search needs them.
"""

from __future__ import annotations

import array
import sqlite3
import threading
import weakref
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from pyroaring import BitMap

from index.embedded_schema import rows_in

# Past this share of the listings changed since the last look, reading everything again is
# cheaper than patching every bitmap.
REBUILD_SHARE = 0.25
# A date as microseconds since 1970 from its stored ISO text, in SQL: exact, where julianday()
# would round to tens of microseconds. The whole seconds are read without the fraction (and
# with the offset): strftime('%s') rounds a fraction of .9995 or more up to the next second.
_MICROS = ("CAST(strftime('%s', substr({0}, 1, 19) || substr({0}, 27)) AS INTEGER) * 1000000"
           " + CAST(substr({0}, 21, 6) AS INTEGER)")
_COLUMNS = (f"SELECT rowid, price_usd, {_MICROS.format('first_seen')}, {_MICROS.format('last_seen')},"
            " substr(id, 1, 16), substr(id, 17, 16) FROM listings")


class Columns:
    """Per rowid: price in USD (NaN when absent), first and last seen (microseconds), and the
    id as two 64-bit halves (ids are 32 hex digits: their numeric order is their text order)."""

    def __init__(self) -> None:
        self.price = np.full(0, np.nan)
        self.first_seen = np.zeros(0, dtype=np.int64)
        self.last_seen = np.zeros(0, dtype=np.int64)
        self.id_high = np.zeros(0, dtype=np.uint64)
        self.id_low = np.zeros(0, dtype=np.uint64)

    def set(self, rows: list[tuple]) -> None:
        if not rows:
            return
        rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        self._grow(int(rowids.max()) + 1)
        self.price[rowids] = np.fromiter((np.nan if r[1] is None else r[1] for r in rows), dtype=float, count=len(rows))
        self.first_seen[rowids] = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
        self.last_seen[rowids] = np.fromiter((r[3] for r in rows), dtype=np.int64, count=len(rows))
        self.id_high[rowids] = np.fromiter((int(r[4], 16) for r in rows), dtype=np.uint64, count=len(rows))
        self.id_low[rowids] = np.fromiter((int(r[5], 16) for r in rows), dtype=np.uint64, count=len(rows))

    def _grow(self, size: int) -> None:
        if size <= len(self.price):
            return
        size = max(size, len(self.price) * 5 // 4)  # amortised: a crawl adds rows a batch at a time
        for name, fill in (("price", np.nan), ("first_seen", 0), ("last_seen", 0), ("id_high", 0), ("id_low", 0)):
            old = getattr(self, name)
            new = np.full(size, fill, dtype=old.dtype)
            new[:len(old)] = old
            setattr(self, name, new)


class Postings:
    def __init__(self) -> None:
        self.lock = threading.Lock()  # held by a search from its refresh to its last read
        self._reset("")

    def _reset(self, epoch: str) -> None:
        self.epoch = epoch
        self.version = -1  # nothing read yet
        self.all = BitMap()
        self.columns = Columns()
        self._fields: dict[str, dict[str, BitMap]] = {}
        self._labels: dict[str, dict[str, str]] = {}

    def refresh(self, db: sqlite3.Connection) -> None:
        """Catch up with the file: the rows written since the last look, or everything."""
        meta = dict(db.execute("SELECT key, value FROM meta WHERE key IN ('version', 'epoch')").fetchall())
        version, epoch = int(meta.get("version", 0)), meta.get("epoch", "")
        if epoch != self.epoch or self.version < 0 or version < self.version:
            self._reset(epoch)
            rows = db.execute(_COLUMNS).fetchall()
            self.all = BitMap(r[0] for r in rows)
            self.columns.set(rows)
        elif version > self.version:
            rows = db.execute(_COLUMNS + " WHERE version > ?", (self.version,)).fetchall()
            if len(rows) > REBUILD_SHARE * len(self.all):
                self.version = -1
                return self.refresh(db)
            changed = BitMap(r[0] for r in rows)
            self.all |= changed
            self.columns.set(rows)
            for field, bitmaps in self._fields.items():
                for key in list(bitmaps):
                    bitmaps[key] -= changed
                    if not bitmaps[key]:
                        del bitmaps[key]
                self._add_terms(field, rows_in(db, "SELECT key, label, doc FROM terms WHERE field = ? AND doc IN",
                                               list(changed), (field,)))
        self.version = version

    def field(self, db: sqlite3.Connection, field: str) -> dict[str, BitMap]:
        """key -> the rowids holding that term (read the first time it is asked for)."""
        if field not in self._fields:
            # Each key's rowids as one string that SQLite joins: a million rows cross into
            # Python as a few thousand.
            rows = db.execute("SELECT key, min(label), group_concat(doc) FROM terms WHERE field = ? GROUP BY key",
                              (field,)).fetchall()
            self._fields[field] = {key: bitmap(np.array(docs.split(","), dtype=np.uint32)) for key, _, docs in rows}
            self._labels[field] = {key: label for key, label, _ in rows}
        return self._fields[field]

    def label(self, field: str, key: str) -> str:
        return self._labels[field][key]

    def _add_terms(self, field: str, rows: Iterable[tuple[str, str, int]]) -> None:
        bitmaps, labels = self._fields[field], self._labels[field]
        for key, label, doc in rows:
            if key not in bitmaps:
                bitmaps[key] = BitMap()
            bitmaps[key].add(doc)
            # the smallest label, as the SQL facets took min(label), whatever order rows come in
            if key not in labels or label < labels[key]:
                labels[key] = label


def bitmap(rowids: np.ndarray) -> BitMap:
    """A bitmap of these rowids (ascending). Through array.array: pyroaring reads its buffer at
    once, where a numpy array or a list is read one number at a time (6x slower)."""
    return BitMap(array.array("I", rowids.astype(np.uint32).tobytes()))


# Held by the open stores of each file (the web service's pool keeps some open); gone with the last.
_SHARED: weakref.WeakValueDictionary[Path, Postings] = weakref.WeakValueDictionary()
_SHARED_LOCK = threading.Lock()


def postings_for(path: Path) -> Postings:
    """The one Postings of this database file in this process."""
    key = path.resolve()
    with _SHARED_LOCK:
        postings = _SHARED.get(key)
        if postings is None:
            postings = _SHARED[key] = Postings()
        return postings
