"""One normalised view of a document's text, computed once and shared by every component.

Matching runs on *folded* text (lower case, accents stripped) whose characters line up one
to one with the original, so a match at ``folded[i:j]`` is the span ``text[i:j]``: no offset
tables, and gazetteer automata can run over the whole text in one pass.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from spacy.tokens import Doc

from contracts.text import LazyTable

USER_DATA_KEY = "interdict_text"
# Every quantity, price, purity and delivery time starts at a number: components find the
# numbers once and try their patterns anchored there instead of scanning the text again.
NUMBER_RE = re.compile(r"\d+(?:[.,/]\d+)*")


@lru_cache(maxsize=65536)
def _fold_char(char: str) -> str:
    lowered = char.lower()
    if len(lowered) != 1:
        return char  # "İ".lower() is two characters; keep alignment instead
    base = unicodedata.normalize("NFKD", lowered)
    kept = [c for c in base if not unicodedata.combining(c)]
    return kept[0] if len(kept) == 1 else lowered


# Word characters stay, every other character becomes a space.
_SPACE_TABLE = LazyTable(lambda c: c if (c.isalnum() or c == "_") else " ")


def spaced(folded: str) -> str:
    """``folded`` with non-word characters as spaces, padded with one space at each end, so
    that a phrase automaton with space-delimited keys only ever hits whole words."""
    return " " + folded.translate(_SPACE_TABLE) + " "


_FOLD_TABLE = LazyTable(_fold_char)


def fold_aligned(text: str) -> str:
    """Case- and accent-fold ``text`` keeping one output character per input character."""
    if text.isascii():
        return text.lower()
    return text.translate(_FOLD_TABLE)


@dataclass
class TextView:
    text: str
    folded: str = field(init=False)
    # Where each input field (title, description, ...) sits in ``text``.
    layout: list[tuple[str, int, int]] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)  # fields cut to the configured maximum
    mentions: list = field(default_factory=list)  # what the components found (components.Mention)
    gazetteer_hits: dict = field(default_factory=dict)  # owner -> hits of the shared pass (components.gazetteer_pass)

    def __post_init__(self) -> None:
        self.folded = fold_aligned(self.text)

    @cached_property
    def spaced(self) -> str:
        return spaced(self.folded)

    @cached_property
    def numbers(self) -> list[tuple[int, int]]:
        """Spans of the numbers that start a token ("10g", "$5"), not those inside one ("x10", "v1.2").
        (Checked here rather than by a look-behind in the regex, which halves its speed.)"""
        text, spans = self.text, []
        for match in NUMBER_RE.finditer(text):
            start = match.start()
            if start and (text[start - 1].isalnum() or text[start - 1] in "_.,/"):
                continue
            spans.append(match.span())
        return spans

    def locate(self, start: int, end: int) -> tuple[str, int, int]:
        """(field, start, end) of a span of the composed text, relative to its field."""
        for name, field_start, field_end in self.layout:
            if field_start <= start < field_end:
                return name, start - field_start, min(end, field_end) - field_start
        return "text", start, end

    def field_span(self, name: str) -> tuple[int, int] | None:
        for field_name, start, end in self.layout:
            if field_name == name:
                return start, end
        return None


def text_view(doc: Doc) -> TextView:
    """The view the tokenizer attached (enrichment/tokenizer.py); built from ``doc.text``
    when the pipeline uses spaCy's own tokenizer instead."""
    view = doc.user_data.get(USER_DATA_KEY)
    if view is None:
        view = TextView(doc.text)
        doc.user_data[USER_DATA_KEY] = view
    return view
