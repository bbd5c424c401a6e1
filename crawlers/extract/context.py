"""Where a piece of a page sits: in the site's own header, in breadcrumbs, among a form's
choices, beside a tab. The extractor reads what the market says about a listing, not the
chrome around it."""

from __future__ import annotations


from crawlers.extract.dom import Element, Segment


def under_breadcrumbs(segment: Segment) -> bool:
    if any(h in segment.hints for h in ("breadcrumb", "crumbs")):
        return True
    for depth, ancestor in enumerate(segment.element.iterancestors()):
        classes = f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}".lower()
        if "breadcrumb" in classes or "crumbs" in classes:
            return True
        if depth >= 3:
            return False
    return False


def tab_beside(label: Element, element: Element, text: str) -> bool:
    """Another tab of the bar the label is in: a short sibling of the same kind."""
    return (element is not label and element.tag == label.tag and element.getparent() is label.getparent()
            and len(text) <= 40)


def is_choice(element: Element) -> bool:
    """One of a form's choices (an option of a drop-down): what a user may pick, not a value."""
    return element.tag in ("option", "select") or next(element.iterancestors("select"), None) is not None


_SITE_HEADER_HINTS = ("logo", "brand", "navbar", "site-name", "sitename", "masthead")


def in_site_header(element: Element) -> bool:
    """Inside the page's own header (the market's name and menus), not the listing's."""
    for ancestor in element.iterancestors():
        classes = f"{ancestor.get('class') or ''} {ancestor.get('id') or ''}".lower()
        if any(h in classes for h in _SITE_HEADER_HINTS) or ancestor.tag == "nav":
            return True
        parent = ancestor.getparent()
        if ancestor.tag == "header" and parent is not None and parent.tag == "body":
            return True
    return False
