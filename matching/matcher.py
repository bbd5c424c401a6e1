"""The matcher: shipments in, explained matches out.

For a batch of shipments it reads each declaration, derives blocking keys (the product,
category and distinctive words it names, each at the origin country and the regions that
contain it; the sender's email and phone), asks the store (its MatchIndex) for the listings under those keys
in one round trip per batch — never a scan —, keeps the candidates most keys point at, and
scores each with reasons (matching.scoring). Each key's candidates are the listings seen
nearest the parcel's month. Keys repeat across a stream (the same products
from the same countries), so their candidates are kept for the run — and moved out of the
garbage collector's sight with gc.freeze(), a process-wide setting meant for batch jobs and
workers that match for a living.
"""

from __future__ import annotations

import gc
import heapq
import multiprocessing
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from itertools import islice
from typing import TypeVar, overload

from config import MatchingSettings
from contracts.documents import VendorDocument
from contracts.identifiers import identifier_key
from contracts.matches import Match, Reason, ShipmentMatches
from contracts.regions import WORLDWIDE, load_region_members, regions_of
from contracts.shipments import Shipment
from contracts.text import fold
from enrichment import tune_gc_for_volume
from index.match_index import MatchIndex
from index.profiles import UNKNOWN_ORIGIN, quantity_sizes
from matching.declaration import DeclarationReader
from matching.risk import logistic
from matching.scoring import Prepared, Scorer, explain, load_weights
from matching.similarity import WordStats, may_be_misspelt, one_edit_away
from matching.view import ShipmentView, read_shipment

# How strongly a key ties a candidate to a shipment, for choosing which candidates to score.
# A product at a quantity the parcel may hold (q) is that product (p) and more: it says so
# even where the product's own key was cut at candidates_per_key.
KEY_VOTES = {"i": 8, "v": 6, "q": 7, "p": 3, "c": 1, "w": 1}
# A key at the parcel's own country ties a listing closer than one at a region containing it,
# or at an unknown origin (a market that states none fills those keys with all its listings).
ORIGIN_VOTES = {"country": 1.0, "region": 0.75, "unknown": 0.5}
# A word few listings share ("GDF", "Cannasutra") singles them out more than their product
# does: its listings get up to this much more, the fewer they are (a product key is cut at
# candidates_per_key, so the listing the parcel names may not be among its candidates).
RARE_WORD_VOTES = 6
CACHE_KEYS = 200_000
CACHE_WORDS = 1_000_000  # document frequencies; every declared typo adds one
CACHE_PROFILES = 500_000
T = TypeVar("T")


class Matcher:
    def __init__(self, store: MatchIndex, settings: MatchingSettings | None = None, weights: dict | None = None):
        self.store = store
        self.settings = settings or MatchingSettings()
        self.reader = DeclarationReader()
        weights = weights or load_weights()
        # The index's statistics, read once per run: how many titles hold each word (fetched as
        # words come up) and how long each market's listings live.
        self.stats = WordStats(weights, listings=store.count_listings())
        self.scorer = Scorer(weights, self.stats, store.lifetimes(), self.settings.default_lifetime_days)
        self._candidates: dict[str, tuple[str, ...]] = {}  # blocking key#month -> the listing ids nearest it
        self._complete: dict[str, tuple[str, ...]] = {}  # blocking key -> all its listing ids (fewer than a cut)
        self._profiles: dict[str, Prepared] = {}
        self._vendors: dict[str, tuple[str, ...]] = {}  # identifier -> vendor ids
        self._vendor_docs: dict[str, VendorDocument | None] = {}
        self._spelling: dict[str, str | None] = {}  # a declared word no title has -> the title word one edit away
        self._regions = frozenset(load_region_members()) | {WORLDWIDE}
        self._votes: dict[str, float] = {}  # blocking key -> its weight in the shortlist

    def match(self, shipments: Iterable[Shipment]) -> Iterator[ShipmentMatches]:
        """Results in the order of the shipments, batch by batch (a stream of any length)."""
        iterator = iter(shipments)
        while batch := list(islice(iterator, self.settings.batch_size)):
            yield from self._match_batch(batch)

    def match_one(self, shipment: Shipment) -> ShipmentMatches:
        return next(self.match([shipment]))

    def score_alone(self, shipment: Shipment, listing_ids: list[str]) -> dict[str, float]:
        """Each listing's score for the shipment judged alone (no other offer competing), found
        by blocking or not: why a listing was, or was not, among the matches."""
        view = read_shipment(shipment, self.reader)
        (_, vendor_ids), = self._fetch([view])
        profiles = self.store.profiles(listing_ids)
        return {i: self.scorer.score(view, profiles[i], vendor_ids)[0] for i in listing_ids if i in profiles}

    def offers_alone(self, shipment: Shipment) -> dict[tuple[str, str], float]:
        """Every candidate offer (vendor, product) with the score of its best listing judged
        alone: how many offers fit a parcel as well as one another."""
        view = read_shipment(shipment, self.reader)
        (keys, vendor_ids), = self._fetch([view])
        out: dict[tuple[str, str], float] = {}
        for candidate in self._shortlist(keys, view.posted):
            score = self.scorer.score(view, candidate, vendor_ids)[0]
            out[candidate.offer] = max(score, out.get(candidate.offer, 0.0))
        return out

    # -- blocking --------------------------------------------------------------------------
    def _keys(self, view: ShipmentView, vendor_ids: set[str]) -> list[str]:
        origins = [view.shipment.origin_country, *regions_of(view.shipment.origin_country), UNKNOWN_ORIGIN]
        keys = [f"p:{fold(p)}@{o}" for p in view.products for o in origins]
        keys += [f"q:{fold(p)}@{o}~{size}" for p in view.products for o in origins for size in self._sizes(view)]
        keys += [f"c:{c}@{o}" for c in view.categories for o in origins]
        words = [w for d in view.declared for w in d.words]
        words += [right for w in words if (right := self._spelling.get(w))]
        keys += [f"w:{w}@{o}" for w in words for o in origins]
        keys += [f"i:{i}" for i in view.identifiers]
        keys += [f"v:{v}" for v in sorted(vendor_ids)]
        return list(dict.fromkeys(keys))

    def _sizes(self, view: ShipmentView) -> list[str]:
        """The quantity sizes (index.profiles.quantity_size) of every listed quantity the scorer
        would take the parcel to hold: a product sold by hundreds of listings on a route has
        the parcel's among the few that sell its quantity."""
        slack = self.scorer.w["quantity_tolerance"]
        sizes = [s for low, high, _ in view.grams for s in quantity_sizes(low * (1 - slack), high * (1 + slack), "g")]
        if view.count:
            sizes += quantity_sizes(view.count / (1 + slack), view.count / (1 - slack), "unit")
        return list(dict.fromkeys(sizes))

    def _fetch(self, views: list[ShipmentView]) -> list[tuple[list[str], set[str]]]:
        if len(self.stats.df) + len(self._spelling) > CACHE_WORDS:
            # Prepared profiles and candidates rely on the words' statistics: start them afresh together.
            self.stats.forget()
            self._spelling.clear()
            self._candidates.clear()
            self._complete.clear()
            gc.unfreeze()
            self._profiles.clear()
        wanted = {i for view in views for i in view.identifiers if i not in self._vendors}
        if wanted:
            if len(self._vendors) + len(wanted) > CACHE_KEYS:  # senders' contacts rarely repeat
                self._vendors.clear()
                self._vendor_docs.clear()
            found = self.store.vendors_with_identifiers(wanted)
            for value in wanted:
                self._vendors[value] = tuple(found.get(identifier_key(value), ()))
        self._learn(t for view in views for d in view.declared for t in d.terms)
        self._respell(w for view in views for d in view.declared for w in d.words)
        plans = []
        for view in views:
            vendor_ids = {v for i in view.identifiers for v in self._vendors.get(i, ())}
            # Candidates are the listings seen nearest the parcel's month: a parcel of 2014 is
            # one of the offers on sale then, not of the latest crawl.
            month = view.posted.replace(day=15).isoformat()
            plans.append(([f"{key}#{month}" for key in self._keys(view, vendor_ids)], vendor_ids))
        # A key with fewer listings than a cut gives them all whatever the month: fetched once.
        missing = {k for keys, _ in plans for k in keys
                   if k not in self._candidates and k.rpartition("#")[0] not in self._complete}
        if missing:
            if len(self._candidates) + len(self._complete) + len(missing) > CACHE_KEYS:
                self._candidates.clear()
                self._complete.clear()
            by_month: dict[str, list[str]] = {}
            for dated in missing:
                key, _, month = dated.rpartition("#")
                by_month.setdefault(month, []).append(key)
            per_key = self.settings.candidates_per_key
            for month, keys in sorted(by_month.items()):
                found = self.store.candidates(keys, per_key, around=date.fromisoformat(month))
                for key in keys:
                    listings = tuple(found.get(key, ()))
                    if len(listings) < per_key:
                        self._complete[key] = listings
                    else:
                        self._candidates[f"{key}#{month}"] = listings
            unknown = {i for key in missing for i in self._listings(key) if i not in self._profiles}
            if unknown:
                if len(self._profiles) + len(unknown) > CACHE_PROFILES:
                    gc.unfreeze()  # let the collector have the evicted profiles
                    self._profiles.clear()
                    unknown = {i for key in missing for i in self._listings(key)}
                self._prepare(unknown)
            # The caches live as long as the run: keep the collector from re-scanning them
            # at every full collection (which otherwise takes a third of the time).
            gc.freeze()
        return plans

    def _prepare(self, ids) -> None:
        prepare = self.scorer.prepare
        prepared = {i: prepare(p) for i, p in self.store.profiles(ids).items()}
        self._learn(w for p in prepared.values() for w in p.words)
        self._profiles.update(prepared)

    def _learn(self, words) -> None:
        """Fetch the document frequencies of the words not seen yet, in one round trip (kept for
        the run: the titles' vocabulary is bounded, and cached profiles rely on it)."""
        unknown = self.stats.unknown(words)
        if unknown:
            self.stats.learn(unknown, self.store.key_counts([f"t:{w}" for w in unknown]))

    def _respell(self, words) -> None:
        """A declared word no title has ("ketammine", "xanxa") may be a title word misspelt: its
        candidates come from the title word one edit away that most titles have, found by
        counting every one-edit variant in one round trip (cached for the run)."""
        wanted = {w for w in words if w not in self._spelling and not self.stats.df.get(w) and may_be_misspelt(w)}
        if not wanted:
            return
        variants = {w: one_edit_away(w) for w in wanted}
        counts = self.store.key_counts([f"t:{v}" for vs in variants.values() for v in vs])
        for word, near in variants.items():
            found = max(((counts.get(f"t:{v}", 0), v) for v in near), default=(0, ""))
            self._spelling[word] = found[1] if found[0] else None

    def _key_votes(self, key: str) -> float:
        weight = self._votes.get(key)
        if weight is None:
            if len(self._votes) > CACHE_KEYS:
                self._votes.clear()
            body = key.rpartition("#")[0] or key
            origin = body.partition("@")[2].partition("~")[0]
            kind = "unknown" if origin == UNKNOWN_ORIGIN else "region" if origin in self._regions else "country"
            weight = self._votes[key] = KEY_VOTES[key[0]] * (ORIGIN_VOTES[kind] if origin else 1.0)
        return weight

    def _listings(self, dated: str) -> tuple[str, ...]:
        found = self._candidates.get(dated)
        return found if found is not None else self._complete.get(dated.rpartition("#")[0], ())

    def _shortlist(self, keys: list[str], posted: date) -> list[Prepared]:
        """The ``max_candidates`` listings the keys vote for most; among those with as many
        votes as the last one in, the ones seen nearest the parcel's date (then by id): the
        same whatever order the store or the caches gave them in."""
        votes: dict[str, float] = {}
        per_key = self.settings.candidates_per_key
        for key in keys:
            listings = self._listings(key)
            weight = self._key_votes(key)
            if key[0] == "w" and len(listings) < per_key:
                weight += RARE_WORD_VOTES * (1 - len(listings) / per_key)
            for listing in listings:
                votes[listing] = votes.get(listing, 0) + weight
        ranked = sorted(votes, key=votes.__getitem__, reverse=True)
        cut = self.settings.max_candidates
        if len(ranked) > cut:
            last = votes[ranked[cut - 1]]
            sure = [i for i in ranked if votes[i] > last]
            tied = [i for i in ranked if votes[i] == last]
            evicted = [i for i in tied if i not in self._profiles]
            if evicted:  # one round trip for all, not one per listing
                self._prepare(evicted)
            ranked = sure + heapq.nsmallest(cut - len(sure), tied, key=lambda i: (self._gap(i, posted), i))
        profiles = self._profiles
        missing = [i for i in ranked if i not in profiles]
        if missing:  # evicted from the cache since this batch's fetch
            self._prepare(missing)
        return [profiles[i] for i in ranked if i in profiles]

    def _gap(self, listing: str, posted: date) -> int:
        """Days between the parcel's date and the listing's life (0 within it)."""
        prepared = self._profiles.get(listing)
        if prepared is None:  # gone from the store since it was fetched
            return 1 << 30
        first, last = prepared.profile.first_seen, prepared.profile.last_seen
        return max((posted - last).days, (first - posted).days, 0)

    # -- scoring ---------------------------------------------------------------------------
    def _match_batch(self, batch: list[Shipment]) -> Iterator[ShipmentMatches]:
        views = [read_shipment(s, self.reader) for s in batch]
        for view, (keys, vendor_ids) in zip(views, self._fetch(views)):
            scored = self.scorer.best(view, self._shortlist(keys, view.posted), vendor_ids, self.settings.top,
                                      self.settings.report_threshold)
            matches = [Match(listing_id=p.id, vendor_id=p.vendor_id, market=p.market, vendor=p.vendor, title=p.title,
                             score=round(score, 4), reasons=explain(evidence))
                       for score, p, evidence in scored]
            # A sender known as a vendor is a match to that vendor even when none of their
            # listings fits the parcel (or none is on sale at its date).
            fitting = {m.vendor_id for m in matches if m.score >= self.settings.threshold}
            for vendor_id in sorted(vendor_ids - fitting):
                matches.append(self._vendor_match(vendor_id))
            matches.sort(key=lambda m: -m.score)
            flags = self.scorer.risk_flags(view)
            best = matches[0].score if matches else 0.0
            if best >= self.settings.threshold:
                flags += self.scorer.match_flags(matches[0].reasons)
            yield ShipmentMatches(item_id=view.item_id, matches=matches[:self.settings.top], risk_flags=flags,
                                  risk=round(self.scorer.risk(flags, best), 4))

    def _vendor_match(self, vendor_id: str) -> Match:
        if vendor_id not in self._vendor_docs:
            self._vendor_docs[vendor_id] = self.store.get_vendor(vendor_id)
        vendor = self._vendor_docs[vendor_id]
        name = vendor.name if vendor else vendor_id
        weight = self.scorer.w
        reasons = [Reason("prior", weight["vendor_prior"], "before any evidence: one vendor among many"),
                   Reason("identifier", weight["identifier_vendor"], f"sender's contact belongs to vendor {name}; "
                          "none of their listings fits the parcel")]
        return Match(listing_id=None, vendor_id=vendor_id, market=vendor.market if vendor else "", vendor=name,
                     title=None, score=round(logistic(weight["vendor_prior"] + weight["identifier_vendor"]), 4),
                     reasons=reasons)


# -- several processes -----------------------------------------------------------------------
_WORKER: tuple[Matcher, Callable | None] | None = None


def _start_worker(open_store: Callable[[], MatchIndex], settings: MatchingSettings, encode: Callable | None) -> None:
    global _WORKER
    tune_gc_for_volume()  # millions of short-lived objects: the default GC would take a third of the time
    _WORKER = Matcher(open_store(), settings), encode


def _match_chunk(chunk: list[str]) -> list:
    assert _WORKER is not None
    matcher, encode = _WORKER
    results = matcher.match(Shipment.model_validate_json(line) for line in chunk)
    return [encode(r) for r in results] if encode else list(results)


@overload
def match_in_processes(open_store: Callable[[], MatchIndex], shipments: Iterable[Shipment], workers: int,
                       settings: MatchingSettings | None = None, encode: None = None) -> Iterator[ShipmentMatches]: ...


@overload
def match_in_processes(open_store: Callable[[], MatchIndex], shipments: Iterable[Shipment], workers: int,
                       settings: MatchingSettings | None = None, *,
                       encode: Callable[[ShipmentMatches], T]) -> Iterator[T]: ...


def match_in_processes(open_store: Callable[[], MatchIndex], shipments: Iterable[Shipment], workers: int,
                       settings: MatchingSettings | None = None,
                       encode: Callable[[ShipmentMatches], T] | None = None) -> Iterator[ShipmentMatches | T]:
    """Match on ``workers`` processes (one per core: scoring is pure Python), each with its own
    store connection and candidate cache; results come back in the order of the shipments.
    ``open_store`` must be picklable (functools.partial(index.open_store, config, target)).

    ``encode`` (picklable, e.g. ShipmentMatches.to_json) turns each result into what the
    caller writes, in the workers: shipments travel to them as JSON and results come back
    encoded, since pickling the result objects costs more than matching them."""
    settings = settings or MatchingSettings()
    if workers <= 1:
        with open_store() as store:
            for result in Matcher(store, settings).match(shipments):
                yield encode(result) if encode else result
        return
    iterator = iter(shipments)
    chunks = iter(lambda: [s.model_dump_json() for s in islice(iterator, settings.batch_size)], [])
    with multiprocessing.get_context("fork").Pool(workers, _start_worker, (open_store, settings, encode)) as pool:
        for results in pool.imap(_match_chunk, chunks):
            yield from results
