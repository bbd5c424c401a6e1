"""Vendor identifiers: PGP keys, wallets, emails, phones, messenger handles, onion links.

Everything is validated the way the identifier's own format allows (PGP packets parsed,
Bitcoin/Monero/Ethereum checksums, phone numbering plans, onion v3 checksums). Candidates
that look right but fail the check are kept with ``valid=False``: an analyst may still care
about a mistyped wallet, but it never links two vendors.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import phonenumbers
from spacy.language import Language
from spacy.tokens import Doc

from config.onion import ONION_RE, is_valid_v3_onion
from enrichment.components import BatchComponent, Mention, found
from enrichment.pgp import PGPError, armored_blocks, parse_public_key
from enrichment.text import text_view
from enrichment.wallets import bitcoin_address_kind, ethereum_address_status, monero_address_kind

COMPONENT = "interdict_identifiers"
# Wallets and Session ids are long runs of letters and digits: one pass finds every such
# token, and each is then tried against the shapes below (cheaper than one scan per shape).
LONG_TOKEN_RE = re.compile(r"(?<![\w])[0-9A-Za-z]{25,110}(?![\w])")
BTC_CANDIDATE_RE = re.compile(r"bc1[a-zA-HJ-NP-Z0-9]{11,87}|[13][a-km-zA-HJ-NP-Z1-9]{25,34}")
XMR_CANDIDATE_RE = re.compile(r"[48][1-9A-HJ-NP-Za-km-z]{94}(?:[1-9A-HJ-NP-Za-km-z]{11})?")
ETH_CANDIDATE_RE = re.compile(r"0x[0-9a-fA-F]{40}")
# The local part is dot-atoms (no leading, trailing or doubled dot): "Email....name@gmail.com"
# is the address name@gmail.com written after a leader, not "email....name@gmail.com".
EMAIL_RE = re.compile(r"(?<![\w+-])(?<![\w+-]\.)[\w+-]{1,64}(?:\.[\w+-]{1,64}){0,8}@(?:[a-z0-9-]{1,63}\.)+[a-z]{2,24}"
                      r"(?![\w-])", re.I)
PHONE_RE = re.compile(r"\+[1-9][\d\s().\-]{6,18}\d(?![\w])")  # "+" first: the regex engine skips to it
SESSION_RE = re.compile(r"05[0-9a-f]{64}", re.I)
_HANDLE = r"@?(?P<handle>[A-Za-z][\w.\-]{2,31}[A-Za-z0-9])"
_SEP = r"\s*(?:[:=\-–]|\bis\b|\bme\b|\bid\b)?\s*"
MESSENGER_RES = {
    "telegram": re.compile(rf"(?:\btelegram\b|\btg\b|\bt\.me/)(?:{_SEP})?{_HANDLE}", re.I),
    "wickr": re.compile(rf"\bwickr(?:\s*me)?(?:\s*id)?{_SEP}{_HANDLE}", re.I),
    "jabber": re.compile(rf"\b(?:jabber|xmpp|jid){_SEP}(?P<handle>[\w.+-]+@(?:[\w-]+\.)+[a-z]{{2,}})", re.I),
}
# Whole words (in view.spaced) that must appear before a messenger's regex is worth running.
MESSENGER_CUES = {"telegram": (" telegram ", " tg ", " t me "), "wickr": (" wickr ",), "jabber": (" jabber ", " xmpp ", " jid ")}
# Words a messenger cue is often followed by that are not handles.
NOT_HANDLES = {"only", "please", "contact", "message", "messages", "username", "handle", "account",
               "available", "and", "or", "for", "the", "with", "channel", "group", "user", "name", "support",
               "admin", "shop", "bot", "chat", "official", "backup", "main", "link"}
# "Telegram support: @calilab12": after such a word, the handle is the one its separator introduces.
_HANDLE_AFTER_LABEL_RE = re.compile(r"\s*[:=\-–]\s*@?(?P<handle>[A-Za-z][\w.\-]{2,31}[A-Za-z0-9])")


_PROSE_AFTER_RE = re.compile(r"\s+[a-z]+\b")


def _prose(text: str, match: re.Match, handle: str) -> bool:
    """A plain lower-case word straight after the cue, with more prose after it, is the
    sentence going on ("download wickr before ordering"), not a handle; one given after a
    separator ("wickr: before", "wickr is joedealer") or that looks like a handle
    ("joe_dealer", "Joe88") still counts."""
    separated = bool(re.search(r"[:=\-–@]|\b(?:is|me|id)\b", text[match.start(0):match.start("handle")], re.I))
    plain = handle.isalpha() and handle.islower()
    return not separated and plain and bool(_PROSE_AFTER_RE.match(text, match.start("handle") + len(handle)))


def _btc(candidate: str) -> tuple[bool, dict]:
    kind = bitcoin_address_kind(candidate)
    return kind is not None, {"kind": kind} if kind else {}


def _xmr(candidate: str) -> tuple[bool, dict]:
    kind = monero_address_kind(candidate)
    return kind is not None, {"kind": kind} if kind else {}


def _eth(candidate: str) -> tuple[bool, dict]:
    status = ethereum_address_status(candidate)
    return status is not None, {"checksum": status} if status else {}


def _session(candidate: str) -> tuple[bool, dict]:
    return True, {}


LONG_TOKENS: list[tuple[str, re.Pattern[str], Callable[[str], tuple[bool, dict]], Callable[[str], str]]] = [
    ("BTC_ADDRESS", BTC_CANDIDATE_RE, _btc, str),
    ("XMR_ADDRESS", XMR_CANDIDATE_RE, _xmr, str),
    ("ETH_ADDRESS", ETH_CANDIDATE_RE, _eth, str.lower),
    ("SESSION_ID", SESSION_RE, _session, str.lower),
]


class IdentifierFinder(BatchComponent):
    def __init__(self, name: str):
        self.name = name

    def _add(self, doc: Doc, text: str, label: str, start: int, end: int, value: str | None,
             attrs: dict | None = None) -> None:
        found(doc).append(Mention(label=label, text=text[start:end], field="text", start=start,
                                 end=end, component=self.name, value=value, attrs=attrs or {}))

    @staticmethod
    def _long_tokens(view) -> list[re.Match[str]]:
        """Runs of 25+ letters and digits; most texts have none, which one split tells cheaply."""
        words = view.spaced.split()
        if not words or max(map(len, words)) < 25:
            return []
        return list(LONG_TOKEN_RE.finditer(view.text))

    def __call__(self, doc: Doc) -> Doc:
        view = text_view(doc)
        text = view.text
        taken: list[tuple[int, int]] = []

        def free(start: int, end: int) -> bool:
            return all(end <= s or start >= e for s, e in taken)

        if "-----BEGIN PGP" in text:
            for span in armored_blocks(text):
                taken.append(span)
                try:
                    key = parse_public_key(text[span[0]:span[1]])
                except (PGPError, IndexError) as exc:
                    self._add(doc, text, "PGP_KEY_INVALID", *span, value=None, attrs={"error": str(exc)})
                    continue
                self._add(doc, text, "PGP_FINGERPRINT", *span, value=key.fingerprint,
                          attrs={"key_id": key.key_id, "user_ids": list(key.user_ids),
                                 "created": key.created, "algorithm": key.algorithm})
        for match in self._long_tokens(view):
            if not free(*match.span()):
                continue
            candidate = match.group(0)
            for label, shape, check, normalise in LONG_TOKENS:
                if shape.fullmatch(candidate):
                    valid, attrs = check(candidate)
                    taken.append(match.span())
                    self._add(doc, text, label, *match.span(), value=normalise(candidate),
                              attrs={**attrs, "valid": valid})
                    break
        spaced = view.spaced
        if "@" in text:
            if any(cue in spaced for cue in MESSENGER_CUES["jabber"]):
                for match in MESSENGER_RES["jabber"].finditer(text):
                    taken.append(match.span("handle"))
                    self._add(doc, text, "JABBER", *match.span("handle"), value=match["handle"].lower(),
                              attrs={"valid": True})
            for match in EMAIL_RE.finditer(text):
                if free(*match.span()):
                    self._add(doc, text, "EMAIL", *match.span(), value=match.group(0).lower(), attrs={"valid": True})
        if ".onion" in view.folded:
            for match in ONION_RE.finditer(text):
                if free(*match.span()):
                    valid = is_valid_v3_onion(match.group(0))
                    self._add(doc, text, "ONION", *match.span(), value=match.group(0).lower(), attrs={"valid": valid})
        for kind in ("telegram", "wickr"):
            if not any(cue in spaced for cue in MESSENGER_CUES[kind]):
                continue
            for match in MESSENGER_RES[kind].finditer(text):
                handle, start = match["handle"].rstrip(".-"), match.start("handle")
                if handle.lower() in NOT_HANDLES:
                    labelled = _HANDLE_AFTER_LABEL_RE.match(text, match.end("handle"))
                    if labelled is None or labelled["handle"].lower() in NOT_HANDLES:
                        continue
                    handle, start = labelled["handle"].rstrip(".-"), labelled.start("handle")
                elif _prose(text, match, handle):
                    continue
                if not free(start, start + len(handle)):
                    continue
                self._add(doc, text, kind.upper(), start, start + len(handle), value=handle.lower(),
                          attrs={"valid": True})
        for match in PHONE_RE.finditer(text) if "+" in text else ():
            start = match.start()
            if (start and (text[start - 1].isalnum() or text[start - 1] in "_+")) or not free(*match.span()):
                continue
            try:
                number = phonenumbers.parse(match.group(0), None)
            except phonenumbers.NumberParseException:
                continue
            valid = phonenumbers.is_valid_number(number)
            value = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
            self._add(doc, text, "PHONE", *match.span(), value=value,
                      attrs={"valid": valid, "region": phonenumbers.region_code_for_number(number)})
        return doc


@Language.factory(COMPONENT, assigns=["doc._.interdict_identifiers"])
def make_identifier_finder(nlp: Language, name: str) -> IdentifierFinder:
    return IdentifierFinder(name)
