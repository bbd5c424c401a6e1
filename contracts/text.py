"""Text folding shared by every stage: the case- and accent-folded form that gazetteer keys,
search terms, blocking keys and vendor names are compared in."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable


class LazyTable(dict):
    """A str.translate table filled on first sight of each character: the translation stays
    one C call per text, and the table only ever holds characters actually seen."""

    def __init__(self, translate: Callable[[str], str | None]):
        super().__init__()
        self._translate = translate

    def __missing__(self, codepoint: int) -> str | None:
        value = self._translate(chr(codepoint))
        self[codepoint] = value
        return value


_DROP_COMBINING = LazyTable(lambda c: None if unicodedata.combining(c) else c)


def fold(text: str) -> str:
    """Case- and accent-folded form used for gazetteer keys and the search text."""
    if text.isascii():
        return text.lower()
    return unicodedata.normalize("NFKD", text.casefold()).translate(_DROP_COMBINING)
