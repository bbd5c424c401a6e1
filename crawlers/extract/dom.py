"""A page as the generic extractor reads it: a cleaned lxml tree and, per element, its text
as a list of segments in reading order (text pieces with the link, heading and class
hints around them). Everything market-independent the extractor needs from HTML is here."""

from __future__ import annotations

import re
import threading
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

import lxml.html
from lxml import etree
from lxml.html import HtmlElement

from crawlers.extract.encoding import decode_html

# Not content: scripts and styles never show; forms' option lists and hidden elements are
# where honeypot links and junk hide (a hidden link is not something a user could follow).
_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "head", "iframe", "object")
_HIDDEN_STYLE_RE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
# Class tokens that carry no structure (ids, generated hashes, grid widths).
_UNSTABLE_CLASS_RE = re.compile(r"\d|^(?:active|selected|odd|even|first|last|hover|show|open)$")
HEADINGS = {"h1": 1, "h2": 2, "h3": 3, "h4": 4, "h5": 5, "h6": 6}
# Tags after which text reads as a new line (label and value in separate segments).
_BLOCK_TAGS = frozenset("p div li tr td th dt dd br h1 h2 h3 h4 h5 h6 section article header footer "
                        "table ul ol dl form label option select span strong b small a".split())
_MAYBE_HIDDEN = etree.XPath("//*[@hidden or @style or @type='hidden']")
_EMPTY_LINKS = etree.XPath("//a[@href and not(node())]")
MENU_MIN_LINKS = 6  # a template of at least this many links is a menu
MAX_HTML_CHARS = 5_000_000  # bigger pages are cut (and say so) rather than stall a worker


_PARSERS = threading.local()


def _parser() -> lxml.html.HTMLParser:
    """One parser per thread: its error log tells whether libxml2 cut the page's nesting."""
    if not hasattr(_PARSERS, "parser"):
        _PARSERS.parser = lxml.html.HTMLParser()
    return _PARSERS.parser


def collapse(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


@dataclass(slots=True)
class Segment:
    """One piece of visible text, with what surrounds it."""

    text: str
    element: HtmlElement  # the element whose text (or child's tail) this is
    href: str | None  # absolute URL of the enclosing link
    heading: int  # 1..6 inside <hN>, else 0
    hints: str  # class and id tokens of the element and its parent, lower case
    index: int = 0  # position in the block's reading order


class Page:
    """A parsed, cleaned HTML page."""

    def __init__(self, html: str | bytes, url: str):
        self.url = url
        if isinstance(html, bytes):
            html = decode_html(html)[0]
        self.truncated = len(html) > MAX_HTML_CHARS
        html = html[:MAX_HTML_CHARS]
        self.raw_title = ""
        self.refreshes = False  # a <meta http-equiv=refresh>: queues and interstitials
        self.too_deep = False
        try:
            parser = _parser()
            root = lxml.html.document_fromstring(html, parser=parser) if html.strip() else None
        except (etree.ParserError, ValueError):
            root = None
        self.root: HtmlElement | None = root
        if root is not None:
            title = root.find(".//title")
            self.raw_title = collapse(title.text_content()) if title is not None else ""
            # libxml2 stops nesting at 256 levels and drops what is deeper: say so.
            self.too_deep = any(e.type_name == "ERR_RESOURCE_LIMIT" and "depth" in e.message for e in parser.error_log)
            self.refreshes = bool(root.xpath("//meta[translate(@http-equiv, 'REFRESH', 'refresh')='refresh']"))
            self._clean(root)
        self.host = urlsplit(url).hostname or ""
        self._templates: dict[str, list[HtmlElement]] | None = None
        self._text: str | None = None
        self._menu_items: set[int] | None = None
        self._absolute: dict[str, str | None] = {}
        parts = urlsplit(url)
        self._origin = f"{parts.scheme}://{parts.netloc}"

    @staticmethod
    def _clean(root: HtmlElement) -> None:
        etree.strip_elements(root, etree.Comment, etree.ProcessingInstruction, *_DROP_TAGS, with_tail=False)
        # Candidates found by XPath (in C); most elements of a page have none of these attributes.
        for element in _MAYBE_HIDDEN(root):
            style = element.get("style")
            if element.get("hidden") is not None or (style and _HIDDEN_STYLE_RE.search(style)) \
                    or element.get("type") == "hidden":
                element.drop_tree()
        for element in _EMPTY_LINKS(root):
            # '<a href=…/>Name</a>': lxml closes the link at '/>', a browser keeps the name in it.
            if (element.tail or "").strip():
                element.text, element.tail = element.tail, None

    @property
    def body(self) -> HtmlElement | None:
        if self.root is None:
            return None
        body = self.root.find("body")
        return body if body is not None else self.root

    def templates(self) -> dict[str, list[HtmlElement]]:
        """Elements grouped by path signature (tags and stable classes from the body down):
        the instances of each of the page's templates, in document order."""
        if self._templates is None:
            self._templates = defaultdict(list)
            body = self.body
            if body is not None:
                self._walk_templates(body, "body")
        return self._templates

    def menu_items(self) -> set[int]:
        """ids of the links and options of the page's menus: one template repeated many times."""
        if self._menu_items is None:
            self._menu_items = {id(e) for elements in self.templates().values() if len(elements) >= MENU_MIN_LINKS
                                and elements[0].tag in ("a", "option") for e in elements}
        return self._menu_items

    def _walk_templates(self, element: HtmlElement, path: str) -> None:
        templates = self._templates
        for child in element:
            tag = child.tag
            if isinstance(tag, str):
                child_path = f"{path}/{_signature(tag, child.get('class'))}"
                templates[child_path].append(child)
                if len(child):
                    self._walk_templates(child, child_path)

    def text(self) -> str:
        """The page's visible text (computed once: walls, language and drops all read it)."""
        if self._text is None:
            body = self.body
            self._text = visible_text(body) if body is not None else ""
        return self._text

    def absolute(self, href: str | None) -> str | None:
        if not href:
            return None
        found = self._absolute.get(href, False)
        if found is False:  # menus repeat the same links on every page: join each once
            bare = href.strip()
            if bare.startswith(("javascript:", "mailto:", "#", "data:")):
                found = None
            elif bare.startswith(("http://", "https://")) and "/." not in bare:
                found = bare  # already absolute (what urljoin would return)
            elif bare.startswith("/") and not bare.startswith("//") and "/." not in bare and "\\" not in bare:
                found = self._origin + bare
            else:
                found = urljoin(self.url, bare)
            self._absolute[href] = found
        return found

    def segments(self, block: HtmlElement) -> list[Segment]:
        """The block's visible text in reading order, one segment per text node."""
        out: list[Segment] = []

        def visit(element: HtmlElement, href: str | None, heading: int, parent_hints: str) -> None:
            tag = element.tag if isinstance(element.tag, str) else ""
            if tag == "a" and element.get("href"):
                href = self.absolute(element.get("href")) or href
            heading = HEADINGS.get(tag, heading)
            own = _own_hints(element.get("class"), element.get("id"))
            hints = f"{own} {parent_hints}"
            text = collapse(element.text)
            if text:
                out.append(Segment(text, element, href, heading, hints))
            for child in element:
                visit(child, href, heading, own)
                tail = collapse(child.tail)
                if tail:
                    if out and out[-1].element is element and child.tag not in _BLOCK_TAGS:
                        out[-1].text += " " + tail
                    else:
                        out.append(Segment(tail, element, href, heading, hints))

        visit(block, None, 0, "")
        for i, segment in enumerate(out):
            segment.index = i
        return out

    def internal_links(self) -> list[str]:
        """Absolute URLs (fragment cut) of the page's links into its own host, once each."""
        if self.root is None:
            return []
        out = {}
        for a in self.root.iter("a"):
            url = self.absolute(a.get("href"))
            if url and internal(url, self.host):
                out.setdefault(url.split("#", 1)[0], None)
        return list(out)


def visible_text(element: HtmlElement) -> str:
    """The element's text with pieces kept apart ("CaliLab USD 1", not "CaliLabUSD 1")."""
    return collapse(" ".join(element.itertext()))


def signature(element: HtmlElement) -> str:
    """Tag and stable class tokens: what repeated blocks of one template share."""
    return _signature(element.tag, element.get("class"))


@lru_cache(maxsize=65536)
def _own_hints(classes: str | None, element_id: str | None) -> str:
    return " ".join((classes or "").split() + [element_id or ""]).lower().strip()


@lru_cache(maxsize=65536)
def _signature(tag: str, classes: str | None) -> str:
    stable = sorted(c for c in (classes or "").split() if not _UNSTABLE_CLASS_RE.search(c))
    return tag + ("." + ".".join(stable) if stable else "")


def internal(url: str, host: str) -> bool:
    return not host or _hostname(url) == host


@lru_cache(maxsize=65536)
def _hostname(url: str) -> str:
    return urlsplit(url).hostname or ""
