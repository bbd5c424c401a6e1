"""The pipeline's first component: one automaton over the phrases of every component that
registers some (products, places, shipping), run once per text.

Components register their phrases under their name when they load their data; this
component's pass leaves the hits, split by owner, on the text view
(``doc._.interdict_gazetteer_hits``) for them to read. Each extra full-text pass costs about
30 µs per listing, so the gazetteers share one instead of running one each.
"""

from __future__ import annotations

from collections.abc import Iterable

from spacy.language import Language
from spacy.tokens import Doc

from enrichment.automaton import PhraseAutomaton
from enrichment.components import BatchComponent
from enrichment.text import TextView, fold_aligned, text_view

COMPONENT = "interdict_gazetteers"
HITS = "doc._.interdict_gazetteer_hits"

if not Doc.has_extension("interdict_gazetteer_hits"):
    Doc.set_extension("interdict_gazetteer_hits", getter=lambda doc: text_view(doc).gazetteer_hits)


class GazetteerPass(BatchComponent):
    def __init__(self, name: str):
        self.name = name
        self._phrases: dict[str, list[tuple[str, object]]] = {}
        self._automaton: PhraseAutomaton | None = None

    def register(self, owner: str, phrases: Iterable[tuple[str, object]]) -> None:
        self._phrases[owner] = list(phrases)
        self._automaton = None

    def _build(self) -> PhraseAutomaton:
        merged: dict[str, list[tuple[str, object]]] = {}
        for owner, phrases in self._phrases.items():
            for phrase, payload in phrases:
                key = " ".join(fold_aligned(phrase).split())
                merged.setdefault(key, []).append((owner, payload))
        return PhraseAutomaton(merged.items())

    def __call__(self, doc: Doc) -> Doc:
        view = text_view(doc)
        if self._automaton is None:
            self._automaton = self._build()
        split: dict[str, list[tuple[int, int, object]]] = {owner: [] for owner in self._phrases}
        if self._automaton.size:
            # Inlined PhraseAutomaton.all_hits: this loop runs for every hit of every listing.
            for last, (length, payloads) in self._automaton._automaton.iter(view.spaced):
                for owner, payload in payloads:
                    split[owner].append((last - length - 1, last - 1, payload))
        view.gazetteer_hits = split
        return doc

    @staticmethod
    def hits(view: TextView, owner: str) -> list[tuple[int, int, object]]:
        """``owner``'s hits in the view's text (this component ran on it first)."""
        return view.gazetteer_hits.get(owner, [])


def gazetteer_pass(nlp: Language, owner: str) -> GazetteerPass:
    """The pass ``owner`` registers its phrases with: the pipeline's first component."""
    if COMPONENT not in nlp.pipe_names:
        raise ValueError(f"{owner} matches its phrases in the shared pass: put {COMPONENT!r} first in the "
                         f"pipeline (enrichment/pipeline.cfg)")
    return nlp.get_pipe(COMPONENT)


@Language.factory(COMPONENT, assigns=[HITS])
def make_gazetteer_pass(nlp: Language, name: str) -> GazetteerPass:
    return GazetteerPass(name)
