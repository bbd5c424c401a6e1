"""Synthetic shipment streams with planted matches, to measure the matcher.

Listings are drawn from the store; each planted shipment is what a vendor of that listing
might post: from a country the listing ships from to one it ships to, while it is on sale,
holding one of its quantities — declared with the noise real declarations have:

- wording: the listing's own words, another name of its product (slang, brand, INN), a
  misspelling of either, or a vague cover ("gift", "cosmetics"), sometimes with the
  vendor's email as the sender's;
- values: usually undervalued (5–40 % of the listing's price), sometimes honest;
- weights: with packaging jitter, often rounded to 10 g or 100 g;
- HS codes: the product's, an unrelated one, or none.

Decoys are lawful goods (matching/data/synthetic_goods.json) on the same routes, some with
words that also occur in listings ("crystal glasses", "herbal tea"). Every shipment's truth
is returned beside it; nothing about it is visible to the matcher.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice
from pathlib import Path

from contracts.documents import ListingDocument
from contracts.regions import covers, load_region_members
from contracts.shipments import Shipment, known_country, s10_check_digit
from contracts.text import fold
from contracts.vocabulary import load_filler_words
from enrichment.rates import load_rates
from index.profiles import ListingProfile, listing_profile
from index.store import ListingStore

DATA = json.loads((Path(__file__).resolve().parent / "data" / "synthetic_goods.json").read_text(encoding="utf-8"))
# How planted shipments describe their goods, and how often.
MODES = {"listing_words": 0.25, "other_name": 0.25, "misspelt": 0.3, "vague_with_contact": 0.14, "vague": 0.06}
SYNONYM_CATEGORIES = ("drugs", "tobacco", "precursors")
EURO = {"AT", "BE", "CY", "DE", "EE", "ES", "FI", "FR", "GR", "HR", "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PT", "SI", "SK"}
# What a sender leaves out of a title: [tags], (asides), quantities ("10g", "20 pills"), separators.
_TAG_RE = re.compile(r"\[[^\]]*\]|\([^)]*\)|(?<![\w-])\d+(?:[.,]\d+)?\s*(?:x\s*)?[^\W\d_]*(?![\w-])|\s[-|]\s")


@dataclass(frozen=True)
class Truth:
    item_id: str
    kind: str  # planted | decoy
    mode: str  # how the goods were described (MODES), or "decoy"
    listing_id: str | None = None
    vendor_id: str | None = None
    title: str | None = None
    vendor: str | None = None


class StreamGenerator:
    def __init__(self, store: ListingStore, seed: int = 7, pool: int | None = 20_000):
        self.rng = random.Random(seed)
        self.store = store
        # A pool of listings to plant from: the first `pool` the store yields (a full scan
        # is for small indexes; a sample is as good a source), or all (None).
        self.listings: list[tuple[ListingDocument, ListingProfile]] = []
        for doc in islice(store.iter_listings(), pool):
            profile = listing_profile(doc)
            if profile.offers and self._origins(profile):
                self.listings.append((doc, profile))
        if not self.listings:
            raise ValueError("the store holds no listing with a price per quantity and a ships-from country")
        self.vendor_emails: dict[str, list[str]] = {}
        for vendor_id in {p.vendor_id for _, p in self.listings}:
            vendor = store.get_vendor(vendor_id)
            emails = vendor.data.enrichment.identifier_values("email") if vendor else []
            if emails:
                self.vendor_emails[vendor_id] = emails
        self.filler = load_filler_words()
        self.origins = [c for _, p in self.listings for c in self._origins(p)]
        self.serial = 0

    # -- one shipment ----------------------------------------------------------------------
    def stream(self, count: int, decoy_share: float = 0.4) -> Iterator[tuple[Shipment, Truth]]:
        for _ in range(count):
            yield self.decoy() if self.rng.random() < decoy_share else self.planted()

    def planted(self) -> tuple[Shipment, Truth]:
        rng = self.rng
        doc, profile = rng.choice(self.listings)
        mode = rng.choices(list(MODES), weights=list(MODES.values()))[0]
        if mode == "vague_with_contact" and profile.vendor_id not in self.vendor_emails:
            mode = "misspelt"
        offer = rng.choice(profile.offers)
        top = (doc.data.enrichment.category or "").split(".")[0]
        description, hs_code = self._description(profile, mode)
        quantity, grams = 1, offer.amount
        if offer.unit == "unit":
            low, high = DATA["unit_weight_g"].get(top, DATA["unit_weight_g"][""])
            grams = offer.amount * rng.uniform(low, high)
            if rng.random() < 0.6:
                quantity = int(offer.amount)
            elif mode not in ("vague", "vague_with_contact"):
                description += f" {offer.amount:g} pcs"
        net = self._rounded(grams * rng.uniform(0.97, 1.08) / 1000)
        value_usd = offer.price_usd * (rng.uniform(0.05, 0.4) if rng.random() < 0.7 else rng.uniform(0.9, 1.1))
        posted = profile.first_seen + timedelta(days=rng.randint(0, max(1, (profile.last_seen - profile.first_seen).days + 20)))
        origin = rng.choice(self._origins(profile))
        destination = self._destination(profile, origin)
        email = None
        if mode == "vague_with_contact" or (profile.vendor_id in self.vendor_emails and rng.random() < 0.1):
            email = rng.choice(self.vendor_emails[profile.vendor_id])
        shipment = self._shipment(origin, destination, posted, description, hs_code, quantity, net, value_usd, email,
                                  category=rng.choice(["sale_of_goods", "gift", "gift", "commercial_sample", "other"]))
        return shipment, Truth(item_id=shipment.item_id, kind="planted", mode=mode, listing_id=profile.id,
                               vendor_id=profile.vendor_id, title=profile.title, vendor=profile.vendor)

    def decoy(self) -> tuple[Shipment, Truth]:
        rng = self.rng
        goods = rng.choice(DATA["goods"])
        quantity = rng.choice([1, 1, 1, 2, 3, 5, 10])
        origin = rng.choice(self.origins)
        destination = rng.choice([d for d in DATA["destinations"] if d != origin])
        _, profile = rng.choice(self.listings)
        posted = profile.first_seen + timedelta(days=rng.randint(0, 60))
        net = self._rounded(goods["unit_kg"] * quantity * rng.uniform(0.9, 1.1))
        value = goods["unit_usd"] * quantity * rng.uniform(0.6, 1.2)
        hs_code = goods["hs_code"] if rng.random() < 0.7 else None
        shipment = self._shipment(origin, destination, posted, goods["description"], hs_code, quantity, net, value,
                                  None, category=rng.choice(["sale_of_goods", "sale_of_goods", "gift", "other"]))
        return shipment, Truth(item_id=shipment.item_id, kind="decoy", mode="decoy")

    # -- pieces ----------------------------------------------------------------------------
    def _description(self, profile: ListingProfile, mode: str) -> tuple[str, str | None]:
        rng = self.rng
        if mode.startswith("vague"):
            return rng.choice(DATA["covers"]), rng.choice([None, None, "330499", "090210", "620520"])
        words = [w for w in _TAG_RE.sub(" ", profile.title).replace("|", " ").split()
                 if fold(w) not in self.filler and sum(c.isalpha() for c in w) >= 3]
        # Another name: the product's generic name (INN, "cocaine" for "Peruvian flake") for
        # drugs and tobacco; replicas and weapons go by their model, so they keep their words.
        synonyms = profile.category and profile.category.split(".")[0] in SYNONYM_CATEGORIES
        if (mode == "other_name" and synonyms) or not words:
            names = list(profile.products[:1]) or words or [profile.title]  # the main product comes first
            form = rng.choice(DATA["forms"]["unit" if profile.offers[0].unit == "unit" else "g"])
            description = f"{rng.choice(names)} {form}".strip()
        else:
            description = " ".join(words[:rng.randint(2, 4)] if len(words) > 2 else words)
        if mode == "misspelt":
            description = self._misspell(description)
        roll = rng.random()
        hs = profile.hs_codes[0] if profile.hs_codes and roll < 0.4 else (rng.choice(["330499", "090210", "950300"]) if roll < 0.6 else None)
        return description, hs

    def _misspell(self, text: str) -> str:
        rng = self.rng
        words = text.split()
        long = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
        if not long:
            return text
        i = rng.choice(long)
        word = words[i]
        at = rng.randint(2, len(word) - 2)
        kind = rng.choice(["drop", "swap", "double", "replace"])
        if kind == "drop":
            word = word[:at] + word[at + 1:]
        elif kind == "swap":
            word = word[:at] + word[at + 1] + word[at] + word[at + 2:]
        elif kind == "double":
            word = word[:at] + word[at] + word[at:]
        else:
            word = word[:at] + rng.choice("aeiourstnl") + word[at + 1:]
        words[i] = word
        return " ".join(words)

    def _rounded(self, kg: float) -> float:
        step = self.rng.choice([0.001, 0.001, 0.01, 0.1])
        return max(step, round(round(kg / step) * step, 3))

    @staticmethod
    def _origins(profile: ListingProfile) -> list[str]:
        members = load_region_members()
        out = []
        for place in profile.ships_from:
            if place in members:  # a region ("EU" too: two letters, not a country) stands for its countries
                out += sorted(members[place])
            elif len(place) == 2:
                out.append(place)
        return [c for c in out if known_country(c)]  # a parcel's S10 id needs an ISO country (not Kosovo's XK)

    def _destination(self, profile: ListingProfile, origin: str) -> str:
        pool = [d for d in DATA["destinations"] + [origin]
                if (not profile.ships_to or any(covers(p, d) for p in profile.ships_to))
                and not any(covers(p, d) for p in profile.ships_to_excluded)]
        abroad = [d for d in pool if d != origin]
        return self.rng.choice(abroad or pool or DATA["destinations"])

    def _shipment(self, origin, destination, posted, description, hs_code, quantity, net, value_usd, email,
                  category) -> Shipment:
        rng = self.rng
        self.serial += 1
        express = rng.random() < 0.2
        if express:
            item_id = f"{rng.randint(10**9, 10**10 - 1)}{self.serial:06d}"
        else:
            serial = f"{(self.serial * 7919 + rng.randint(0, 9)) % 10**8:08d}"
            item_id = f"{rng.choice(['RR', 'RX', 'LX', 'CP', 'EE'])}{serial}{s10_check_digit(serial)}{origin}"
        currency = "EUR" if origin in EURO else "GBP" if origin == "GB" else "USD"
        rate = load_rates().cached_rate(currency, posted) or 1.0
        return Shipment.model_validate({
            "service": "express" if express else "postal", "item_id": item_id, "posting_date": posted,
            "operator": rng.choice(DATA["operators"]["express" if express else "postal"]),
            "origin_country": origin, "destination_country": destination,
            "sender": {"name": rng.choice(DATA["names"]), "address": f"{rng.randint(1, 200)} Market Street",
                       "country": origin, "email": email},
            "recipient": {"name": rng.choice(DATA["names"]), "address": f"{rng.randint(1, 90)} High Road",
                          "country": destination},
            "category": category,
            "articles": [{"description": description, "hs_code": hs_code, "quantity": quantity,
                          "net_weight_kg": net, "value": round(value_usd / rate, 2), "currency": currency}],
            "gross_weight_kg": round(net + rng.uniform(0.02, 0.3), 3),
        })
