"""Operator-supplied sessions for logged-in markets: cookies and headers copied from a
browser that passed the market's login or CAPTCHA, kept in a secrets file outside the
repository (crawl.sessions_file), sent only to the market's own hosts, never logged.

    [vesper]
    cookies = { vesper_session = "..." }
    headers = { "X-Requested-With" = "..." }
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured

from config import ConfigError
from crawlers.transport.mirrors import origin
from crawlers.transport.routing import market_of

log = logging.getLogger(__name__)
REPOSITORY = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Session:
    cookies: dict[str, str] = field(default_factory=dict, repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def fingerprint(self) -> str:
        """Says whether the session changed, without holding the secret."""
        canonical = json.dumps({"cookies": self.cookies, "headers": self.headers}, sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def sessions_path(setting: str) -> Path:
    return Path(os.path.expanduser(setting)).resolve()


def load_sessions(setting: str) -> dict[str, Session]:
    """The sessions file, checked: outside the repository, readable by its owner only."""
    path = sessions_path(setting)
    if not path.exists():
        return {}
    if REPOSITORY in path.parents:
        raise ConfigError(f"the sessions file {path} is inside the repository; keep secrets outside it")
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("sessions file %s is readable by other users; chmod 600 it", path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        # The message names the file and the line, never a value.
        raise ConfigError(f"cannot read the sessions file {path}: {type(exc).__name__}: "
                          f"{str(exc).split(' (at ')[0] if isinstance(exc, OSError) else exc}") from None
    out = {}
    for market, entry in data.items():
        if not isinstance(entry, dict) or set(entry) - {"cookies", "headers"}:
            raise ConfigError(f"sessions file {path}: [{market}] may only hold cookies and headers tables")
        cookies, headers = entry.get("cookies", {}), entry.get("headers", {})
        if not all(isinstance(v, str) for v in [*cookies.values(), *headers.values()]):
            raise ConfigError(f"sessions file {path}: [{market}] cookie and header values must be strings")
        out[market] = Session(dict(cookies), dict(headers))
    return out


class SessionMiddleware:
    """Adds a market's session to its requests (before the cookies middleware, 700)."""

    def __init__(self, crawler: Crawler, sessions: dict[str, Session]):
        self.crawler, self.sessions = crawler, sessions

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> "SessionMiddleware":
        setting = crawler.settings.get("INTERDICT_SESSIONS_FILE")
        if not setting:
            raise NotConfigured("no sessions file")
        return cls(crawler, load_sessions(setting))

    def process_request(self, request, spider=None):
        market = market_of(self.crawler)
        session = self.sessions.get(market.name) if market else None
        if session is None or origin(request.url) not in getattr(self.crawler.spider, "mirrors", ()):
            return None  # a market's session goes to its own hosts (and mirrors) only
        if isinstance(request.cookies, dict):
            for name, value in session.cookies.items():
                request.cookies.setdefault(name, value)
        else:  # a list of cookie dicts
            have = {c.get("name") for c in request.cookies}
            request.cookies.extend({"name": n, "value": v} for n, v in session.cookies.items() if n not in have)
        for name, value in session.headers.items():
            request.headers.setdefault(name, value)
        return None
