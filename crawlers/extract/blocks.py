"""Repeated listing blocks on index pages, found from the page's structure alone.

Every element gets a path signature (tags and stable classes from the body down). Elements
sharing one are instances of one template. The listing blocks are the template whose
instances each hold a link into the site and a price, taken at the outermost level that
still holds one listing each (so the image, vendor and badges around a title come along).
"""

from __future__ import annotations

from dataclasses import dataclass


from contracts.money import has_money
from crawlers.extract.dom import Element, Page

MIN_BLOCKS = 3
MIN_COMPLETE = 0.6  # share of a template's instances that hold both a link and a price
SAMPLE = 24  # instances of a template checked to estimate its completeness


@dataclass
class BlockGroup:
    path: str
    blocks: list[Element]
    complete: float  # share of blocks with a link and a price

    @property
    def depth(self) -> int:
        return self.path.count("/")


def _completeness(page: Page, sample: list[Element]) -> float:
    """Share of the sample holding a link and a price; 0 as soon as it cannot reach
    MIN_COMPLETE (most templates of a page are menus and text, and fail early)."""
    allowed = len(sample) * (1 - MIN_COMPLETE)
    failed = 0
    for element in sample:
        if not (page.has_site_link(element) and has_money(page.text_of(element))):
            failed += 1
            if failed > allowed:
                return 0.0
    return (len(sample) - failed) / len(sample)


def listing_groups(page: Page) -> list[BlockGroup]:
    """Templates whose instances look like listing blocks, best first (disjoint)."""
    if page.body is None:
        return []
    candidates = []
    for path, elements in page.templates().items():
        if len(elements) < MIN_BLOCKS:
            continue
        sample = elements[:: max(1, len(elements) // SAMPLE)]  # an estimate is enough to rank templates
        complete = _completeness(page, sample)
        if complete >= MIN_COMPLETE:
            candidates.append(BlockGroup(path, elements, complete))
    # More complete blocks first; among templates with the same number of blocks the
    # outermost holds the most of each listing.
    candidates.sort(key=lambda g: (-round(len(g.blocks) * g.complete), g.depth))
    chosen: list[BlockGroup] = []
    for group in candidates:
        if any(group.path.startswith(c.path + "/") or c.path.startswith(group.path + "/") for c in chosen):
            continue  # inside (or around) blocks already chosen
        if len(group.blocks) * group.complete >= MIN_BLOCKS:
            chosen.append(group)
    return chosen
