"""The store's upkeep and its evidence: `interdict store migrate` and `interdict evidence
show|verify` (the raw page behind an indexed document, and a check of the whole evidence
archive against its digests and against the index)."""

from __future__ import annotations

import sys
from pathlib import Path

from interdict.commands.base import Command, add_store_option
from interdict.errors import UserError

EXIT_MISMATCH = 1


class StoreMaintenance(Command):
    name = "store"
    help = "store maintenance: `store migrate`"

    def add_options(self, parser):
        parser.add_argument("action", choices=["migrate"], help="migrate: Elasticsearch: next index version behind "
                            "the alias; embedded: rebuild the search structures from the stored documents")
        add_store_option(parser)

    def run(self, args, config) -> int:
        from index import open_store

        with open_store(config, args.store) as store:
            print(store.migrate())
        return 0


class Evidence(Command):
    name = "evidence"
    help = "the raw page behind a document, and a check of the WARC archive"
    description = ("show DOC_ID: the page an indexed listing or vendor was read from, as archived (metadata and "
                   "digests on stderr, the page on stdout). verify: re-compute every record's SHA-256 digests and "
                   "check every indexed document's reference; exit 1 on any mismatch. The archive is config "
                   "evidence.dir.")

    def add_options(self, parser):
        parser.add_argument("action", choices=["show", "verify"])
        parser.add_argument("doc_id", nargs="?", metavar="DOC_ID", help="a document id (`search --json` prints it)")
        parser.add_argument("--headers-only", action="store_true", help="show: metadata and digests only")
        add_store_option(parser)

    def run(self, args, config) -> int:
        from index import open_store

        folder = Path(config.evidence.dir)
        with open_store(config, args.store) as store:
            if args.action == "show":
                if not args.doc_id:
                    raise UserError("evidence show needs a document id (from `interdict search --json`: id)")
                return show_page(store, folder, args.doc_id, args.headers_only, config.crawl.max_page_bytes)
            return verify_evidence(store, folder)


def _evidence_of(store, doc_id: str):
    listing = store.get_listing(doc_id)
    if listing is not None:
        return listing.data.listing.evidence, f"listing {listing.data.listing.title!r} ({listing.market})"
    vendor = store.get_vendor(doc_id)
    if vendor is not None:
        return vendor.data.vendor.evidence, f"vendor {vendor.name!r} ({vendor.market})"
    raise UserError(f"no listing or vendor with id {doc_id!r} in the store")


def show_page(store, folder: Path, doc_id: str, headers_only: bool, max_bytes: int) -> int:
    evidence, what = _evidence_of(store, doc_id)
    if evidence is None or not evidence.warc_file:
        raise UserError(f"{what} has no WARC record (fetched while evidence archiving was off)")
    from index.evidence import read_page

    try:
        page = read_page(folder, evidence.warc_file, evidence.warc_offset or 0, evidence.warc_record_id, max_bytes)
    except (OSError, LookupError) as exc:
        raise UserError(f"cannot read the evidence of {what}: {exc}") from None
    matches = page.sha256 == evidence.sha256
    lines = [
        f"document: {doc_id} — {what}",
        f"url: {page.url}",
        (f"imported: captured {page.fetched_at} (from {page.imported.get('captured-from', '?')}); "
         + ", ".join(f"{k}: {v}" for k, v in page.imported.items() if k != "captured-from")) if page.imported else
        f"fetched: {page.fetched_at}  route: {page.route}  served by: {page.mirror}  status: {page.status}",
        f"record: {evidence.warc_file} @ {evidence.warc_offset} {evidence.warc_record_id}",
        f"payload sha256: {page.sha256}  ({page.payload_digest} in the record)",
        f"index says: {evidence.sha256} — " + ("MATCHES" if matches else "MISMATCH"),
    ]
    if page.decode_problem:
        lines.append(f"body: {page.decode_problem}")
    if page.truncated:
        lines.append(f"body: shown up to {max_bytes:,} bytes (crawl.max_page_bytes); the digest covers all of it")
    # Metadata on stderr, the page itself on stdout: `evidence show ID > page.html` saves it.
    print("\n".join(lines), file=sys.stderr)
    if not headers_only:
        sys.stdout.buffer.write(page.body)
        sys.stdout.flush()
    return 0 if matches else EXIT_MISMATCH


def verify_evidence(store, folder: Path) -> int:
    if not folder.is_dir():
        raise UserError(f"no evidence archive at {folder} (config evidence.dir)")
    from index.evidence import verify_archive

    records, problems = verify_archive(folder)
    files = len(list(folder.glob("*.warc.gz")))
    for problem in problems:
        print(f"MISMATCH {problem.warc_file} {problem.record_id}: {problem.what}")
    referenced = missing = differ = 0
    documents = [(d.id, d.data.listing.evidence) for d in store.iter_listings()]
    documents += [(d.id, d.data.vendor.evidence) for d in store.iter_vendors()]
    for doc_id, evidence in documents:
        if evidence is None or not evidence.warc_file:
            continue
        referenced += 1
        stored = records.get((evidence.warc_file, evidence.warc_record_id))
        if stored is None:
            missing += 1
            print(f"MISSING {doc_id}: record {evidence.warc_record_id} not in {evidence.warc_file}")
        elif stored != evidence.sha256:
            differ += 1
            print(f"MISMATCH {doc_id}: index has sha256 {evidence.sha256}, the record's payload is {stored}")
    print(f"{len(records)} response record(s) in {files} WARC file(s): {len(problems)} digest mismatch(es); "
          f"{referenced} indexed document(s) reference them: {missing} missing, {differ} mismatched",
          file=sys.stderr)
    return EXIT_MISMATCH if problems or missing or differ else 0
