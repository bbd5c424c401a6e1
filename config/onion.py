"""Onion service addresses: v3 validation (rend-spec-v3: pubkey, checksum, version).

Here in `config` because market URLs are validated at start-up; enrichment uses it too."""

from __future__ import annotations

import base64
import hashlib
import re

ONION_RE = re.compile(r"\b[a-z2-7]{56}\.onion\b", re.I)


def onion_problem(host: str) -> str | None:
    """Why ``host`` is not a usable onion address, or None when it is a valid v3 one."""
    label = host.lower().removesuffix(".onion").rsplit(".", 1)[-1]
    if len(label) == 16:
        return f"{host} is a v2 onion address; v2 services were retired in 2021"
    if len(label) != 56 or not re.fullmatch(r"[a-z2-7]{56}", label):
        return f"{host} is not a v3 onion address (56 base32 characters before .onion)"
    if not is_valid_v3_onion(host):
        return f"{host} fails the v3 onion checksum or version byte (mistyped?)"
    return None


def is_valid_v3_onion(host: str) -> bool:
    label = host.lower().removesuffix(".onion").rsplit(".", 1)[-1]
    if len(label) != 56 or not re.fullmatch(r"[a-z2-7]{56}", label):
        return False
    raw = base64.b32decode(label.upper())
    pubkey, checksum, version = raw[:32], raw[32:34], raw[34:]
    if version != b"\x03":
        return False
    expected = hashlib.sha3_256(b".onion checksum" + pubkey + version).digest()[:2]
    return checksum == expected


def onion_address(pubkey: bytes) -> str:
    """The v3 onion hostname of an ed25519 public key (used by the demo and tests)."""
    version = b"\x03"
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + version).digest()[:2]
    return base64.b32encode(pubkey + checksum + version).decode().lower() + ".onion"
