"""The vocabulary of market pages: labels (labels.json) and what kind of value each field
takes. A proposed value is only accepted when it is of its field's kind."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

from contracts.money import best_money, money_in
from contracts.vocabulary import load_units
from crawlers.extract.dom import Segment, collapse
from crawlers.extract.values import integer, place_codes

_DATA = json.loads((Path(__file__).parent / "labels.json").read_text(encoding="utf-8"))
LABELS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _DATA["fields"].items()}
NEEDS_COLON = frozenset(_DATA["bare_needs_colon"])
SUFFIX: dict[str, str] = _DATA["suffix"]
VENDOR_LINK_PATTERNS = tuple(_DATA["vendor_link_patterns"])
HINTS: dict[str, tuple[str, ...]] = {k: tuple(v) for k, v in _DATA["hints"].items()}
GENERIC_LINK_TEXTS = frozenset(_DATA["generic_link_texts"])
LABEL_RE = re.compile(
    r"^(?P<label>" + "|".join(sorted(map(re.escape, LABELS), key=len, reverse=True)) + r")"
    r"(?:\s*\((?P<qualifier>[^()]{1,24})\))?"  # "Ships to (product)", "Price (per gram)"
    r"(?=[\s:：]|$)\s*(?P<colon>[:：])?\s*", re.I)
# A qualified label about the listing itself beats one about its seller ("Ships to (seller)").
LISTING_QUALIFIERS = frozenset(_DATA["listing_qualifiers"])
EDGE_PUNCT = " \t-–—|:›»>/·•,()[]{}*"
_COUNT_SUFFIX_RE = re.compile(r"\s*[(\[]\d+[)\]]$")
MENU_COUNT_RE = re.compile(r"\s*[(\[]?\d+[)\]]?$")  # "Cannabis 153", "Drugs (14312)": a menu entry's count
_ARROW_RE = re.compile(r"\s*(?:⟶|→|->|=>|➔|➜|>)\s*")
BARE_AMOUNT_RE = re.compile(r"^\s*(?:[$€£]\s?)?\d+(?:[ .,\u00a0\u202f]\d+)*\s*$")
HANDLE_RE = re.compile(r"^@([\w.\-]{2,40})$")
_NAME_RE = re.compile(r"^[\w.\-]+(?: [\w.\-]+){0,2}$")
_UNIT_WORDS = sorted(load_units().unit_words | {"cards", "accounts", "bottles"},
                     key=len, reverse=True)
QUANTITY_RE = re.compile(r"\d+(?:[.,]\d+)?\s?(?:x\s?)?(?:" + "|".join(map(re.escape, _UNIT_WORDS)) + r")\b", re.I)

@lru_cache(maxsize=65536)  # a market's pages repeat their labels and menus
def label_of(text: str) -> tuple[str, str] | None:
    """(label, value written after it in the same text) when ``text`` starts with a label."""
    match = LABEL_RE.match(text)
    if not match:
        return None
    label, rest = match["label"].lower(), text[match.end():].strip()
    if rest and not match["colon"] and " " not in label:
        return None  # "Price is great" is not a label; "Ships from Germany" is
    if not match["colon"] and label in NEEDS_COLON and (rest or text.strip().lower() != label):
        return None
    return label, rest


def about_the_listing(text: str) -> bool:
    """False for a label qualified as being about something else: 'Ships to (seller)'."""
    match = LABEL_RE.match(text)
    return not (match and match["qualifier"]) or match["qualifier"].strip().lower() in LISTING_QUALIFIERS


INLINE_LABEL_RE = re.compile(
    r"(?<![^\W\d_])(?:" + "|".join(sorted(map(re.escape, LABELS), key=len, reverse=True)) + r")\s*[:：]", re.I)
MAX_INLINE_CHARS = 400
_ANY_LABEL_START_RE = re.compile(r"^[^\W\d_][^\W\d_ ]*(?: [^\W\d_]+){0,2}\s*[:：]\s*\S")


def split_inline_labels(text: str) -> list[str]:
    """'Class: Physical Ships from: Germany Ships to: Worldwide' -> one piece per label, when
    the text starts with a label and holds several (a cell of label: value pairs)."""
    if len(text) > MAX_INLINE_CHARS:
        return [text]
    starts = [m.start() for m in INLINE_LABEL_RE.finditer(text)]
    if starts and starts[0] != 0 and _ANY_LABEL_START_RE.match(text):
        starts.insert(0, 0)  # "Class: Physical Ships from: …": a label this file does not know first
    if len(starts) < 2 or starts[0] != 0:
        return [text]
    return [text[a:b].strip() for a, b in zip(starts, starts[1:] + [len(text)]) if text[a:b].strip()]


def starts_section(text: str) -> bool:
    """A label on its own or with a colon; "Ships from NL to DE." inside prose is not one."""
    found = label_of(text)
    return bool(found) and (not found[1] or bool(re.match(r"[^:：]{1,30}[:：]", text)))


def clean_value(text: str) -> str:
    return _COUNT_SUFFIX_RE.sub("", collapse(text)).strip(EDGE_PUNCT)


def split_route(value: str) -> tuple[str, str | None]:
    """'NL⟶WW, EU' -> ('NL', 'WW, EU'); a value without an arrow is all origin."""
    parts = _ARROW_RE.split(value, maxsplit=1)
    return (parts[0].strip(), parts[1].strip()) if len(parts) == 2 and parts[1].strip() else (value, None)


def vendor_link(url: str, text: str = "") -> bool:
    """A link to a vendor's profile: a profile pattern followed by at most the vendor's id
    ("/store/john-doe", not "/store/john-doe/item/3b85…", which is one of their listings),
    or by the link's own text and a token ("/@BadBreed/e9b3…" reading "BadBreed")."""
    rests = _profile_rests(url)
    if not rests:
        return False
    name = clean_value(text).lstrip("@").lower()
    return any(rest.count("/") == 0 or (name and rest.split("/", 1)[0] == name) for rest in rests)


@lru_cache(maxsize=65536)
def _profile_rests(url: str) -> tuple[str, ...]:
    """What follows each profile pattern the URL holds ("/vendor/x" -> "x")."""
    lowered = url.lower().split("#")[0].rstrip("/")
    rests = []
    for pattern in VENDOR_LINK_PATTERNS:
        at = lowered.find(pattern)
        if at >= 0:
            rest = lowered[at + len(pattern):].lstrip("/=")
            if rest:
                rests.append(rest)
    return tuple(rests)


def vendor_name(text: str) -> str | None:
    """A vendor name as markets print it: one to three short words, not a number or money."""
    text = clean_value(text).lstrip("@")
    if not text or len(text) > 40 or not _NAME_RE.match(text) or text.replace(".", "").isdigit():
        return None
    if text.lower() in GENERIC_LINK_TEXTS or money_in(text):
        return None
    return text


def title_like(text: str) -> bool:
    bare = text.strip(EDGE_PUNCT)
    return len(bare) >= 3 and bare.lower() not in GENERIC_LINK_TEXTS and not (money_in(bare) and len(bare) < 30)


def has_hint(segment: Segment, kind: str) -> bool:
    return _hints_have(segment.hints, kind)


@lru_cache(maxsize=65536)
def _hints_have(hints: str, kind: str) -> bool:
    return any(h in hints for h in HINTS[kind])


def accept(field_name: str, text: str):
    """The value of ``field_name`` in ``text``, or None when the text is not of that kind."""
    text = collapse(text)
    if field_name == "price":
        return best_money(text)
    if field_name == "vendor":
        return vendor_name(text)
    if field_name in ("ships_from", "ships_to"):
        value = clean_value(text)
        return value if place_codes(split_route(value)[0]) else None
    if field_name == "category":
        value = clean_value(text)
        return value if 0 < len(value) <= 80 and not money_in(value) else None
    if field_name == "stock":
        return integer(text)
    if field_name == "description":
        return text if len(text) >= 3 else None
    return None


