"""WARC evidence: every fetched page archived with SHA-256 digests, files rotated by size,
listings pointing at their record; `evidence show` gives the page back, `evidence verify`
finds a record altered after the fact."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from conftest import run_cli
from index.embedded import EmbeddedStore
from index.evidence import EvidenceArchive, read_page, records, verify_archive
from interdict.demo.run import demo_markets, free_port

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def rewrite_record(path: Path, offset: int, old: bytes, new: bytes) -> None:
    """Alter one record in place (its gzip member recompressed): what tampering looks like."""
    raw = path.read_bytes()
    inflater = zlib.decompressobj(wbits=31)
    member = inflater.decompress(raw[offset:])
    end = len(raw) - len(inflater.unused_data)
    assert old in member
    path.write_bytes(raw[:offset] + gzip.compress(member.replace(old, new)) + raw[end:])


def archive_pages(folder: Path, count: int, max_file_bytes: int = 10_000):
    archive = EvidenceArchive(folder, max_file_bytes=max_file_bytes, label="unit")
    stored = [archive.write(url=f"http://market.test/listing/{i}", method="GET",
                            request_headers=[("User-Agent", "x"), ("Cookie", "session=SECRET")], status=200,
                            reason="OK", response_headers=[("Content-Type", "text/html")],
                            body=f"<html><h1>Listing {i}</h1>{'x' * 1500}</html>".encode(), fetched_at=NOW,
                            route="tor", mirror="http://market.test", market="unit") for i in range(count)]
    archive.close()
    return stored


def test_archive_rotates_reads_back_and_verifies(tmp_path):
    stored = archive_pages(tmp_path, 30)
    files = sorted(tmp_path.glob("*.warc.gz"))
    assert len(files) >= 3 and all(f.stat().st_size < 10_000 + 3_000 for f in files)
    page = read_page(tmp_path, stored[17].warc_file, stored[17].offset, stored[17].record_id)
    assert page.url == "http://market.test/listing/17" and b"<h1>Listing 17</h1>" in page.body
    assert (page.route, page.mirror, page.fetched_at) == ("tor", "http://market.test", "2026-11-28T12:00:00.000000Z")
    assert page.sha256 == stored[17].sha256 and page.payload_digest.startswith("sha256:")
    found, problems = verify_archive(tmp_path)
    assert problems == [] and len(found) == 30
    kinds = [record.rec_type for _, _, (record, _), _ in records(tmp_path)]
    assert kinds.count("request") == 30 and kinds.count("warcinfo") == len(files)
    # The operator's session cookie is never written to the archive.
    assert all(b"SECRET" not in gzip.decompress(f.read_bytes()) for f in files)


def test_verify_names_an_altered_record_and_an_unreadable_file(tmp_path):
    stored = archive_pages(tmp_path, 5, max_file_bytes=1_000_000)
    rewrite_record(tmp_path / stored[2].warc_file, stored[2].offset, b"Listing 2<", b"Listing 9<")
    (tmp_path / "interdict-broken.warc.gz").write_bytes(b"not a warc at all")
    found, problems = verify_archive(tmp_path)
    assert {p.record_id for p in problems if p.record_id} == {stored[2].record_id}
    assert any("digest" in p.what for p in problems)
    assert any(p.warc_file == "interdict-broken.warc.gz" and "unreadable" in p.what for p in problems)
    with pytest.raises(LookupError):
        read_page(tmp_path, "../../etc/passwd", 0)  # a stored name cannot point outside the archive


@pytest.mark.e2e
def test_crawled_listings_reference_their_warc_record(tmp_path, catalog):
    evidence = tmp_path / "evidence"
    store_path = tmp_path / "store.db"
    env = {"INTERDICT_EVIDENCE__DIR": str(evidence), "INTERDICT_EVIDENCE__MAX_FILE_BYTES": "400000"}
    with demo_markets("127.0.0.1", {"sable": free_port(), "vesper": free_port()}, catalog.seed, 0) as urls:
        proc = run_cli("crawl", "vesper", "--store", str(store_path), f"--base-url={urls['vesper']}", env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    files = sorted(evidence.glob("*.warc.gz"))
    assert len(files) >= 3  # rotated by size

    with EmbeddedStore(store_path) as store:
        documents = list(store.iter_listings())
    assert len(documents) == len(catalog.markets["vesper"].listings)
    assert all(d.data.listing.evidence.warc_file and d.data.listing.evidence.warc_record_id for d in documents)
    doc = next(d for d in documents if d.listing_key == catalog.markets["vesper"].listings[40].key)

    shown = run_cli("evidence", "show", doc.id, "--store", str(store_path), env=env)
    assert shown.returncode == 0, shown.stderr
    assert doc.data.listing.title.encode() in shown.stdout.encode()
    assert f"payload sha256: {doc.data.listing.evidence.sha256}" in shown.stderr and "MATCHES" in shown.stderr
    assert "route: clearnet" in shown.stderr and f"url: {urls['vesper']}/item/{doc.listing_key}" in shown.stderr

    verified = run_cli("evidence", "verify", "--store", str(store_path), env=env)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    summary = verified.stderr.strip().splitlines()[-1]
    vendors = len(catalog.markets["vesper"].vendors)
    assert ": 0 digest mismatch(es)" in summary and f"{len(documents) + vendors} indexed document(s)" in summary
    assert "0 missing, 0 mismatched" in summary

    ref = doc.data.listing.evidence
    rewrite_record(evidence / ref.warc_file, ref.warc_offset, doc.data.listing.title.encode(), b"X" * len(doc.data.listing.title.encode()))
    tampered = run_cli("evidence", "verify", "--store", str(store_path), env=env)
    assert tampered.returncode == 1
    assert f"MISMATCH {ref.warc_file} {ref.warc_record_id}" in tampered.stdout
    assert f"MISMATCH {doc.id}: index has sha256 {ref.sha256}" in tampered.stdout
    again = run_cli("evidence", "show", doc.id, "--store", str(store_path), env=env)
    assert again.returncode == 1 and "MISMATCH" in again.stderr


def test_show_explains_documents_without_evidence(tmp_path):
    from conftest import make_listing

    store = tmp_path / "s.db"
    run_cli("index", "-", "--store", str(store), input=make_listing(title="Imported 1g").model_dump_json() + "\n")
    with EmbeddedStore(store) as s:
        doc_id = next(s.iter_listings()).id
    proc = run_cli("evidence", "show", doc_id, "--store", str(store))
    assert proc.returncode == 2 and "has no WARC record" in proc.stderr
    missing = run_cli("evidence", "show", "nope", "--store", str(store))
    assert missing.returncode == 2 and "no listing or vendor with id 'nope'" in missing.stderr
