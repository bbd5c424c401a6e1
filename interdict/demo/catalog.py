"""The demo marketplaces' content, generated deterministically from a seed.

``Catalog(seed, epoch)`` is both what the demo web app serves and the ground truth tests
check the crawl against. An epoch moves prices of about one listing in ten, as happens
between two crawls of a real market. From epoch 2 some listings are withdrawn for good and
a few vendors are away (epochs 2 and 3, back from 4 with their listings), so the listing
lifecycle can be watched. From epoch 5 the markets grow: new listings on each, and a vendor of
Sable opens shop on Vesper under the same name and key, so trackers have news to tell.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import cached_property
from pathlib import Path

from enrichment.wallets import b58check_encode, segwit_encode
from interdict.demo.pgpkeys import demo_public_key

VOCABULARY = json.loads((Path(__file__).with_name("vocabulary.json")).read_text(encoding="utf-8"))
SABLE, VESPER = "sable", "vesper"
# Listings per market and vendors only on one market / on both (a vendor working two markets
# under one name and one PGP key is what cross-market vendor linking must find).
LISTINGS = {SABLE: 1150, VESPER: 950}
VENDORS_ONLY = {SABLE: 95, VESPER: 50}
VENDORS_SHARED = 30
EUR_PER_USD = 1 / 1.16
XMR_USD, BTC_USD = 310.0, 92000.0
WITHDRAWN_SHARE = 0.03  # of listings, gone from epoch WITHDRAWN_FROM on
WITHDRAWN_FROM = 2
AWAY_SHARE = 0.04  # of vendors, away with all their listings in the AWAY_EPOCHS
AWAY_EPOCHS = (2, 3)
FAULT_KINDS = ("truncated", "noprice", "huge", "error")
GROWTH_FROM = 5  # from this epoch on: new listings (NEW_SHARE of each market) and a newcomer on Vesper
NEW_SHARE = 0.02
NEWCOMER_LISTINGS = 6  # the newcomer's listings on Vesper


def _rng(*parts: object) -> random.Random:
    return random.Random(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest())


@dataclass(frozen=True)
class VendorSpec:
    name: str
    markets: tuple[str, ...]
    origin: str  # ISO code
    langs: tuple[str, ...]
    destinations: tuple[str, ...]  # ISO codes or EU / EUROPE / WORLDWIDE
    specialities: tuple[str, ...]
    pgp_key: str
    fingerprint: str
    btc_address: str
    email: str
    handle: str
    rating: float
    sales: int
    joined: str
    profile: str
    feedback: tuple[tuple[int, str, str], ...]


@dataclass(frozen=True)
class ListingSpec:
    market: str
    key: str
    title: str
    description: str
    price: float  # for the first tier, in the market's currency, at this epoch
    currency: str
    tiers: tuple[tuple[str, float], ...]
    vendor: str
    origin: str  # ISO code
    ships_from: str  # as shown
    ships_to: tuple[str, ...]  # as shown
    destinations: tuple[str, ...]  # ISO / region codes
    category_path: tuple[str, ...]
    shipping: tuple[tuple[str, float], ...]
    escrow: str
    product: str
    lang: str
    bad_bytes: bool = False


@dataclass
class MarketCatalog:
    name: str
    listings: list[ListingSpec] = field(default_factory=list)
    vendors: dict[str, VendorSpec] = field(default_factory=dict)
    faults: dict[str, str] = field(default_factory=dict)  # listing key -> fault kind

    @cached_property
    def by_key(self) -> dict[str, ListingSpec]:
        return {l.key: l for l in self.listings}

    @cached_property
    def categories(self) -> dict[tuple[str, ...], list[ListingSpec]]:
        cats: dict[tuple[str, ...], list[ListingSpec]] = {}
        for listing in self.listings:
            cats.setdefault(listing.category_path, []).append(listing)
        return dict(sorted(cats.items()))


def country_name(code: str, lang: str = "en") -> str:
    for country in VOCABULARY["countries"]:
        if country["code"] == code:
            return country["names"].get(lang, country["names"]["en"])
    return VOCABULARY["destinations"][code].get(lang, VOCABULARY["destinations"][code]["en"])


def _fmt_qty(q: float, unit: str) -> str:
    if q == 1 and unit.endswith("s"):
        unit = unit[:-1]
    return f"{q:g} {unit}" if unit not in ("g", "kg", "ml") else f"{q:g}{unit}"


class Catalog:
    def __init__(self, seed: int = 20261128, epoch: int = 0):
        self.seed, self.epoch = seed, epoch
        self.products = {p["id"]: p for p in VOCABULARY["products"]}
        self.vendors = self._vendors()
        self.markets = {m: MarketCatalog(m) for m in LISTINGS}
        for vendor in self.vendors:
            for m in vendor.markets:
                self.markets[m].vendors[vendor.name] = vendor
        for m in LISTINGS:
            self._listings(self.markets[m])
            self._withdraw(self.markets[m])
            self._grow(self.markets[m])

    @cached_property
    def away(self) -> set[str]:
        """Vendors away at this epoch."""
        if self.epoch not in AWAY_EPOCHS:
            return set()
        return {v.name for v in self.vendors if _rng(self.seed, "away", v.name).random() < AWAY_SHARE}

    def withdrawn(self, market: str, key: str) -> bool:
        return self.epoch >= WITHDRAWN_FROM and _rng(self.seed, "withdrawn", market, key).random() < WITHDRAWN_SHARE

    def _withdraw(self, market: MarketCatalog) -> None:
        """What the market no longer shows at this epoch: withdrawn listings, away vendors."""
        market.listings = [l for l in market.listings if l.vendor not in self.away
                           and not self.withdrawn(market.name, l.key)]
        shown = {l.vendor for l in market.listings}
        market.vendors = {name: v for name, v in market.vendors.items() if name in shown}

    @cached_property
    def newcomer(self) -> str:
        """The Sable vendor that opens on Vesper from epoch GROWTH_FROM on."""
        only_sable = sorted(v.name for v in self.vendors if v.markets == (SABLE,))
        return _rng(self.seed, "newcomer").choice(only_sable)

    def _grow(self, market: MarketCatalog) -> None:
        """New listings from epoch GROWTH_FROM on (their keys drawn apart from the first ones,
        so every earlier listing stays as it was), and the newcomer's on Vesper."""
        if self.epoch < GROWTH_FROM:
            return
        rng = _rng(self.seed, "growth", market.name)
        used = {l.key for l in market.listings} | {self._fault_key(market.name, i) for i in range(len(FAULT_KINDS))}
        owners = [rng.choice(sorted(market.vendors.values(), key=lambda v: v.name))
                  for _ in range(round(LISTINGS[market.name] * NEW_SHARE))]
        if market.name == VESPER:
            vendor = next(v for v in self.vendors if v.name == self.newcomer)
            market.vendors[vendor.name] = replace(vendor, markets=(SABLE, VESPER))
            owners += [market.vendors[vendor.name]] * NEWCOMER_LISTINGS
        for i, vendor in enumerate(owners):
            key = self._listing_key(market.name, i, used, "grown-key")
            market.listings.append(self._listing(market.name, key, vendor, LISTINGS[market.name] + i))

    # -- vendors ---------------------------------------------------------------------------
    def _vendor_names(self, count: int) -> list[str]:
        rng = _rng(self.seed, "vendor-names")
        words = VOCABULARY["vendor_words"]
        names: list[str] = []
        while len(names) < count:
            name = rng.choice(words["first"]) + rng.choice(words["second"])
            style = rng.random()
            if style < 0.2:
                name += str(rng.choice([420, 24, 7, 99, 1, 2, 88]))
            elif style < 0.3:
                name = name.lower() + "_" + rng.choice(["eu", "uk", "usa", "official"])
            if name.casefold() not in {n.casefold() for n in names}:
                names.append(name)
        return names

    def _vendors(self) -> list[VendorSpec]:
        total = sum(VENDORS_ONLY.values()) + VENDORS_SHARED
        names = self._vendor_names(total)
        countries = VOCABULARY["countries"]
        weights = [c["weight"] for c in countries]
        product_ids = list(self.products)
        vendors = []
        for i, name in enumerate(names):
            if i < VENDORS_ONLY[SABLE]:
                markets: tuple[str, ...] = (SABLE,)
            elif i < VENDORS_ONLY[SABLE] + VENDORS_ONLY[VESPER]:
                markets = (VESPER,)
            else:
                markets = (SABLE, VESPER)
            rng = _rng(self.seed, "vendor", name)
            country = rng.choices(countries, weights)[0]
            origin = country["code"]
            langs = tuple(country["langs"])
            dest_style = rng.random()
            if dest_style < 0.35:
                destinations: tuple[str, ...] = ("WORLDWIDE",)
            elif dest_style < 0.6 and origin not in ("US", "CA", "AU", "CN", "IN", "HK", "CO"):
                destinations = ("EU",)
            elif dest_style < 0.75:
                destinations = ("EUROPE", "US")
            elif dest_style < 0.9:
                destinations = (origin,)
            else:
                destinations = tuple(sorted({origin, rng.choice(["GB", "DE", "US", "AU", "NL"])}))
            first = rng.choice(product_ids)
            related = [p for p in product_ids if self.products[p]["category"][:2] == self.products[first]["category"][:2]]
            specialities = tuple(dict.fromkeys([first, *rng.sample(related, min(2, len(related))),
                                                rng.choice(product_ids)]))
            created = 1_600_000_000 + rng.randrange(100_000_000)
            handle = re.sub(r"\W", "", name.lower()) + str(rng.randrange(10, 99))
            pgp_key, fingerprint = demo_public_key(f"{self.seed}:{name}", f"{name} <{handle}@onionmail.org>", created)
            payload = hashlib.sha256(f"{self.seed}:btc:{name}".encode()).digest()[:20]
            kind = rng.random()
            btc = (segwit_encode("bc", 0, payload) if kind < 0.5
                   else b58check_encode(0x00 if kind < 0.8 else 0x05, payload))
            email = f"{handle}@{rng.choice(['protonmail.com', 'tutanota.com', 'cock.li', 'onionmail.org'])}"
            joined = date(2024, 1, 1) + timedelta(days=rng.randrange(900))
            carrier = rng.choice(country["carriers"])
            profile_lines = [s.format(year=joined.year, origin=country["names"]["en"], carrier=carrier,
                                      bulk=f"{rng.choice([100, 250, 500])}g")
                             for s in rng.sample(VOCABULARY["profile"], 4)]
            profile_lines.append(f"Contact: {email} | Wickr: {handle} | BTC for direct deals: {btc}")
            feedback = tuple(
                (rng.choice([5, 5, 5, 4, 4, 3, 1]), rng.choice(VOCABULARY["feedback"]),
                 (date(2026, 11, 27) - timedelta(days=rng.randrange(300))).isoformat())
                for _ in range(rng.randrange(3, 9))
            )
            vendors.append(VendorSpec(
                name=name, markets=markets, origin=origin, langs=langs, destinations=destinations,
                specialities=specialities, pgp_key=pgp_key, fingerprint=fingerprint, btc_address=btc,
                email=email, handle=handle, rating=round(rng.uniform(4.1, 5.0), 2),
                sales=rng.randrange(3, 9000), joined=joined.isoformat(), profile="\n".join(profile_lines),
                feedback=feedback,
            ))
        return vendors

    # -- listings --------------------------------------------------------------------------
    def _price_factor(self, market: str, key: str) -> float:
        factor = 1.0
        for epoch in range(1, self.epoch + 1):
            roll = _rng(self.seed, "price-change", market, key, epoch).random()
            factor *= 1.1 if roll < 0.05 else 0.9 if roll < 0.10 else 1.0
        return factor

    def _listings(self, market: MarketCatalog) -> None:
        vendors = list(market.vendors.values())
        rng = _rng(self.seed, "listings", market.name)
        # A few vendors carry most listings, as on real markets.
        weights = [rng.paretovariate(1.3) for _ in vendors]
        owners = rng.choices(vendors, weights, k=LISTINGS[market.name] - len(vendors))
        owners = vendors + owners  # every vendor has at least one listing
        used_keys: set[str] = set()
        for index, vendor in enumerate(owners):
            key = self._listing_key(market.name, index, used_keys)
            market.listings.append(self._listing(market.name, key, vendor, index))
        # One listing per market is served with bytes that are not UTF-8.
        bad = market.listings[len(market.listings) // 3]
        market.listings[len(market.listings) // 3] = replace(bad, bad_bytes=True)
        for i, kind in enumerate(FAULT_KINDS):
            market.faults[self._fault_key(market.name, i)] = kind

    def _listing_key(self, market: str, index: int, used: set[str], namespace: str = "key") -> str:
        rng = _rng(self.seed, namespace, market, index)
        while True:
            key = str(rng.randrange(10000, 99000)) if market == SABLE else f"{rng.getrandbits(48):012x}"
            if key not in used:
                used.add(key)
                return key

    @staticmethod
    def _fault_key(market: str, i: int) -> str:
        return str(99901 + i) if market == SABLE else f"fa01700000{i:02x}"

    def _listing(self, market: str, key: str, vendor: VendorSpec, index: int) -> ListingSpec:
        rng = _rng(self.seed, "listing", market, key)
        product = self.products[rng.choice(vendor.specialities)]
        name = rng.choice(product["names"])
        unit = product["unit"]
        tiers_q = sorted(rng.sample(product["tiers"], min(len(product["tiers"]), rng.randrange(1, 5))))
        unit_usd = rng.uniform(*product["usd_per_unit"]) * self._price_factor(market, key)
        currency = "USD" if market == SABLE else "EUR"
        rate = 1.0 if currency == "USD" else EUR_PER_USD
        tiers = tuple((_fmt_qty(q, unit), round(q * unit_usd * rate * (1 - 0.05 * i), 2))
                      for i, q in enumerate(tiers_q))
        quality = rng.choice(VOCABULARY["quality"])
        q0 = tiers[0][0]
        dose = rng.choice(product["dose"]) if "dose" in product else ""
        lang = vendor.langs[0] if rng.random() < 0.7 else "en"
        title = rng.choice([
            f"{q0} {name} {quality}",
            f"{name} - {q0} - {quality}",
            f"[{vendor.origin}] {name} {q0}",
            f"{name} {dose} x{tiers_q[0]:g}".replace("  ", " ") if dose else f"{name} | {q0} | {quality}",
        ]).strip()
        origin_name = country_name(vendor.origin, lang if market == VESPER else "en")
        dest_names = tuple(country_name(d, lang if market == VESPER else "en") for d in vendor.destinations)
        carriers = next(c["carriers"] for c in VOCABULARY["countries"] if c["code"] == vendor.origin)
        shipping = tuple((c, round(rng.choice([0, 4.5, 6, 8, 12, 25, 35]) * rate, 2))
                         for c in rng.sample(carriers, min(len(carriers), rng.randrange(1, 4))))
        money = f"{tiers[0][1]:.2f} {currency}"
        sentences = VOCABULARY["sentences"][lang]
        fill = {
            "product": name, "quality": quality, "years": rng.randrange(2, 12),
            "purity": rng.randrange(*product.get("purity", [80, 99])), "qty": q0, "dose": dose,
            "price": money, "bulk": _fmt_qty(product["tiers"][-1] * 10, unit),
            "origin": country_name(vendor.origin, lang),
            "dest": ", ".join(country_name(d, lang) for d in vendor.destinations), "excluded": rng.choice(["USA", "Australia", "Scandinavia"]),
            "carrier": shipping[0][0], "handle": vendor.handle, "email": vendor.email, "wallet": vendor.btc_address,
        }
        english = VOCABULARY["sentences"]["en"]
        parts = [rng.choice(sentences["intro"]), rng.choice(sentences["detail"])]
        if "purity" in product:
            parts.append(rng.choice(sentences.get("purity", english["purity"])))
        if dose:
            parts.append(rng.choice(sentences.get("dose", english["dose"])))
        parts += [rng.choice(sentences["stealth"]), rng.choice(sentences["shipping"])]
        if rng.random() < 0.5:
            parts.append(rng.choice(sentences["customs"]))
        parts.append(rng.choice(sentences["terms"]))
        if rng.random() < 0.3:
            parts.append(rng.choice(sentences["contact"]))
        description = " ".join(dict.fromkeys(p.format(**fill) for p in parts))
        path = tuple(product["category"]) if market == SABLE else tuple(product["category"][:2])
        escrow = (rng.choice(["Escrow", "Escrow (auto-finalize after 14 days)", "FE (finalize early)"])
                  if market == SABLE else rng.choice(["Multisig escrow", "Escrow", "Direct pay (FE) for level 5+"]))
        return ListingSpec(
            market=market, key=key, title=title, description=description, price=tiers[0][1], currency=currency,
            tiers=tiers, vendor=vendor.name, origin=vendor.origin, ships_from=origin_name, ships_to=dest_names,
            destinations=vendor.destinations, category_path=path, shipping=shipping, escrow=escrow,
            product=product["id"], lang=lang,
        )

