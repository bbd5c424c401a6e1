"""What a value on a market page can be: money (with ranges and crypto: contracts.money), places, numbers.

The extractor proposes values from labels and positions; these readers decide whether a
proposed value is of the right kind, so that "From: 500 $" is read as a price and
"From: Germany" as an origin without a rule for either market."""

from __future__ import annotations

import re
from functools import lru_cache

from contracts.money import money_in, parse_number
from enrichment.gazetteers import load_places

_PLACE_SPLIT_RE = re.compile(r"\s*(?:[,;/|&+>→]|\band\b|\bund\b|\bet\b|\by\b)\s*", re.I)
_PLACE_NOISE_RE = re.compile(r"^(?:ships?\s+)?(?:from|to|only|all|shipping)\s*:?\s*|\s*\(.*?\)\s*|\s*only$", re.I)
_INTEGER_RE = re.compile(r"^\D{0,12}?(\d[\d,. ]*)\s*(?:left|in stock|available|pcs|units|items)?\s*$", re.I)


@lru_cache(maxsize=4096)
def place_codes(text: str) -> tuple[str, ...]:
    """ISO codes / region ids of a place cell ("United States", "EU, UK", "Worldwide"),
    empty unless most of its parts are places."""
    text = _PLACE_NOISE_RE.sub(" ", text).strip()
    if not text or len(text) > 300:
        return ()
    parts = [p for p in _PLACE_SPLIT_RE.split(text) if p.strip()]
    gazetteer = load_places()
    codes = [gazetteer.resolve(p) for p in parts]
    found = tuple(dict.fromkeys(c for c in codes if c))
    return found if found and len(found) * 2 >= len(parts) else ()


def place_list(text: str) -> list[str]:
    """'Europe, United States' -> ['Europe', 'United States'] when every part is a place;
    otherwise the text as one entry (a market's own wording is kept, not guessed apart)."""
    parts = [p.strip() for p in _PLACE_SPLIT_RE.split(text) if p.strip()]
    if len(parts) > 1 and all(place_codes(p) for p in parts):
        return parts
    return [text.strip()]


def integer(text: str) -> int | None:
    match = _INTEGER_RE.match(text.strip())
    if not match:
        return None
    value = parse_number(match.group(1).replace(" ", ""))
    return int(value) if value is not None and value == int(value) else None


def priced_name(text: str) -> dict:
    """An option as shown -> {name, price}: "USPS Priority Mail — 3,88 EUR", "Blue Dream (+10 USD)";
    a name alone when no price is given."""
    money = money_in(text)
    if not money:
        return {"name": text}
    name = (text[: money[0].start] + text[money[0].end:]).strip(" -–—:|(+)")
    return {"name": name or text, "price": {"amount": money[0].amount, "currency": money[0].currency}}
