"""Crawled text is hostile: whatever a market page said is escaped before it reaches HTML,
and the highlight markers the stores put around matched words (control characters crawled
text cannot contain) become <mark> only after escaping."""

from __future__ import annotations

from html import escape

from index.query import HIGHLIGHT_END, HIGHLIGHT_START


def highlighted_html(fragment: str) -> str:
    """A highlighted fragment as safe HTML: everything escaped, matched words in <mark>."""
    return escape(fragment, quote=True).replace(HIGHLIGHT_START, "<mark>").replace(HIGHLIGHT_END, "</mark>")
