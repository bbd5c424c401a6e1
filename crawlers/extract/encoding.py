"""Saved pages' bytes to text by what the bytes are, not only by what the page declares.

Captures often lie: a page declares UTF-8 and was saved in Windows-1252 (a "€" becomes "�"),
or declares ISO-8859-1 and is UTF-8 (a "€" becomes "â‚¬"). Valid UTF-8 with non-ASCII text is
never an accident, so it wins; bytes that are not UTF-8 are read in the encoding the page
declares when that fits, else the one charset-normalizer detects; Western single-byte text
(the usual liar) is read byte by byte as Windows-1252 inside otherwise UTF-8 text, so a page
mixing both keeps both.
"""

from __future__ import annotations

import codecs
import re

from w3lib.encoding import html_body_declared_encoding, read_bom, resolve_encoding

DETECT_BYTES = 200_000  # enough of a page to tell its encoding
WESTERN_HIGH_SHARE = 0.3
_TAG_RE = re.compile(rb"<[^>]*>")
_ASCII_LETTERS_RE = re.compile(rb"[A-Za-z]")
_WESTERN = frozenset({"cp1252", "latin_1", "iso8859_15", "cp1250", "mac_roman", "ascii"})


def _cp1252_bytes(error: UnicodeDecodeError) -> tuple[str, int]:
    chunk = error.object[error.start:error.end]
    return "".join(bytes([b]).decode("cp1252", errors="ignore") or chr(b) for b in chunk), error.end


codecs.register_error("interdict-cp1252", _cp1252_bytes)


def _codec(name: str | None) -> str | None:
    if not name:
        return None
    resolved = resolve_encoding(name)
    try:
        return codecs.lookup(resolved).name if resolved else None
    except LookupError:
        return None


def decode_html(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """(text, how it was decoded): ``declared`` is the HTTP header's charset, if any."""
    bom, _ = read_bom(data)
    if bom:
        return data.decode(bom, errors="replace").lstrip("\ufeff"), bom
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    said = _codec(declared) or _codec(html_body_declared_encoding(data[:4096]))
    if said and said != "utf-8":
        try:
            return data.decode(said), said
        except UnicodeDecodeError:
            pass
    if _mostly_ascii_letters(data[:DETECT_BYTES]):  # accents and a "€" in Western text: too few to detect by
        return data.decode("utf-8", errors="interdict-cp1252"), "utf-8 with windows-1252 bytes"
    from charset_normalizer import from_bytes

    best = from_bytes(data[:DETECT_BYTES]).best()
    guess = _codec(best.encoding) if best is not None else None
    if guess and guess not in _WESTERN and guess != "utf-8":
        return data.decode(guess, errors="replace"), f"{guess} (detected)"
    return data.decode("utf-8", errors="interdict-cp1252"), "utf-8 with windows-1252 bytes"


def _mostly_ascii_letters(data: bytes) -> bool:
    """Text (markup cut) whose letters are mostly ASCII: a Western language. Cyrillic, Greek or
    Arabic in a single-byte encoding has most of its letters above 0x7f."""
    text = _TAG_RE.sub(b" ", data)
    high = sum(1 for b in text if b >= 0x80)
    ascii_letters = len(_ASCII_LETTERS_RE.findall(text))
    return high < WESTERN_HIGH_SHARE * (high + ascii_letters)
