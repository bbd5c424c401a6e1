"""spaCy pipeline components of Interdict, registered by name on import.

Every component reads the shared :class:`enrichment.text.TextView` of the document and
appends :class:`Mention` records (character offsets into the text, the component's name)
to the view's ``mentions``; ``doc._.interdict_entities`` shows the same list, and each
component's share of it is a Doc attribute it declares (``assigns``: OUTPUTS below). Mentions
are plain slotted records: the Enricher turns them into validated ``Entity`` contracts once
per listing, which keeps pydantic out of the per-hit path. Components with data files follow
spaCy's initialize / to_disk / from_disk convention (``DataComponent``).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
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


class DataComponent(BatchComponent):
    """spaCy's convention for a component with data files: its factory builds it empty;
    ``initialize`` reads the files (pipeline.cfg ``[initialize.components.NAME]``); ``to_disk``
    copies them into the saved pipeline and ``from_disk`` builds from those copies, so
    ``nlp.to_disk()`` gives a self-contained pipeline that ``spacy.load`` reads offline."""

    files: dict[str, Path] = {}  # role -> the file read; empty until initialised or loaded

    def load(self, files: dict[str, str]) -> None:
        """Build the component from its files (role -> absolute path)."""
        raise NotImplementedError

    def use(self, files: dict[str, Path]) -> None:
        self.load({role: str(path) for role, path in files.items()})
        self.files = dict(files)

    def pipe(self, docs: Iterable[Doc], batch_size: int = 256) -> Iterator[Doc]:
        if not self.files:
            raise ValueError(f"{self.name} has no data: call nlp.initialize() on a pipeline built from its "
                             f"config, or spacy.load() a saved one")
        return super().pipe(docs, batch_size)

    def to_disk(self, path, *, exclude: Iterable[str] = ()) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        saved = {}
        for role, source in self.files.items():
            saved[role] = role + "".join(Path(source).suffixes)
            shutil.copyfile(source, path / saved[role])
        (path / "files.json").write_text(json.dumps(saved, indent=1), encoding="utf-8")

    def from_disk(self, path, *, exclude: Iterable[str] = ()) -> "DataComponent":
        path = Path(path)
        saved = json.loads((path / "files.json").read_text(encoding="utf-8"))
        self.use({role: path / name for role, name in saved.items()})
        return self


# The identifiers component's labels and the identifier kind each gives (contracts.Identifier).
IDENTIFIER_KINDS = {
    "PGP_FINGERPRINT": "pgp", "PGP_KEY_INVALID": "pgp", "BTC_ADDRESS": "btc", "XMR_ADDRESS": "xmr",
    "ETH_ADDRESS": "eth", "EMAIL": "email", "PHONE": "phone", "TELEGRAM": "telegram", "WICKR": "wickr",
    "SESSION_ID": "session", "JABBER": "jabber", "ONION": "onion",
}
# What each component assigns, as Doc attributes (factories declare them: ``assigns``,
# ``requires``; ``nlp.analyze_pipes()`` checks the order). Every list is a view of the mentions.
OUTPUTS = {
    "interdict_quantities": ("QUANTITY", "PRICE", "PURITY", "PERCENT"),
    "interdict_products": ("PRODUCT", "CATEGORY", "PURITY"),
    "interdict_places": ("PLACE",),
    "interdict_shipping": ("CARRIER", "STEALTH", "DECLARED_AS", "DROP", "RESHIP", "DELIVERY_TIME"),
    "interdict_identifiers": tuple(IDENTIFIER_KINDS),
}


def _labelled(labels: tuple[str, ...]):
    return lambda doc: [m for m in found(doc) if m.label in labels]


if not Doc.has_extension("interdict_entities"):
    Doc.set_extension("interdict_entities", getter=found)
    for attribute, labels in OUTPUTS.items():
        Doc.set_extension(attribute, getter=_labelled(labels))

import enrichment.tokenizer  # noqa: E402,F401  (registers the tokenizer)
from enrichment.components import (  # noqa: E402,F401
    gazetteer_pass, identifiers, language, places, product_roles, products, quantities, shipping)
