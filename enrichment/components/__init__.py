"""spaCy pipeline components of Interdict, registered by name on import.

Every component reads the shared :class:`enrichment.text.TextView` of the document and
appends :class:`Mention` records (character offsets into the text, the component's name)
to the view's ``mentions``; ``doc._.interdict_entities`` shows the same list. Mentions are
plain slotted records: the Enricher turns them into validated ``Entity`` contracts once per
listing, which keeps pydantic out of the per-hit path.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from spacy.tokens import Doc
from spacy.util import minibatch

from enrichment.text import text_view


@dataclass(slots=True)
class Mention:
    label: str
    text: str
    field: str
    start: int
    end: int
    component: str
    value: str | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "text": self.text, "field": self.field, "start": self.start,
                "end": self.end, "component": self.component, "value": self.value, "attrs": self.attrs}


def found(doc: Doc) -> list[Mention]:
    return text_view(doc).mentions


class BatchComponent:
    """``nlp.pipe`` hands components whole batches through ``pipe``: each component then
    runs over the batch before the next starts, keeping its automata and regexes hot in the
    CPU caches (about a quarter faster than one document through every component at a time)."""

    def __call__(self, doc: Doc) -> Doc:  # pragma: no cover - every component defines it
        raise NotImplementedError

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
        for batch in minibatch(docs, size=batch_size):
            for doc in batch:
                self(doc)
            yield from batch


if not Doc.has_extension("interdict_entities"):
    Doc.set_extension("interdict_entities", getter=found)

import enrichment.tokenizer  # noqa: E402,F401  (registers the tokenizer)
from enrichment.components import (  # noqa: E402,F401
    identifiers, language, places, product_roles, products, quantities, shipping)
