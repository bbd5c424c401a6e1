"""Explainable scores: each comparison between a shipment and a candidate listing adds a
log-odds contribution (weights in matching/data/scoring.json) and says what it compared.
A match's score is the logistic of the sum of its reasons, the prior (the odds of one
candidate before any evidence) first, so an analyst can read why a parcel was tied to a
listing, by how much each piece of evidence counted, and check that they add up.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from contracts.matches import Reason
from contracts.regions import covers
from contracts.text import fold
from index.profiles import ListingProfile, Offer, title_words
from matching.risk import logistic, match_flags, risk, risk_flags
from matching.similarity import NOTHING, Shared, Terms, WordStats, prepare_terms, shared
from matching.view import ShipmentView

WEIGHTS_FILE = Path(__file__).resolve().parent / "data" / "scoring.json"
SIMILARITY_SHOWN = 0.05  # less is not worth a line of explanation
ASPECTS_CACHE = 1_000_000
EPSILON = 1e-9  # the same contributions summed in another order may differ in the last bits
_ASPECT_NUMBERS = itertools.count()


def load_weights(path: Path = WEIGHTS_FILE) -> dict:
    return {k: v for k, v in json.loads(path.read_text(encoding="utf-8")).items() if not k.startswith("_")}


# One piece of evidence while scoring: (code, contribution, detail template, its arguments).
# Thousands of candidates are scored per second and few are shown, so the Reason (and its
# words) is only built for the matches reported.
Evidence = tuple[str, float, str, tuple]


def _summed(evidence: tuple[Evidence, ...]) -> tuple[tuple[Evidence, ...], float]:
    return evidence, sum(item[1] for item in evidence)


def explain(evidence: list[Evidence]) -> list[Reason]:
    return [Reason(code, round(value, 3), template.format(*args)) for code, value, template, args in evidence]


@dataclass(frozen=True, slots=True)
class Prepared:
    """A candidate listing as the scorer's inner loop reads it, computed once per listing.
    The aspects many listings share (what the goods are, the route) carry
    a number, so the evidence about them is worked out once per shipment, not per candidate."""

    profile: ListingProfile
    words: frozenset[str]  # of the title and product names, folded
    identifiers: frozenset[str]
    goods: int  # products, category and HS codes
    route: int  # ships from, to, and not to
    active_from: date  # first seen, less the days a listing may sell before a crawl sees it
    active_to: date  # last seen (or the market's median lifetime after a single sighting), plus the days a parcel may be posted after a sale
    seen: str  # its life, as the reasons write it
    offer: tuple[str, str]  # the offer it is to an investigator: its vendor and main product (or title)


class Scorer:
    def __init__(self, weights: dict | None = None, stats: WordStats | None = None,
                 lifetimes: dict[str, float] | None = None, default_lifetime_days: float = 30.0):
        """``stats``: document frequencies of title words (none: every word counts as rare);
        ``lifetimes``: each market's median listing lifetime in days (MatchIndex.lifetimes), how
        long a listing seen once lives, else ``default_lifetime_days``."""
        self.w = weights or load_weights()
        self.stats = stats or WordStats(self.w)
        self.lifetimes = lifetimes or {}
        self.default_lifetime_days = default_lifetime_days
        self._controlled = tuple(self.w["controlled_categories"])
        self._title_words: dict[str, frozenset[str]] = {}  # listings on several markets share a title
        self._aspects: dict[tuple, int] = {}
        self._covers: dict[tuple[tuple[str, ...], str], bool] = {}
        self._before = timedelta(days=self.w["active_days_before"])
        self._after = timedelta(days=self.w["active_days_after"])

    def _aspect(self, value: tuple) -> int:
        number = self._aspects.get(value)
        if number is None:
            if len(self._aspects) > ASPECTS_CACHE:
                # Numbers are never reused, so a listing prepared before the purge cannot be
                # confused with one prepared after it; the same value just gets a new number.
                self._aspects.clear()
                self._title_words.clear()
            number = self._aspects[value] = next(_ASPECT_NUMBERS)
        return number

    def prepare(self, profile: ListingProfile) -> Prepared:
        text = " ".join((profile.title, *profile.products))
        words = self._title_words.get(text)
        if words is None:
            words = self._title_words[text] = frozenset(title_words(text))
        first, last = profile.first_seen, profile.last_seen
        seen = f"{first.isoformat()} to {last.isoformat()}"
        if last <= first:  # seen once: it lives as long as the market's listings seen several times
            days = self.lifetimes.get(profile.market)
            lifetime = days if days is not None else self.default_lifetime_days
            last = first + timedelta(days=round(lifetime))
            seen = (f"seen once on {first.isoformat()}; taken to live {lifetime:.0f} days "
                    + ("(the market's median)" if days is not None else "(default_lifetime_days)"))
        return Prepared(
            profile=profile, words=words, identifiers=frozenset(i.lower() for i in profile.identifiers),
            goods=self._aspect(("goods", profile.products, profile.category, profile.hs_codes)),
            route=self._aspect(("route", profile.ships_from, profile.ships_to, profile.ships_to_excluded)),
            active_from=first - self._before, active_to=last + self._after, seen=seen,
            offer=(fold(profile.vendor), profile.products[0] if profile.products else fold(profile.title)))

    def _any_covers(self, places: tuple[str, ...], country: str) -> bool:
        key = (places, country)
        found = self._covers.get(key)
        if found is None:
            found = self._covers[key] = any(covers(place, country) for place in places)
        return found

    def score(self, view: ShipmentView, candidate: ListingProfile | Prepared,
              vendor_ids: set[str]) -> tuple[float, list[Evidence]]:
        """The candidate's score judged alone (no other offer competing), and the evidence for
        it in the order an analyst reads it."""
        prepared = candidate if isinstance(candidate, Prepared) else self.prepare(candidate)
        return self._evidence(view, prepared, self._similarity(view, prepared),
                              self._quantity_value(view, prepared.profile), self._identifier(view, prepared, vendor_ids))

    def _evidence(self, view: ShipmentView, prepared: Prepared, similar: Shared, quantity_value: tuple[Evidence, ...],
                  identifier: Evidence | None, competition: Evidence | None = None) -> tuple[float, list[Evidence]]:
        (kind, _), (hs, _), (route, _) = self._shared(view, prepared)
        # The prior first: the reasons then add up to the score's log-odds (logistic of their sum).
        evidence: list[Evidence] = [("prior", self.w["prior"], "before any evidence: one listing among many", ())]
        evidence += kind
        if similar.value > SIMILARITY_SHOWN:
            evidence.append(("similarity", similar.value,
                             "description '{}' shares {} with the title (distinctiveness {:.2f} of the description's {:.2f})",
                             (similar.text, ", ".join(f"'{w}'" for w in similar.words), similar.mass, similar.total)))
        evidence += hs
        evidence += route
        evidence += quantity_value
        if identifier:
            evidence.append(identifier)
        evidence.append(self._life(view, prepared, identifier is not None))
        if competition:
            evidence.append(competition)
        total = 0.0
        for item in evidence:
            total += item[1]
        return logistic(total), evidence

    def best(self, view: ShipmentView, candidates: list[Prepared], vendor_ids: set[str], top: int,
             floor: float) -> list[tuple[float, ListingProfile, list[Evidence]]]:
        """The ``top`` offers scoring at least ``floor``, best first (ties by listing id), each
        as its best-fitting listing with the evidence for it.

        An offer is a vendor's product: their 5 g and 10 g listings of it, or its copy on
        another market, are one offer to an investigator, so each is reported once, as the
        listing that fits best (five lines for one offer would hide the other four). Offers
        compete: a parcel is at most one of them, so each offer's odds are set against those of
        the others (reason ``others``: −ln(1 + the sum of their odds)); when five vendors sell
        the same cocaine on the same route, none of them is more likely than not.

        For speed, every candidate first gets the exact, cheap part of its score plus the most
        quantity and value could add; in that order, quantity and value are worked out only
        while a candidate could come within ``competition_margin`` of the report floor (further
        below, its odds change no score by more than a rounding), and evidence only for those reported.
        Not every offer that fits is a candidate (the store gives ``candidates_per_key`` per
        key): the competition counted is that of the candidates."""
        w = self.w
        headroom = max(w["quantity_fits"], w["quantity_near"], w["quantity_fits_single"], w["quantity_off"]) + max(
            w["value_close"], w["value_fits"], w["undervalued"], 0.0)
        prior, posted = w["prior"], view.posted
        contacts = bool(view.identifiers or vendor_ids)
        partials = []
        for prepared in candidates:  # the inner loop of matching: kept flat on purpose
            (_, kind), (_, hs), (_, route) = self._shared(view, prepared)
            identifier = self._identifier(view, prepared, vendor_ids) if contacts else None
            similar = self._similarity(view, prepared)
            partial = prior + kind + hs + route + self._life_value(prepared, posted, identifier is not None)
            if similar.value > SIMILARITY_SHOWN:
                partial += similar.value
            if identifier:
                partial += identifier[1]
            bound = partial + headroom if prepared.profile.offers else partial
            partials.append((bound, partial, prepared, similar, identifier))
        partials.sort(key=lambda p: -p[0])
        cutoff = math.log(floor / (1 - floor)) if 0 < floor < 1 else -math.inf
        negligible = cutoff - w["competition_margin"]
        scored = []
        for bound, partial, prepared, similar, identifier in partials:
            if bound < negligible:
                break  # sorted by bound: no later candidate's odds count either
            quantity_value = self._quantity_value(view, prepared.profile)
            total = partial
            for part in quantity_value:
                total += part[1]
            scored.append((total, prepared, similar, quantity_value, identifier))
        # Each offer's odds are its best listing's: a vendor listing a product in five sizes
        # does not send five times the parcels. Summed in one order whatever order the store
        # gave the candidates in (ties by listing id), so every store gives the same scores.
        offers: dict[tuple[str, str], tuple[float, tuple]] = {}  # offer -> (odds, its best listing scored)
        for item in sorted(scored, key=lambda c: (-c[0], c[1].profile.id)):
            if item[1].offer not in offers:
                offers[item[1].offer] = (math.exp(item[0]), item)
        everyone = math.fsum(odds for _, (odds, _) in sorted(offers.items()))
        ranked = []
        for odds, item in offers.values():
            others = max(0.0, everyone - odds)
            final = item[0] - math.log1p(others)
            if final >= cutoff - EPSILON:
                ranked.append((final, item, others))
        ranked.sort(key=lambda r: (-r[0], r[1][1].profile.id))
        reported = []
        for _, (total, prepared, similar, quantity_value, identifier), others in ranked[:top]:
            competition = self._competition(prepared, total, others, offers)
            score, evidence = self._evidence(view, prepared, similar, quantity_value, identifier, competition)
            if score >= floor:
                reported.append((score, prepared.profile, evidence))
        reported.sort(key=lambda s: (-s[0], s[1].id))
        return reported

    def _competition(self, prepared: Prepared, total: float, others: float,
                     offers: dict[tuple[str, str], tuple[float, tuple]]) -> Evidence | None:
        if others <= 0:
            return None
        rivals = sorted(((odds, item[1]) for offer, (odds, item) in offers.items() if offer != prepared.offer),
                        key=lambda r: (-r[0], r[1].profile.id))
        close = sum(1 for odds, _ in rivals if math.log(odds) >= total - 3)
        closest = rivals[0][1].profile
        return ("others", -math.log1p(others),
                "other offers fit the parcel too ({} within 3 log-odds of this one); the closest: {} on {}: '{}'",
                (close, closest.vendor, closest.market, closest.title))

    def _shared(self, view: ShipmentView, prepared: Prepared) -> tuple:
        """(evidence, contribution) on what the goods are, their HS code and the route: the same
        for many candidates of one shipment, so worked out once per shipment."""
        memo = view.memo
        goods = memo.get(prepared.goods)
        if goods is None:
            goods = memo[prepared.goods] = tuple(_summed(e) for e in self._goods(view, prepared.profile))
        route = memo.get(prepared.route)
        if route is None:
            route = memo[prepared.route] = _summed(self._route(view, prepared.profile))
        return goods[0], goods[1], route

    def _terms(self, view: ShipmentView) -> list[Terms]:
        if view.terms is None:
            controlled = self._controlled
            view.terms = [prepare_terms(d.text, d.terms, frozenset(
                word for p in d.products if p.category.split(".")[0] in controlled for word in p.text.split()),
                self.stats) for d in view.declared if d.terms and not d.vague]
        return view.terms

    def _similarity(self, view: ShipmentView, prepared: Prepared) -> Shared:
        """What the closest article description shares with the title (matching.similarity)."""
        best = NOTHING
        for terms in self._terms(view):
            found = shared(terms, prepared.words, self.stats)
            if found.value > best.value:
                best = found
        return best

    def _quantity_value(self, view: ShipmentView, profile: ListingProfile) -> tuple[Evidence, ...]:
        if not profile.offers:
            return ()
        w = self.w
        offer, amount, exact = self._fitting_offer(view, profile.offers)
        if offer is None:
            return (("quantity", w["quantity_off"], "declared weight and count fit none of the listing's quantities", ()),)
        unit = "g" if offer.unit != "unit" else " units"
        single = offer.unit == "unit" and offer.amount == 1  # "1 unit": most listings offer one
        near = not (single or exact)
        quantity = ("quantity", w["quantity_fits_single"] if single else w["quantity_fits"] if exact else w["quantity_near"],
                    "declared contents ≈ {:g}{}; listing sells {:g}{}" + (" (within {:.0%}, not what was declared)" if near else ""),
                    (amount, unit, offer.amount, unit) + ((w["quantity_tolerance"],) if near else ()))
        value = self._value(view, offer, amount)
        return (quantity, value) if value is not None else (quantity,)

    def _identifier(self, view: ShipmentView, prepared: Prepared, vendor_ids: set[str]) -> Evidence | None:
        profile = prepared.profile
        if view.identifiers and view.identifiers & prepared.identifiers:
            return ("identifier", self.w["identifier_listing"], "sender's {} is stated in the listing",
                    (min(view.identifiers & prepared.identifiers),))
        if profile.vendor_id in vendor_ids:
            return ("identifier", self.w["identifier_vendor"], "sender's contact belongs to vendor {} ({})",
                    (profile.vendor, profile.market))
        return None

    def _goods(self, view: ShipmentView, profile: ListingProfile) -> tuple[tuple[Evidence, ...], tuple[Evidence, ...]]:
        """(product or category named, HS code): the similarity goes between them."""
        w = self.w
        evidence: list[Evidence] = []
        for product in profile.products:
            if product in view.products:
                # Goods lawful in most places (scales, pipes) say little about which listing a parcel is.
                lawful = view.product_classes[product].split(".")[0] not in self._controlled
                evidence.append(("product", w["product_same_lawful" if lawful else "product_same"],
                                 "declared '{}' is {}, the listing's product" + (" (lawful goods)" if lawful else ""),
                                 (view.products[product], product)))
                break
        else:
            category = profile.category
            if category and any(c == category or category.startswith(c + ".") or c.startswith(category + ".")
                                for c in view.categories):
                evidence.append(("category", w["category_same"], "declared goods are {}, the listing's category",
                                 (category,)))
        return tuple(evidence), self._hs(view, profile)

    def _hs(self, view: ShipmentView, profile: ListingProfile) -> tuple[Evidence, ...]:
        if not (view.hs4 and profile.hs_codes):
            return ()
        w = self.w
        codes = (view.hs_codes[0], profile.hs_codes[0])
        if view.hs4 & {h[:4] for h in profile.hs_codes}:
            return (("hs_code", w["hs_same_heading"], "declared HS {}; listing's product is HS {}", codes),)
        if view.hs2 & {h[:2] for h in profile.hs_codes}:
            return (("hs_code", w["hs_same_chapter"], "declared HS {} is in the chapter of the listing's HS {}", codes),)
        return (("hs_code", w["hs_other"], "declared HS {}; listing's product is HS {}", codes),)
    def _route(self, view: ShipmentView, profile: ListingProfile) -> tuple[Evidence, ...]:
        w = self.w
        origin, destination = view.origin, view.destination
        evidence: list[Evidence] = []
        listed_from, listed_to = ", ".join(profile.ships_from), ", ".join(profile.ships_to)
        if profile.ships_from:
            if self._any_covers(profile.ships_from, origin):
                evidence.append(("origin", w["origin_listed"], "posted in {}; listing ships from {}",
                                 (origin, listed_from)))
            else:
                evidence.append(("origin", w["origin_not_listed"], "posted in {}; listing ships from {} only",
                                 (origin, listed_from)))
        if profile.ships_to_excluded and self._any_covers(profile.ships_to_excluded, destination):
            evidence.append(("destination", w["destination_excluded"], "listing does not ship to {}", (destination,)))
        elif profile.ships_to:
            if self._any_covers(profile.ships_to, destination):
                evidence.append(("destination", w["destination_listed"], "bound for {}; listing ships to {}",
                                 (destination, listed_to)))
            else:
                evidence.append(("destination", w["destination_not_listed"], "bound for {}; listing ships to {} only",
                                 (destination, listed_to)))
        return tuple(evidence)

    def _life_value(self, prepared: Prepared, posted: date, contact: bool) -> float:
        """Posted within the listing's life: a little for; outside it: against, more with each
        month of the gap, to a floor — a higher one when a contact ties the parcel to the
        listing or its vendor (strong evidence whatever the dates)."""
        w = self.w
        if prepared.active_from <= posted <= prepared.active_to:
            return w["active"]
        gap = (prepared.active_from - posted).days if posted < prepared.active_from else (posted - prepared.active_to).days
        return max(w["inactive"] + w["inactive_per_30_days"] * gap / 30,
                   w["inactive_floor_with_contact"] if contact else w["inactive_floor"])

    def _life(self, view: ShipmentView, prepared: Prepared, contact: bool) -> Evidence:
        value = self._life_value(prepared, view.posted, contact)
        posted = view.posted.isoformat()
        if prepared.active_from <= view.posted <= prepared.active_to:
            return ("active", value, "listing {}; posted {}", (prepared.seen, posted))
        before = view.posted < prepared.active_from
        gap = (prepared.active_from - view.posted).days if before else (view.posted - prepared.active_to).days
        tied = "; a contact ties them whatever the dates" if contact and value == self.w["inactive_floor_with_contact"] else ""
        return ("active", value, "posted {}, {} days {} the listing's life ({}, with {} days' grace){}",
                (posted, gap, "before" if before else "after", prepared.seen,
                 self.w["active_days_before" if before else "active_days_after"], tied))

    def _fitting_offer(self, view: ShipmentView, offers: tuple[Offer, ...]) -> tuple[Offer | None, float, bool]:
        """The listing's quantity the parcel holds (closest first), how much of it, and whether
        it is what was declared (within the declaration's rounding, less packaging) rather
        than only within ``quantity_tolerance`` of it."""
        tolerance, packaging = self.w["quantity_tolerance"], self.w["packaging_share"]
        best: tuple[tuple[bool, float], Offer, float, bool] | None = None  # exact ones first, then closest
        for offer in offers:
            if offer.unit in ("g", "ml"):
                for low, high, guess in view.grams:
                    if low * (1 - tolerance) <= offer.amount <= high * (1 + tolerance):
                        # A round minimum (0.1 kg for "anything lighter": low 0) declares no quantity.
                        exact = low > 0 and low / (1 + packaging) <= offer.amount <= high
                        closeness = (not exact, abs(guess - offer.amount) / offer.amount)
                        if best is None or closeness < best[0]:
                            best = (closeness, offer, offer.amount if low < offer.amount < high else guess, exact)
            elif view.count:
                gap = abs(view.count - offer.amount) / offer.amount
                if gap <= tolerance and (best is None or (gap > 0, gap) < best[0]):
                    best = ((gap > 0, gap), offer, float(view.count), gap == 0)
        return (best[1], best[2], best[3]) if best else (None, 0.0, False)

    def _value(self, view: ShipmentView, offer: Offer, amount: float) -> Evidence | None:
        if view.value_usd is None:
            return ("value", 0.0, "declared value not compared: {}", (view.value_note,))
        expected = offer.price_usd * amount / offer.amount
        if expected <= 0:
            return None
        ratio = view.value_usd / expected
        low, high = self.w["value_close_range"]
        if low <= ratio <= high:
            return ("value", self.w["value_close"], "declared USD {:,.2f}; listing price for it USD {:,.2f}",
                    (view.value_usd, expected))
        low, high = self.w["value_fits_range"]
        if low <= ratio <= high:
            return ("value", self.w["value_fits"], "declared USD {:,.2f}; listing price for it USD {:,.2f}",
                    (view.value_usd, expected))
        if ratio < self.w["undervalued_below"]:
            return ("undervalued", self.w["undervalued"],
                    "declared USD {:,.2f} for goods the listing prices at USD {:,.2f} ({:.0%})",
                    (view.value_usd, expected, ratio))
        return None

    def risk_flags(self, view: ShipmentView) -> list[Reason]:
        return risk_flags(self.w, view)

    def match_flags(self, match_reasons: list[Reason]) -> list[Reason]:
        return match_flags(self.w, match_reasons)

    def risk(self, flags: list[Reason], best_score: float) -> float:
        return risk(self.w, flags, best_score)
