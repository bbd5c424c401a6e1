"""A listing page's own photos, told from the site's chrome (logos, icons, arrows, badges,
avatars, banners) on a page no page object reads: each image is judged by what it and its
ancestors say of themselves (words in crawlers/extract/gallery.json) and by its size where
the page declares it (attributes, or the header of an inline ``data:`` image). Kept: images
no chrome word, chrome element or small size gives away, each once, in page order."""

from __future__ import annotations

import base64
import binascii
import json
import re
import struct
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from crawlers.extract.dom import Element, Page

_TOKEN_RE = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])")
_PIXELS_RE = re.compile(r"^\s*(\d+)\s*(?:px)?\s*$")
_SIZE_CLASS_RE = re.compile(r"^(?:w|h|size)-(\d+)$")  # utility-CSS sizes: w-6 = 1.5rem = 24 px


@lru_cache(maxsize=1)
def _words() -> dict:
    data = json.loads(Path(__file__).with_name("gallery.json").read_text(encoding="utf-8"))
    return {"chrome": frozenset(data["chrome_words"]), "gallery": frozenset(data["gallery_words"]),
            "tags": frozenset(data["chrome_tags"]), "min_side": data["min_side_px"]}


def _tokens(*texts: str | None) -> set[str]:
    return {t.lower() for text in texts if text for t in _TOKEN_RE.findall(text)}


def _declared_side(img: Element) -> int | None:
    """The smaller side the page gives the image (attributes, utility classes), if it does."""
    sides = []
    for name in ("width", "height"):
        found = _PIXELS_RE.match(img.get(name) or "")
        if found:
            sides.append(int(found.group(1)))
    for token in (img.get("class") or "").split():
        found = _SIZE_CLASS_RE.match(token)
        if found:
            sides.append(int(found.group(1)) * 4)  # 0.25 rem steps of 16 px
    return min(sides) if sides else None


def inline_side(uri: str) -> int | None:
    """The smaller side of an inline PNG, GIF or JPEG, read from its first bytes."""
    try:
        head = base64.b64decode(uri.split(",", 1)[1][:4096].rstrip("=") + "==", validate=False)
    except (IndexError, binascii.Error, ValueError):
        return None
    if head.startswith(b"\x89PNG") and len(head) >= 24:
        return min(struct.unpack(">II", head[16:24]))
    if head[:4] in (b"GIF8",) and len(head) >= 10:
        return min(struct.unpack("<HH", head[6:10]))
    at = 2
    while head.startswith(b"\xff\xd8") and at + 9 < len(head):  # JPEG: walk to the frame header
        if head[at] != 0xFF:
            return None
        marker, length = head[at + 1], struct.unpack(">H", head[at + 2:at + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2):
            height, width = struct.unpack(">HH", head[at + 5:at + 9])
            return min(height, width)
        at += 2 + length
    return None


def _chrome(img: Element, src: str) -> bool:
    words = _words()
    path = unquote(urlsplit(src).path) if not src.startswith("data:") else ""
    own = _tokens(path.rsplit("/", 1)[-1], img.get("alt"), img.get("class"), img.get("id"))
    if own & words["chrome"]:
        return True
    side = _declared_side(img)
    if side is None and src.startswith("data:"):
        side = inline_side(src)
    if side is not None and side < words["min_side"]:
        return True
    for ancestor in img.iterancestors():
        if ancestor.tag in words["tags"]:
            return True
        marks = _tokens(ancestor.get("class"), ancestor.get("id"))
        if marks & words["chrome"]:  # "user-photo": a photo, of a user
            return True
        if marks & words["gallery"]:
            return False  # the nearest marked ancestor says gallery before any outer chrome does
    return bool(_tokens(path) & words["chrome"])  # a folder of site furniture (/icons/, /flags/)


def gallery_images(page: Page) -> list[str]:
    """The absolute URLs (or data: URIs) of the listing photos the page shows."""
    if page.body is None:
        return []
    found: dict[str, None] = {}
    for img in page.body.iter("img"):
        src = (img.get("src") or img.get("data-src") or "").strip()
        if not src or _chrome(img, src):
            continue
        found[src if src.startswith("data:") else urljoin(page.url, src)] = None
    return list(found)
