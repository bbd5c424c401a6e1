"""Human-readable output of search results and summaries."""

from __future__ import annotations

import sys

from index.query import HIGHLIGHT_END, HIGHLIGHT_START, FacetCount, Hit


def highlight(text: str, tty: bool) -> str:
    start, end = ("\033[1m", "\033[0m") if tty else ("«", "»")
    return text.replace(HIGHLIGHT_START, start).replace(HIGHLIGHT_END, end)


def hit_lines(hit: Hit, tty: bool | None = None) -> list[str]:
    tty = sys.stdout.isatty() if tty is None else tty
    doc = hit.document
    listing, enr = doc.data.listing, doc.data.enrichment
    title = highlight(hit.highlights["title"], tty) if "title" in hit.highlights else listing.title
    price = f"{listing.price.amount:,.2f} {listing.price.currency}" if listing.price else "no price shown"
    if enr.price_usd is not None and listing.price and listing.price.currency != "USD":
        price += f" (≈ {enr.price_usd:,.2f} USD)"
    route = f"{','.join(enr.ships_from) or '?'} → {','.join(enr.ships_to) or '?'}"
    # An imported capture dated by its file's modification time: when it was copied, perhaps.
    approx = "≈" if listing.capture and listing.capture.approximate else ""
    products = ", ".join(p.canonical for p in enr.products) or "-"
    lines = [
        f"{title}",
        f"    {listing.market} · vendor {listing.vendor.name} · {price} · {route} · {products}",
        f"    {listing.url} · first seen {approx}{doc.first_seen:%Y-%m-%d %H:%M} · last seen {approx}"
        f"{doc.last_seen:%Y-%m-%d %H:%M}"
        + (f" · {len(doc.price_history)} prices" if len(doc.price_history) > 1 else ""),
    ]
    if "description" in hit.highlights:
        lines.append("    " + highlight(hit.highlights["description"], tty))
    return lines


def facet_line(field: str, counts: list[FacetCount]) -> str:
    return f"{field}: " + ", ".join(f"{c.label} ({c.count})" for c in counts)
