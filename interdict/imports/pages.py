"""Reading imported pages into listings, in worker processes (the parse is the costly part).

A page's own URL comes from its WARC record, else from the page (``<base href>``, the
canonical link, ``og:url``). With a URL, listing keys are the crawler's (the URL's path), so
an imported capture and a later crawl of the same listing meet. Without one, relative links
resolve against ``http://<market>.import.invalid/<member>`` (a name that can never be
fetched), and listings are keyed by market, title and vendor, so that the same listing seen
in several captures (and on index and detail pages) is one listing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import quote, urlsplit

from contracts.listings import Listing
from crawlers.extract import parse_page, to_listing
from crawlers.extract.encoding import decode_html
from crawlers.pages import PageError, profile_for_html
from interdict.imports.records import stable_key, transport_of

PSEUDO_HOST_SUFFIX = ".import.invalid"
# (word that must be there, pattern): the word, looked for first, spares most pages the regex
_OWN_URL_RES = (
    (b"base", re.compile(rb"""<base\s[^>]*href\s*=\s*["']?([^"'\s>]+)""", re.I)),
    (b"canonical", re.compile(rb"""<link\s[^>]*rel\s*=\s*["']?canonical["']?[^>]*href\s*=\s*["']?([^"'\s>]+)""", re.I)),
    (b"canonical", re.compile(rb"""<link\s[^>]*href\s*=\s*["']?([^"'\s>]+)["']?[^>]*rel\s*=\s*["']?canonical""", re.I)),
    (b"og:url",
     re.compile(rb"""<meta\s[^>]*property\s*=\s*["']?og:url["']?[^>]*content\s*=\s*["']?([^"'\s>]+)""", re.I)),
)
_V2_ONION_RE = re.compile(r"(?:^|\.)[a-z2-7]{16}\.onion$")


def own_url(data: bytes) -> str | None:
    """The URL a saved page names for itself, if an absolute http(s) one."""
    head = data[:65536]
    lower = head.lower()
    for word, pattern in _OWN_URL_RES:
        match = pattern.search(head) if word in lower else None
        if match:
            url = match.group(1).decode("latin-1").strip()
            if urlsplit(url).scheme in ("http", "https") and urlsplit(url).hostname:
                return url
    return None


def legacy_onion(url: str | None) -> bool:
    return bool(url) and bool(_V2_ONION_RE.search((urlsplit(url).hostname or "").lower()))


def pseudo_url(market: str, member: str) -> str:
    host = re.sub(r"[^a-z0-9-]+", "-", market.lower()).strip("-") or "market"
    return f"http://{host}{PSEUDO_HOST_SUFFIX}/{quote(member.lstrip('/'))}"


@dataclass
class PageResult:
    """What one page gave: listings (crawl contract), or why none."""

    listings: list[Listing] = field(default_factory=list)
    kind: str = "dropped"  # listing | index | dropped
    reason: str = ""  # why no listing, or why some blocks were not indexable
    unsure: int = 0  # listings read but not confident enough to index


def read_page(data: bytes, url: str | None, market: str, member: str, captured: datetime,
              generic: bool = False) -> PageResult:
    """The listings of one imported page (run in a worker process)."""
    known_url = url or own_url(data)
    page_url = known_url or pseudo_url(market, member)
    html = decode_html(data)[0]
    profile = None if generic else profile_for_html(html)
    result = parse_page(html, page_url, profile, market, captured, language=False)  # listings carry none
    out = PageResult(kind=result.kind if result.listings else "dropped", reason=result.drop_reason or "")
    if result.page_object_listings:
        out.listings = [listing.model_copy(update={"market": market, "crawled_at": captured})
                        for listing in result.page_object_listings]
    transport = transport_of(page_url)
    for parsed in result.listings if not result.page_object_listings else ():
        try:
            out.listings.append(to_listing(parsed, market, captured, transport))
        except PageError as exc:
            out.unsure += 1
            out.reason = out.reason or exc.reason
    if not known_url:
        # Keyed by what it is, not where the copy sat: a listing's own page and its card on a
        # category page, read by a page object or the generic extractor, are one listing.
        out.listings = [listing.model_copy(update={"listing_key": stable_key(market, listing.title, listing.vendor.name)})
                        for listing in out.listings]
    return out
