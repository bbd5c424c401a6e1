"""Pages that are not the market: CAPTCHA walls, DDoS-protection queues, login walls, error
pages served with status 200, empty pages. Markers are data (walls.json), extended per
market from its config; the page's own elements (password field, captcha input, meta
refresh) back them up so a market's "Login" menu entry does not read as a wall."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Mapping

from crawlers.extract.dom import Page, collapse

WALL_REASONS = ("captcha", "ddos_queue", "login_wall")
DEFAULT_MARKERS: dict[str, dict[str, list[str]]] = {
    k: v for k, v in json.loads((Path(__file__).parent / "walls.json").read_text(encoding="utf-8")).items()
    if not k.startswith("_")}
SHORT_PAGE_CHARS = 2500
# Title markers that are also everyday words on market pages: a title match still needs
# the page parsed, so they do not make a page worth parsing on their own.
_COMMON_WORDS = frozenset({"error", "login", "log in", "sign in", "queue", "unavailable", "404", "authentication"})  # interstitials and error pages are short; a market page is not
MIN_TEXT_CHARS = 20


@dataclass(frozen=True)
class Wall:
    reason: str  # captcha | ddos_queue | login_wall | error_page | empty_page
    seen: str  # what gave it away, for the operator's hand-off entry
    by_marker: bool = True  # a marker in the title or text, not only a form element
    short: bool = True  # the page holds little else

    @property
    def blocks_market(self) -> bool:
        """Walls that hold for the whole market until someone acts (not one bad page): a
        captcha image in a sidebar of a full page is not one."""
        return self.reason in WALL_REASONS and (self.by_marker or self.short)


def merged_markers(extra: Mapping[str, Mapping[str, list[str]]] | None) -> dict[str, dict[str, list[str]]]:
    markers = {reason: {where: list(words) for where, words in spots.items()} for reason, spots in DEFAULT_MARKERS.items()}
    for reason, spots in (extra or {}).items():
        for where, words in spots.items():
            markers.setdefault(reason, {}).setdefault(where, []).extend(w.lower() for w in words)
    return markers


_ELEMENT_HINTS = (b"captcha", b"password", b"http-equiv")


def marker_bytes(markers: Mapping[str, Mapping[str, list[str]]] | None = None) -> frozenset[bytes]:
    """The marker words worth a byte search (for might_be_wall; computed once per market)."""
    words = {w for spots in (markers or DEFAULT_MARKERS).values() for found in spots.values() for w in found}
    return frozenset(w.encode() for w in words if w not in _COMMON_WORDS)


def might_be_wall(body: bytes, words: frozenset[bytes]) -> bool:
    """A cheap look at the raw bytes: only pages that are short, or hold a marker word or a
    password/captcha/refresh element, are parsed for a wall (a crawl reads many pages)."""
    if len(body) < 4 * SHORT_PAGE_CHARS:
        return True
    lowered = body[:300_000].lower()
    return any(hint in lowered for hint in _ELEMENT_HINTS) or any(w in lowered for w in words)


@lru_cache(maxsize=256)
def _any_of(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for a list of marker words: a page is searched once, not once per word."""
    return re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)") if words else None


def _marker(haystack: str, words: list[str]) -> str | None:
    """The first of ``words`` (in their order) that the text holds as a word."""
    pattern = _any_of(tuple(words))
    if pattern is None or not pattern.search(haystack):
        return None
    return next((w for w in words if re.search(r"(?<!\w)" + re.escape(w) + r"(?!\w)", haystack)), None)


def _elements(page: Page, pattern: str) -> bool:
    """An input, image or form whose name, id, class, src or alt matches ``pattern``."""
    if page.root is None:
        return False
    needle = re.compile(pattern, re.I)
    for element in page.root.iter("input", "img", "form", "div"):
        attributes = " ".join(element.get(a) or "" for a in ("name", "id", "class", "src", "alt", "action"))
        if needle.search(attributes):
            return True
    return False


def _password_field(page: Page) -> bool:
    return page.root is not None and bool(page.root.xpath("//input[translate(@type,'PASSWORD','password')='password']"))


def wall_of(page: Page, markers: Mapping[str, Mapping[str, list[str]]] | None = None) -> Wall | None:
    """What stands in front of the listings on this page, if anything."""
    markers = markers or DEFAULT_MARKERS
    text = page.text()
    if len(text) < MIN_TEXT_CHARS and not _password_field(page) and not _elements(page, "captcha"):
        return Wall("empty_page", f"{len(text)} characters of text")
    title, lowered = page.raw_title.lower(), text[:20000].lower()
    short = len(text) <= SHORT_PAGE_CHARS

    def hit(reason: str, require_short: bool = True) -> str | None:
        spots = markers.get(reason, {})
        found = _marker(title, spots.get("title", []))
        if found:
            return f"title {page.raw_title[:80]!r} ({found})"
        if short or not require_short:
            found = _marker(lowered, spots.get("text", []))
            if found:
                return f"text {excerpt(text, found)!r}"
        return None

    captcha_element = _elements(page, "captcha")
    seen = hit("captcha")
    if seen or captcha_element:
        return Wall("captcha", seen or "a captcha field or image", by_marker=bool(seen), short=short)
    seen = hit("ddos_queue", require_short=not page.refreshes)
    if seen:
        return Wall("ddos_queue", seen + (" + meta refresh" if page.refreshes else ""), short=short)
    if _password_field(page):
        seen = hit("login_wall")
        if seen or short:
            return Wall("login_wall", seen or "a password form and little else", by_marker=bool(seen), short=short)
    seen = hit("error_page")
    if seen and short:
        return Wall("error_page", seen)
    return None


def excerpt(text: str, word: str, width: int = 60) -> str:
    at = text.lower().find(word)
    start = max(0, at - width // 2)
    return collapse(text[start:start + width + len(word)])
