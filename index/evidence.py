"""The evidence archive: every fetched page as WARC request and response records (warcio),
SHA-256 block and payload digests, files rotated by size. A listing's ``Evidence`` names
its file, record id and offset, so one record is read back without scanning, and the
whole archive can be re-checked against its digests and against the index.

Interdict's own WARC headers say how a page was fetched: ``Interdict-Market``,
``Interdict-Route`` (tor or clearnet) and ``Interdict-Mirror`` (the origin that served it).
The payload is the HTTP body as the server sent it (only the transfer chunking undone, so
Content-Length is rewritten); a compressed body stays compressed with its Content-Encoding
header, and is decoded when shown. Digests are of those bytes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import threading
import zlib
from io import BufferedWriter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Iterator

from warcio.archiveiterator import ArchiveIterator
from warcio.recordloader import ArcWarcRecord
from warcio.statusandheaders import StatusAndHeaders
from warcio.utils import Digester
from warcio.warcwriter import GzippingWrapper, WARCWriter

FILE_PREFIX = "interdict"
GZIP_LEVEL = 6
IMPORT_HEADERS = ("Interdict-Source", "Interdict-Member", "Interdict-Archive-SHA256", "Interdict-Captured-From")
_DROPPED_HEADERS = {"transfer-encoding", "content-length"}
# An operator's session is not evidence, and must not end up in a file that is shared.
SECRET_HEADERS = {"cookie", "set-cookie", "authorization", "proxy-authorization", "x-api-key"}


def _withheld(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(k, "[withheld]" if k.lower() in SECRET_HEADERS else v) for k, v in headers]


class _Gzip(GzippingWrapper):
    """One gzip member per record at zlib level 6: warcio's level 9 costs half again the CPU
    (36 against 54 MB/s on saved market pages) for a file 2 % smaller."""

    def __init__(self, out):
        super().__init__(out)
        self.compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)


class _Sha256Writer(WARCWriter):
    """warcio computes block and payload digests with SHA-1 by default; evidence uses SHA-256."""

    @staticmethod
    def _create_digester():
        return Digester("sha256")

    def _write_warc_record(self, out, record):
        if not self.gzip:
            return super()._write_warc_record(out, record)
        self.gzip = False  # the archive's lock is held: no other record is being written
        try:
            return super()._write_warc_record(_Gzip(out), record)
        finally:
            self.gzip = True


def sha256_label(data: bytes) -> str:
    """The WARC form of a SHA-256 digest: 'sha256:' + base32."""
    return "sha256:" + base64.b32encode(hashlib.sha256(data).digest()).decode()


@dataclass(frozen=True)
class Stored:
    warc_file: str  # name relative to the archive folder
    record_id: str  # WARC-Record-ID of the response record
    offset: int  # where the response record starts in the file
    sha256: str  # hex digest of the payload


class EvidenceArchive:
    """Appends records to the current WARC file; a new file starts past ``max_file_bytes``.
    Safe to call from several threads (Scrapy's reactor thread and the spool's)."""

    def __init__(self, folder: str | Path, max_file_bytes: int = 1_000_000_000, label: str = ""):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.max_file_bytes = max_file_bytes
        self.label = label  # a name part, e.g. the market or crawl job
        self._lock = threading.RLock()
        self._handle: io.BufferedWriter | None = None
        self._name = ""
        self._sequence = 0

    def _open(self) -> None:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        while True:
            self._sequence += 1
            parts = [FILE_PREFIX, self.label, stamp, f"{os.getpid()}", f"{self._sequence:05d}"]
            name = "-".join(p for p in parts if p) + ".warc.gz"
            if not (self.folder / name).exists():
                break
        self._name = name
        self._handle = open(self.folder / name, "ab")
        self._writer = _Sha256Writer(self._handle, gzip=True)
        self._writer.write_record(self._writer.create_warcinfo_record(name, {
            "software": "Interdict (warcio)", "format": "WARC File Format 1.1",
            "description": "pages fetched by Interdict crawlers; payloads decoded as parsed"}))

    def _current(self) -> BufferedWriter:
        """The file being written, a new one when there is none or it reached its size."""
        if self._handle is None or self._handle.tell() >= self.max_file_bytes:
            self.close()
            self._open()
        assert self._handle is not None  # _open() opened one
        return self._handle

    def write(self, *, url: str, method: str, request_headers: list[tuple[str, str]], status: int,
              reason: str, response_headers: list[tuple[str, str]], body: bytes, fetched_at: datetime,
              route: str, mirror: str, market: str) -> Stored:
        extra = {"WARC-Date": fetched_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                 "Interdict-Route": route, "Interdict-Mirror": mirror, "Interdict-Market": market}
        with self._lock:
            handle = self._current()
            writer = self._writer
            headers = [(k, v) for k, v in _withheld(response_headers) if k.lower() not in _DROPPED_HEADERS]
            headers.append(("Content-Length", str(len(body))))
            response = writer.create_warc_record(
                url, "response", payload=io.BytesIO(body), warc_headers_dict=dict(extra),
                http_headers=StatusAndHeaders(f"{status} {reason}".strip(), headers, protocol="HTTP/1.1"))
            target = url.split("://", 1)[-1].split("/", 1)
            path = "/" + (target[1] if len(target) > 1 else "")
            request = writer.create_warc_record(
                url, "request", payload=io.BytesIO(b""), warc_headers_dict=dict(extra),
                http_headers=StatusAndHeaders(f"{method} {path} HTTP/1.1", _withheld(request_headers),
                                              is_http_request=True))
            record_id = response.rec_headers.get_header("WARC-Record-ID")
            request.rec_headers.add_header("WARC-Concurrent-To", record_id)
            offset = handle.tell()
            writer.write_record(response)
            writer.write_record(request)
            handle.flush()
            return Stored(self._name, record_id, offset, hashlib.sha256(body).hexdigest())

    def write_resource(self, *, url: str, body: bytes, captured_at: datetime, headers: dict[str, str],
                       content_type: str = "text/html") -> Stored:
        """A page brought in by an import, kept as a WARC ``resource`` record: its capture date
        as WARC-Date and where it came from (``headers``: Interdict-Source, -Member, ...)."""
        extra = {"WARC-Date": captured_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), **headers}
        with self._lock:
            handle = self._current()
            record = self._writer.create_warc_record(url, "resource", payload=io.BytesIO(body),
                                                     warc_content_type=content_type, warc_headers_dict=extra)
            offset = handle.tell()
            self._writer.write_record(record)
            handle.flush()
            return Stored(self._name, record.rec_headers.get_header("WARC-Record-ID"), offset,
                          hashlib.sha256(body).hexdigest())

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None


CHUNK = 1 << 20


class _BoundedDecoder:
    """Undoes a Content-Encoding (gzip, deflate, br) chunk by chunk, keeping at most
    ``limit`` decoded bytes: a body that inflates a thousandfold costs no more than that."""

    def __init__(self, encoding: str, limit: int):
        self.limit, self.out, self.truncated, self.failed = limit, bytearray(), False, ""
        self._zlib = self._brotli = None
        if encoding in ("gzip", "x-gzip", "deflate"):
            self._zlib = zlib.decompressobj(47)  # gzip or zlib header, detected
        elif encoding == "br":
            import brotli  # a dependency of Scrapy's own decompression

            self._brotli = brotli.Decompressor()
        elif encoding not in ("", "identity"):
            self.failed = f"Content-Encoding {encoding!r} shown as stored"

    def feed(self, chunk: bytes) -> None:
        room = self.limit - len(self.out)
        if self.truncated or room <= 0:
            self.truncated = self.truncated or bool(chunk)
            return
        try:
            if self._zlib is not None:
                self.out += self._zlib.decompress(chunk, room)
                self.truncated = bool(self._zlib.unconsumed_tail)
            elif self._brotli is not None:
                self.out += self._brotli.process(chunk, output_buffer_limit=room)
                self.truncated = not self._brotli.can_accept_more_data()
            else:
                self.out += chunk[:room]
                self.truncated = len(chunk) > room
        except Exception as exc:  # noqa: BLE001 - a body that does not decode is shown as stored
            self.failed = f"does not decode ({exc}); shown as stored"
            self._zlib = self._brotli = None


@dataclass
class Page:
    url: str
    fetched_at: str
    route: str
    mirror: str
    status: str
    headers: list[tuple[str, str]]
    body: bytes  # decoded for reading (Content-Encoding undone), at most the limit read_page was given
    payload_digest: str  # as written in the record
    sha256: str  # hex digest of the payload (the bytes as received) as read now
    truncated: bool = False  # the decoded body is longer than the limit
    decode_problem: str = ""  # why the body is shown as stored, if it is
    imported: dict[str, str] = field(default_factory=dict)  # an imported page's Interdict-Source, -Member, ...


def read_page(folder: str | Path, warc_file: str, offset: int, record_id: str | None = None,
              max_bytes: int = 5_000_000) -> Page:
    """The response record at ``offset`` of ``warc_file`` (inside ``folder``), its body
    decoded up to ``max_bytes``; read in chunks, so memory stays bounded whatever the record."""
    path = _inside(Path(folder), warc_file)
    with open(path, "rb") as handle:
        handle.seek(offset)
        for record in ArchiveIterator(handle):
            if record_id and record.rec_headers.get_header("WARC-Record-ID") != record_id:
                raise LookupError(f"{warc_file} at {offset} holds another record")
            return _page(record, max_bytes)
    raise LookupError(f"no record at {offset} in {warc_file}")


def _inside(folder: Path, name: str) -> Path:
    """A file named by a stored document must be in the archive folder (no ../ escapes)."""
    path = (folder / name).resolve()
    if folder.resolve() not in path.parents:
        raise LookupError(f"{name!r} is not a file of the evidence archive")
    return path


def payload_sha256(record, sink=None) -> str:
    """SHA-256 hex of the record's payload as archived, read chunk by chunk (each chunk also
    given to ``sink``); reading it to the end lets warcio check the record's own digests."""
    digest = hashlib.sha256()
    while chunk := record.raw_stream.read(CHUNK):
        digest.update(chunk)
        if sink is not None:
            sink(chunk)
    return digest.hexdigest()


def _page(record, max_bytes: int) -> Page:
    encoding = (record.http_headers.get_header("content-encoding") or "").lower().strip() if record.http_headers else ""
    decoder = _BoundedDecoder(encoding, max_bytes)
    as_stored = bytearray()  # the first bytes as archived: shown when the body does not decode

    def sink(chunk: bytes) -> None:
        if len(as_stored) <= max_bytes:
            as_stored.extend(chunk[: max_bytes + 1 - len(as_stored)])
        decoder.feed(chunk)

    sha256 = payload_sha256(record, sink)
    if decoder.failed:
        body, truncated = bytes(as_stored[:max_bytes]), len(as_stored) > max_bytes
    else:
        body, truncated = bytes(decoder.out), decoder.truncated
    headers = record.rec_headers
    return Page(url=headers.get_header("WARC-Target-URI"), fetched_at=headers.get_header("WARC-Date"),
                route=headers.get_header("Interdict-Route") or "", mirror=headers.get_header("Interdict-Mirror") or "",
                status=record.http_headers.get_statuscode() if record.http_headers else "",
                headers=list(record.http_headers.headers) if record.http_headers else [], body=body,
                payload_digest=headers.get_header("WARC-Payload-Digest") or "", sha256=sha256,
                truncated=truncated, decode_problem=decoder.failed,
                imported={name.removeprefix("Interdict-").lower(): value for name, value in headers.headers
                          if name in IMPORT_HEADERS and value} if record.rec_type == "resource" else {})


@dataclass(frozen=True)
class Problem:
    warc_file: str
    record_id: str
    what: str


def records(where: str | Path, start: int = 0) -> Iterator[tuple[str, int, ArcWarcRecord, str | None, list[str], int]]:
    """(file, offset, record, payload SHA-256 of a response or None, digest problems, where the
    next record starts) of every record in the archive folder (or, from ``start``, of one of
    its files). Each is read to its end in chunks, as archived (never decoded), so warcio
    checks its block and payload digests in bounded memory."""
    where = Path(where)
    for path in sorted(where.glob("*.warc.gz")) if where.is_dir() else [where]:
        with open(path, "rb") as handle:
            handle.seek(start)
            iterator = ArchiveIterator(handle, check_digests=True)
            for record in iterator:
                sha256 = payload_sha256(record)
                offset = iterator.get_record_offset()  # after reading: asking first consumes the record
                yield (path.name, offset, record, sha256 if record.rec_type in ("response", "resource") else None,
                       list(record.digest_checker.problems), offset + iterator.get_record_length())


_GZIP_MEMBER = b"\x1f\x8b\x08"


def _next_member(path: Path, after: int) -> int | None:
    """Where the next gzip member (each record is one) starts after ``after``, if anywhere."""
    with open(path, "rb") as handle:
        handle.seek(after)
        carry = b""
        position = after
        while block := handle.read(CHUNK):
            found = (carry + block).find(_GZIP_MEMBER)
            if found >= 0:
                return position - len(carry) + found
            carry, position = block[-2:], position + len(block)
    return None


def verify_archive(folder: str | Path) -> tuple[dict[tuple[str, str], str], list[Problem]]:
    """Re-check every record's digests. Returns the response records found
    ((file, record id) -> payload SHA-256 hex) and every problem: a record whose digests do
    not match, and a record that cannot be read at all, named by offset; reading goes on at
    the next record of the file."""
    found: dict[tuple[str, str], str] = {}
    problems: list[Problem] = []
    for path in sorted(Path(folder).glob("*.warc.gz")):
        read = 0
        resume: int | None = 0
        while resume is not None:
            start = resume
            failing = start  # where the record that breaks, if one does, starts
            try:
                for name, offset, record, sha256, issues, failing in records(path, start):
                    read += 1
                    record_id = record.rec_headers.get_header("WARC-Record-ID")
                    if record.format != "warc" or not record_id:
                        problems.append(Problem(name, "", f"unreadable: no WARC record at offset {offset}"))
                        continue
                    if sha256 is not None:
                        found[(name, record_id)] = sha256
                    problems.extend(Problem(name, record_id, issue) for issue in issues)
                resume = None
            except Exception as exc:  # noqa: BLE001 - whatever breaks one record, the others are still checked
                text = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
                problems.append(Problem(path.name, "", f"unreadable record at offset {failing}: {text}"))
                resume = _next_member(path, failing + 1)
        if read == 0 and path.stat().st_size:
            problems.append(Problem(path.name, "", "unreadable: no WARC record in it"))
    return found, problems
