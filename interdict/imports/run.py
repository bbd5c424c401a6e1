"""`interdict import`: real captures in — pages, archives, WARC files and datasets — as listings
in the store, with their capture dates and evidence.

Pages are parsed in worker processes (one per core) while the main process writes evidence,
enriches and indexes through the one ingest path (crawlers.ingest). Each page is written
once to the evidence archive as a WARC ``resource`` record, so the evidence outlives the
tarball. A ledger in the state folder remembers every member imported (by content digest and
market): a re-run skips them. One bad member is named and skipped, never the run.
"""

from __future__ import annotations

import os
import sqlite3
import sys
import time
import uuid
from collections import Counter, deque
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from config import Settings as Config
from contracts.listings import Capture, Evidence, Listing
from crawlers.reading import start_worker
from index.evidence import EvidenceArchive
from index.store import BULK_BATCH
from interdict.errors import UserError
from interdict.imports.datasets import dataset_records
from interdict.imports.pages import PageResult, legacy_onion, read_page
from interdict.imports.records import Incomplete
from interdict.imports.sources import METER, Member, Skipped, members
from interdict.progress import Progress

IN_FLIGHT_PER_WORKER = 16  # pages handed to each worker ahead: keeps them busy, memory bounded


@dataclass
class Summary:
    files: set[str] = field(default_factory=set)
    pages: Counter = field(default_factory=Counter)  # listing | index | dropped
    rows: int = 0
    listings: int = 0
    already: int = 0  # members imported before (same digest, same market)
    skipped: Counter = field(default_factory=Counter)  # reason -> count: members and rows that could not be read
    no_listing: Counter = field(default_factory=Counter)  # reason -> pages read that hold no listing
    not_pages: int = 0  # files that are no page nor dataset (images, stylesheets): passed over
    incomplete: Counter = field(default_factory=Counter)  # reason -> dataset rows that describe no listing
    named: list[str] = field(default_factory=list)  # the first skipped members, with why
    legacy_onions: int = 0

    def skip(self, where: str, reason: str) -> None:
        self.skipped[reason] += 1
        if len(self.named) < 20:
            self.named.append(f"{where}: {reason}")


class Ledger:
    """What was imported: (content SHA-256, market) -> when, from where."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path)
        self.db.execute("CREATE TABLE IF NOT EXISTS imported (sha256 TEXT, market TEXT, source TEXT, member TEXT, "
                        "at TEXT, listings INTEGER, PRIMARY KEY (sha256, market))")

    def seen(self, sha256: str, market: str) -> bool:
        return self.db.execute("SELECT 1 FROM imported WHERE sha256 = ? AND market = ?", (sha256, market)).fetchone() \
            is not None

    def add(self, sha256: str, market: str, member: Member, listings: int) -> None:
        self.db.execute("INSERT OR REPLACE INTO imported VALUES (?, ?, ?, ?, ?, ?)",
                        (sha256, market, member.source, member.name, datetime.now(UTC).isoformat(), listings))

    def commit(self) -> None:
        self.db.commit()


def market_of(member: Member, given: str | None) -> str | None:
    """--market, else the host of the page's URL, else the archive's (or folder's) top folder."""
    if given:
        return given
    from urllib.parse import urlsplit

    from interdict.imports.pages import own_url

    url = member.url or (own_url(member.data) if member.kind == "html" else None)
    host = (urlsplit(url).hostname or "") if url else ""
    if host:
        return host
    if member.top_folder:
        return member.top_folder
    first = Path(member.name).parts[0] if member.name and len(Path(member.name).parts) > 1 else None
    return first or Path(member.source.rstrip("/")).name.split(".")[0] or None


def captured_at(member: Member, given: datetime | None) -> tuple[datetime, str, bool]:
    """(when, where that came from, approximate?)."""
    if member.captured:
        return member.captured, "warc-date", False
    if given:
        return given, "option", False
    if member.named_date:
        return member.named_date, "filename", False
    if member.mtime:
        return member.mtime, "mtime", True
    return datetime.now(UTC), "import", True


class Importer:
    def __init__(self, config: Config, ingest, archive: EvidenceArchive, ledger: Ledger, args):
        self.config, self.ingest, self.archive, self.ledger, self.args = config, ingest, archive, ledger, args
        self.summary = Summary()
        self.progress = Progress("imported pages")
        self.workers = max(1, args.workers or os.cpu_count() or 1)
        self.pool = ProcessPoolExecutor(self.workers, initializer=start_worker) if self.workers > 1 else None
        self.waiting: deque[tuple[Member, str, datetime, str, bool, Future | PageResult]] = deque()

    # -- pages -------------------------------------------------------------------------------
    def page(self, member: Member) -> None:
        market = market_of(member, self.args.market)
        if not market:
            self.summary.skip(member.where, "no market (give --market NAME)")
            return
        if self.ledger.seen(member.sha256, market):
            self.summary.already += 1
            return
        when, source, approximate = captured_at(member, self.args.captured)
        page = (member.data, member.url, market, member.name or member.source, when, self.args.generic)
        job: Future | PageResult = read_page(*page) if self.pool is None else self.pool.submit(read_page, *page)
        self.waiting.append((member, market, when, source, approximate, job))
        while len(self.waiting) > self.workers * IN_FLIGHT_PER_WORKER:
            self._settle(self.waiting.popleft())

    def _settle(self, waiting) -> None:
        member, market, when, source, approximate, job = waiting
        try:
            result = job.result() if isinstance(job, Future) else job
        except Exception as exc:  # noqa: BLE001 - one page that breaks the parser is named, the run goes on
            self.summary.skip(member.where, f"could not be read: {type(exc).__name__}: {exc}")
            return
        self.summary.pages[result.kind] += 1
        self.progress.tick(fraction=METER.fraction)
        if not result.listings:
            self.summary.no_listing[result.reason or "nothing found"] += 1
            self.ledger.add(member.sha256, market, member, 0)
            return
        url = member.url or result.listings[0].url
        stored = self.archive.write_resource(url=url, body=member.data, captured_at=when, headers={
            "Interdict-Market": market, "Interdict-Source": member.source, "Interdict-Member": member.name,
            "Interdict-Archive-SHA256": member.archive_sha256 or "", "Interdict-Captured-From": source})
        evidence = Evidence(sha256=stored.sha256, warc_record_id=stored.record_id, warc_file=stored.warc_file,
                            warc_offset=stored.offset)
        legacy = legacy_onion(url)
        self.summary.legacy_onions += legacy
        capture = Capture(source=member.source, member=member.name, archive_sha256=member.archive_sha256,
                          captured_from=source, approximate=approximate, legacy_onion=legacy)
        for listing in result.listings:
            self._add(listing.model_copy(update={"evidence": evidence, "capture": capture}))
        self.ledger.add(member.sha256, market, member, len(result.listings))

    def settle_all(self) -> None:
        while self.waiting:
            self._settle(self.waiting.popleft())

    # -- datasets ------------------------------------------------------------------------------
    def dataset(self, member: Member) -> None:
        market = self.args.market or (member.top_folder if member.top_folder else None)
        ledger_market = market or "(per row)"
        if self.ledger.seen(member.sha256, ledger_market):
            self.summary.already += 1
            return
        count = 0
        for where, record in dataset_records(member, self.args, market):
            if isinstance(record, str):
                self.summary.skip(where, record)
                continue
            if isinstance(record, Incomplete):
                self.summary.incomplete[str(record)] += 1
                if len(self.summary.named) < 20:
                    self.summary.named.append(f"{where}: {record}")
                continue
            self.summary.rows += 1
            count += 1
            self._add(record)
        self.ledger.add(member.sha256, ledger_market, member, count)

    def _add(self, record) -> None:
        self.summary.listings += isinstance(record, Listing)
        if self.ingest.add(record) is not None:
            self.ledger.commit()  # what the ledger holds now is written (or spooled): durable

    def close(self) -> None:
        self.settle_all()
        if self.pool is not None:
            self.pool.shutdown()
        self.progress.done()


def run_import(config: Config, args, store, ingest) -> Summary:
    archive = EvidenceArchive(config.evidence.dir, config.evidence.max_file_bytes, label="import")
    ledger = Ledger(Path(config.crawl.state_dir) / "imports.sqlite")
    importer = Importer(config, ingest, archive, ledger, args)
    if importer.progress.enabled:
        METER.measure(args.paths)
    try:
        for path in args.paths:
            for item in members(str(Path(path).resolve()) if Path(path).exists() else path,
                                None if args.format == "auto" else args.format):
                if isinstance(item, Skipped):
                    if item.problem:
                        importer.summary.skip(item.where, item.reason)
                    else:
                        importer.summary.not_pages += 1
                    continue
                importer.summary.files.add(item.source)
                if item.kind == "html":
                    importer.page(item)
                else:
                    importer.dataset(item)
        importer.close()
        ingest.flush()
        ledger.commit()
    finally:
        ledger.db.close()  # uncommitted rows (listings not yet written) are not remembered
        archive.close()
        if importer.pool is not None:
            importer.pool.shutdown(cancel_futures=True)
    return importer.summary


def import_captures(args, config) -> int:
    from crawlers.ingest import Ingest
    from enrichment.pipeline import Enricher
    from index import open_store
    from crawlers.history import RUNNER
    from contracts.jobs import CrawlJob
    from interdict.web.access import access_store
    from interdict.trackers import alerting

    _check(args, config)
    target = args.store or config.store.path
    began = time.monotonic()
    job = CrawlJob(id=uuid.uuid4().hex[:16], market=args.market or "(import)", mode="import", trigger="manual",
                   started=datetime.now(UTC), runner=RUNNER)
    summary, status, reason = Summary(), "failed", ""
    with open_store(config, target) as store, alerting(config, store) as evaluator:
        store.save_job(job)
        ingest = Ingest(store, config.store.spool_dir, target, lambda: Enricher.from_settings(config.enrichment),
                        batch_size=BULK_BATCH, on_changes=evaluator)
        try:
            with store.bulk_writes():
                summary = run_import(config, args, store, ingest)
            status = "finished"
        except KeyboardInterrupt:
            status, reason = "interrupted", "stopped by a signal; a re-run goes on where this one stopped"
            raise
        finally:
            report = ingest.report
            store.save_job(job.model_copy(update={
                "ended": datetime.now(UTC), "status": status, "reason": reason,
                "pages": sum(summary.pages.values()), "listings": summary.listings,
                "listings_new": report.listings.new, "listings_updated": report.listings.updated,
                "listings_unchanged": report.listings.unchanged, "vendors": report.vendors.new + report.vendors.updated,
                "errors": sum(summary.skipped.values())}))
            access = access_store(config)
            try:
                access.record(None, "import", " ".join(args.paths), {
                    "job": job.id, "store": target, "status": status, "market": args.market,
                    "pages": dict(summary.pages), "rows": summary.rows, "already_imported": summary.already,
                    "skipped": sum(summary.skipped.values())})
            finally:
                access.close()
    _print_summary(summary, ingest.report, time.monotonic() - began, evaluator.alerts if evaluator else None)
    return 1 if summary.skipped or ingest.report.spooled else 0


def _check(args, config) -> None:
    """Options made usable (a wrong one is a UserError, before anything is read)."""
    from interdict.imports.records import LISTING_FIELDS, VENDOR_FIELDS

    fields = VENDOR_FIELDS if args.kind == "vendors" else LISTING_FIELDS
    for pair in args.map:
        name, sep, column = pair.partition("=")
        if not sep or not column.strip() or name.strip() not in fields:
            raise UserError(f"--map {pair!r}: expected FIELD=COLUMN with FIELD one of {', '.join(fields)}")
    args.map = [f"{n.strip()}={c}" for n, _, c in (p.partition("=") for p in args.map)]
    if args.workers < 0:
        raise UserError("--workers: 0 (one per core) or more")
    args.max_line_chars = config.input.max_line_chars


def _print_summary(summary: Summary, report, seconds: float, alerts: int | None = None) -> None:
    pages = sum(summary.pages.values())
    lines = [f"imported {len(summary.files)} file(s): {pages} page(s) read "
             f"({summary.pages['listing']} listing, {summary.pages['index']} index, {summary.pages['dropped']} without "
             f"a listing), {summary.rows} dataset row(s); {summary.already} member(s) already imported, skipped; "
             f"{seconds:.1f} s ({pages / max(seconds, 1e-9):.0f} pages/s)",
             f"store: {report.line()}" + (f"; {alerts} alert(s) raised" if alerts is not None else "")]
    if summary.legacy_onions:
        lines.append(f"{summary.legacy_onions} page(s) of v2 onion services (retired 2021): flagged legacy_onion")
    if summary.not_pages:
        lines.append(f"{summary.not_pages} file(s) that are no page nor dataset (images, stylesheets...): passed over")
    if summary.no_listing:
        lines.append("pages without a listing: "
                     + "; ".join(f"{n} × {reason}" for reason, n in summary.no_listing.most_common(8)))
    if summary.incomplete:
        lines.append("dataset rows that are no listing, passed over: "
                     + "; ".join(f"{n} × {reason}" for reason, n in summary.incomplete.most_common(8)))
    if summary.skipped:
        lines.append(f"skipped {sum(summary.skipped.values())} (could not be read): "
                     + "; ".join(f"{n} × {reason}" for reason, n in summary.skipped.most_common(8)))
    lines += [f"  {named}" for named in summary.named]
    print("\n".join(lines), file=sys.stderr)


__all__ = ["import_captures", "run_import", "Summary"]
