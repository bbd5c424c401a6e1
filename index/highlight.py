"""Highlighting done once, in Python, for every store: matched words are marked in the
original text (accents and case kept), so both stores show analysts the same fragments."""

from __future__ import annotations

import re

from contracts.text import fold
from index.query import HIGHLIGHT_END, HIGHLIGHT_START, TextQuery

_WORD_RE = re.compile(r"[^\W_]+")
CONTEXT_WORDS = 12


def highlight(text: str, query: TextQuery, context: int = CONTEXT_WORDS) -> str | None:
    """A fragment of ``text`` with the query's words marked, or None when none occur."""
    wanted = {token for clause in query.must for token in clause}
    if not text or not wanted:
        return None
    words = list(_WORD_RE.finditer(text))
    hits = [i for i, w in enumerate(words) if fold(w.group()) in wanted]
    if not hits:
        return None
    first = max(0, hits[0] - context // 2)
    last = min(len(words) - 1, first + context * 2)
    start = words[first].start() if first else 0
    end = words[last].end() if last < len(words) - 1 else len(text)
    out, pos = [], start
    for i in hits:
        if first <= i <= last:
            word = words[i]
            out.append(text[pos:word.start()])
            out.append(HIGHLIGHT_START + word.group() + HIGHLIGHT_END)
            pos = word.end()
    out.append(text[pos:end])
    return ("…" if start > 0 else "") + "".join(out) + ("…" if end < len(text) else "")


def highlights(title: str, description: str, query: TextQuery) -> dict[str, str]:
    found = {"title": highlight(title, query, context=10**6), "description": highlight(description, query)}
    return {field: fragment for field, fragment in found.items() if fragment}


def search_tokens(*texts: str) -> str:
    """The folded, tokenised text both stores index (space-separated [^\\W_]+ runs)."""
    return " ".join(token for text in texts for token in _WORD_RE.findall(fold(text)))
