"""spaCy pipeline components of Interdict, registered by name on import.

Every component appends :class:`enrichment.contracts.Entity` objects (character offsets
into ``doc.text``) to ``doc._.interdict_entities`` and labelled spans to ``doc.spans``.
"""

from __future__ import annotations

from spacy.tokens import Doc

if not Doc.has_extension("interdict_entities"):
    Doc.set_extension("interdict_entities", default=None)


def found(doc: Doc) -> list:
    if doc._.interdict_entities is None:
        doc._.interdict_entities = []
    return doc._.interdict_entities


from enrichment.components import identifiers, places, products, quantities  # noqa: E402,F401
