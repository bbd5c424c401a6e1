"""The pipeline's tokenizer: no spaCy tokens, the text kept as a shared view.

Interdict's components match on the folded text with compiled automata and anchored
regexes and report character offsets; none reads spaCy tokens. spaCy's rule tokenizer costs
about 0.3 ms on a listing of 150 words, a third of the time budget for the whole pipeline
(docs/enrichment.md), and making a one-token Doc would intern every listing's whole text in
the shared StringStore (memory growing with every listing ever seen). So the Doc carries no
tokens: its text lives in ``doc.user_data["interdict_text"]`` (a :class:`TextView`), which
every component reads through :func:`enrichment.text.text_view`; ``doc.text`` is empty.

A pipeline that adds token-based components (a trained NER, say) switches
``[nlp.tokenizer]`` in pipeline.cfg back to ``spacy.Tokenizer.v1``; the Interdict components
then build their view from ``doc.text`` and work unchanged.
"""

from __future__ import annotations

from spacy.language import Language
from spacy.tokens import Doc
from spacy.util import registry

from enrichment.text import USER_DATA_KEY, TextView


class TextViewTokenizer:
    def __init__(self, nlp: Language):
        self.vocab = nlp.vocab

    def __call__(self, text: str | TextView) -> Doc:
        doc = Doc(self.vocab)
        doc.user_data[USER_DATA_KEY] = text if isinstance(text, TextView) else TextView(text)
        return doc

    def pipe(self, texts, batch_size: int = 1000):
        for text in texts:
            yield self(text)

    # spaCy serialises the tokenizer with the pipeline; this one has no state to save.
    def to_bytes(self, **kwargs) -> bytes:
        return b""

    def from_bytes(self, data: bytes, **kwargs) -> "TextViewTokenizer":
        return self

    def to_disk(self, path, **kwargs) -> None:
        return None

    def from_disk(self, path, **kwargs) -> "TextViewTokenizer":
        return self


@registry.tokenizers("interdict.text_view_tokenizer.v1")
def create_text_view_tokenizer():
    return TextViewTokenizer
