"""Places: country and region names in text to ISO 3166 codes, with their shipping role."""

from __future__ import annotations

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.util import filter_spans

from enrichment.components import found
from enrichment.contracts import Entity
from enrichment.gazetteers import fold, load_places

COMPONENT = "interdict_places"
# Words that, just before a place, say which way the goods travel.
ORIGIN_CUES = {"from", "ships from", "shipping from", "aus", "desde", "depuis", "uit", "van",
               "origin", "herkunft", "origen", "origine", "based in", "located in"}
DESTINATION_CUES = {"to", "ships to", "shipping to", "nach", "naar", "vers", "hacia", "into",
                    "destination", "deliver to", "delivery to", "envío a", "envio a", "a"}
SHIPPING_WORDS = {"ship", "ships", "shipping", "shipped", "send", "sent", "delivery",
                  "versand", "envío", "envio", "verzending", "livraison", "stealth"}
CUE_WINDOW_TOKENS = 4
# Articles between a cue and the place ("to the EU", "nach der Schweiz") do not break it.
ARTICLES = {"the", "der", "die", "das", "den", "la", "le", "les", "el", "los", "de", "het", "l"}


class PlaceMatcher:
    def __init__(self, nlp: Language, name: str, gazetteer: str):
        self.name = name
        self.places = load_places(gazetteer)
        self.matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
        names = sorted(self.places.names)
        self.matcher.add("PLACE", list(nlp.tokenizer.pipe(names)))

    def role(self, doc: Doc, start: int) -> str | None:
        window = doc[max(0, start - CUE_WINDOW_TOKENS):start]
        words = [fold(t.text) for t in window if not t.is_punct]
        while words and words[-1] in ARTICLES:
            words.pop()
        for size in (2, 1):
            if len(words) >= size:
                tail = " ".join(words[-size:])
                if tail in ORIGIN_CUES:
                    return "origin"
                if tail in DESTINATION_CUES:
                    return "destination"
        return None

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        for _, start, end in self.matcher(doc):
            span = doc[start:end]
            key = fold(span.text)
            role = self.role(doc, start)
            if key in self.places.ambiguous:
                # "in", "to", "US": only trusted right after a shipping cue, and upper-case
                # codes only when written as codes.
                near_shipping = any(fold(t.text) in SHIPPING_WORDS for t in doc[max(0, start - 6):start])
                if role is None or not (near_shipping or span.text.isupper() or len(key) > 3):
                    continue
            span.label_ = role or "mention"
            spans.append(span)
        doc.spans["places"] = filter_spans(spans)
        out = found(doc)
        for span in doc.spans["places"]:
            out.append(Entity(
                label="PLACE", text=span.text, field="text", start=span.start_char,
                end=span.end_char, component=self.name, value=self.places.resolve(span.text),
                attrs={"role": None if span.label_ == "mention" else span.label_},
            ))
        return doc


@Language.factory(COMPONENT, default_config={"gazetteer": "places.json"})
def make_place_matcher(nlp: Language, name: str, gazetteer: str) -> PlaceMatcher:
    return PlaceMatcher(nlp, name, gazetteer)
