"""Identifier search keys: one normalisation for the identifiers stores keep and the ones
analysts type, whatever way either was written.

The kind is read from the value itself, so a stored fingerprint and a typed one meet on the
same key: PGP fingerprints as upper-case hex without spaces (a v4 fingerprint is also found
by its long and short key ids), e-mail and Jabber addresses lower-case with any leader
stripped ("Email....name@gmail.com"), phone numbers as "+" and digits, bech32 and Ethereum
addresses lower-case, base58 addresses (Bitcoin, Monero) exactly as written — their case
is part of the address — onion links as their host, handles lower-case without "@".
Imports nothing of the project.
"""

from __future__ import annotations

import re

_HEX_RE = re.compile(r"(?:0x)?([0-9a-f]{8}|[0-9a-f]{16}|[0-9a-f]{40}|[0-9a-f]{64})", re.I)
_SPACED_HEX_RE = re.compile(r"[0-9a-f]{4}(?:[\s:]+[0-9a-f]{4}){9}(?:(?:[\s:]+[0-9a-f]{4}){6})?", re.I)
_ETH_RE = re.compile(r"0x[0-9a-f]{40}", re.I)
_BECH32_RE = re.compile(r"(?:bc|tb|ltc)1[02-9ac-hj-np-z]{11,87}", re.I)
_BASE58_RE = re.compile(r"[13][1-9A-HJ-NP-Za-km-z]{25,34}|[48][1-9A-HJ-NP-Za-km-z]{94}(?:[1-9A-HJ-NP-Za-km-z]{11})?")
_EMAIL_RE = re.compile(r"[\w+-]{1,64}(?:\.[\w+-]{1,64}){0,8}@(?:[a-z0-9-]{1,63}\.)+[a-z]{2,24}", re.I)
_ONION_RE = re.compile(r"(?:[a-z2-7]{56}|[a-z2-7]{16})\.onion", re.I)
_PHONE_RE = re.compile(r"\+\s?\d[\d\s().\-]{6,20}\d")
_HANDLE_RE = re.compile(r"@([A-Za-z][\w.\-]{2,31}[A-Za-z0-9])")

# Identifiers an analyst may type among other words: each is unmistakable on its own.
_IN_TEXT_RE = re.compile(
    r"(?<![\w.+-])(?:"
    rf"(?P<email>(?:[a-z]+(?:\.{{2,}}|:))?{_EMAIL_RE.pattern})"  # a leader ("Email....") goes with it
    rf"|(?P<onion>(?:https?://)?{_ONION_RE.pattern}\S*)"
    rf"|(?P<fingerprint>{_SPACED_HEX_RE.pattern}|[0-9a-f]{{40}}|[0-9a-f]{{64}})"
    r"|(?P<keyid>0x[0-9a-f]{16}|0x[0-9a-f]{8})"
    rf"|(?P<eth>{_ETH_RE.pattern})"
    rf"|(?P<bech32>{_BECH32_RE.pattern})"
    rf"|(?P<base58>{_BASE58_RE.pattern})"
    rf"|(?P<phone>{_PHONE_RE.pattern})"
    rf"|{_HANDLE_RE.pattern}"
    r")(?![\w@-])", re.I)


def identifier_key(value: str) -> str:
    """The search key of one identifier, stored or typed."""
    value = value.strip().strip("<>\"'")
    for prefix in ("mailto:", "xmpp:", "jabber:", "tel:"):
        if value.lower().startswith(prefix):
            value = value[len(prefix):]
    if _SPACED_HEX_RE.fullmatch(value):
        return re.sub(r"[\s:]", "", value).upper()
    hexed = _HEX_RE.fullmatch(value)
    if hexed and not _ETH_RE.fullmatch(value):
        return hexed.group(1).upper()
    onion = _ONION_RE.search(value)
    if onion:
        return onion.group(0).lower()
    if "@" in value and not value.startswith("@"):
        emails = _EMAIL_RE.findall(value)
        if emails:
            # The address is the dot-atoms before "@"; a leader before it ("Email....") is not.
            local, _, domain = value.rpartition("@")
            local = re.split(r"\.{2,}|[:\s]", local)[-1]
            return f"{local}@{domain}".lower()
    if _PHONE_RE.fullmatch(value):
        return "+" + re.sub(r"\D", "", value)
    if _ETH_RE.fullmatch(value) or _BECH32_RE.fullmatch(value):
        return value.lower()
    if _BASE58_RE.fullmatch(value):
        return value
    return value.removeprefix("@").casefold()


def identifier_keys(value: str) -> list[str]:
    """The keys a stored identifier is found by: its own, and for a v4 PGP fingerprint its
    long and short key ids (a vendor's page often gives only "0x89ABCDEF")."""
    key = identifier_key(value)
    if len(key) == 40 and _HEX_RE.fullmatch(key):
        return [key, key[-16:], key[-8:]]
    return [key]


def identifiers_in_text(text: str) -> tuple[list[str], str]:
    """(search keys of the identifiers in a free-text query, the text without them)."""
    keys: list[str] = []

    def take(match: re.Match) -> str:
        keys.append(identifier_key(match.group(0)))
        return " "

    rest = _IN_TEXT_RE.sub(take, text) if any(c in text for c in "@.+0123456789") else text
    return list(dict.fromkeys(keys)), " ".join(rest.split()) if keys else text
