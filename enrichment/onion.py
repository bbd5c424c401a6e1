"""Onion service addresses: v3 validation (rend-spec-v3: pubkey, checksum, version)."""

from __future__ import annotations

import base64
import hashlib
import re

ONION_RE = re.compile(r"\b[a-z2-7]{56}\.onion\b", re.I)


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
