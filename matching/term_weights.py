"""How strongly a watchlist term points at illicit goods, and which terms a risk engine's
default feed leaves out (docs/matching.md, "Watchlist").

weight = distinctiveness × support, in [0, 1]:
- distinctiveness: how much more often the term is written in the indexed listings' titles
  than in ordinary English — its lift, log10 of its share of titles over the chance that a
  ten-word English text holds it, from the Zipf frequency of the ``wordfreq`` package (its
  word lists ship inside the wheel: nothing is downloaded). "crystal meth" (lift 2.5) counts,
  "starbucks" (0.9, gift-card listings) does not. A term no title holds is judged by its
  English frequency alone. A product of an illicit class keeps a floor (its name was curated
  into the gazetteer); goods no parcel carries (fraud guides, hacking) and paraphernalia
  lawful in most places (syringes, bags) count half; a slang word is judged by the class of
  the product it names; identifiers are specific by nature (a handle that is an ordinary
  word is not); a route between two countries counts more than one to a region;
- support: how many listings, vendors and markets use the term (an identifier needs one).

Left out of the default feed, each with its reason: terms listed in data/common_terms.txt
(spaces and punctuation aside: "royalmail" is "Royal Mail"), version numbers, generic words
(Zipf ≥ ``generic_zipf`` in English or another market language: "ice", "factura") among
slang, phrases and handles, terms no more frequent in the listings than in ordinary English
(lift below ``min_lift``: the IDF rule, index against English), and weights below
``min_weight``. A vendor name that wordfreq knows in a market language ("fake", "Canada",
"Kaufland": Zipf ≥ ``vendor_qualify_zipf``) is kept only with its qualifiers (its markets
and identifiers): a risk engine matches it together with one of them, never alone.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from config import WatchlistSettings
from contracts.regions import WORLDWIDE, load_region_members
from contracts.text import fold

DATA = Path(__file__).resolve().parent / "data"
ILLICIT_FAMILIES = ("drugs", "weapons", "counterfeits", "precursors")
PRODUCT_FLOOR = 0.8  # distinctiveness of a product of an illicit class, whatever its English frequency
# Classes a risk engine cares less for, counted at half: goods no parcel carries (fraud
# guides, hacking services) and paraphernalia that is lawful in most places (syringes, bags).
WEAK_CLASSES = ("digital", "services", "paraphernalia")
WEAK_FACTOR = 0.5
# A word common in any of the markets' languages is as generic as an English one ("factura", "gras").
LANGUAGES = ("en", "de", "fr", "es", "nl", "it", "pt")
VERSION_RE = re.compile(r"v?\d+(?:\.\d+)+[a-z]?", re.I)  # "v1.0", "v2.3": software versions, not names
HANDLE_KINDS = ("telegram", "wickr", "session", "jabber")
TITLE_KINDS = ("product", "slang")  # words of titles; phrases of descriptions and names are judged by English alone
WORDS_PER_TITLE = 10  # a listing title's length, for the chance an English text of that length holds a word
_WORD_RE = re.compile(r"[^\W_]+")


@lru_cache(maxsize=200_000)
def zipf(term: str) -> float:
    """Zipf frequency of a term in English (log10 per billion words; 0 for unknown words)."""
    from wordfreq import zipf_frequency

    return zipf_frequency(term, "en")


@lru_cache(maxsize=200_000)
def zipf_any(term: str) -> float:
    """The highest Zipf frequency of the term in the markets' languages (LANGUAGES)."""
    from wordfreq import zipf_frequency

    return max(zipf_frequency(term, language) for language in LANGUAGES)


def _squeezed(text: str) -> str:
    """Folded, without spaces or punctuation: "Royal Mail", "royalmail" and "royal-mail" meet."""
    return "".join(_WORD_RE.findall(fold(text)))


@lru_cache(maxsize=1)
def common_terms() -> frozenset[str]:
    lines = (DATA / "common_terms.txt").read_text(encoding="utf-8").splitlines()
    return frozenset(_squeezed(line) for line in lines if line.strip() and not line.startswith("#"))


def title_words(title: str) -> set[str]:
    return set(_WORD_RE.findall(fold(title)))


@dataclass
class Weigher:
    """One watchlist run's view of the index: how many listings, and in how many titles each word is."""

    settings: WatchlistSettings
    listings: int = 0
    title_df: Counter = field(default_factory=Counter)

    def count_title(self, title: str) -> None:
        self.listings += 1
        self.title_df.update(title_words(title))

    def lift(self, term: str) -> float | None:
        """log10(share of titles holding the term / chance a ten-word English text holds it);
        None when no title holds it."""
        share = self.title_share(term)
        if not share:
            return None
        english = min(1.0, 10 ** (zipf(term) - 9) * WORDS_PER_TITLE) if zipf(term) else 1e-9
        return math.log10(share / english)

    def title_share(self, term: str) -> float:
        """The share of indexed titles holding every word of the term (at most that of its rarest word)."""
        words = _WORD_RE.findall(fold(term))
        if not words or not self.listings:
            return 0.0
        return min(self.title_df.get(w, 0) for w in words) / self.listings

    @staticmethod
    def distinctiveness(term: str) -> float:
        """From English frequency alone: Zipf 3 or less counts fully, 6 not at all."""
        return max(0.0, min(1.0, (6.0 - zipf(term)) / 3.0))

    @staticmethod
    def support(listings: int, vendors: int, markets: int) -> float:
        """One listing is some evidence; 25 listings by four vendors on three markets, full."""
        spread = 0.6 + 0.2 * min(1.0, max(0, vendors - 1) / 3) + 0.2 * min(1.0, max(0, markets - 1) / 2)
        return (0.4 + 0.6 * min(1.0, math.log1p(listings) / math.log1p(25))) * spread

    def weigh(self, kind: str, subkind: str | None, term: str, listings: int, vendors: int, markets: int,
              categories: list[str]) -> tuple[float, str | None]:
        """(weight, why the default feed leaves the term out, or None)."""
        settings = self.settings
        if _squeezed(term) in common_terms():
            return 0.0, "listed as a common term (matching/data/common_terms.txt)"
        if kind != "identifier" and VERSION_RE.fullmatch(term.strip()):
            return 0.0, "a version number"
        generic = zipf_any(term) >= settings.generic_zipf
        if kind == "identifier":
            if subkind == "exif-camera":  # millions own that camera: a lead beside other evidence, not a target
                return 0.2, "a camera model identifies no one alone (its vendors are listed with it)"
            if subkind in HANDLE_KINDS and generic:
                return round(self.distinctiveness(term), 3), f"handle is an ordinary word (Zipf {zipf_any(term):.1f})"
            weight = 0.75 + 0.25 * min(1.0, math.log1p(listings) / math.log1p(10))
            return round(weight, 3), None
        if kind == "route":
            origin, _, destination = term.partition(" -> ")
            regional = load_region_members()
            reach = 1.0 if not {origin, destination} & {*regional, WORLDWIDE} else 0.6
            weight = round(reach * self.support(listings, vendors, markets), 3)
            return weight, None if weight >= settings.min_weight else f"weight {weight:.2f} below {settings.min_weight}"
        lift = self.lift(term) if kind in TITLE_KINDS else None
        distinct = self.distinctiveness(term) if lift is None else max(0.0, min(1.0, (lift - 1.0) / 2.0))
        families = {c.split(".")[0] for c in categories}
        if kind == "product" and families & set(ILLICIT_FAMILIES):
            distinct = max(distinct, PRODUCT_FLOOR)
            generic = False
        elif families and families <= set(WEAK_CLASSES):
            distinct *= WEAK_FACTOR
        weight = round(distinct * self.support(listings, vendors, markets), 3)
        if kind == "vendor":  # an ordinary name is qualified, not dropped (watchlist.derive_terms)
            return weight, None if weight >= settings.min_weight else f"weight {weight:.2f} below {settings.min_weight}"
        if generic:
            return weight, f"generic word (Zipf {zipf_any(term):.1f})"
        if kind != "product" and lift is not None and lift < settings.min_lift:
            return weight, f"no more frequent in listings than in ordinary English (lift {lift:.1f}, IDF rule)"
        if weight < settings.min_weight:
            return weight, f"weight {weight:.2f} below {settings.min_weight}"
        return weight, None

    def ordinary_name(self, name: str) -> bool:
        """A vendor name a risk engine must not match alone: a word of one of the markets'
        languages, a brand or a place ("fake", "Kaufland", "Canada")."""
        return zipf_any(name) >= self.settings.vendor_qualify_zipf
