"""A page as the generic extractor reads it: a cleaned lxml tree and, per element, its text
as a list of segments in reading order (text pieces with the link, heading and class
hints around them). Everything market-independent the extractor needs from HTML is here."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urljoin, urlsplit

from lxml import etree

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
# The attributes that can hide an element, found in C (selecting attributes is three times
# faster in libxml2 than selecting elements by them).
_HIDING_ATTRIBUTES = etree.XPath("//@hidden|//@style|//@type[.='hidden']")
MENU_MIN_LINKS = 6  # a template of at least this many links is a menu
MAX_HTML_CHARS = 5_000_000  # bigger pages are cut (and say so) rather than stall a worker


# Plain lxml elements, not lxml.html's: those are looked up by a Python function each time
# an element is touched, which made every walk over the tree a third slower.
Element = etree._Element
_PARSERS = threading.local()
# A str cannot carry an encoding declaration into lxml (ValueError): XHTML pages start with one.
_XML_DECLARATION_RE = re.compile(r"^\s*<\?xml[^>]*\?>")


def _parser() -> etree.HTMLParser:
    """One parser per thread: its error log tells whether libxml2 cut the page's nesting."""
    if not hasattr(_PARSERS, "parser"):
        # No id index (nothing looks elements up by id; building it was a fifth of parsing);
        # comments and processing instructions never make it into the tree.
        _PARSERS.parser = etree.HTMLParser(collect_ids=False, remove_comments=True, remove_pis=True)
    return _PARSERS.parser


def collapse(text: str | None) -> str:
    return " ".join(text.split()) if text else ""


def text_content(element: Element) -> str:
    """The text of the element and everything in it (its own tail excluded)."""
    return "".join(element.itertext())


def drop_tree(element: Element) -> None:
    """Remove the element and what it holds; the text after it stays where it was."""
    parent = element.getparent()
    if parent is None:
        return
    if element.tail:
        previous = element.getprevious()
        if previous is None:
            parent.text = (parent.text or "") + element.tail
        else:
            previous.tail = (previous.tail or "") + element.tail
    parent.remove(element)


@dataclass(slots=True)
class Segment:
    """One piece of visible text, with what surrounds it."""

    text: str
    element: Element  # the element whose text (or child's tail) this is
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
            if html[:100].lstrip().startswith("<?xml"):
                html = _XML_DECLARATION_RE.sub("", html, count=1)
            root = etree.fromstring(html, parser) if html and not html.isspace() else None
        except (etree.ParserError, ValueError):
            root = None
        self.root: Element | None = root
        if root is not None:
            title = root.find(".//title")
            self.raw_title = collapse(text_content(title)) if title is not None else ""
            # libxml2 stops nesting at 256 levels and drops what is deeper: say so.
            self.too_deep = any(e.type_name == "ERR_RESOURCE_LIMIT" and "depth" in e.message for e in parser.error_log)
            self.refreshes = any((meta.get("http-equiv") or "").lower() == "refresh" for meta in root.iter("meta"))
            self._clean(root)
        self.host = urlsplit(url).hostname or ""
        self._body: Element | None | bool = False  # False: not looked up yet
        self._templates: dict[str, list[Element]] | None = None
        self._body_segments: list[Segment] | None = None  # handed out once (readers number them)
        self._body_text: list[Segment] = []
        self._text: str | None = None
        self._menu_items: set[int] | None = None
        self._absolute: dict[str, str | None] = {}
        parts = urlsplit(url)
        self._origin = f"{parts.scheme}://{parts.netloc}"

    @staticmethod
    def _clean(root: Element) -> None:
        etree.strip_elements(root, *_DROP_TAGS, with_tail=False)
        for attribute in _HIDING_ATTRIBUTES(root):
            if attribute.attrname != "style" or _HIDDEN_STYLE_RE.search(attribute):
                drop_tree(attribute.getparent())  # (harmless inside an element dropped already)
        for element in root.iter("a"):
            # '<a href=…/>Name</a>': lxml closes the link at '/>', a browser keeps the name in it.
            if element.text is None and not len(element) and element.get("href") is not None \
                    and (element.tail or "").strip():
                element.text, element.tail = element.tail, None

    @property
    def body(self) -> Element | None:
        if self._body is False:
            body = self.root.find("body") if self.root is not None else None
            self._body = body if body is not None else self.root
        return self._body

    def templates(self) -> dict[str, list[Element]]:
        """Elements grouped by path signature (tags and stable classes from the body down):
        the instances of each of the page's templates, in document order."""
        if self._templates is None:
            self._walk_body()
        return self._templates

    def menu_items(self) -> set[int]:
        """ids of the links and options of the page's menus: one template repeated many times."""
        if self._menu_items is None:
            self._menu_items = {id(e) for elements in self.templates().values() if len(elements) >= MENU_MIN_LINKS
                                and elements[0].tag in ("a", "option") for e in elements}
        return self._menu_items

    def _walk_body(self) -> None:
        """One walk over the body gives both its templates and its segments (a walk in
        Python is most of what reading a page costs)."""
        self._body_segments = self._body_text = []  # the reader numbers and splits the segments, not their text
        self._linked: set[int] = set()
        self._links: dict[str, None] = {}
        self._spans: dict[int, tuple[int, int]] = {}  # id(element) -> its segments' run
        # Templates are numbered while walking ((parent's number, signature) -> number): a
        # path string per element, hashed anew each time, cost more than the rest of the walk.
        self._template_numbers: dict[tuple[int, str], int] = {}
        self._template_paths, self._template_instances = ["body"], [[]]
        body = self.body
        if body is not None:
            self._walk(body, body.get("class"), 0, None, 0, "")
        self._templates = dict(zip(self._template_paths[1:], self._template_instances[1:]))

    def _walk(self, element: Element, classes: str | None, template: int, href: str | None, heading: int,
              parent_hints: str) -> bool:
        """Returns whether the element holds a link into the site (to another page). Hot: runs
        once per element of every page, hence the plain style."""
        out = self._body_segments
        tag = element.tag
        linked = False
        if tag == "a":
            link = element.get("href")
            if link:
                url = self._absolute.get(link, False)
                if url is False:
                    url = self.absolute(link)
                if url:
                    href = url
                    if internal(url, self.host):
                        page_url = url.split("#", 1)[0]
                        self._links.setdefault(page_url, None)
                        linked = page_url != self.url
        elif tag in HEADINGS:
            heading = HEADINGS[tag]
        element_id = element.get("id")
        own = _own_hints(classes, element_id) if classes or element_id else ""
        hints = None
        first = len(out)
        text = element.text
        if text and not text.isspace():
            hints = f"{own} {parent_hints}"
            out.append(Segment(" ".join(text.split()), element, href, heading, hints))
        numbers, instances = self._template_numbers, self._template_instances
        for child in element:
            child_tag = child.tag
            if isinstance(child_tag, str):  # comments and processing instructions are cleaned away
                child_classes = child.get("class")
                key = (template, _signature(child_tag, child_classes))
                number = numbers.get(key)
                if number is None:
                    number = numbers[key] = len(instances)
                    self._template_paths.append(f"{self._template_paths[template]}/{key[1]}")
                    instances.append([])
                instances[number].append(child)
                if self._walk(child, child_classes, number, href, heading, own):
                    linked = True
            tail = child.tail
            if tail and not tail.isspace():
                tail = " ".join(tail.split())
                if out and out[-1].element is element and child_tag not in _BLOCK_TAGS:
                    out[-1].text += " " + tail
                else:
                    if hints is None:
                        hints = f"{own} {parent_hints}"
                    out.append(Segment(tail, element, href, heading, hints))
        if first != len(out):  # (an element without text has no span: text_of says "")
            self._spans[id(element)] = (first, len(out))
        if linked:
            self._linked.add(id(element))
        return linked

    def text_of(self, element: Element) -> str:
        """The visible text of an element of the body, its pieces kept apart ("CaliLab USD 1",
        not "CaliLabUSD 1"): the segments the walk made for it (the run it added: what it
        holds, never its tail)."""
        if self._templates is None:
            self._walk_body()
        span = self._spans.get(id(element))
        if span is None:
            return ""
        return " ".join([s.text for s in self._body_text[span[0]:span[1]]])

    def has_site_link(self, element: Element) -> bool:
        """Whether the element (of the body) holds a link to another page of the site."""
        if self._templates is None:
            self._walk_body()
        return id(element) in self._linked

    def text(self) -> str:
        """The page's visible text (computed once: walls, language and drops all read it)."""
        if self._text is None:
            if self._templates is None:
                self._walk_body()
            self._text = " ".join(s.text for s in self._body_text)
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

    def segments(self, block: Element) -> list[Segment]:
        """The block's visible text in reading order, one segment per text node."""
        if block is self.body:
            if self._templates is None:
                self._walk_body()
            if self._body_segments is not None:
                out, self._body_segments = self._body_segments, None
                for i, segment in enumerate(out):
                    segment.index = i
                return out
        out: list[Segment] = []

        def visit(element: Element, href: str | None, heading: int, parent_hints: str) -> None:
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
        if self._templates is None:
            self._walk_body()
        return list(self._links)


def signature(element: Element) -> str:
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
