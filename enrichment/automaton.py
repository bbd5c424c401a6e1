"""A compiled phrase automaton (Aho–Corasick) for gazetteers, matched on folded text.

One pass over the text finds every phrase of the gazetteer at once. Keys and text are both
"spaced" (enrichment.text.spaced: every non-word character becomes a space, one space pads
each end) and every key is stored with a space on each side, so the automaton only reports
whole-word hits: no per-hit boundary checks, no flood of sub-word hits from short aliases
("cc", "og", "k"). Overlapping hits resolve to the longest, leftmost one, like spaCy's
``filter_spans``. Building costs milliseconds for thousands of phrases, so components build
automata from their data files at load time (several components' phrases share one:
enrichment/components/gazetteer_pass.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Generic, TypeVar

import ahocorasick

from enrichment.text import TextView, fold_aligned, spaced

T = TypeVar("T")


class PhraseAutomaton(Generic[T]):
    def __init__(self, phrases: Iterable[tuple[str, T]]):
        self._automaton = ahocorasick.Automaton()
        count = 0
        for phrase, payload in phrases:
            key = " ".join(fold_aligned(phrase).split())
            if not any(c.isalpha() for c in key):
                # Spaced matching ignores punctuation, so "1:1" would match every "1,1" and
                # "1 1": phrases need a letter.
                continue
            # The phrase as it looks in spaced text, with its surrounding spaces.
            self._automaton.add_word(spaced(key), (len(key), payload))
            count += 1
        self.size = count
        if count:
            self._automaton.make_automaton()

    def all_hits(self, view: TextView, start: int = 0, end: int | None = None) -> list[tuple[int, int, T]]:
        """Every whole-word hit in ``view.text[start:end]`` (offsets into the text), overlaps included."""
        if not self.size:
            return []
        text = view.spaced  # one character longer at the front than view.text
        stop = (len(text) if end is None else end + 2)
        hits = []
        for last, (length, payload) in self._automaton.iter(text, start, stop):
            # ``last`` is the key's trailing space in spaced text: the phrase ends one
            # character before it in the text (spaced text has one more character in front).
            hits.append((last - length - 1, last - 1, payload))
        return hits

    def find(self, view: TextView, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, T]]:
        """Non-overlapping whole-word hits, longest first, then leftmost."""
        yield from longest_non_overlapping(self.all_hits(view, start, end))


def longest_non_overlapping(hits: list[tuple[int, int, T]]) -> list[tuple[int, int, T]]:
    if len(hits) < 2:
        return hits
    chosen: list[tuple[int, int, T]] = []
    used = bytearray(max(h[1] for h in hits))
    for hit in sorted(hits, key=lambda h: (h[0] - h[1], h[0])):
        if not any(used[hit[0]:hit[1]]):
            chosen.append(hit)
            used[hit[0]:hit[1]] = b"\x01" * (hit[1] - hit[0])
    return sorted(chosen, key=lambda h: h[0])
