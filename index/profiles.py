"""Match profiles and blocking keys: what candidate retrieval needs of a listing, kept
beside each document by both stores.

A matching or watchlist job reads thousands of candidates per second; parsing whole
documents for that would cost more than the matching itself, so each listing also carries
a compact profile (ids, products, routes, offers with USD prices, identifiers, dates), and
a set of blocking keys the stores index as exact terms:

- ``p:<product>@<origin>``  canonical product and each ships-from code ("?" when unknown)
- ``q:<product>@<origin>~<size>`` the same, for each quantity the listing sells (half-octave
                            sizes, ``quantity_size``): the listings of a common product that
                            sell what a parcel holds, whatever else that product's key holds
- ``c:<category>@<origin>`` the listing's main category (descriptions that name only a kind)
- ``w:<word>@<origin>``     distinctive title words (not filler such as "quality")
- ``t:<word>``              every title word of three letters or more: counted, never fetched
                            (the matcher's document frequencies: how distinctive a word is)
- ``i:<identifier>``        identifiers the listing states (emails, phones, handles, wallets)
- ``v:<vendor id>``         the vendor document (a sender found by identifier -> their listings)
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import orjson

from contracts.documents import ListingDocument, vendor_id
from contracts.text import fold
from contracts.vocabulary import load_filler_words

UNKNOWN_ORIGIN = "?"
MAX_TITLE_WORDS = 6
# Words of three characters or more that start with a letter: names such as "BHO", "GDF" or
# "PB22" count; quantities ("10g", "x10") do not.
_TOKEN_RE = re.compile(r"(?<![^\W_])[^\W\d_][^\W_]{2,}")
_MULTIPLIER_RE = re.compile(r"x\d+")


def tokens(text: str) -> list[str]:
    """The words of a folded text that titles and declarations are compared on."""
    return [t for t in _TOKEN_RE.findall(text) if not _MULTIPLIER_RE.fullmatch(t)]


def distinctive_words(text: str, limit: int = MAX_TITLE_WORDS) -> list[str]:
    """Folded words (``tokens``) that name goods rather than praise an offer."""
    filler = load_filler_words()
    words = [w for w in tokens(fold(text)) if w not in filler]
    return list(dict.fromkeys(words))[:limit]


def title_words(text: str) -> tuple[str, ...]:
    """Folded words (``tokens``), in order, once each: what a title is compared on."""
    return tuple(dict.fromkeys(tokens(fold(text))))


class Offer(NamedTuple):
    amount: float  # grams, millilitres or units
    unit: str  # g, ml, unit
    price_usd: float


# Quantities are blocked in half-octave sizes (each 1.41 times the last): a parcel's contents
# are known to within packaging and rounding, so it asks for the few sizes its weight spans.
_SIZES_PER_OCTAVE = 2


def quantity_size(amount: float, unit: str) -> str:
    """The blocking size of a quantity: "g7" holds 9.5 to 13.5 g (ml count as g), "u6" 7 to 9 units."""
    return f"{'u' if unit == 'unit' else 'g'}{round(_SIZES_PER_OCTAVE * math.log2(amount))}"


def quantity_sizes(low: float, high: float, unit: str) -> list[str]:
    """Every blocking size a quantity between ``low`` and ``high`` may have been filed under."""
    if not 0 < low <= high or not math.isfinite(high):
        return []
    first, last = (round(_SIZES_PER_OCTAVE * math.log2(x)) for x in (low, high))
    return [f"{'u' if unit == 'unit' else 'g'}{n}" for n in range(first, last + 1)]


# Not frozen: a matching run decodes tens of thousands of profiles a second, and a frozen
# dataclass sets each field through object.__setattr__ (twice the cost). Treat as read-only.
@dataclass(slots=True)
class ListingProfile:
    id: str
    market: str
    vendor: str
    vendor_id: str
    title: str
    products: tuple[str, ...]  # canonical names
    hs_codes: tuple[str, ...]  # digits only, as customs writes them
    category: str | None
    ships_from: tuple[str, ...]  # ISO codes and region ids
    ships_to: tuple[str, ...]
    ships_to_excluded: tuple[str, ...]
    offers: tuple[Offer, ...]  # what each price buys (tiers, or the title's quantity at the listing's price)
    price_usd: float | None
    identifiers: tuple[str, ...]
    first_seen: date
    last_seen: date

    def to_json(self) -> str:
        data = {name: getattr(self, name) for name in self.__slots__}
        data["offers"] = [[o.amount, o.unit, o.price_usd] for o in self.offers]
        data["first_seen"], data["last_seen"] = self.first_seen.isoformat(), self.last_seen.isoformat()
        return orjson.dumps(data).decode()

    @classmethod
    def from_json(cls, text: str | dict) -> "ListingProfile":
        data = orjson.loads(text) if isinstance(text, str) else dict(text)
        for name in ("products", "hs_codes", "ships_from", "ships_to", "ships_to_excluded", "identifiers"):
            data[name] = tuple(data[name])
        data["offers"] = tuple(Offer._make(o) for o in data["offers"])
        data["first_seen"] = date.fromisoformat(data["first_seen"])
        data["last_seen"] = date.fromisoformat(data["last_seen"])
        return cls(**data)


def _offers(doc: ListingDocument) -> tuple[Offer, ...]:
    enr = doc.data.enrichment
    offers = [Offer(t.quantity.amount, t.quantity.unit, t.price.usd) for t in enr.tiers
              if t.quantity and t.quantity.amount and t.price.usd]
    if not offers and enr.price_usd:
        # No tiers: the listing's price buys the first quantity its title names.
        for entity in enr.entities:
            if entity.label == "QUANTITY" and entity.field == "title" and entity.attrs.get("amount"):
                offers.append(Offer(entity.attrs["amount"], entity.attrs["unit"], enr.price_usd))
                break
    return tuple(offers)


def listing_profile(doc: ListingDocument) -> ListingProfile:
    item, enr = doc.data.listing, doc.data.enrichment
    return ListingProfile(
        id=doc.id, market=doc.market, vendor=item.vendor.name, vendor_id=vendor_id(doc.market, item.vendor.name),
        title=item.title,
        # A guide's or a pipe's topic is not what a parcel from it holds.
        products=tuple(dict.fromkeys(p.canonical for p in enr.products if p.role != "topic")),
        hs_codes=tuple(dict.fromkeys(p.hs_code.replace(".", "") for p in enr.products if p.hs_code)),
        category=enr.category, ships_from=tuple(enr.ships_from), ships_to=tuple(enr.ships_to),
        ships_to_excluded=tuple(enr.ships_to_excluded), offers=_offers(doc), price_usd=enr.price_usd,
        identifiers=tuple(enr.identifier_values()),
        first_seen=doc.first_seen.date(), last_seen=doc.last_seen.date(),
    )


def blocking_keys(profile: ListingProfile) -> list[str]:
    origins = profile.ships_from or (UNKNOWN_ORIGIN,)
    keys = [f"p:{fold(p)}@{o}" for p in profile.products for o in origins]
    sizes = dict.fromkeys(quantity_size(offer.amount, offer.unit) for offer in profile.offers if offer.amount > 0)
    keys += [f"q:{fold(p)}@{o}~{size}" for p in profile.products for o in origins for size in sizes]
    if profile.category:
        keys += [f"c:{profile.category}@{o}" for o in origins]
    keys += [f"w:{w}@{o}" for w in distinctive_words(profile.title) for o in origins]
    keys += [f"i:{fold(i)}" for i in profile.identifiers]
    keys.append(f"v:{profile.vendor_id}")
    keys += [f"t:{w}" for w in title_words(profile.title)]
    return list(dict.fromkeys(keys))
