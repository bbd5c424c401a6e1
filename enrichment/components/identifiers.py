"""Vendor identifiers: PGP key fingerprints, Bitcoin addresses, emails, onion links."""

from __future__ import annotations

import re

from spacy.language import Language
from spacy.tokens import Doc

from enrichment.components import found
from enrichment.contracts import Entity
from config.onion import ONION_RE, is_valid_v3_onion
from enrichment.pgp import ARMOR_RE, PGPError, parse_public_key
from enrichment.wallets import bitcoin_address_kind

COMPONENT = "interdict_identifiers"
BTC_CANDIDATE_RE = re.compile(r"(?<![\w])(bc1[a-zA-HJ-NP-Z0-9]{11,87}|[13][a-km-zA-HJ-NP-Z1-9]{25,34})(?![\w])")
EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]{1,64}@(?:[a-z0-9-]{1,63}\.)+[a-z]{2,24}(?![\w-])", re.I)


class IdentifierFinder:
    def __init__(self, name: str):
        self.name = name

    def _add(self, doc: Doc, label: str, start: int, end: int, value: str, attrs: dict | None = None):
        found(doc).append(Entity(label=label, text=doc.text[start:end], field="text", start=start,
                                 end=end, component=self.name, value=value, attrs=attrs or {}))

    def __call__(self, doc: Doc) -> Doc:
        text = doc.text
        key_spans = []
        for match in ARMOR_RE.finditer(text):
            key_spans.append(match.span())
            try:
                key = parse_public_key(match.group(0))
            except (PGPError, IndexError) as exc:
                self._add(doc, "PGP_KEY_INVALID", *match.span(), value=None, attrs={"error": str(exc)})
                continue
            self._add(doc, "PGP_FINGERPRINT", *match.span(), value=key.fingerprint,
                      attrs={"key_id": key.key_id, "user_ids": list(key.user_ids),
                             "created": key.created, "algorithm": key.algorithm})

        def outside_keys(start: int, end: int) -> bool:
            return all(end <= s or start >= e for s, e in key_spans)

        for match in BTC_CANDIDATE_RE.finditer(text):
            if not outside_keys(*match.span()):
                continue
            kind = bitcoin_address_kind(match.group(1))
            if kind:
                self._add(doc, "BTC_ADDRESS", *match.span(1), value=match.group(1), attrs={"kind": kind})
        for match in EMAIL_RE.finditer(text):
            if outside_keys(*match.span()):
                self._add(doc, "EMAIL", *match.span(), value=match.group(0).lower())
        for match in ONION_RE.finditer(text):
            if outside_keys(*match.span()) and is_valid_v3_onion(match.group(0)):
                self._add(doc, "ONION", *match.span(), value=match.group(0).lower())
        return doc


@Language.factory(COMPONENT)
def make_identifier_finder(nlp: Language, name: str) -> IdentifierFinder:
    return IdentifierFinder(name)
