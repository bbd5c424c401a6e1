"""Rows of a listing page that pair a quantity with a price (tiers, bulk discounts) and
shipping options with their prices."""

from __future__ import annotations


from contracts.money import MoneyHit, money_in
from crawlers.extract.dom import Element, Page, collapse, text_content
from crawlers.extract.labels import LABELS, QUANTITY_RE, label_of


SHIPPING_SELECTS = ("ship", "postage", "delivery", "versand", "envio", "livraison")
VARIANT_SELECTS = ("variant", "option", "strain", "flavour", "flavor", "size", "colour", "color", "type", "sorte")


def tiers_and_options(page: Page, block: Element) -> tuple[list[dict], list[str], list[str]]:
    """List items, table rows and options: (tiers as {quantity, price}, shipping option
    texts, variant texts)."""
    tiers, options, variants = [], [], []
    for row in block.iter("li", "tr", "option"):
        text = page.text_of(row)
        if len(text) > 160 or not text:
            continue
        money = money_in(text)
        quantity = QUANTITY_RE.search(text)
        if row.tag == "option" and _select_named(row, SHIPPING_SELECTS):
            options.append(text)
        elif row.tag == "option" and _select_named(row, VARIANT_SELECTS):
            variants.append(text)
        elif money and quantity and quantity.start() < money[0].start:
            tiers.append({"quantity": quantity.group(0), "price": money[0]})
        elif money and row.tag == "li" and _under_shipping_heading(row):
            options.append(text)
    return _unique_tiers(tiers), list(dict.fromkeys(options)), list(dict.fromkeys(variants))


def _unique_tiers(tiers: list[dict]) -> list[dict]:
    seen, out = set(), []
    for tier in tiers:
        money: MoneyHit = tier["price"]
        key = (tier["quantity"].lower(), money.amount, money.currency)
        if key not in seen:
            seen.add(key)
            out.append(tier)
    return out


def _select_named(option: Element, words: tuple[str, ...]) -> bool:
    select = next((a for a in option.iterancestors("select")), None)
    name = ((select.get("name") or "") + " " + (select.get("id") or "")).lower() if select is not None else ""
    return any(w in name for w in words)


def _under_shipping_heading(item: Element) -> bool:
    """A list item whose list follows a heading or label that names shipping."""
    parent = item.getparent()
    previous = parent.getprevious() if parent is not None else None
    if previous is None:
        return False
    found = label_of(collapse(text_content(previous)))
    return bool(found) and "shipping_options" in LABELS[found[0]]
