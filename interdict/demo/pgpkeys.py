"""Deterministic OpenPGP public key blocks for demo vendors (Ed25519, v4 packets)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_ED25519_OID = bytes.fromhex("2B06010401DA470F01")
_EDDSA_LEGACY = 22


def _packet(tag: int, body: bytes) -> bytes:
    length = len(body)
    if length < 192:
        header = bytes([length])
    elif length < 8384:
        length -= 192
        header = bytes([(length >> 8) + 192, length & 0xFF])
    else:
        header = b"\xff" + len(body).to_bytes(4, "big")
    return bytes([0xC0 | tag]) + header + body


def _crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def armor(data: bytes) -> str:
    b64 = base64.b64encode(data).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    crc = base64.b64encode(_crc24(data).to_bytes(3, "big")).decode()
    return "\n".join(["-----BEGIN PGP PUBLIC KEY BLOCK-----", "", *lines, "=" + crc,
                      "-----END PGP PUBLIC KEY BLOCK-----"])


def demo_public_key(seed: str, user_id: str, created: int) -> tuple[str, str]:
    """(armored key block, fingerprint) of an Ed25519 key derived from ``seed``."""
    private = Ed25519PrivateKey.from_private_bytes(hashlib.sha256(seed.encode()).digest())
    point = private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    mpi = (263).to_bytes(2, "big") + b"\x40" + point
    body = bytes([4]) + created.to_bytes(4, "big") + bytes([_EDDSA_LEGACY, len(_ED25519_OID)]) + _ED25519_OID + mpi
    fingerprint = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest().upper()
    data = _packet(6, body) + _packet(13, user_id.encode())
    return armor(data), fingerprint
