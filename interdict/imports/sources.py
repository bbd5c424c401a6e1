"""What an import reads: pages, WARC records and dataset files, found by content inside files,
folders (recursive), tarballs and zip files, each read in place (never unpacked to disk).

Every input becomes ``Member``s: the bytes of one page or dataset file with where they came
from (the path given, the member inside an archive, the archive's SHA-256) and what is known
of when they were captured (WARC-Date, else the file's modification time).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import re
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Iterator

from warcio.archiveiterator import ArchiveIterator

MAX_MEMBER_BYTES = 50_000_000  # a bigger page is no page; named and skipped
_HTML_MARKS = (b"<!doctype html", b"<html", b"<head", b"<body", b"<title", b"<div", b"<table", b"<meta", b"<p>",
               b"<a ", b"<span", b"<form", b"<ul", b"<h1")
DATASET_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
                    ".sql": "sql"}


class ByteMeter:
    """How much of the inputs has been read, in bytes of the files as stored (a progress bar's
    fraction): a tarball's compressed bytes, a folder's files."""

    def __init__(self) -> None:
        self.total = 0
        self.done = 0

    def measure(self, paths: list[str]) -> None:
        for text in paths:
            path = Path(text)
            if path.is_dir():
                self.total += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            elif path.is_file():
                self.total += path.stat().st_size

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


METER = ByteMeter()


# A calendar date in a file name: 20170510, 2014-02-01, 2014_02_01 (digits on neither side).
_NAMED_DATE_RE = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d\d)([-_.]?)(?P<m>0[1-9]|1[0-2])\2(?P<d>0[1-9]|[12]\d|3[01])(?!\d)")


@dataclass
class Member:
    source: str  # the path as given on the command line
    name: str  # the member's path inside its archive or folder ("" for a single file)
    data: bytes
    kind: str  # html | csv | jsonl | sql
    archive_sha256: str | None = None  # of the tarball, zip or WARC file it came from
    mtime: datetime | None = None  # the file's (or archive member's) modification time
    url: str | None = None  # WARC-Target-URI
    captured: datetime | None = None  # WARC-Date
    top_folder: str | None = None  # an archive's top folder ("darkdock-2024/…")

    @property
    def where(self) -> str:
        return f"{self.source}:{self.name}" if self.name else self.source

    @cached_property
    def named_date(self) -> datetime | None:
        """The date a crawl wrote into the file's name ("Carded items - 20170510.csv",
        "products-2014-02-01.csv"): when it was captured, unlike the file's modification time."""
        found = None
        for match in _NAMED_DATE_RE.finditer(Path(self.name or self.source).name):
            try:
                found = datetime(int(match["y"]), int(match["m"]), int(match["d"]), tzinfo=UTC)
            except ValueError:
                continue
        return found

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Skipped:
    where: str
    reason: str
    problem: bool = True  # False: a file that is simply no page (an image, a stylesheet, robots.txt)


NOT_A_PAGE = "not a page, archive or dataset (by content)"


def sniff(head: bytes, name: str = "") -> str | None:
    """What a file is, by its first bytes (and its name's suffix for datasets)."""
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    if head.startswith(b"WARC/"):
        return "warc"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    suffix = Path(name).suffix.lower()
    if suffix in DATASET_SUFFIXES:
        return DATASET_SUFFIXES[suffix]
    lowered = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if any(mark in lowered for mark in _HTML_MARKS):
        return "html"
    return None


def _mtime(seconds: float | None) -> datetime | None:
    return datetime.fromtimestamp(seconds, UTC) if seconds else None


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def members(path_text: str, forced: str | None = None) -> Iterator[Member | Skipped]:
    """Every page or dataset in ``path_text`` (a file, folder, tarball, zip or WARC);
    ``forced``: the --format the user gave (html, warc, csv, jsonl) instead of sniffing."""
    path = Path(path_text)
    if path.is_dir():
        for folder, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                file = Path(folder) / name
                yield from _file(path_text, file, str(file.relative_to(path)), forced)
        return
    if not path.exists():
        yield Skipped(path_text, "no such file or folder")
        return
    yield from _file(path_text, path, "", forced)


def _file(source: str, path: Path, name: str, forced: str | None) -> Iterator[Member | Skipped]:
    where = f"{source}:{name}" if name else source
    try:
        with open(path, "rb") as handle:
            head = handle.read(4096)
        size, mtime = path.stat().st_size, _mtime(path.stat().st_mtime)
    except OSError as exc:
        yield Skipped(where, f"cannot read: {exc.strerror}")
        return
    kind = sniff(head, path.name)
    if kind in ("gzip", "tar", "zip", "warc") or forced == "warc":
        start = METER.done
        yield from _archive(source if not name else where, path, kind or "warc", forced)
        METER.done = start + size
        return
    METER.done += size
    kind = forced if forced in ("html", "csv", "jsonl", "sql") else kind
    if kind is None:
        yield Skipped(where, NOT_A_PAGE, problem=False)
    elif size > MAX_MEMBER_BYTES and kind == "html":
        yield Skipped(where, f"{size} bytes: larger than a page can be ({MAX_MEMBER_BYTES})")
    else:
        yield Member(source, name, path.read_bytes(), kind, mtime=mtime)


def _archive(source: str, path: Path, kind: str, forced: str | None) -> Iterator[Member | Skipped]:
    sha256 = file_sha256(path)
    if kind == "gzip":
        with gzip.open(path, "rb") as handle:
            try:
                inner = handle.read(4096)
            except (OSError, EOFError) as exc:
                yield Skipped(source, f"broken gzip: {exc}")
                return
        kind = "warc" if inner.startswith(b"WARC/") else "tar" if len(inner) >= 262 and inner[257:262] == b"ustar" \
            else None
        if kind is None:
            yield Skipped(source, "a gzip file that holds neither a tarball nor a WARC")
            return
    try:
        if kind == "warc":
            yield from _warc(source, path, sha256)
        elif kind == "tar":
            yield from _tar(source, path, sha256, forced)
        else:
            yield from _zip(source, path, sha256, forced)
    except (OSError, EOFError, tarfile.TarError, zipfile.BadZipFile, zlib.error) as exc:
        yield Skipped(source, f"archive broken, read up to here: {exc}")


def _top(name: str) -> str | None:
    parts = Path(name).parts
    return parts[0] if len(parts) > 1 else None


def _inner(source: str, name: str, data: bytes, sha256: str, mtime: datetime | None,
           forced: str | None) -> Member | Skipped:
    kind = forced if forced in ("html", "csv", "jsonl", "sql") else sniff(data[:4096], name)
    if kind is None:
        return Skipped(f"{source}:{name}", NOT_A_PAGE, problem=False)
    if kind not in ("html", "csv", "jsonl", "sql"):
        return Skipped(f"{source}:{name}", f"a {kind} inside an archive (unpack it, or import it alone)")
    return Member(source, name, data, kind, archive_sha256=sha256, mtime=mtime, top_folder=_top(name))


def _tar(source: str, path: Path, sha256: str, forced: str | None) -> Iterator[Member | Skipped]:
    with open(path, "rb") as raw, tarfile.open(fileobj=raw, mode="r|*") as archive:  # streamed: one member at a time
        start = METER.done
        for info in archive:
            METER.done = start + raw.tell()
            if not info.isfile():
                continue
            if info.size > MAX_MEMBER_BYTES:
                yield Skipped(f"{source}:{info.name}", f"{info.size} bytes: larger than a page can be")
                continue
            handle = archive.extractfile(info)
            data = handle.read() if handle else b""
            yield _inner(source, info.name, data, sha256, _mtime(info.mtime), forced)


def _zip(source: str, path: Path, sha256: str, forced: str | None) -> Iterator[Member | Skipped]:
    with zipfile.ZipFile(path) as archive:
        start = METER.done
        for info in archive.infolist():
            METER.done = start + info.header_offset
            if info.is_dir():
                continue
            if info.file_size > MAX_MEMBER_BYTES:
                yield Skipped(f"{source}:{info.filename}", f"{info.file_size} bytes: larger than a page can be")
                continue
            try:
                data = archive.read(info)
            except Exception as exc:  # noqa: BLE001 - bad CRC, broken deflate, encryption: this member only
                yield Skipped(f"{source}:{info.filename}", f"cannot read: {exc}")
                continue
            yield _inner(source, info.filename, data, sha256, datetime(*info.date_time, tzinfo=UTC), forced)


def _warc_date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def _warc(source: str, path: Path, sha256: str) -> Iterator[Member | Skipped]:
    """Response and resource records holding HTML, from any crawler's WARC (Heritrix, wget
    --warc-file, ACHE, Interdict's own); other records (requests, metadata, images) are not pages."""
    with open(path, "rb") as handle:
        iterator = ArchiveIterator(handle)
        start = METER.done
        for record in iterator:
            METER.done = start + handle.tell()
            if record.rec_type not in ("response", "resource"):
                continue
            url = record.rec_headers.get_header("WARC-Target-URI") or ""
            where = f"{source}:{url or iterator.get_record_offset()}"
            if record.rec_type == "response" and record.http_headers is not None:
                status = record.http_headers.get_statuscode() or ""
                mime = (record.http_headers.get_header("Content-Type") or "").lower()
                if not status.startswith("2"):
                    continue  # redirects and errors are evidence, not listings
                if mime and "html" not in mime and "xml" not in mime:
                    continue
            data = record.content_stream().read(MAX_MEMBER_BYTES + 1)
            if len(data) > MAX_MEMBER_BYTES:
                yield Skipped(where, "larger than a page can be")
                continue
            if sniff(data[:4096]) != "html":
                continue
            yield Member(source, url, data, "html", archive_sha256=sha256, url=url or None,
                         captured=_warc_date(record.rec_headers.get_header("WARC-Date")))
