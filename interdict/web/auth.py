"""Who is asking, and the record of it: API keys in headers, web sessions in a cookie,
cross-site request checks, and the audit of every request that presents a key.

A browser sends cookies with any request, even one another site makes it send, so a
cookie alone does not authorise a change: writes must also carry a header only a script of
our own origin can add (the web app's fetch calls do), and the login and logout forms are
refused when the browser says they come from another site (Sec-Fetch-Site, Origin). The
cookie holds a web session id (random, expiring, ended at logout and when its key is
revoked), never the key itself.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from interdict.web.access import ROLES, AccessStore, ApiKey

SESSION_COOKIE = "interdict_session"
CSRF_HEADER = "x-interdict-csrf"


@dataclass(frozen=True)
class Caller:
    key: ApiKey | None
    presented: bool  # a key header or a session cookie came with the request
    refusal: str = ""  # why a presented credential does not count


def caller(request: Request) -> Caller:
    """The caller, worked out once per request (kept on request.state)."""
    known = getattr(request.state, "caller", None)
    if known is not None:
        return known
    access: AccessStore = request.app.state.access
    token = _presented_key(request.headers.get("authorization", "")) or request.headers.get("x-api-key")
    if token:
        key = access.authenticate(token)
        found = Caller(key, True, "" if key else "unknown or revoked key")
    elif session := request.cookies.get(SESSION_COOKIE):
        if request.method not in ("GET", "HEAD") and request.headers.get(CSRF_HEADER) != "1":
            found = Caller(None, True, f"a session cookie without the {CSRF_HEADER} header")
        else:
            api = request.app.state.config.api
            key = access.session_key(session, timedelta(minutes=api.session_idle_minutes),
                                     timedelta(hours=api.session_max_hours))
            found = Caller(key, True, "" if key else "session expired, ended or of a revoked key")
    else:
        found = Caller(None, False, "no key")
    request.state.caller = found
    return found


def _presented_key(header: str) -> str | None:
    """The key in an Authorization header: "Bearer KEY", "Token KEY" (taxii2-client's TokenAuth)
    or HTTP Basic with the key as the password (TAXII and MISP feed clients that know no other)."""
    scheme, _, value = header.strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme in ("bearer", "token"):
        return value or None
    if scheme == "basic":
        try:
            return base64.b64decode(value, validate=True).decode().partition(":")[2] or None
        except (binascii.Error, UnicodeDecodeError):
            return None
    return None


def record(request: Request, key: ApiKey | None, action: str, target: str, detail: dict | None = None,
           status: int = 200) -> None:
    """One audit record for this request (the catch-all in app.py then adds none)."""
    request.app.state.access.record(key, action, target, detail, status)
    request.state.audited = True


@dataclass(frozen=True)
class Authorised:
    """A caller whose key grants what the route needs; what it does is audited through it."""

    key: ApiKey
    request: Request

    def audit(self, action: str, subject: str, **detail) -> None:
        record(self.request, self.key, action, subject, {k: v for k, v in detail.items() if v not in (None, [], "")})


def require(permission: str | None):
    """A dependency: the caller, if its key grants ``permission`` (None: any valid key);
    else 401 (no key, or one that is unknown, revoked, or a session that ended) or 403 (a
    valid key whose role does not grant it). Refusals are audited too."""

    def check(request: Request) -> Authorised:
        who = caller(request)
        target = request.url.path
        if who.key is None:
            record(request, None, "denied", target, {"reason": who.refusal}, status=401)
            raise HTTPException(401, "an API key is required (Authorization: Bearer <key>)",
                                headers={"WWW-Authenticate": "Bearer"})
        if permission is not None and permission not in who.key.permissions:
            record(request, who.key, "denied", target, {"needs": permission}, status=403)
            raise HTTPException(403, f"role {who.key.role!r} may not {permission} (roles that may: "
                                     f"{', '.join(r for r, p in ROLES.items() if permission in p)})")
        return Authorised(who.key, request)

    return check


# The permission a route needs, as the type of its caller parameter (interdict.web.access ROLES).
AnyKey = Annotated[Authorised, Depends(require(None))]
CanSearch = Annotated[Authorised, Depends(require("search"))]
CanRead = Annotated[Authorised, Depends(require("read"))]
CanMatch = Annotated[Authorised, Depends(require("match"))]
CanReview = Annotated[Authorised, Depends(require("review"))]
CanPullWatchlist = Annotated[Authorised, Depends(require("watchlist"))]
CanManageKeys = Annotated[Authorised, Depends(require("keys"))]
CanSeeJobs = Annotated[Authorised, Depends(require("jobs"))]
CanSeeMetrics = Annotated[Authorised, Depends(require("metrics"))]
CanSeeAudit = Annotated[Authorised, Depends(require("audit"))]
CanTrack = Annotated[Authorised, Depends(require("trackers"))]


def audit_unrecorded(request: Request, status: int) -> None:
    """Called for every response: a request that presented a key and that no handler
    recorded (a listing of batches or keys, the audit itself, metrics, a refusal such as
    413, 415 or 422) gets one record with its route, role and outcome."""
    if getattr(request.state, "audited", False) or request.url.path.startswith("/static/"):
        return
    who = caller(request)
    if not who.presented:
        return
    detail = {"role": who.key.role} if who.key else {"reason": who.refusal}
    record(request, who.key, "request", f"{request.method} {request.url.path}", detail, status)


def from_another_site(request: Request) -> bool:
    """A form posted by another site's page (login CSRF): the browser says so in
    Sec-Fetch-Site, or in Origin when it sends no fetch metadata. Clients that are not
    browsers send neither, and are no CSRF vector."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("origin")
    if origin is None:
        return False
    own = f"{request.url.scheme}://{request.url.netloc}"
    return origin.rstrip("/") != own
