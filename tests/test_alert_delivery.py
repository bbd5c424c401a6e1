"""Alerts delivered to a real webhook receiver and a real SMTP server on loopback (aiosmtpd,
STARTTLS and AUTH required): signatures, retries with backoff, dead letters, the egress rules,
digests, the audit of every attempt, and an `interdict index` run that delivers end to end."""

import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime, timedelta

import pytest

from alert_receivers import SmtpServer, WebhookReceiver
from config.alerts import AlertSettings
from conftest import make_listing, run_cli
from contracts.trackers import Tracker
from interdict.trackers import Deliverer, Raised, TrackerBook
from interdict.trackers.deliver import SIGNATURE_HEADER, TIMESTAMP_HEADER
from interdict.trackers.egress import vetted_address
from interdict.web.access import AccessStore

SECRET = "hook-secret-0123456789"
PASSWORD = "s3cret-Pa55"


def tracker(*deliver: str, digest: bool = False) -> Tracker:
    return Tracker(id="trk_1", name="watch", kind="search", owner="cli", query={"text": "mdma"},
                   deliver=list(deliver), digest=digest, created=datetime.now(UTC))


def raise_alerts(book: TrackerBook, watching: Tracker, *titles: str):
    news = book.record([Raised(watching.id, f"l{i}", "new_listing", "new", f"new listing on alpha: {title}", "alpha",
                               title, f"http://127.0.0.1/l{i}") for i, title in enumerate(titles)])
    book.enqueue(news, {watching.id: watching})
    return news


@pytest.fixture
def book(tmp_path):
    with TrackerBook(tmp_path / "api.db") as book:
        yield book


@pytest.fixture
def audit(tmp_path):
    access = AccessStore(tmp_path / "api.db", tmp_path / "audit.key", tmp_path / "head.json")
    yield access
    access.close()


def deliverer(book, audit, **settings) -> Deliverer:
    return Deliverer(book, AlertSettings(**settings),
                     lambda action, target, detail, status: audit.record(None, action, target, detail, status))


def test_a_webhook_gets_each_alert_signed_and_every_attempt_is_audited(book, audit):
    with WebhookReceiver() as hook:
        raise_alerts(book, tracker("webhook:soc", "web"), "MDMA 1g", 'Evil <script>alert(1)</script> "quoted"')
        done = deliverer(book, audit, webhooks={"soc": {"url": hook.url, "secret": SECRET}},
                         allow_private_targets=[f"127.0.0.1:{hook.port}"]).run_due()
    assert (done.sent, done.retrying, done.dead) == (2, 0, 0)
    assert len(hook.received) == 2
    for got in hook.received:
        expected = "sha256=" + hmac.new(SECRET.encode(), got.headers[TIMESTAMP_HEADER.lower()].encode() + b"." + got.body,
                                        hashlib.sha256).hexdigest()
        assert got.headers[SIGNATURE_HEADER.lower()] == expected
        assert got.headers["content-type"] == "application/json"
        assert abs(int(got.headers[TIMESTAMP_HEADER.lower()]) - time.time()) < 60
    assert sorted(r.json["alert"]["title"] for r in hook.received) == sorted(
        ["MDMA 1g", 'Evil <script>alert(1)</script> "quoted"'])  # JSON carries crawled text as it is
    assert [d.status for d in book.deliveries()] == ["sent", "sent"]
    records = audit.audit(action="alert.deliver")
    assert len(records) == 2 and {r.target for r in records} == {"webhook:soc"}
    assert all(r.detail["outcome"] == "sent" and r.status == 200 for r in records)
    assert SECRET not in json.dumps([r.detail for r in records])
    assert audit.verify().problem is None


def test_failures_are_retried_with_backoff_then_kept_as_dead_letters(book, audit):
    with WebhookReceiver(fail=[500, 503, 500, 500]) as hook:
        raise_alerts(book, tracker("webhook:soc"), "MDMA 1g")
        sender = deliverer(book, audit, webhooks={"soc": {"url": hook.url}}, attempts=3, backoff_seconds=0.2,
                           allow_private_targets=[f"127.0.0.1:{hook.port}"])
        assert sender.run_due().retrying == 1
        assert sender.run_due().retrying == 0  # not due yet: the receiver is left alone
        assert len(hook.received) == 1
        time.sleep(0.25)
        assert sender.run_due().retrying == 1  # second attempt, next one 0.4 s later
        time.sleep(0.45)
        assert sender.run_due().dead == 1
        [dead] = book.deliveries("dead")
        assert dead.attempts == 3 and "answered 500" in dead.error and len(hook.received) == 3
        assert book.retry([dead.id]) == 1  # after the receiver is mended
        assert sender.run_due().retrying == 1  # the 4th planned failure
        time.sleep(0.25)
        assert sender.run_due().sent == 1
    assert [r.detail["outcome"] for r in reversed(audit.audit(action="alert.deliver"))] == [
        "retrying", "retrying", "dead", "retrying", "sent"]


def test_webhooks_obey_the_egress_rules(book, audit, caplog):
    """A receiver on loopback is refused unless allowed; a name resolving to loopback is judged
    by its address; a redirect is not followed."""
    assert vetted_address("127.0.0.1", 80, frozenset({"127.0.0.1:80"})) == "127.0.0.1"
    with pytest.raises(ValueError, match="resolves only to loopback or private addresses"):
        vetted_address("localhost", 80, frozenset())
    with WebhookReceiver(fail=[307]) as hook:
        raise_alerts(book, tracker("webhook:soc", "webhook:internal"), "MDMA 1g")
        webhooks = {"soc": {"url": hook.url}, "internal": {"url": hook.url.replace("127.0.0.1", "localhost")}}
        refused = deliverer(book, audit, webhooks=webhooks, attempts=1).run_due()
        assert refused.dead == 2 and hook.received == []
        assert {d.target: d.error.split(" (")[0] for d in book.deliveries("dead")} == {
            "webhook:soc": "egress refused", "webhook:internal": "egress refused"}
        book.retry([d.id for d in book.deliveries("dead")])
        allowed = deliverer(book, audit, webhooks=webhooks, attempts=1, allow_private_targets=[f"127.0.0.1:{hook.port}"])
        done = allowed.run_due()
        # soc is allowed, and its receiver's redirect is an answer that failed; localhost is not allowed
        assert done.dead == 2 and len(hook.received) == 1
        errors = {d.target: d.error for d in book.deliveries("dead")}
        assert "answered 307" in errors["webhook:soc"] and "egress refused" in errors["webhook:internal"]


def test_email_through_starttls_and_auth_and_the_daily_digest(book, audit, tmp_path, caplog):
    with SmtpServer(tmp_path, password=PASSWORD) as smtp:
        settings = {"smtp": {"host": "127.0.0.1", "port": smtp.port, "username": "alerts", "password": PASSWORD,
                             "ca_file": str(smtp.cert), "sender": "interdict@agency.example", "timeout": 10},
                    "base_url": "https://interdict.agency.example"}
        raise_alerts(book, tracker("email:analyst@agency.example"), "MDMA 1g\nBcc: victim@example.com")
        assert deliverer(book, audit, **settings).run_due().sent == 1
        [mail] = smtp.messages
        assert mail["To"] == "analyst@agency.example" and mail["From"] == "interdict@agency.example"
        assert mail["Subject"] == "[Interdict] new listing: MDMA 1g Bcc: victim@example.com" and mail["Bcc"] is None
        assert "https://interdict.agency.example/listings/l0" in mail.get_payload()
        assert smtp.logins == [("alerts", True)]

        digest = tracker("email:lead@agency.example", digest=True)
        raise_alerts(book, digest.model_copy(update={"id": "trk_2"}), "Ketamine 5g", "Speed 10g", "Xanax 2mg")
        assert deliverer(book, audit, **settings).run_due().sent == 0  # they wait for the digest
        assert len(book.deliveries("digest")) == 3
        assert deliverer(book, audit, **settings).send_digests().sent == 3
        digest_mail = smtp.messages[-1]
        assert len(smtp.messages) == 2 and digest_mail["Subject"].startswith("[Interdict] 3 alert(s) of ")
        assert all(t in digest_mail.get_payload() for t in ("Ketamine 5g", "Speed 10g", "Xanax 2mg"))

        caplog.set_level(logging.DEBUG)
        raise_alerts(book, tracker("email:analyst@agency.example").model_copy(update={"id": "trk_3"}), "LSD")
        wrong = deliverer(book, audit, **{**settings, "smtp": {**settings["smtp"], "password": "wrong-Pa55word"},
                                          "attempts": 1})
        assert wrong.run_due().dead == 1
        [dead] = book.deliveries("dead")
        assert "SMTPAuthenticationError" in dead.error
        every_word = caplog.text + json.dumps([r.detail for r in audit.audit(limit=1000)]) + dead.error
        assert "wrong-Pa55word" not in every_word and PASSWORD not in every_word


def test_email_is_never_sent_in_the_clear(book, audit, tmp_path):
    with SmtpServer(tmp_path, tls=False) as smtp:
        raise_alerts(book, tracker("email:analyst@agency.example"), "MDMA 1g")
        done = deliverer(book, audit, smtp={"host": "127.0.0.1", "port": smtp.port}, attempts=1).run_due()
        assert done.dead == 1 and smtp.messages == []
        assert "does not offer STARTTLS" in book.deliveries("dead")[0].error


def test_an_index_run_delivers_its_alerts_to_a_webhook_and_by_email(tmp_path, enricher):
    """`interdict index` with a configured webhook and SMTP server: the alerts of the trackers
    go out while it runs, signed and audited."""
    with WebhookReceiver() as hook, SmtpServer(tmp_path, password=PASSWORD) as smtp:
        config = tmp_path / "alerts.toml"
        config.write_text("\n".join([
            "[api]", f'path = "{tmp_path / "api.db"}"', f'audit_key_file = "{tmp_path / "audit.key"}"',
            f'audit_head_file = "{tmp_path / "head.json"}"', "[store]", f'path = "{tmp_path / "store.db"}"',
            "[alerts]", f'allow_private_targets = ["127.0.0.1:{hook.port}"]',
            "[alerts.webhooks.soc]", f'url = "{hook.url}"', f'secret = "{SECRET}"',
            "[alerts.smtp]", 'host = "127.0.0.1"', f"port = {smtp.port}", 'username = "alerts"',
            f'ca_file = "{smtp.cert}"']) + "\n")
        env = {"INTERDICT_CONFIG": str(config), "INTERDICT_ALERTS__SMTP__PASSWORD": PASSWORD}
        made = run_cli("trackers", "add", "mdma", "--search", "mdma", "--deliver", "webhook:soc",
                       "--deliver", "email:analyst@agency.example", "--deliver", "web", env=env)
        assert made.returncode == 0, made.stderr
        wrong = run_cli("trackers", "add", "x", "--search", "x", "--deliver", "webhook:nowhere", env=env)
        assert wrong.returncode == 2 and "webhook:soc" in wrong.stderr
        listings = [make_listing(listing_key=f"k{i}", url=f"http://127.0.0.1/k{i}", title=title,
                                 crawled_at=datetime(2026, 11, 1, tzinfo=UTC) + timedelta(minutes=i))
                    for i, title in enumerate(["MDMA crystals 1g", "Ketamine 5g", "MDMA pills x10"])]
        (tmp_path / "in.jsonl").write_text("".join(e.model_dump_json() + "\n" for e in enricher.enrich_listings(listings)))
        indexed = run_cli("index", str(tmp_path / "in.jsonl"), env=env)
        assert indexed.returncode == 0 and "2 alert(s) raised" in indexed.stderr, indexed.stderr
    assert sorted(r.json["alert"]["title"] for r in hook.received) == ["MDMA crystals 1g", "MDMA pills x10"]
    assert all(SIGNATURE_HEADER.lower() in r.headers for r in hook.received)
    assert sorted(m["Subject"] for m in smtp.messages) == ["[Interdict] new listing: MDMA crystals 1g",
                                                           "[Interdict] new listing: MDMA pills x10"]
    shown = run_cli("trackers", "deliveries", "--json", env=env)
    assert sorted(json.loads(line)["status"] for line in shown.stdout.splitlines()) == ["sent"] * 4
    audit = run_cli("audit", "--action", "alert.deliver", "--json", env=env)
    assert audit.returncode == 0 and audit.stdout.count('"alert.deliver"') == 4, audit.stdout + audit.stderr
    assert PASSWORD not in audit.stdout + indexed.stderr and SECRET not in audit.stdout + indexed.stderr


def test_a_receiver_that_is_down_costs_one_attempt_per_pass_not_one_per_alert(book, audit):
    """A thousand alerts to a dead webhook must not hold a crawl's end for a thousand timeouts:
    after its first failure in a pass, the rest of that target's deliveries wait."""
    with WebhookReceiver(fail=[503]) as hook:
        raise_alerts(book, tracker("webhook:soc"), *[f"listing {i}" for i in range(5)])
        sender = deliverer(book, audit, webhooks={"soc": {"url": hook.url}}, backoff_seconds=0.05,
                           allow_private_targets=[f"127.0.0.1:{hook.port}"])
        first = sender.run_due()
        assert (first.sent, first.retrying, first.waiting) == (0, 1, 4) and len(hook.received) == 1
        time.sleep(0.1)
        second = sender.run_due()  # the receiver is back: everything goes
        assert (second.sent, second.waiting) == (5, 0) and len(hook.received) == 6


def test_senders_in_several_processes_never_deliver_an_alert_twice(tmp_path, audit):
    """Every crawl and the service send what is due, each from its own handle on the same file
    (two spiders of one crawl too): each alert reaches the receiver once, whoever sends it."""
    import threading

    with WebhookReceiver() as hook:
        with TrackerBook(tmp_path / "api.db") as book:
            raise_alerts(book, tracker("webhook:soc"), *[f"MDMA {n}g" for n in range(40)])
        books = [TrackerBook(tmp_path / "api.db") for _ in range(4)]
        senders = [deliverer(b, audit, webhooks={"soc": {"url": hook.url}},
                             allow_private_targets=[f"127.0.0.1:{hook.port}"]) for b in books]
        start = threading.Barrier(len(senders))
        reports = []

        def send(sender):
            start.wait()
            reports.append(sender.run_due())

        threads = [threading.Thread(target=send, args=(s,)) for s in senders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = [d.status for d in books[0].deliveries()]
        for b in books:
            b.close()
    titles = [r.json["alert"]["title"] for r in hook.received]
    assert sorted(titles) == sorted(f"MDMA {n}g" for n in range(40))  # each once
    assert sum(r.sent for r in reports) == 40 and statuses == ["sent"] * 40
