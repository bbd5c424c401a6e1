"""Structured fields as markets show them, cleaned: vendor names and price cells."""

from __future__ import annotations

import re

from contracts.money import currency_code, first_money, parse_number

# "Sold by amarushakur2 - 0 sold since…", "Vendor: name (123)", "name [4.9★]", "name 98.5%".
VENDOR_LABEL_RE = re.compile(r"^\s*(?:sold\s+by|vendor|seller|verk[äa]ufer|vendeur|vendedor|verkoper|by)\b\s*[:\-]?\s*", re.I)
VENDOR_NAME_RE = re.compile(r"[\w.\-]+(?:\s[\w.\-]+)?")
_PLAIN_NUMBER_RE = re.compile(r"\s*[\d.,]+\s*")
# A name ends at " - ", "|", a bracket, a rating or a sales count; hyphens inside it stay.
_NAME_STOP_RE = re.compile(r"\s+[-–|]|[-–]\s|\s*[(\[{|]|\s\d+(?:[.,]\d+)?\s*%|\s\d+\s*sold\b")


def vendor_name(raw: str | None) -> str | None:
    if not raw:
        return None
    text = VENDOR_LABEL_RE.sub("", raw.strip())
    stop = _NAME_STOP_RE.search(text)
    text = (text[: stop.start()] if stop and stop.start() > 0 else text).strip()
    match = VENDOR_NAME_RE.match(text)
    if not match:
        return None
    name = match.group(0)
    # Two words only when the second is not a level/trust/rating word.
    first, _, second = name.partition(" ")
    if second and (second.lower() in {"level", "trust", "rating", "sales", "vendor", "since"} or second[0].isdigit()):
        name = first
    return name.strip("-") or None


def price_of(raw: str | float | None, currency: str | None = None) -> tuple[float, str] | None:
    """(amount, currency) of a price cell; a bare number needs ``currency`` to mean anything."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, (int, float)):
        code = currency_code(currency or "") or (currency.upper() if currency and len(currency) == 3 else None)
        return (float(raw), code) if code else None
    if not _PLAIN_NUMBER_RE.fullmatch(raw):
        found = first_money(raw)
        if found:
            return found.amount, found.currency
    amount = parse_number(raw.strip())
    code = currency_code(currency or "") if currency else None
    return (amount, code) if amount is not None and code else None
