"""Alerts delivered beyond the web app: webhooks (an HTTP POST of JSON signed with HMAC-SHA256)
and e-mail through the configured SMTP server (STARTTLS required, AUTH when configured), one
message per alert or a daily digest. Deliveries wait in the service's file (interdict/trackers/
book.py): each attempt is audited; a failed one is retried with exponential backoff and, out of
attempts, kept as a dead letter. Secrets (webhook keys, the SMTP password) are never logged."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import requests

from config.alerts import AlertSettings
from contracts.trackers import Alert
from interdict.trackers.book import Delivery, TrackerBook
from interdict.trackers.egress import egress_session, refused_url

log = logging.getLogger(__name__)
SIGNATURE_HEADER = "X-Interdict-Signature"  # "sha256=" + HMAC-SHA256(secret, timestamp + "." + body), hex
TIMESTAMP_HEADER = "X-Interdict-Timestamp"  # seconds since 1970: a receiver refuses old ones (replays)
Audit = Callable[[str, str, dict, int], None]  # action, target, detail, status
# How long a sender holds a delivery it took (several processes send: every crawl, the service);
# longer than one attempt's timeouts, so a live sender is never overtaken.
CLAIM_LEASE = timedelta(minutes=5)


class DeliveryError(Exception):
    """This attempt failed; the message says why, for the operator (never a secret)."""


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    waiting: int = 0  # not tried: their target failed earlier in the same pass (a receiver down
    # for a thousand alerts costs one timeout, not a thousand)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _one_line(text: str, limit: int = 150) -> str:
    """Crawled text in a header or subject: one line (no header injection), bounded."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def alert_link(alert: Alert, base_url: str) -> str:
    page = "vendors" if alert.subject == "vendor" else "listings"
    return f"{base_url.rstrip('/')}/{page}/{alert.listing_id}" if base_url else ""


def alert_text(alert: Alert, base_url: str) -> str:
    link = alert_link(alert, base_url)
    return (f"{alert.kind.replace('_', ' ')} · {alert.market}\n{alert.detail}\nlisting: {alert.title}\n"
            f"{alert.url}\n" + (f"in Interdict: {link}\n" if link else "") + f"tracker {alert.tracker_id}, alert #{alert.id}, "
            f"{alert.at:%Y-%m-%d %H:%M} UTC\n")


class Deliverer:
    def __init__(self, book: TrackerBook, settings: AlertSettings, audit: Audit | None = None,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self.book, self.settings, self.audit, self.clock = book, settings, audit, clock
        self._session: requests.Session | None = None
        self._wake = threading.Event()
        self._lock = threading.Lock()  # one pass at a time: a delivery is never sent twice at once

    # -- running -------------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    @contextmanager
    def running(self, interval: float = 5.0) -> Iterator["Deliverer"]:
        """Deliver in a thread of its own while the block runs (woken by ``wake``, and every
        ``interval`` seconds for retries), and what is due once more at its end."""
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                self._wake.wait(interval)
                self._wake.clear()
                try:
                    self.run_due()
                except Exception:  # noqa: BLE001 - a delivery problem never stops an ingest
                    log.exception("alert delivery failed")

        thread = threading.Thread(target=loop, name="interdict-alerts", daemon=True)
        thread.start()
        try:
            yield self
        finally:
            stop.set()
            self._wake.set()
            thread.join()
            self.run_due()

    def run_due(self) -> DeliveryReport:
        """Send every pending delivery that is due."""
        report = DeliveryReport()
        down: set[str] = set()  # targets that failed in this pass: their other deliveries wait for the next
        with self._lock:
            for delivery in self.book.deliveries("pending", due_by=self.clock()):
                if delivery.target in down:
                    report.waiting += 1
                    continue
                if not self.book.claim(delivery, self.clock() + CLAIM_LEASE):
                    continue  # another process is sending it
                alert = Alert.model_validate_json(delivery.payload)
                try:
                    self._send(delivery.target, alert)
                except DeliveryError as exc:
                    down.add(delivery.target)
                    retry = self._retry_at(delivery)
                    self.book.failed(delivery, str(exc), retry)
                    report.retrying += retry is not None
                    report.dead += retry is None
                    self._audited(delivery, "retrying" if retry else "dead", str(exc), 502)
                    log.warning("alert #%d to %s: %s (%s)", alert.id, delivery.target, exc,
                                f"retry at {retry:%H:%M:%S}" if retry else "out of attempts: a dead letter")
                else:
                    self.book.delivered([delivery.id], self.clock())
                    report.sent += 1
                    self._audited(delivery, "sent", "", 200)
        return report

    def _retry_at(self, delivery: Delivery) -> datetime | None:
        attempt = delivery.attempts + 1
        if attempt >= self.settings.attempts:
            return None
        return self.clock() + timedelta(seconds=self.settings.backoff_seconds * 2 ** (attempt - 1))

    def _audited(self, delivery: Delivery, outcome: str, error: str, status: int) -> None:
        if self.audit is not None:
            self.audit("alert.deliver", delivery.target, {"delivery": delivery.id, "alert": delivery.alert_id,
                                                          "tracker": delivery.tracker_id, "outcome": outcome,
                                                          "attempt": delivery.attempts + 1, "error": error}, status)

    def send_digests(self) -> DeliveryReport:
        """One message per address of every alert waiting for its digest (run daily)."""
        report = DeliveryReport()
        with self._lock:
            waiting: dict[str, list[Delivery]] = {}
            for delivery in self.book.deliveries("digest", limit=1_000_000):
                waiting.setdefault(delivery.target, []).append(delivery)
            for target, deliveries in waiting.items():
                alerts = [Alert.model_validate_json(d.payload) for d in deliveries]
                subject = f"[Interdict] {len(alerts)} alert(s) of {self.clock():%Y-%m-%d}"
                body = "\n".join(alert_text(a, self.settings.base_url) for a in alerts)
                try:
                    self._email(target.removeprefix("email:"), subject, body)
                except DeliveryError as exc:
                    report.retrying += len(deliveries)
                    for d in deliveries:
                        self._audited(d, "digest not sent", str(exc), 502)
                    log.warning("digest to %s: %s (kept for the next digest)", target, exc)
                    continue
                self.book.delivered([d.id for d in deliveries], self.clock())
                report.sent += len(deliveries)
                for d in deliveries:
                    self._audited(d, "sent in digest", "", 200)
        return report

    # -- sending -------------------------------------------------------------------------------
    def _send(self, target: str, alert: Alert) -> None:
        kind, _, name = target.partition(":")
        if kind == "webhook":
            self._webhook(name, alert)
        elif kind == "email":
            self._email(name, f"[Interdict] {alert.kind.replace('_', ' ')}: {_one_line(alert.title)}",
                        alert_text(alert, self.settings.base_url))
        else:
            raise DeliveryError(f"unknown delivery target {target!r} (web, webhook:NAME, email:ADDRESS)")

    def _webhook(self, name: str, alert: Alert) -> None:
        hook = self.settings.webhooks.get(name)
        if hook is None:
            raise DeliveryError(f"no webhook {name!r} in config [alerts.webhooks]")
        problem = refused_url(hook.url, self.settings.allow_private_targets)
        if problem:
            raise DeliveryError(f"egress refused ({problem}): allow the receiver in [alerts] allow_private_targets "
                                "if it is meant")
        body = json.dumps({"event": "alert", "alert": alert.model_dump(mode="json"),
                           "link": alert_link(alert, self.settings.base_url)}, ensure_ascii=False).encode()
        stamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp,
                   "User-Agent": "Interdict-Alerts/1", "Idempotency-Key": f"interdict-alert-{alert.id}-{alert.change}"[:200]}
        if hook.secret:
            headers[SIGNATURE_HEADER] = signature(hook.secret, stamp, body)
        if self._session is None:
            self._session = egress_session(self.settings.allow_private_targets)
        try:
            answer = self._session.post(hook.url, data=body, headers=headers, timeout=self.settings.timeout,
                                        allow_redirects=False)
        except requests.RequestException as exc:
            raise DeliveryError(f"webhook {name}: {type(exc).__name__}: {str(exc)[:300]}") from None
        if not 200 <= answer.status_code < 300:
            raise DeliveryError(f"webhook {name} answered {answer.status_code}")

    def _email(self, address: str, subject: str, body: str) -> None:
        smtp = self.settings.smtp
        if not smtp.host:
            raise DeliveryError("no SMTP server configured ([alerts.smtp] host)")
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = smtp.sender, address, _one_line(subject, 200)
        message.set_content(body)
        context = ssl.create_default_context(cafile=smtp.ca_file or None)
        try:
            with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as server:
                server.ehlo()
                if smtp.starttls:
                    if not server.has_extn("starttls"):
                        raise DeliveryError(f"the SMTP server {smtp.host}:{smtp.port} does not offer STARTTLS")
                    server.starttls(context=context)
                    server.ehlo()
                if smtp.username:
                    server.login(smtp.username, smtp.password)
                server.send_message(message)
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            # the exception text never holds the password (smtplib sends it base64 and does not echo it)
            raise DeliveryError(f"SMTP {smtp.host}:{smtp.port}: {type(exc).__name__}: {str(exc)[:300]}") from None
