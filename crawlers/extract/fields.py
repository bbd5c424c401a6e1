"""Reading one listing's fields out of a block of a page, each with a confidence.

A field's value comes from the strongest signal the block offers: a label ("Ships from",
"Vendor:", a table header), then class hints ("price", "vendor"), then position and kind
(the link everything else points to is the title; a link to a profile is the vendor; the
first money after the title is the price). A value must be of its field's kind (money,
place, short name) or it is not taken. Confidences are the source's reliability; on index
pages they are then scaled by how consistently the blocks agree (blocks.py, generic.py).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field


from contracts.money import MoneyHit, best_money
from crawlers.extract.context import in_site_header, is_choice, tab_beside, under_breadcrumbs
from crawlers.extract.dom import Element, Page, Segment, internal
from crawlers.extract.labels import (
    BARE_AMOUNT_RE, EDGE_PUNCT, GENERIC_LINK_TEXTS, HANDLE_RE, LABELS, MENU_COUNT_RE, SUFFIX, about_the_listing, accept,
    clean_value, has_hint, label_of, split_inline_labels, split_route, starts_section, title_like, vendor_link,
    vendor_name,
)
from crawlers.extract.rows import tiers_and_options
from crawlers.extract.values import place_codes

# How far each kind of evidence can be trusted (see the module docstring).
LABELLED, TABLE_HEADER, HINTED, STRUCTURAL, GUESSED = 0.9, 0.9, 0.8, 0.7, 0.45


@dataclass(slots=True)
class Candidate:
    value: object
    confidence: float
    source: str  # what found it: "label:ships from", "link:vendor", ... (compared across blocks)
    index: int = -1  # segment position in the block


@dataclass
class Record:
    """The fields found in one block (one listing)."""

    fields: dict[str, Candidate] = field(default_factory=dict)

    def offer(self, name: str, candidate: Candidate) -> None:
        current = self.fields.get(name)
        if current is None or candidate.confidence > current.confidence:
            self.fields[name] = candidate

    def value(self, name: str):
        found = self.fields.get(name)
        return found.value if found else None


class BlockReader:
    """Reads one block (an index page's listing block, or a listing page's body)."""

    def __init__(self, page: Page, block: Element, *, whole_page: bool, nav_terms: frozenset[str] = frozenset(),
                 column_labels: list[str] | None = None, exclude: frozenset[int] = frozenset()):
        """``exclude``: ids of elements not to read (a detail page's related-listing blocks)."""
        self.page, self.block, self.whole_page = page, block, whole_page
        self.nav_terms = nav_terms
        segments = page.segments(block)
        if exclude:
            segments = [s for s in segments if id(s.element) not in exclude]
        self.segments = _split_label_chains(segments)
        self.column_labels = column_labels
        self.used: set[int] = set()
        self.record = Record()

    def read(self) -> Record:
        self._labelled()
        self._table_columns()
        if self.whole_page:  # the page's own heading first: the seller box comes after it
            self._page_title()
            self._links()
        else:
            self._links()
            self._title()
        self._unlabelled()
        self._tiers_and_options()
        return self.record

    # -- labels -------------------------------------------------------------------------

    def _labelled(self) -> None:
        segments = self.segments
        for i, segment in enumerate(segments):
            found = label_of(segment.text)
            if found is None:
                self._suffix(i)
                continue
            label, rest = found
            if not rest and (segment.href or is_choice(segment.element)):
                continue  # a menu entry or a tab ("VENDOR", "Description") names a page, not a value
            for field_name in LABELS[label]:
                if field_name in ("price_tiers", "shipping_options"):
                    continue  # lists under a heading: read with the rows (_tiers_and_options)
                value, used = self._value_after(i, field_name, rest)
                if value is not None:
                    confidence = LABELLED if about_the_listing(segment.text) else LABELLED - 0.05
                    self.record.offer(field_name, Candidate(value, confidence, f"label:{label}", i))
                    href = self.segments[used[0]].href if used else None
                    if field_name == "vendor" and href and internal(href, self.page.host):
                        self.record.offer("vendor_url", Candidate(href, LABELLED, f"label:{label}"))
                    self.used.update(used)
                    self.used.add(i)
                    break

    def _value_after(self, i: int, field_name: str, rest: str):
        if rest:
            return accept(field_name, rest), [i]
        if field_name == "description":
            parts, used = [], []
            label = self.segments[i].element
            container = self.segments[i + 1].element.getparent() if i + 1 < len(self.segments) else None
            for j in range(i + 1, min(i + 60, len(self.segments))):
                element = self.segments[j].element
                if not parts and tab_beside(label, element, self.segments[j].text):
                    used.append(j)  # "Description | Refund Policy": the next tab's name is no description
                    container = self.segments[j + 1].element.getparent() if j + 1 < len(self.segments) else None
                    continue
                if starts_section(self.segments[j].text) or (container is not None and element is not container
                                                              and container not in element.iterancestors()):
                    break
                parts.append(self.segments[j].text)
                used.append(j)
            return (accept(field_name, "\n".join(parts)), used) if parts else (None, [])
        for j in range(i + 1, min(i + 3, len(self.segments))):
            text = self.segments[j].text
            if label_of(text):
                break
            if not text.strip(EDGE_PUNCT):
                continue
            if is_choice(self.segments[j].element) or (self.whole_page and self._in_menu(self.segments[j])):
                break  # a drop-down of all countries, or a menu under a heading, is not the value
            value = accept(field_name, text)
            if value is not None:
                return value, [j]
        return None, []

    def _suffix(self, i: int) -> None:
        """'500 | left': a label written after its value."""
        key = self.segments[i].text.strip(EDGE_PUNCT).lower()
        if key in SUFFIX and i > 0:
            value = accept(SUFFIX[key], self.segments[i - 1].text)
            if value is not None:
                self.record.offer(SUFFIX[key], Candidate(value, LABELLED, f"suffix:{key}", i - 1))
                self.used.update((i - 1, i))

    def _table_columns(self) -> None:
        """A table row read against its header row ('Item | Vendor | Price | From')."""
        if not self.column_labels:
            return
        for column, cell in zip(self.column_labels, self.block.findall("td")):
            found = label_of(column + ":")
            if not found:
                continue
            for field_name in LABELS[found[0]]:
                value = accept(field_name, self.page.text_of(cell))
                if value is not None:
                    self.record.offer(field_name, Candidate(value, TABLE_HEADER, f"column:{found[0]}"))
                    break

    # -- links: title and vendor ----------------------------------------------------------

    def _in_menu(self, segment: Segment) -> bool:
        menu = self.page.menu_items()
        element = segment.element
        return id(element) in menu or any(id(a) in menu for a in element.iterancestors("a", "option"))

    def _vendor_links(self) -> list[Segment]:
        """Links to a profile, named like a vendor; on a whole page, not the site's own header
        (the logged-in user's menu), and the seller box after the title before anything else."""
        found = [s for s in self.segments if s.href and vendor_link(s.href, s.text) and vendor_name(s.text)]
        if not self.whole_page:
            return found
        found = [s for s in found if not in_site_header(s.element)]
        start = self._title_index()
        return sorted(found, key=lambda s: s.index < start)

    def _links(self) -> None:
        self.vendor_href = None
        for segment in self._vendor_links():
            name = vendor_name(segment.text)
            if name:
                self.record.offer("vendor", Candidate(name, 0.85, "link:vendor", segment.index))
                self.record.offer("vendor_url", Candidate(segment.href, 0.85, "link:vendor", segment.index))
                self.vendor_href = segment.href
                self.used.add(segment.index)
                return
        for segment in self.segments:
            handle = HANDLE_RE.match(segment.text)
            if handle and segment.index not in self.used:
                self.record.offer("vendor", Candidate(handle.group(1), 0.6, "handle", segment.index))
                self.used.add(segment.index)
                if segment.href and internal(segment.href, self.page.host):
                    self.record.offer("vendor_url", Candidate(segment.href, 0.6, "handle"))
                    self.vendor_href = segment.href
                return

    def _title(self) -> None:
        if self.whole_page:
            self._page_title()
            return
        # The listing's own link: the target most of the block's links point to.
        targets = Counter(s.href for s in self.segments if s.href and s.href != self.vendor_href
                          and not vendor_link(s.href) and internal(s.href, self.page.host))
        for url, _ in targets.most_common(2):
            texts = [s for s in self.segments if s.href == url and title_like(s.text)]
            if texts:
                best = max(texts, key=lambda s: (s.heading > 0, has_hint(s, "title"), len(s.text)))
                trusted = best.heading > 0 or has_hint(best, "title")
                self.record.offer("title", Candidate(best.text, 0.9 if trusted else 0.75, "link:primary", best.index))
                self.record.offer("url", Candidate(url, 0.9, "link:primary"))
                self.used.add(best.index)
                return
        headings = [s for s in self.segments if s.heading]
        if headings:
            best = min(headings, key=lambda s: (s.heading, s.index))
            self.record.offer("title", Candidate(best.text, 0.6, "heading", best.index))
            self.used.add(best.index)

    def _page_title(self) -> None:
        """A listing page's title: the heading that covers most of the <title> (which adds the
        site's name), else the first main heading."""
        title_words = set(re.findall(r"\w+", self.page.raw_title.lower()))
        title_phrase = _phrase(self.page.raw_title)
        scored = []
        for s in self.segments:
            # A heading, or an element the markup calls the title ("<div class=heading>").
            level = s.heading if s.heading else (3 if has_hint(s, "title") and not s.href else 0)
            if not level or level > 3 or in_site_header(s.element):
                continue
            words = set(re.findall(r"\w+", s.text.lower()))
            shared = len(words & title_words)
            precision = shared / len(words) if words else 0
            coverage = shared / len(title_words) if title_words else 0
            # "Buy tipjar worldwide shipping": a short title is all inside the <title>'s phrase.
            phrase = bool(words) and _phrase(s.text) in title_phrase
            scored.append((coverage if precision >= 0.6 else 0, -level, -s.index, phrase, s))
        if scored:
            coverage, _, _, phrase, best = max(scored, key=lambda x: x[:3])
            confidence = 0.9 if coverage >= 0.5 or phrase else 0.7 if coverage >= 0.25 else 0.5
            self.record.offer("title", Candidate(best.text, confidence, "heading", best.index))
            self.used.add(best.index)

    # -- what is left: price, category, places, description -------------------------------

    def _title_index(self) -> int:
        title = self.record.fields.get("title")
        return title.index if title and title.index >= 0 else 0

    def _unlabelled(self) -> None:
        start = self._title_index() if self.whole_page else 0
        self._breadcrumbs()
        prices: list[tuple[int, MoneyHit, Segment]] = []
        for segment in self.segments[start:]:
            if segment.index in self.used:
                continue
            text = segment.text
            # On a listing page, a link's text is another page's (a related listing's price).
            money = self._money_at(segment.index) if not (self.whole_page and segment.href) else None
            if money is not None:
                prices.append((segment.index, money, segment))
                continue
            bare = clean_value(text)
            if not self.whole_page and bare.lower() in self.nav_terms and "category" not in self.record.fields \
                    and bare != self.record.value("vendor") and not place_codes(bare):
                self.record.offer("category", Candidate(bare, 0.75, "nav-term", segment.index))
                self.used.add(segment.index)
            elif has_hint(segment, "category") and "category" not in self.record.fields and accept("category", text):
                self.record.offer("category", Candidate(bare, HINTED, "hint:category", segment.index))
            elif has_hint(segment, "vendor") and "vendor" not in self.record.fields and vendor_name(text) \
                    and not place_codes(bare):
                self.record.offer("vendor", Candidate(vendor_name(text), 0.6, "hint:vendor", segment.index))
            elif len(bare) <= 40 and (len(bare) > 3 or not self.whole_page) and not is_choice(segment.element) \
                    and place_codes(split_route(bare)[0]) and "ships_from" not in self.record.fields:
                # On a whole page a lone "No" or "IN" is a word, not a country: places there need a label.
                self.record.offer("ships_from", Candidate(bare, GUESSED, "place", segment.index))
        self._price(prices)
        self._description()

    def _price(self, prices: list[tuple[int, MoneyHit, Segment]]) -> None:
        """The unlabelled price: one the markup calls a price, else the first fiat amount, else
        the first amount at all (a crypto amount beside fiat is a conversion)."""
        if "price" in self.record.fields or not prices:
            return
        hinted = [p for p in prices if has_hint(p[2], "price")]
        ranked = sorted(prices, key=lambda p: (p[1].crypto, not has_hint(p[2], "price"), p[0]))
        index, money, _ = ranked[0]
        trusted = bool(hinted) and ranked[0] in hinted
        self.record.offer("price", Candidate(money, HINTED if trusted else STRUCTURAL, "money", index))
        self.used.add(index)

    def _breadcrumbs(self) -> None:
        """'Drugs › Stimulants › Speed' in an element the markup calls breadcrumbs, or, on a
        listing page, a run of links to the market's menu entries beside the title. The site's
        root ("Home") and the listing itself are not part of its category."""
        if "category" in self.record.fields:
            return
        crumbs = [s for s in self.segments if under_breadcrumbs(s)]
        source, confidence = "breadcrumbs", HINTED
        if not crumbs and self.whole_page:
            crumbs, source, confidence = self._path_beside_title(), "path", STRUCTURAL
        title = clean_value(self.record.value("title") or "").lower()
        parts = [p.strip(EDGE_PUNCT) for s in crumbs for p in re.split(r"\s*[›»>/|]\s*", s.text)]
        parts = [p for p in parts if p and p.lower() != title and p.lower() not in GENERIC_LINK_TEXTS]
        if parts and len(parts) <= 8:
            self.record.offer("category", Candidate(" / ".join(parts), confidence, source, crumbs[0].index))
            self.used.update(s.index for s in crumbs)

    def _path_beside_title(self) -> list[Segment]:
        """Two or more adjacent links, each to one of the market's menu entries, right after
        (or right before) the page's title: the listing's category path."""
        start = self._title_index()
        for span in (self.segments[start + 1:start + 8], self.segments[max(0, start - 7):start][::-1]):
            run = []
            for segment in span:
                if not segment.text.strip(EDGE_PUNCT) and not segment.href:
                    continue  # a separator between crumbs ("›")
                if not segment.href or self._in_menu(segment):
                    break
                if MENU_COUNT_RE.sub("", clean_value(segment.text)).lower() not in self.nav_terms:
                    break
                run.append(segment)
            if len(run) >= 2:
                return sorted(run, key=lambda s: s.index)
        return []

    def _money_at(self, i: int) -> MoneyHit | None:
        """Money in segment ``i``, read together with the next one when the amount and the
        currency sit in separate elements ("<span>238,97</span> <span>EUR</span>")."""
        text = self.segments[i].text
        money = best_money(text)
        if money is None and BARE_AMOUNT_RE.match(text) and i + 1 < len(self.segments):
            following = self.segments[i + 1].text
            money = best_money(f"{text} {following}") if len(following) <= 12 else None
        return money

    def _description(self) -> None:
        if "description" in self.record.fields:
            return
        free = [s for s in self.segments if s.index not in self.used and len(s.text) >= 40 and not s.href]
        if not free:
            return
        hinted = [s for s in free if has_hint(s, "description")]
        if hinted:
            element = hinted[0].element
            text = "\n".join(s.text for s in free if s.element is element)
            self.record.offer("description", Candidate(text, HINTED, "hint:description", hinted[0].index))
            return
        best = max(free, key=lambda s: len(s.text))
        if len(best.text) >= 60:
            self.record.offer("description", Candidate(best.text, 0.6, "longest-text", best.index))

    def _tiers_and_options(self) -> None:
        """A listing page's tiers and shipping options (an index block is one listing's summary)."""
        if not self.whole_page:
            return
        tiers, options, variants = tiers_and_options(self.page, self.block)
        if tiers:
            self.record.offer("price_tiers", Candidate(tiers, STRUCTURAL, "rows"))
        if options:
            self.record.offer("shipping_options", Candidate(options, STRUCTURAL, "rows"))
        if variants:
            self.record.offer("variants", Candidate(variants, STRUCTURAL, "rows"))


def _split_label_chains(segments: list[Segment]) -> list[Segment]:
    out = []
    for segment in segments:
        pieces = split_inline_labels(segment.text) if ":" in segment.text or "：" in segment.text else None
        if not pieces or len(pieces) == 1:
            out.append(segment)
            continue
        for piece in pieces:
            out.append(Segment(piece, segment.element, segment.href, segment.heading, segment.hints))
    for i, segment in enumerate(out):
        segment.index = i
    return out


def _phrase(text: str) -> str:
    """Words of ``text``, lower case, space-separated and space-delimited (for phrase search)."""
    return " " + " ".join(re.findall(r"\w+", text.lower())) + " "
