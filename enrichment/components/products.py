"""Products: slang, misspellings and brand variants to a canonical name, category, HS code."""

from __future__ import annotations

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc
from spacy.util import filter_spans

from enrichment.components import found
from enrichment.contracts import Entity
from enrichment.gazetteers import ProductEntry, load_products

COMPONENT = "interdict_products"
# A weak alias ("ice", "bars", "snow") counts only this close to a quantity or price.
WEAK_WINDOW_CHARS = 24


class ProductMatcher:
    def __init__(self, nlp: Language, name: str, gazetteer: str):
        self.name = name
        self.entries: dict[str, ProductEntry] = {}
        self.strong = PhraseMatcher(nlp.vocab, attr="LOWER")
        self.weak = PhraseMatcher(nlp.vocab, attr="LOWER")
        for index, entry in enumerate(load_products(gazetteer)):
            key = f"P{index}"
            self.entries[key] = entry
            self.strong.add(key, list(nlp.tokenizer.pipe(entry.aliases)))
            if entry.weak_aliases:
                self.weak.add(key, list(nlp.tokenizer.pipe(entry.weak_aliases)))

    def __call__(self, doc: Doc) -> Doc:
        anchors = [(e.start, e.end) for e in found(doc) if e.label in ("QUANTITY", "PRICE")]
        labelled = [(doc[s:e], m_id) for m_id, s, e in self.strong(doc)]
        for m_id, s, e in self.weak(doc):
            span = doc[s:e]
            inside = any(a_start < span.end_char and span.start_char < a_end for a_start, a_end in anchors)
            near = any(a_start - WEAK_WINDOW_CHARS <= span.start_char and span.end_char <= a_end + WEAK_WINDOW_CHARS
                       for a_start, a_end in anchors)
            if near and not inside:
                labelled.append((span, m_id))
        keys = {}
        for span, m_id in labelled:
            keys[(span.start, span.end)] = doc.vocab.strings[m_id]
            span.label_ = "PRODUCT"
        best = filter_spans([span for span, _ in labelled])
        doc.spans["products"] = best
        out = found(doc)
        for span in best:
            entry = self.entries[keys[(span.start, span.end)]]
            out.append(Entity(
                label="PRODUCT", text=span.text, field="text", start=span.start_char,
                end=span.end_char, component=self.name, value=entry.canonical,
                attrs={"category": entry.category, "hs_code": entry.hs_code},
            ))
        return doc


@Language.factory(COMPONENT, default_config={"gazetteer": "products.jsonl"})
def make_product_matcher(nlp: Language, name: str, gazetteer: str) -> ProductMatcher:
    return ProductMatcher(nlp, name, gazetteer)
