"""Cryptocurrency address validation: Bitcoin base58check and bech32/bech32m (BIP 173/350).

An address is reported only when its checksum holds, so a random 34-character string never
becomes a "wallet" in an investigator's view.
"""

from __future__ import annotations

import hashlib

B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(B58_ALPHABET)}
BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32_CONST, _BECH32M_CONST = 1, 0x2BC830A3

# Version bytes of mainnet P2PKH and P2SH addresses.
BTC_BASE58_VERSIONS = {0x00: "p2pkh", 0x05: "p2sh"}


def _dsha256(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    out = ""
    while number:
        number, rem = divmod(number, 58)
        out = B58_ALPHABET[rem] + out
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + out


def _b58_number(text: str) -> int | None:
    number = 0
    for char in text:
        if char not in _B58_INDEX:
            return None
        number = number * 58 + _B58_INDEX[char]
    return number


def b58decode(text: str) -> bytes | None:
    number = _b58_number(text)
    if number is None:
        return None
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\0" * pad + body


def b58check_encode(version: int, payload: bytes) -> str:
    raw = bytes([version]) + payload
    return b58encode(raw + _dsha256(raw)[:4])


def b58check_decode(text: str) -> tuple[int, bytes] | None:
    raw = b58decode(text)
    if raw is None or len(raw) < 5:
        return None
    body, checksum = raw[:-4], raw[-4:]
    if _dsha256(body)[:4] != checksum:
        return None
    return body[0], body[1:]


def _polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if (top >> i) & 1 else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def _convertbits(data: list[int] | bytes, frombits: int, tobits: int, pad: bool) -> list[int] | None:
    acc = bits = 0
    out: list[int] = []
    maxv = (1 << tobits) - 1
    for value in data:
        if value < 0 or value >> frombits:
            return None
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad and bits:
        out.append((acc << (tobits - bits)) & maxv)
    elif not pad and (bits >= frombits or (acc << (tobits - bits)) & maxv):
        return None
    return out


def segwit_encode(hrp: str, witver: int, program: bytes) -> str:
    data = [witver] + (_convertbits(program, 8, 5, True) or [])
    const = _BECH32_CONST if witver == 0 else _BECH32M_CONST
    polymod = _polymod(_hrp_expand(hrp) + data + [0] * 6) ^ const
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[d] for d in data + checksum)


def segwit_decode(address: str, hrp: str = "bc") -> tuple[int, bytes] | None:
    if address.lower() != address and address.upper() != address:
        return None
    address = address.lower()
    pos = address.rfind("1")
    if pos < 1 or pos + 7 > len(address) or len(address) > 90 or address[:pos] != hrp:
        return None
    try:
        data = [BECH32_CHARSET.index(c) for c in address[pos + 1 :]]
    except ValueError:
        return None
    const = _polymod(_hrp_expand(hrp) + data)
    if const not in (_BECH32_CONST, _BECH32M_CONST):
        return None
    witver = data[0]
    if witver > 16 or (witver == 0) != (const == _BECH32_CONST):
        return None
    program = _convertbits(data[1:-6], 5, 8, False)
    if program is None or not 2 <= len(program) <= 40:
        return None
    if witver == 0 and len(program) not in (20, 32):
        return None
    return witver, bytes(program)


def bitcoin_address_kind(address: str) -> str | None:
    """The kind of a valid mainnet Bitcoin address, or None when it is not one."""
    if address[:3].lower() == "bc1":
        decoded = segwit_decode(address)
        if decoded is None:
            return None
        return "p2tr" if decoded[0] == 1 else "p2wpkh" if len(decoded[1]) == 20 else "p2wsh"
    decoded_b58 = b58check_decode(address)
    if decoded_b58 is None or len(decoded_b58[1]) != 20:
        return None
    return BTC_BASE58_VERSIONS.get(decoded_b58[0])


def keccak256(data: bytes) -> bytes:
    """Keccak-256 as Ethereum and Monero use it (not NIST SHA3-256: the padding differs)."""
    from Crypto.Hash import keccak

    return keccak.new(digest_bits=256, data=data).digest()


# Monero's base58 works on 8-byte blocks, each encoded as 11 characters (the last block shorter).
_XMR_BLOCK_CHARS = {0: 0, 1: 2, 2: 3, 3: 5, 4: 6, 5: 7, 6: 9, 7: 10, 8: 11}
_XMR_CHARS_BLOCK = {v: k for k, v in _XMR_BLOCK_CHARS.items()}
XMR_PREFIXES = {18: "standard", 19: "integrated", 42: "subaddress"}


def monero_b58decode(text: str) -> bytes | None:
    out = b""
    for i in range(0, len(text), 11):
        chunk = text[i:i + 11]
        size = _XMR_CHARS_BLOCK.get(len(chunk))
        if size is None:
            return None
        number = _b58_number(chunk)
        if number is None or number >> (8 * size):
            return None
        out += number.to_bytes(size, "big")
    return out


def monero_b58encode(data: bytes) -> str:
    out = ""
    for i in range(0, len(data), 8):
        block = data[i:i + 8]
        number, chars = int.from_bytes(block, "big"), ""
        for _ in range(_XMR_BLOCK_CHARS[len(block)]):
            number, rem = divmod(number, 58)
            chars = B58_ALPHABET[rem] + chars
        out += chars
    return out


def monero_address_kind(address: str) -> str | None:
    """'standard', 'integrated' or 'subaddress' for a mainnet address whose checksum holds."""
    if len(address) not in (95, 106):
        return None
    raw = monero_b58decode(address)
    if raw is None or len(raw) < 5:
        return None
    body, checksum = raw[:-4], raw[-4:]
    if keccak256(body)[:4] != checksum:
        return None
    return XMR_PREFIXES.get(body[0])


def ethereum_address_status(address: str) -> str | None:
    """'checksummed' (EIP-55 mixed case verified), 'unchecksummed' (one case), None if invalid."""
    if len(address) != 42 or not address.startswith("0x"):
        return None
    hexpart = address[2:]
    if any(c not in "0123456789abcdefABCDEF" for c in hexpart):
        return None
    if hexpart.islower() or hexpart.isupper() or hexpart.isdigit():
        return "unchecksummed"
    digest = keccak256(hexpart.lower().encode()).hex()
    for char, nibble in zip(hexpart, digest):
        if char.isalpha() and char.isupper() != (int(nibble, 16) >= 8):
            return None
    return "checksummed"
