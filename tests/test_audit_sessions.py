"""The audit log and web sessions (issue 18, items 7, 8, 10): a keyed chain anchored outside
the log catches truncation, edits and re-chaining; records written before keyed auditing
are an unkeyed segment, not tampering; every request that presents a key is recorded,
refusals included; the session cookie is a server-side session (never the key) that logout
and key revocation end, and login/logout posted from another site are refused. A real
uvicorn server on loopback and real `interdict audit` processes."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from functools import partial

import httpx
import pytest

from conftest import run_cli
from interdict.web.access import AccessStore
from interdict.web.auth import SESSION_COOKIE
from servers import make_app, serving

pytestmark = pytest.mark.timeout(600)


def _files(tmp_path):
    return tmp_path / "api.db", tmp_path / "anchor" / "audit.key", tmp_path / "anchor" / "head.json"


def _access(tmp_path) -> AccessStore:
    return AccessStore(*_files(tmp_path))


def _env(tmp_path) -> dict:
    db, key, head = _files(tmp_path)
    return {"INTERDICT_API__PATH": str(db), "INTERDICT_API__AUDIT_KEY_FILE": str(key),
            "INTERDICT_API__AUDIT_HEAD_FILE": str(head)}


def _verify(tmp_path) -> tuple[int, str]:
    proc = run_cli("audit", "--verify", env=_env(tmp_path))
    return proc.returncode, proc.stderr.strip()


def _log(tmp_path, records: int) -> None:
    access = _access(tmp_path)
    key = access.create_key("analyst", "analyst")[0]
    for n in range(records):
        access.record(key, "search", f"query {n}")
    access.close()


def _tamper(tmp_path, *statements: str) -> None:
    db = sqlite3.connect(_files(tmp_path)[0])
    db.executescript("DROP TRIGGER IF EXISTS audit_no_update; DROP TRIGGER IF EXISTS audit_no_delete;"
                     + ";".join(statements))
    db.close()


def test_the_key_file_is_private_and_an_intact_log_verifies(tmp_path):
    _log(tmp_path, 5)
    key_file = _files(tmp_path)[1]
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert _verify(tmp_path) == (0, "5 record(s) checked: the keyed chain and its anchored head are intact")
    key_file.chmod(0o644)
    code, said = _verify(tmp_path)
    assert code == 2 and "open to others" in said and "chmod 600" in said


def test_cutting_the_end_of_the_log_is_found(tmp_path):
    _log(tmp_path, 6)
    _tamper(tmp_path, "DELETE FROM audit WHERE seq >= 5")
    code, said = _verify(tmp_path)
    assert code == 1 and "ends at record 4 but its anchored head is record 6: records were cut" in said, said


def test_an_edit_re_chained_without_the_key_is_found(tmp_path):
    _log(tmp_path, 4)
    db = sqlite3.connect(_files(tmp_path)[0])
    rows = db.execute("SELECT seq, at, key_id, key_name, role, action, target, detail, status FROM audit "
                      "ORDER BY seq").fetchall()
    db.close()
    # re-compute the whole chain as a plain SHA-256 chain (what the old release used)
    statements, prev = [], "0" * 64
    for row in rows:
        fields = list(row[1:])
        if row[0] == 2:
            fields[5] = "something innocent"
        digest = hashlib.sha256((prev + json.dumps(fields, ensure_ascii=False)).encode()).hexdigest()
        statements.append(f"UPDATE audit SET target = '{fields[5]}', prev = '{prev}', digest = '{digest}' "
                          f"WHERE seq = {row[0]}")
        prev = digest
    _tamper(tmp_path, *statements)
    code, said = _verify(tmp_path)
    assert code == 1 and "record 1 is chained without the key after keyed auditing began" in said, said
    # and with the key's form but a made-up digest
    _tamper(tmp_path, "UPDATE audit SET digest = 'hmac-sha256:' || substr(digest, 1, 64) WHERE seq = 1")
    assert _verify(tmp_path)[0] == 1


def test_a_missing_or_forged_head_is_found(tmp_path):
    _log(tmp_path, 3)
    head = _files(tmp_path)[2]
    forged = json.loads(head.read_text())
    entry = next(iter(forged.values()))
    entry["seq"] = 2
    head.write_text(json.dumps(forged))
    code, said = _verify(tmp_path)
    assert code == 1 and "was not written with the audit key" in said
    head.unlink()
    code, said = _verify(tmp_path)
    assert code == 1 and "no anchored head" in said


def test_records_of_an_older_release_are_an_unkeyed_segment_not_tampering(tmp_path):
    db_path = _files(tmp_path)[0]
    AccessStore(*_files(tmp_path)).close()  # the schema
    db = sqlite3.connect(db_path)
    prev = "0" * 64
    for n in range(3):  # what a release before keyed auditing wrote
        fields = [f"2026-11-0{n + 1}T00:00:00.000+00:00", None, None, None, "search", f"old {n}", "{}", 200]
        digest = hashlib.sha256((prev + json.dumps(fields, ensure_ascii=False)).encode()).hexdigest()
        db.execute("INSERT INTO audit (at, key_id, key_name, role, action, target, detail, status, prev, digest) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (*fields, prev, digest))
        prev = digest
    db.commit()
    db.close()
    _log(tmp_path, 2)
    code, said = _verify(tmp_path)
    assert code == 0 and said.startswith("5 record(s) checked: the keyed chain and its anchored head are intact")
    assert "records 1–3 predate keyed auditing" in said


@pytest.fixture
def service(matching_db, tmp_path):
    from index.embedded import EmbeddedStore

    access = _access(tmp_path)
    keys = {role: access.create_key(role, role)[1] for role in ("analyst", "admin")}
    access.close()
    db, key_file, head_file = _files(tmp_path)
    from config import load_config

    config = load_config(env={"INTERDICT_API__AUDIT_KEY_FILE": str(key_file),
                              "INTERDICT_API__AUDIT_HEAD_FILE": str(head_file)})
    with serving(make_app(partial(EmbeddedStore, matching_db), db, config=config, max_upload=10_000)) as url:
        yield url, keys


def _records(tmp_path) -> list:
    access = _access(tmp_path)
    try:
        return list(reversed(access.audit(1000)))
    finally:
        access.close()


def test_every_request_with_a_key_is_recorded_refusals_included(service, tmp_path):
    url, keys = service
    analyst, admin = ({"Authorization": f"Bearer {keys[r]}"} for r in ("analyst", "admin"))
    asks = [("GET", "/api/batches", analyst, 200), ("GET", "/api/keys", admin, 200), ("GET", "/api/audit", admin, 200),
            ("GET", "/api/jobs", admin, 200), ("GET", "/api/metrics", admin, 200),
            ("GET", "/api/openapi.json", analyst, 200), ("GET", "/review", analyst, 200),
            ("GET", "/api/keys", analyst, 403), ("GET", "/api/search", {"Authorization": "Bearer idk_x_y"}, 401),
            ("POST", "/api/match", {**analyst, "Content-Type": "text/csv"}, 413),
            ("POST", "/api/match", {**analyst, "Content-Type": "application/xml"}, 415),
            ("GET", "/api/search?limit=5000", analyst, 422)]
    for method, path, headers, status in asks:
        body = b"x" * 20_000 if status == 413 else b"<x/>" if status == 415 else None
        answer = httpx.request(method, url + path, headers=headers, content=body, timeout=60)
        assert answer.status_code == status, (path, answer.text)
    httpx.get(url + "/api/search", timeout=60)  # no key: no record for it is required, but none may break
    records = _records(tmp_path)
    for method, path, headers, status in asks:
        route = path.split("?")[0]
        assert any(r.status == status and route in r.target for r in records), (method, path, status)
    refused = next(r for r in records if r.status == 413)
    assert refused.role == "analyst" and refused.target == "POST /api/match"
    assert _verify(tmp_path)[0] == 0


def _browser_like(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, timeout=60, follow_redirects=False)


def test_the_session_cookie_is_a_server_side_session_ended_by_logout_and_revocation(service, tmp_path):
    url, keys = service
    with _browser_like(url) as browser:
        logged_in = browser.post("/login", data={"key": keys["analyst"], "next": "/search"},
                                 headers={"Sec-Fetch-Site": "same-origin"})
        assert logged_in.status_code == 303
        session = browser.cookies[SESSION_COOKIE]
        # the key's secret is everything after "idk_<id>_" (urlsafe base64 may hold "_" itself)
        assert keys["analyst"] not in session and keys["analyst"].split("_", 2)[2] not in session
        assert browser.get("/search?q=cocaine").status_code == 200
        copied = {SESSION_COOKIE: session}
        out = browser.post("/logout", headers={"Sec-Fetch-Site": "same-origin"})
        assert out.status_code == 303
    # the cookie's value is worthless once the session ended, even replayed
    replay = httpx.get(url + "/api/search?q=cocaine", cookies=copied, timeout=60)
    assert replay.status_code == 401
    with _browser_like(url) as browser:
        browser.post("/login", data={"key": keys["analyst"]}, headers={"Sec-Fetch-Site": "same-origin"})
        assert browser.get("/api/search?q=x").status_code == 200
        access = _access(tmp_path)
        access.revoke(next(k.id for k in access.keys() if k.name == "analyst"))
        access.close()
        assert browser.get("/api/search?q=x").status_code == 401


def test_login_and_logout_posted_from_another_site_are_refused(service, tmp_path):
    url, keys = service
    with _browser_like(url) as browser:
        browser.post("/login", data={"key": keys["admin"]}, headers={"Sec-Fetch-Site": "same-origin"})
        mine = browser.cookies[SESSION_COOKIE]
        # another site's page auto-submitting its own key to /login, and a logout
        for path, data in (("/login", {"key": keys["analyst"]}), ("/logout", {})):
            for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Origin": "https://evil.example"}):
                refused = browser.post(path, data=data, headers=headers)
                assert refused.status_code == 403, (path, headers)
        assert browser.cookies[SESSION_COOKIE] == mine and browser.get("/api/keys").status_code == 200
    assert any(r.action == "denied" and "posted from another site" in r.detail.get("reason", "")
               for r in _records(tmp_path))


def test_session_lifetime_is_enforced(tmp_path):
    from datetime import timedelta

    access = _access(tmp_path)
    key = access.create_key("a", "analyst")[0]
    token = access.start_session(key)
    assert access.session_key(token, timedelta(minutes=5), timedelta(hours=1)).id == key.id
    db = sqlite3.connect(_files(tmp_path)[0])
    db.execute("UPDATE web_sessions SET last_used = '2026-01-01T00:00:00+00:00'")
    db.commit()
    db.close()
    assert access.session_key(token, timedelta(minutes=5), timedelta(days=9999)) is None
    assert access.session_key(token, timedelta(days=9999), timedelta(days=9999)) is None  # ended, not revived
    access.close()
    assert os.environ["INTERDICT_API__AUDIT_KEY_FILE"] != str(_files(tmp_path)[1])
