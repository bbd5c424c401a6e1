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
from interdict.demo.run import demo_markets

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
    kinds = [record.rec_type for _, _, record, _, _, _ in records(tmp_path)]
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
    with demo_markets("127.0.0.1", {"sable": 0, "vesper": 0}, catalog.seed, 0) as urls:
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


def _archive_encoded(folder: Path, bodies: dict[str, tuple[str, bytes]]):
    """One record per page, its body stored as sent with its Content-Encoding."""
    archive = EvidenceArchive(folder, max_file_bytes=1_000_000_000, label="enc")
    stored = {name: archive.write(url=f"http://shop.test/{name}", method="GET", request_headers=[], status=200,
                                  reason="OK", response_headers=[("Content-Type", "text/html"),
                                                                 ("Content-Encoding", encoding)],
                                  body=body, fetched_at=NOW, route="clearnet", mirror="http://shop.test",
                                  market="enc")
              for name, (encoding, body) in bodies.items()}
    archive.close()
    return stored


def test_brotli_and_gzip_pages_verify_and_show_decoded_and_one_broken_record_spoils_no_other(tmp_path):
    import brotli

    page = b"<html><h1>Vacuum sealer</h1>" + b"ships from NL " * 500 + b"</html>"
    stored = _archive_encoded(tmp_path, {"br": ("br", brotli.compress(page)), "gz": ("gzip", gzip.compress(page)),
                                         "broken": ("br", b"not brotli at all"), "last": ("gzip", gzip.compress(page))})
    found, problems = verify_archive(tmp_path)
    assert problems == [] and len(found) == 4
    for name in ("br", "gz", "last"):
        shown = read_page(tmp_path, stored[name].warc_file, stored[name].offset, stored[name].record_id)
        assert shown.body == page and shown.sha256 == stored[name].sha256 and not shown.truncated
    broken = read_page(tmp_path, stored["broken"].warc_file, stored["broken"].offset)
    assert broken.body == b"not brotli at all" and "does not decode" in broken.decode_problem
    # A record whose gzip member is damaged is named; the records after it are still verified.
    path = tmp_path / stored["gz"].warc_file
    raw = bytearray(path.read_bytes())
    raw[stored["gz"].offset + 40: stored["gz"].offset + 60] = b"\xff" * 20
    path.write_bytes(bytes(raw))
    found, problems = verify_archive(tmp_path)
    assert [p.what.split(":")[0] for p in problems] == [f"unreadable record at offset {stored['gz'].offset}"]
    assert {(stored[n].warc_file, stored[n].record_id) for n in ("br", "broken", "last")} <= set(found)


def test_verify_and_show_of_a_gzip_bomb_stay_within_bounded_memory(tmp_path):
    """200 MB of zeros gzipped to ~200 KB: the crawl stops such a page at crawl.max_page_bytes
    but archives what was sent. Measured in a child process: its peak RSS over its RSS after
    start-up and imports."""
    import subprocess
    import sys

    bomb = gzip.compress(b"\0" * 200_000_000, compresslevel=9)
    stored = _archive_encoded(tmp_path, {"bomb": ("gzip", bomb)})["bomb"]
    probe = f"""
import resource, sys
from index.evidence import read_page, verify_archive
def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
before = peak()
found, problems = verify_archive({str(tmp_path)!r})
page = read_page({str(tmp_path)!r}, {stored.warc_file!r}, {stored.offset}, max_bytes=5_000_000)
assert not problems and len(found) == 1 and page.truncated and len(page.body) == 5_000_000
print(peak() - before)
"""
    grown = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert grown.returncode == 0, grown.stderr
    assert int(grown.stdout) <= 100, f"verify and show grew {grown.stdout.strip()} MB"
