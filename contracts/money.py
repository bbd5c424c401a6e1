"""Numbers and money as markets write them: "1,200.50", "1.200,50", "1 682,12", "$60",
"500 $", "USD 12", "£13.00 GBP", "50.00 - 39000.00 EUR", "CAD $367.5", "0.0052 BTC".
The one reader every stage uses (page objects, the generic extractor, record imports, the
quantities component); the currencies it knows are data (contracts/data/units.json)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterator

from contracts.vocabulary import load_units

CURRENCY_SYMBOLS: dict[str, str] = load_units().currency_symbols
CURRENCY_WORDS: dict[str, str] = load_units().currency_words
CRYPTO = frozenset({"BTC", "XMR", "LTC", "ZEC", "ETH", "BCH"})


def parse_number(text: str) -> float | None:
    """Parse '1,200.50', '1.200,50', '0.015', '12,5', '1/4' the way a listing writer meant them."""
    text = text.strip()
    if "/" in text:
        top, _, bottom = text.partition("/")
        return int(top) / int(bottom) if top.isdigit() and bottom.isdigit() and int(bottom) else None
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        head, _, tail = text.rpartition(",")
        text = text.replace(",", "") if len(tail) == 3 and head.isdigit() else text.replace(",", ".")
    elif text.count(".") > 1:
        text = text.replace(".", "")
    try:
        number = float(text)
    except ValueError:
        return None
    return number if math.isfinite(number) else None  # 400 digits, "1e999": no amount at all


def currency_code(token: str) -> str | None:
    """ISO 4217 code of a currency symbol or word ("$", "euros", "btc"); None when unknown."""
    return CURRENCY_SYMBOLS.get(token) or CURRENCY_WORDS.get(token.lower())


def alternation(words) -> str:
    """A regex alternation of ``words``, longest first (so "usd" never stops "usdt" short)."""
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


# "1 682,12" (space-grouped thousands) before plain "1.682,12" / "0.005802".
_NUM = r"\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?(?!\d)|\d+(?:[.,]\d+)*"
_GROUP_SPACES = str.maketrans("", "", " \u00a0\u202f")
SYMBOL_CLASS = "[" + re.escape("".join(CURRENCY_SYMBOLS)) + "]"
_CODE = alternation(CURRENCY_WORDS)
# (the first letters, tested first, spare the look-behind at nearly every position of a text)
_CODE_FIRST = "".join(sorted({w[0].lower() for w in CURRENCY_WORDS} | {w[0].upper() for w in CURRENCY_WORDS}))
_CUR = rf"(?:{SYMBOL_CLASS}|(?=[{_CODE_FIRST}])(?<![^\W\d_])(?:{_CODE})(?![^\W\d_]))"
MONEY_RE = re.compile(
    rf"(?:(?P<c1>{_CUR})\s?(?P<a1>{_NUM})(?:\s*[-–]\s*(?:{_CUR})?\s?(?P<h1>{_NUM}))?)"
    rf"|(?:(?P<a2>{_NUM})(?:\s*[-–]\s*(?P<h2>{_NUM}))?\s?(?P<c2>{_CUR}))",
    re.I,
)
_CURRENCY_HINT_RE = re.compile(_CUR, re.I)
# "CAD $367.5", "AUD $ 12": a currency code written before a symbol names the symbol's currency.
_CODE_BEFORE_RE = re.compile(rf"(?<![^\W\d_])({_CODE})\s*$", re.I)
# What can stand before a currency inside an amount ("1 682,12 - 2.000 EUR").
_AMOUNT_CHARS = frozenset("0123456789.,-– \t\n\u00a0\u202f")
# A price cell may name any currency by its code ("0.5 ETH", "120 SEK"); free text may not
# (an upper-case word next to a number is seldom a currency there).
_CELL_RE = re.compile(r"(?P<c1>[A-Z]{3})\s*(?P<a1>\d[\d\s.,]*\d|\d)|(?P<a2>\d[\d\s.,]*\d|\d)\s*(?P<c2>[A-Z]{3})")


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
    """Every amount with a currency in ``text``, in order."""
    start = _first_possible(text)
    return [] if start is None else list(_money_hits(text, start))  # None: no currency at all, most text


def has_money(text: str) -> bool:
    """Whether ``text`` holds an amount with a currency (stops at the first)."""
    start = _first_possible(text)
    return start is not None and next(_money_hits(text, start), None) is not None


def first_money(text: str) -> MoneyHit | None:
    start = _first_possible(text)
    return None if start is None else next(_money_hits(text, start), None)


def best_money(text: str) -> MoneyHit | None:
    """The price a buyer would read first: fiat before crypto, the first of each."""
    hits = money_in(text)
    fiat = [h for h in hits if not h.crypto]
    return fiat[0] if fiat else hits[0] if hits else None


def price_cell(text: str) -> tuple[float, str] | None:
    """(amount, currency) of a cell known to hold a price: the first amount with a known
    currency, else one with any three-letter code ("0.5 ETH"); None when there is none."""
    text = text.replace("\xa0", " ")
    hit = first_money(text)
    if hit is not None:
        return hit.amount, hit.currency
    match = _CELL_RE.search(text)
    if match is None:
        return None
    amount = parse_number((match["a1"] or match["a2"]).replace(" ", ""))
    return (amount, match["c1"] or match["c2"]) if amount is not None else None
