"""Nothing lost while the store is down: batches that cannot be written go to a durable
on-disk spool (one fsynced JSON Lines file per batch) and are replayed, oldest first,
before anything newer is written. Upserts are idempotent, so a batch replayed after a
partial write lands exactly once."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from contracts.documents import ListingChange, UpsertReport, VendorChange
from contracts.listings import EnrichedListing, EnrichedVendor
from index.store import Store, StoreUnavailable

log = logging.getLogger(__name__)
KINDS: dict[str, type[EnrichedListing] | type[EnrichedVendor]] = {"listings": EnrichedListing, "vendors": EnrichedVendor}


def spool_for(spool_root: str | Path, target: str) -> "Spool":
    """Each store target (file or cluster) has its own spool folder."""
    name = (urlsplit(target).hostname if "://" in target else None) or Path(target).stem
    digest = hashlib.sha256(target.encode()).hexdigest()[:10]
    return Spool(Path(spool_root) / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name or 'store')}-{digest}")


class Spool:
    def __init__(self, directory: str | Path):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)

    def batches(self) -> list[Path]:
        return sorted(self.dir.glob("*.jsonl"))

    def pending_records(self) -> int:
        return sum(sum(1 for _ in p.open(encoding="utf-8")) for p in self.batches())

    def append(self, kind: str, records: list) -> Path:
        existing = self.batches()
        seq = int(existing[-1].name.split("-", 1)[0]) + 1 if existing else 1
        path = self.dir / f"{seq:012d}-{kind}.jsonl"
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8") as fh:
            fh.writelines(r.model_dump_json() + "\n" for r in records)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.rename(path)  # a batch is in the spool whole, or not at all
        return path

    def load(self, path: Path) -> tuple[str, list]:
        kind = path.stem.split("-", 1)[1]
        model = KINDS[kind]
        return kind, [model.model_validate(json.loads(line)) for line in path.open(encoding="utf-8") if line.strip()]


class SpooledWriter:
    """Writes batches to a store, through the spool whenever the store is unavailable."""

    def __init__(self, store: Store, spool: Spool, on_changes: Callable[[list[ListingChange | VendorChange]], object] | None = None):
        """``on_changes``: told of the listing and vendor documents each written batch changed
        (trackers), a replayed batch's too, once the store holds them."""
        self.store, self.spool, self.on_changes = store, spool, on_changes
        self.spooled_batches = self.replayed_batches = 0

    def _upsert(self, kind: str, records: list, digests: Sequence[str | None] | None = None) -> UpsertReport:
        if self.on_changes is None:
            return (self.store.upsert_listings(records, digests) if kind == "listings"
                    else self.store.upsert_vendors(records))
        changes: list = []
        report = (self.store.upsert_listings(records, digests, changes=changes) if kind == "listings"
                  else self.store.upsert_vendors(records, changes=changes))
        if changes:
            try:
                self.on_changes(changes)
            except Exception:  # noqa: BLE001 - the batch is stored: what looks at it never undoes that
                log.exception("what watches the store's changes failed on a batch of %d %s; the batch is stored",
                              len(records), kind)
        return report

    def write(self, kind: str, records: Iterable, digests: Sequence[str | None] | None = None) -> UpsertReport | None:
        """The report, or None when the batch was spooled for later. ``digests``: of the
        listings' records (``ListingStore.upsert_listings``); a spooled batch goes without them."""
        records = list(records)
        if not records:
            return UpsertReport()
        if self.spool.batches() and not self.drain():
            self._to_spool(kind, records, "older batches are still waiting")
            return None
        try:
            return self._upsert(kind, records, digests)
        except StoreUnavailable as exc:
            self._to_spool(kind, records, str(exc))
            return None

    def _to_spool(self, kind: str, records: list, why: str) -> None:
        path = self.spool.append(kind, records)
        self.spooled_batches += 1
        log.warning("store unavailable (%s); %d %s spooled to %s", why, len(records), kind, path)

    def drain(self) -> bool:
        """Replay spooled batches in order; False when the store is still unavailable."""
        for path in self.spool.batches():
            kind, records = self.spool.load(path)
            try:
                self._upsert(kind, records)
            except StoreUnavailable:
                return False
            path.unlink()
            self.replayed_batches += 1
            log.info("replayed %d spooled %s from %s", len(records), kind, path.name)
        return True

    def drain_until(self, seconds: float, interval: float = 2.0) -> bool:
        deadline = time.monotonic() + seconds
        while not self.drain():
            if time.monotonic() >= deadline:
                return False
            time.sleep(interval)
        return True
