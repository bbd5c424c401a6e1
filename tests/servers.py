"""Small real servers for transport tests: an HTTP(S) target that records every request,
a DNS server that logs every query, and a SOCKS port that accepts and never answers; and
the Interdict web app served by uvicorn on loopback for the API and browser tests."""

from __future__ import annotations

import contextlib
import datetime
import gzip
import json
import socket
import socketserver
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class RecordingServer:
    """An HTTP server on loopback (127.0.0.1 unless told) that records (path, headers) of every request."""

    def __init__(self, tls_dir: Path | None = None, links: list[str] = (), host: str = "127.0.0.1"):
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802
                server.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                status, headers, body = server.respond(self.path, self.headers)
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_HEAD = do_POST = do_PUT = do_DELETE = do_GET  # noqa: N815

        self.links = list(links)
        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.scheme = "http"
        if tls_dir is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self_signed_cert(tls_dir))
            self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.httpd.server_address[0]}:{self.httpd.server_address[1]}"

    def respond(self, path: str, headers) -> tuple[int, list[tuple[str, str]], bytes]:
        html = "text/html; charset=utf-8"
        if path == "/":
            links = "".join(f'<a href="{link}">x</a>' for link in self.links)
            return 200, [("Content-Type", html)], f"<html><body>home {links}</body></html>".encode()
        if path == "/redirect":
            return 302, [("Location", "/landing")], b""
        if path == "/landing":
            return 200, [("Content-Type", html)], b"<html>landed</html>"
        if path == "/set-cookie":
            return 200, [("Set-Cookie", "session=abc123; Path=/")], b"cookie set"
        if path == "/echo-cookie":
            return 200, [("Content-Type", "text/plain")], (headers.get("Cookie") or "").encode()
        if path == "/gzip":
            return 200, [("Content-Encoding", "gzip"), ("Content-Type", "text/plain")], gzip.compress(b"unzipped " * 100)
        if path == "/big":
            return 200, [("Content-Type", "text/plain")], b"x" * 3_000_000
        if path == "/headers":
            return 200, [("Content-Type", "application/json")], json.dumps(dict(headers.items())).encode()
        if path.startswith("/slow"):  # /slow?… answers in 0.3 s, /slow/2?… in 2 s
            with self.lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            seconds = path.split("?")[0].removeprefix("/slow").strip("/")
            time.sleep(float(seconds) if seconds else 0.3)
            with self.lock:
                self.in_flight -= 1
            return 200, [("Content-Type", "text/plain")], b"slow"
        if path == "/ban":
            banned = sum(1 for p, _ in self.requests if p == "/ban") == 1
            return (429, [], b"Too Many Requests") if banned else (200, [], b"welcome back")
        return 404, [], b"not found"

    def paths(self) -> list[str]:
        return [p for p, _ in self.requests]

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def self_signed_cert(directory: Path) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7)).sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert_path), str(key_path)


class LoggingDNSServer:
    """A UDP DNS server that logs every query name and answers NXDOMAIN."""

    def __init__(self, host: str, port: int = 53):
        self.queries: list[str] = []
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                data, sock = self.request
                server.queries.append(_qname(data))
                if len(data) >= 12:  # NXDOMAIN reply with the question echoed
                    reply = data[:2] + b"\x81\x83" + data[4:6] + b"\x00\x00\x00\x00\x00\x00" + data[12:]
                    sock.sendto(reply, self.client_address)

        self.server = socketserver.ThreadingUDPServer((host, port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _qname(packet: bytes) -> str:
    labels, pos = [], 12
    while pos < len(packet) and packet[pos]:
        length = packet[pos]
        labels.append(packet[pos + 1 : pos + 1 + length].decode(errors="replace"))
        pos += 1 + length
    return ".".join(labels)


class SilentSocksServer:
    """Accepts TCP connections on a SOCKS port and never says a word: a stalled handshake."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.conns:
            conn.close()


class FileServer(RecordingServer):
    """Serves a folder of fixture files ('/' is index.html) and records every request."""

    TYPES = {".html": "text/html; charset=utf-8", ".txt": "text/plain"}

    def __init__(self, root: Path):
        self.root = root.resolve()
        super().__init__()

    def respond(self, path: str, headers) -> tuple[int, list[tuple[str, str]], bytes]:
        name = path.split("?", 1)[0].lstrip("/") or "index.html"
        target = (self.root / name).resolve()
        if self.root not in target.parents or not target.is_file():
            return 404, [("Content-Type", "text/plain")], b"not found"
        return 200, [("Content-Type", self.TYPES.get(target.suffix, "application/octet-stream"))], target.read_bytes()


@contextlib.contextmanager
def serving(app):
    """The app on a free loopback port, in a thread, until the block ends."""
    import uvicorn

    from interdict.demo.run import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def make_app(open_store, state_path, **options):
    from interdict.web.app import create_app

    return create_app(open_store, str(state_path), **options)


class SheddingProxy:
    """An HTTP proxy in front of a real Elasticsearch node that answers writes (`_bulk`) with
    ``status`` (429 or 503) while ``shedding`` is set, as an overloaded cluster does, and
    passes everything else through. The one stand-in of the suite: a real node cannot be
    made to shed load on cue."""

    def __init__(self, upstream: str):
        from urllib.parse import urlsplit

        target = urlsplit(upstream)
        self.shedding, self.status, self.refused = False, 429, 0
        self.bulks_to_pass = 0  # while shedding, let this many more _bulk requests through first
        passing = threading.Lock()
        proxy = self

        def shed(path: str) -> bool:
            if not proxy.shedding or "_bulk" not in path:
                return False
            with passing:
                if proxy.bulks_to_pass:
                    proxy.bulks_to_pass -= 1
                    return False
            return True

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                if shed(self.path):
                    proxy.refused += 1
                    answer = json.dumps({"error": {"type": "es_rejected_execution_exception",
                                                   "reason": "rejected execution (queue capacity reached)"},
                                         "status": proxy.status}).encode()
                    status, headers = proxy.status, [("Content-Type", "application/json")]
                else:
                    import http.client

                    upstream_conn = http.client.HTTPConnection(target.hostname, target.port, timeout=60)
                    upstream_conn.request(self.command, self.path, body=body,
                                          headers={k: v for k, v in self.headers.items() if k.lower() != "host"})
                    reply = upstream_conn.getresponse()
                    answer, status = reply.read(), reply.status
                    headers = [(k, v) for k, v in reply.getheaders()
                               if k.lower() not in ("content-length", "transfer-encoding", "connection")]
                    upstream_conn.close()
                self.send_response(status)
                for key, value in headers:
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answer)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _any  # noqa: N815

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
