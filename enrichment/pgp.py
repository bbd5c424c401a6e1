"""OpenPGP public key blocks: de-armor, walk the packets, compute fingerprints (RFC 4880/9580).

Fingerprints are computed from the key material itself, never read from text around it, so
a vendor's claimed fingerprint cannot be confused with the key they actually published.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

ARMOR_RE = re.compile(
    r"-----BEGIN PGP PUBLIC KEY BLOCK-----(?P<body>.*?)-----END PGP PUBLIC KEY BLOCK-----",
    re.S,
)
ARMOR_BEGIN, ARMOR_END = "-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----END PGP PUBLIC KEY BLOCK-----"
_TAG_PUBLIC_KEY, _TAG_PUBLIC_SUBKEY, _TAG_USER_ID = 6, 14, 13


def armored_blocks(text: str) -> list[tuple[int, int]]:
    """Spans of the armored public-key blocks in ``text``, in linear time.

    Each END pairs with the last BEGIN before it; a regex with a lazy ``.*?`` rescans the
    text from every unmatched BEGIN, which a page of repeated headers turns quadratic.
    """
    spans, pos = [], 0
    while True:
        end = text.find(ARMOR_END, pos)
        if end < 0:
            return spans
        begin = text.rfind(ARMOR_BEGIN, pos, end)
        if begin >= 0:
            spans.append((begin, end + len(ARMOR_END)))
        pos = end + len(ARMOR_END)


_ARMOR_HEADER_RE = re.compile(r"^[A-Za-z][A-Za-z-]*: ")


class PGPError(ValueError):
    pass


@dataclass(frozen=True)
class PublicKey:
    fingerprint: str  # upper-case hex, 40 chars (v4) or 64 (v5/v6)
    key_id: str  # last 16 hex digits of a v4 fingerprint
    version: int
    algorithm: int
    created: int
    user_ids: tuple[str, ...]
    subkey_fingerprints: tuple[str, ...]


def dearmor(block: str) -> bytes:
    match = ARMOR_RE.search(block)
    if not match:
        raise PGPError("no PGP public key block")
    lines = [ln.strip() for ln in match.group("body").strip().splitlines()]
    # Armor headers ("Version: ...", "Comment: ...") end at the first blank line — which
    # copy-pasted keys on market pages often lost, so header-shaped lines go either way.
    if "" in lines and any(":" in ln for ln in lines[: lines.index("")]):
        lines = lines[lines.index("") + 1 :]
    while lines and _ARMOR_HEADER_RE.match(lines[0]):
        lines = lines[1:]
    data_lines = [ln for ln in lines if ln and not ln.startswith("=")]
    try:
        return base64.b64decode("".join(data_lines), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PGPError(f"bad base64 in key block: {exc}") from None


def _packets(data: bytes):
    pos = 0
    while pos < len(data):
        header = data[pos]
        if not header & 0x80:
            raise PGPError(f"invalid packet header at byte {pos}")
        if header & 0x40:  # new format
            tag = header & 0x3F
            first = data[pos + 1]
            if first < 192:
                length, hlen = first, 2
            elif first < 224:
                length, hlen = ((first - 192) << 8) + data[pos + 2] + 192, 3
            elif first == 255:
                length, hlen = int.from_bytes(data[pos + 2 : pos + 6], "big"), 6
            else:
                raise PGPError("partial body lengths are not allowed in key packets")
        else:  # old format
            tag = (header >> 2) & 0x0F
            ltype = header & 0x03
            size = {0: 1, 1: 2, 2: 4}.get(ltype)
            if size is None:
                raise PGPError("indeterminate packet length")
            length = int.from_bytes(data[pos + 1 : pos + 1 + size], "big")
            hlen = 1 + size
        body = data[pos + hlen : pos + hlen + length]
        if len(body) != length:
            raise PGPError("truncated packet")
        yield tag, body
        pos += hlen + length


def _fingerprint(body: bytes) -> tuple[str, int, int, int]:
    if len(body) < 6:
        raise PGPError("key packet too short")
    version = body[0]
    if version == 4:
        digest = hashlib.sha1(b"\x99" + len(body).to_bytes(2, "big") + body).hexdigest()
    elif version in (5, 6):
        prefix = b"\x9a" if version == 5 else b"\x9b"
        digest = hashlib.sha256(prefix + len(body).to_bytes(4, "big") + body).hexdigest()
    else:
        raise PGPError(f"unsupported key version {version}")
    created = int.from_bytes(body[1:5], "big")
    return digest.upper(), version, body[5], created


def parse_public_key(block: str) -> PublicKey:
    primary = None
    user_ids: list[str] = []
    subkeys: list[str] = []
    for tag, body in _packets(dearmor(block)):
        if tag == _TAG_PUBLIC_KEY and primary is None:
            primary = _fingerprint(body)
        elif tag == _TAG_PUBLIC_SUBKEY:
            subkeys.append(_fingerprint(body)[0])
        elif tag == _TAG_USER_ID:
            user_ids.append(body.decode("utf-8", "replace"))
    if primary is None:
        raise PGPError("key block holds no public key packet")
    fingerprint, version, algorithm, created = primary
    return PublicKey(
        fingerprint=fingerprint,
        key_id=fingerprint[-16:],
        version=version,
        algorithm=algorithm,
        created=created,
        user_ids=tuple(user_ids),
        subkey_fingerprints=tuple(subkeys),
    )
