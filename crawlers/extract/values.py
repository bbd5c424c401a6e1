"""What a value on a market page can be: money (with ranges and crypto), places, numbers.

The extractor proposes values from labels and positions; these readers decide whether a
proposed value is of the right kind, so that "From: 500 $" is read as a price and
"From: Germany" as an origin without a rule for either market."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterator

from enrichment.components.quantities import CURRENCY_SYMBOLS, CURRENCY_WORDS, currency_code, parse_number
from enrichment.gazetteers import load_places

CRYPTO = frozenset({"BTC", "XMR", "LTC", "ZEC", "ETH", "BCH"})
# "1 682,12" (space-grouped thousands) before plain "1.682,12" / "0.005802".
_NUM = r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?(?!\d)|\d+(?:[.,]\d+)*"
_GROUP_SPACES = str.maketrans("", "", " \u00a0\u202f")
_SYM = "[" + re.escape("".join(CURRENCY_SYMBOLS)) + "]"
_CODE = "|".join(sorted((re.escape(w) for w in CURRENCY_WORDS), key=len, reverse=True))
# (the first letters, tested first, spare the look-behind at nearly every position of a text)
_CODE_FIRST = "".join(sorted({w[0].lower() for w in CURRENCY_WORDS} | {w[0].upper() for w in CURRENCY_WORDS}))
_CUR = rf"(?:{_SYM}|(?=[{_CODE_FIRST}])(?<![^\W\d_])(?:{_CODE})(?![^\W\d_]))"
# "500 $", "$60", "USD 12", "£13.00 GBP", "50.00 - 39000.00 EUR", "US$ 25", "12,50€".
MONEY_RE = re.compile(
    rf"(?:(?P<c1>{_CUR})\s?(?P<a1>{_NUM})(?:\s*[-–]\s*(?:{_CUR})?\s?(?P<h1>{_NUM}))?)"
    rf"|(?:(?P<a2>{_NUM})(?:\s*[-–]\s*(?P<h2>{_NUM}))?\s?(?P<c2>{_CUR}))",
    re.I,
)
_PLACE_SPLIT_RE = re.compile(r"\s*(?:[,;/|&+>→]|\band\b|\bund\b|\bet\b|\by\b)\s*", re.I)
_PLACE_NOISE_RE = re.compile(r"^(?:ships?\s+)?(?:from|to|only|all|shipping)\s*:?\s*|\s*\(.*?\)\s*|\s*only$", re.I)
_INTEGER_RE = re.compile(r"^\D{0,12}?(\d[\d,. ]*)\s*(?:left|in stock|available|pcs|units|items)?\s*$", re.I)


@dataclass(frozen=True, slots=True)
class MoneyHit:
    amount: float
    currency: str
    start: int
    end: int
    high: float | None = None  # top of a price range

    @property
    def crypto(self) -> bool:
        return self.currency in CRYPTO


_CURRENCY_HINT_RE = re.compile(_CUR, re.I)
# "CAD $367.5", "AUD $ 12": a currency code written before a symbol names the symbol's currency.
_CODE_BEFORE_RE = re.compile(rf"(?<![^\W\d_])({_CODE})\s*$", re.I)


# What can stand before a currency inside an amount ("1 682,12 - 2.000 EUR").
_AMOUNT_CHARS = frozenset("0123456789.,-– \t\n\u00a0\u202f")


def _first_possible(text: str) -> int | None:
    """Where the first amount could start: every amount holds a currency, so none starts
    before the first currency and the number run just before it (scanning a long text
    from its start was most of what reading money cost)."""
    hint = _CURRENCY_HINT_RE.search(text)
    if hint is None:
        return None
    start = hint.start()
    while start and text[start - 1] in _AMOUNT_CHARS:
        start -= 1
    return start


def _money_hits(text: str, start: int) -> Iterator[MoneyHit]:
    for match in MONEY_RE.finditer(text, start):
        amount = parse_number((match["a1"] or match["a2"]).translate(_GROUP_SPACES))
        currency = currency_code(match["c1"] or match["c2"])
        if match["c1"] and len(match["c1"]) == 1:
            code = _CODE_BEFORE_RE.search(text, max(0, match.start() - 8), match.start())
            currency = (currency_code(code.group(1)) or currency) if code else currency
        if amount is None or currency is None:
            continue
        high = match["h1"] or match["h2"]
        top = parse_number(high.translate(_GROUP_SPACES)) if high else None
        yield MoneyHit(amount, currency, match.start(), match.end(), top if top and top > amount else None)


def money_in(text: str) -> list[MoneyHit]:
    start = _first_possible(text)
    return [] if start is None else list(_money_hits(text, start))  # None: no currency at all, most text


def has_money(text: str) -> bool:
    """Whether ``text`` holds an amount with a currency (stops at the first)."""
    start = _first_possible(text)
    return start is not None and next(_money_hits(text, start), None) is not None


def best_money(text: str) -> MoneyHit | None:
    """The price a buyer would read first: fiat before crypto, the first of each."""
    hits = money_in(text)
    fiat = [h for h in hits if not h.crypto]
    return (fiat or hits or [None])[0]


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
