"""Matching shipments with listings: declarations read like titles, blocking through the
store (never a scan), explained scores, risk flags, both stores, several processes, the
`match` / `shipments generate` / `eval matching` commands, and the quality measured on a
synthetic stream with planted matches."""

from __future__ import annotations

import json
import math
from datetime import date
from functools import partial

import pytest

from conftest import SHARED_DATA, run_cli
from config import MatchingSettings
from contracts.matches import RESULTS
from contracts.shipments import Shipment
from index.profiles import ListingProfile, Offer, quantity_size
from matching.declaration import DeclarationReader
from matching.evaluation import evaluate_matching
from matching.matcher import Matcher, match_in_processes
from matching.risk import logistic
from matching.scoring import Scorer, explain
from matching.synthetic import StreamGenerator
from matching.view import read_shipment

@pytest.fixture(scope="module")
def reader():
    return DeclarationReader()


def shipment(description="Peruvian cocaine", origin="NL", destination="DE", posted="2026-06-01", hs_code=None,
             quantity=1, net_weight_kg=0.014, value=40.0, currency="EUR", category="sale_of_goods", email=None,
             articles=None):
    return Shipment.model_validate({
        "item_id": "RR473124829" + origin if origin != "GB" else "RR473124829GB", "posting_date": posted,
        "operator": "PostNL", "origin_country": origin, "destination_country": destination,
        "sender": {"name": "J. Doe", "email": email}, "recipient": {"name": "A. Roe", "country": destination},
        "category": category, "gross_weight_kg": 2.0,
        "articles": articles or [{"description": description, "hs_code": hs_code, "quantity": quantity,
                                  "net_weight_kg": net_weight_kg, "value": value, "currency": currency}]})


# -- reading declarations --------------------------------------------------------------------
@pytest.mark.parametrize("text, product, vague", [
    ("Peruvian cocain 10 g", "cocaine", False),       # misspelt: corrected against the gazetteer
    ("Etizolma pellets", "designer benzodiazepine", False),  # transposition in a drug name
    ("Adderatl", "amphetamine", False),               # the gazetteer spells it two ways: either is right
    ("Gucci bag", "counterfeit bag", False),          # a brand makes it a replica
    ("leather wallet", None, False),                  # plain goods: not a counterfeit
    ("dried flowers", None, False),                   # "flowers" is cannabis slang only on a market
    ("snow boots", None, False),                      # "boots" is not "books"
    ("Gift", None, True),
    ("birthday gift for my friend", None, True),      # the occasion adds nothing
    ("samples of cosmetics", None, True),
    ("cotton t-shirts", None, False),
])
def test_declarations_read_like_titles(reader, text, product, vague):
    declared = reader.read(text)
    assert [p.canonical for p in declared.products][:1] == ([product] if product else [])
    assert declared.vague is vague


def test_quantities_and_corrections_are_kept(reader):
    declared = reader.read("Peruvian cocain 10 g")
    assert declared.quantity == (10.0, "g") and declared.products[0].hs_code == "293972"
    assert "peruvian" in declared.words
    assert reader.read("Xanax bars 2mg").quantity is None  # a dose, not what the parcel holds
    assert reader.read("Etizolma pellets").corrections == (("etizolma", "etizolam"),)


# -- scoring ---------------------------------------------------------------------------------
PROFILE = ListingProfile(
    id="l1", market="sable", vendor="DutchKings", vendor_id="v1", title="[NL] Peruvian Flake Cocaine 14g",
    products=("cocaine",), hs_codes=("293972",), category="drugs.stimulants", ships_from=("NL",),
    ships_to=("EU",), ships_to_excluded=(), offers=(Offer(14.0, "g", 800.0), Offer(28.0, "g", 1500.0)),
    price_usd=800.0, identifiers=("kings@protonmail.com",), first_seen=date(2026, 3, 1), last_seen=date(2026, 9, 1))


def test_each_reason_says_what_it_compared_and_how_much_it_counted(reader):
    scorer = Scorer()
    view = read_shipment(shipment(hs_code="2939.72", value=40.0), reader)
    score, evidence = scorer.score(view, PROFILE, set())
    explained = explain(evidence)
    reasons = {r.code: r for r in explained}
    assert set(reasons) == {"prior", "product", "similarity", "hs_code", "origin", "destination", "quantity",
                            "undervalued", "active"}
    assert explained[0].code == "prior" and explained[0].contribution == scorer.w["prior"]
    assert abs(logistic(sum(r.contribution for r in explained)) - score) < 1e-3  # the reasons add up to the score
    assert reasons["product"].detail == "declared 'cocaine' is cocaine, the listing's product"
    assert reasons["quantity"].detail == "declared contents ≈ 14g; listing sells 14g"
    assert "prices at USD 800.00 (6%)" in reasons["undervalued"].detail and reasons["undervalued"].contribution == 0
    assert reasons["origin"].contribution > 0 and reasons["destination"].contribution > 0
    assert score > 0.99
    flags = scorer.match_flags(explain(evidence))
    assert [f.code for f in flags] == ["undervalued"] and flags[0].contribution > 0


def test_a_value_in_a_currency_without_a_rate_is_said_not_guessed(reader):
    _, evidence = Scorer().score(read_shipment(shipment(value=300.0, currency="CNY"), reader), PROFILE, set())
    value = next(r for r in explain(evidence) if r.code == "value")
    assert (value.contribution, value.detail) == (0.0, "declared value not compared: no exchange rate for CNY")


def test_evidence_against_a_listing_lowers_its_score(reader):
    scorer = Scorer()
    good, _ = scorer.score(read_shipment(shipment(), reader), PROFILE, set())
    elsewhere, evidence = scorer.score(read_shipment(shipment(origin="GB", destination="US", posted="2025-01-01"),
                                                     reader), PROFILE, set())
    codes = {r.code: r.contribution for r in explain(evidence)}
    assert codes["origin"] < 0 and codes["destination"] < 0 and codes["active"] < 0
    # the goods still agree; where and when do not: the score is the logistic of the sum
    assert good > 0.99 and elsewhere < good - 0.4
    assert codes["prior"] == scorer.w["prior"]
    assert elsewhere == pytest.approx(logistic(sum(codes.values())), abs=1e-3)
    # the sender's email stated in the listing ties a vague parcel to it
    vague = read_shipment(shipment(description="gift", email="Kings@Protonmail.com"), reader)
    score, evidence = scorer.score(vague, PROFILE, set())
    assert "identifier" in {r.code for r in explain(evidence)} and score > 0.5


def test_risk_flags_come_from_the_declaration_itself(reader):
    scorer = Scorer()
    gift = read_shipment(shipment(description="gift", category="gift", quantity=20, value=300.0), reader)
    assert {f.code for f in scorer.risk_flags(gift)} == {"vague_description", "gift_commercial"}
    named = read_shipment(shipment(description="MDMA crystals", hs_code="0902.10"), reader)
    flags = {f.code: f.detail for f in scorer.risk_flags(named)}
    assert set(flags) == {"controlled_product", "hs_inconsistent"}
    assert flags["hs_inconsistent"] == "HS 090210 declared for 'MDMA crystals', which is MDMA (HS 293299)"
    plain = read_shipment(shipment(description="paperback books", hs_code="4901.99", value=12.0), reader)
    assert scorer.risk_flags(plain) == []


# -- the matcher against a store -------------------------------------------------------------
def _listing(store, title_words: str, market: str = "sable"):
    for profile in store.iter_profiles():
        if title_words in profile.title and profile.market == market and profile.ships_from:
            return profile
    raise AssertionError(f"no demo listing with {title_words!r}")


def test_a_parcel_declared_in_the_listings_words_finds_it(matching_store):
    target = _listing(matching_store, "Cocaine")
    offer = target.offers[0]
    posted = target.first_seen.isoformat()
    result = Matcher(matching_store).match_one(shipment(
        description="Peruvian cocain", origin=target.ships_from[0], destination="DE", posted=posted,
        net_weight_kg=round(offer.amount / 1000, 3), value=round(offer.price_usd * 0.1, 2), currency="USD"))
    best = result.best
    assert best.score >= 0.5
    # The target or an equivalent offer: vendors selling the same product on the same route tie.
    chosen = matching_store.profiles([best.listing_id])[best.listing_id]
    assert chosen.products[:1] == target.products[:1] == ("cocaine",) and chosen.ships_from == target.ships_from
    codes = [r.code for r in best.reasons]
    assert codes[:2] == ["prior", "product"] and "similarity" in codes and "undervalued" in codes
    assert {f.code for f in result.risk_flags} >= {"controlled_product", "undervalued"}
    assert result.risk > 0.9


def test_a_known_vendor_contact_ties_a_vague_parcel_to_the_vendor(matching_store, catalog):
    vendor = next(v for v in catalog.vendors if len(v.markets) == 1)
    result = Matcher(matching_store).match_one(shipment(description="gift", origin=vendor.origin,
                                                        destination="GB", category="gift", email=vendor.email))
    assert result.best.vendor == vendor.name and result.best.score >= 0.5
    assert any(r.code == "identifier" and vendor.name in r.detail for r in result.best.reasons)
    assert abs(logistic(sum(r.contribution for r in result.best.reasons)) - result.best.score) < 1e-3
    assert "vague_description" in {f.code for f in result.risk_flags}


def test_lawful_goods_match_nothing(matching_store):
    matcher = Matcher(matching_store)
    for description in ("paperback books", "crystal wine glasses", "herbal tea bags chamomile", "snow boots"):
        result = matcher.match_one(shipment(description=description, origin="CN", destination="US", value=20.0))
        assert not result.matches or result.best.score < 0.5, (description, result.best)


def test_candidates_come_from_blocking_never_a_scan(matching_store, monkeypatch):
    def no_scan():
        raise AssertionError("the matcher must not iterate the index")
    monkeypatch.setattr(matching_store, "iter_listings", no_scan)
    monkeypatch.setattr(matching_store, "iter_profiles", no_scan)
    asked = []
    real = matching_store.candidates
    monkeypatch.setattr(matching_store, "candidates", lambda keys, per_key, around=None: asked.append(set(keys)) or real(keys, per_key, around))
    matcher = Matcher(matching_store)
    results = list(matcher.match([shipment(), shipment(description="Peruvian cocaine 28g")]))
    assert len(results) == 2 and len(asked) == 1  # one store round trip for the batch
    assert "p:cocaine@NL" in asked[0] and "p:cocaine@EU" in asked[0] and "w:peruvian@NL" in asked[0]
    # 14 g declared to the gram (13.5-14.5 g), 35 % either way (8.8-19.6 g): sizes g6 to g9
    assert {"q:cocaine@NL~g7", "q:cocaine@NL~g8"} <= asked[0]


def test_a_common_product_at_the_parcels_quantity_is_fetched_when_its_key_is_cut(matching_store):
    """With a handful of candidates per key, the product's key holds listings of any size; its
    quantity keys (q:) hold those selling what the parcel weighs, so they are the candidates."""
    matcher = Matcher(matching_store, MatchingSettings(candidates_per_key=5, max_candidates=5))
    view = read_shipment(shipment(description="cocaine", net_weight_kg=0.0285), matcher.reader)
    (keys, _), = matcher._fetch([view])
    sizes = {k.split("#")[0].rpartition("~")[2] for k in keys if k.startswith("q:cocaine@NL~")}
    assert {"g9", "g10"} <= sizes, keys  # 28.5 g, 35 % either way: 18-39 g, sizes g8 to g11
    fetched = [p.profile for p in matcher._shortlist(keys, view.posted)]
    assert fetched and all(p.products[0] == "cocaine" for p in fetched)
    # every candidate sells a quantity of a size the parcel may hold
    assert all(any(quantity_size(o.amount, o.unit) in sizes for o in p.offers) for p in fetched), \
        [(p.title, p.offers) for p in fetched]
    assert any(o.amount == 28 for p in fetched for o in p.offers)


def test_candidates_do_not_depend_on_the_order_the_store_gives_them_in(matching_store, monkeypatch):
    """A key with fewer listings than candidates_per_key gives them all whatever the month:
    asked once per run. The shortlist is cut by votes, then by the days between a listing's
    life and the parcel, then by id — never by the order of the store's answer."""
    stream = [s for s, _ in StreamGenerator(matching_store, seed=23).stream(300)]
    settings = MatchingSettings(max_candidates=20, batch_size=20)  # cut often; many round trips
    kept = [r.to_json() for r in Matcher(matching_store, settings).match(stream)]
    calls: list[set[str]] = []  # the keys asked for each batch
    real = matching_store.candidates

    def reversed_answers(keys, per_key, around=None):
        calls[-1].update(keys)
        return {key: ids[::-1] for key, ids in real(keys, per_key, around).items()}

    matcher = Matcher(matching_store, settings)
    fetch = matcher._fetch
    monkeypatch.setattr(matcher, "_fetch", lambda views: calls.append(set()) or fetch(views))
    monkeypatch.setattr(matching_store, "candidates", reversed_answers)
    assert [r.to_json() for r in matcher.match(stream)] == kept
    months = {s.posting_date.strftime("%Y-%m") for s in stream}
    assert len(months) > 3 and len(calls) >= 15
    asked = set().union(*calls)
    small = [k for k in asked if len(real([k], 100).get(k, ())) < 100]
    # fetched in the first batch that needs it, for its months then; reused in later batches
    assert small and all(sum(k in keys for keys in calls) == 1 for k in small)
    assert any(sum(k in keys for keys in calls) > 1 for k in asked)  # a key cut at 100 is asked per month


def test_keys_at_the_parcels_country_weigh_more_than_at_a_region_or_an_unknown_origin(matching_store):
    matcher = Matcher(matching_store)
    votes = matcher._key_votes
    assert votes("p:cocaine@NL#2026-06-15") > votes("p:cocaine@EU#2026-06-15") > votes("p:cocaine@?#2026-06-15")
    assert votes("q:cocaine@NL~g8#2026-06-15") > votes("p:cocaine@NL#2026-06-15")  # the product, at its quantity
    assert votes("i:someone@example.org#2026-06-15") == votes("i:other@example.org#2026-06-15") > 0


def test_the_pruned_ranking_is_what_scoring_every_candidate_gives(matching_store):
    """Scorer.best skips quantity, value and evidence for candidates that cannot come near the
    top; the result must be the brute-force one: every candidate scored alone, each offer
    (vendor and product) once as its best listing, set against the other offers (its odds
    against the sum of theirs), best first, ties by id. Candidates left out sit more than
    ``competition_margin`` below the best: their odds move no score by more than a rounding."""
    matcher = Matcher(matching_store)
    scorer = matcher.scorer
    stream = [s for s, _ in StreamGenerator(matching_store, seed=17).stream(400)]
    views = [read_shipment(s, matcher.reader) for s in stream]
    pruned = compared = competed = several = 0
    for view, (keys, vendor_ids) in zip(views, matcher._fetch(views)):
        candidates = matcher._shortlist(keys, view.posted)
        alone = [(math.log(p / (1 - p)), c) for c in candidates for p, _ in [scorer.score(view, c, vendor_ids)]]
        best_of_offer = {}
        for total, c in sorted(alone, key=lambda a: (-a[0], a[1].profile.id)):
            best_of_offer.setdefault(c.offer, (total, c))
        several += len(best_of_offer) < len(alone)
        everyone = sum(math.exp(total) for total, _ in best_of_offer.values())
        every = [(logistic(total - math.log1p(everyone - math.exp(total))), c.profile.id) for total, c in best_of_offer.values()]
        by_id = dict((i, s) for s, i in every)
        every = sorted((s for s in every if s[0] >= 0.1), key=lambda s: (-s[0], s[1]))[:5]
        best = scorer.best(view, candidates, vendor_ids, 5, 0.1)
        assert [score for score, _, _ in best] == pytest.approx([score for score, _ in every], abs=1e-3)
        for (_, chosen, _), (score, expected) in zip(best, every):  # the same, or one tied with it
            assert chosen.id == expected or abs(by_id[chosen.id] - score) < 1e-3
        assert len({(c.vendor, c.products[:1] or c.title) for _, c, _ in best}) == len(best)  # each offer once
        for score, _, evidence in best:  # the reasons, "others" included, add up to the score
            assert logistic(sum(e[1] for e in evidence)) == pytest.approx(score, abs=1e-9)
        competed += any(e[0] == "others" for _, _, evidence in best for e in evidence)
        compared += bool(every)
        pruned += len(candidates) - len(every)
    # the comparison had something to prune, offers that competed and offers listed several times
    assert compared > 150 and pruned > 1000 and competed > 50 and several > 50


def test_caches_started_afresh_give_the_same_results(matching_store, monkeypatch):
    """The words' statistics, spellings, candidates and profiles are dropped together when
    they grow too large: what follows is matched exactly as before."""
    import matching.matcher as matcher_module

    stream = [s for s, _ in StreamGenerator(matching_store, seed=19).stream(300)]
    settings = MatchingSettings(batch_size=20)
    kept = [r.to_json() for r in Matcher(matching_store, settings).match(stream)]
    monkeypatch.setattr(matcher_module, "CACHE_WORDS", 50)
    matcher = Matcher(matching_store, settings)
    forgets = []
    real = matcher.stats.forget
    monkeypatch.setattr(matcher.stats, "forget", lambda: forgets.append(1) or real())
    assert [r.to_json() for r in matcher.match(stream)] == kept
    assert len(forgets) > 5


def test_results_serialise_and_validate(matching_store):
    result = Matcher(matching_store).match_one(shipment())
    again = RESULTS.validate_json(result.to_json())
    assert again == result


def test_several_processes_give_the_same_results(matching_db, matching_store):
    from index.embedded import EmbeddedStore

    stream = [s for s, _ in StreamGenerator(matching_store, seed=11).stream(300)]
    one = [r.to_json() for r in Matcher(matching_store).match(stream)]
    two = [r.to_json() for r in match_in_processes(partial(EmbeddedStore, matching_db), stream, workers=2)]
    assert one == two


def test_both_stores_match_alike_and_give_the_same_watchlist(matching_store, elasticsearch_url):
    from conftest import es_store

    es = es_store(elasticsearch_url)
    try:
        docs = list(matching_store.iter_listings())
        for when in ("first_seen", "last_seen"):  # the same lifetimes as in the embedded store
            es.upsert_listings(d.data.model_copy(update={"listing": d.data.listing.model_copy(
                update={"crawled_at": getattr(d, when)})}) for d in docs)
        es.upsert_vendors(v.data for v in matching_store.iter_vendors())
        stream = [s for s, _ in StreamGenerator(matching_store, seed=13).stream(200)]
        settings = MatchingSettings(candidates_per_key=10_000, max_candidates=10_000)  # no cut-off: same candidates
        embedded = [r.to_json() for r in Matcher(matching_store, settings).match(stream)]
        elastic = [r.to_json() for r in Matcher(es, settings).match(stream)]
        assert embedded == elastic
        assert sum(json.loads(r)["matches"] != [] for r in elastic) >= 90  # 40 % of the stream are lawful decoys
        # the watchlist derived from either store is the same too
        from config import WatchlistSettings
        from matching.watchlist import derive_terms

        assert derive_terms(es, WatchlistSettings()) == derive_terms(matching_store, WatchlistSettings())
    finally:
        es.es.indices.delete(index=",".join(es.es.indices.get(index=f"{es.prefix}-*")))
        es.close()


# -- quality ---------------------------------------------------------------------------------
def test_quality_on_a_synthetic_stream(matching_store):
    """Measured: docs/matching.md. The stream is seeded, so these are the numbers of this index,
    not a lucky draw; the floor sits just under them."""
    generator = StreamGenerator(matching_store, seed=3)
    stream = list(generator.stream(3000))
    results = list(Matcher(matching_store).match(s for s, _ in stream))
    profiles = {p.id: p for p in matching_store.iter_profiles()}
    report = evaluate_matching(results, {t.item_id: t for _, t in stream}, profiles, threshold=0.5)
    assert report.by_mode["decoy"].predicted <= 0.01 * report.by_mode["decoy"].shipments
    describable = report.totals(("listing_words", "other_name", "misspelt", "vague_with_contact"))
    # A MATCH is right nearly always; where offers tie, the parcel's is among the five shown.
    assert 1 - describable.wrong / describable.predicted >= 0.97
    assert describable.shown5 / describable.shipments >= 0.93
    assert report.by_mode["vague_with_contact"].vendor_top1 / report.by_mode["vague_with_contact"].shipments >= 0.95
    assert report.by_mode["vague"].top5 / report.by_mode["vague"].shipments < 0.3  # nothing to go on: rarely found


# -- the commands ----------------------------------------------------------------------------
def test_generate_then_match_from_the_command_line(matching_db, tmp_path):
    out, truth = tmp_path / "stream.jsonl", tmp_path / "truth.jsonl"
    done = run_cli("shipments", "generate", "--store", str(matching_db), "--count", "120", "--out", str(out),
                   "--truth", str(truth), "--seed", "5")
    assert done.returncode == 0, done.stderr
    assert len(out.read_text().splitlines()) == 120 and len(truth.read_text().splitlines()) == 120
    alone = tmp_path / "alone.jsonl"  # without --truth: the same stream, no answers file
    done = run_cli("shipments", "generate", "--store", str(matching_db), "--count", "120", "--out", str(alone),
                   "--seed", "5")
    assert done.returncode == 0, done.stderr
    assert alone.read_text() == out.read_text() and "planted answers" not in done.stderr
    bad = tmp_path / "bad.jsonl"
    bad.write_text(out.read_text().splitlines()[0] + "\n" + '{"item_id": "XX1"}\n')
    matched = run_cli("match", str(out), str(bad), "--store", str(matching_db), "--json")
    assert matched.returncode == 1  # the broken line is reported: exit 1, everything else matched
    lines = [json.loads(line) for line in matched.stdout.splitlines()]
    assert len(lines) == 121 and sum(bool(line["matches"]) for line in lines) > 50
    assert "bad.jsonl:2:" in matched.stderr and "121 shipment(s) matched" in matched.stderr
    planted = {json.loads(t)["item_id"]: json.loads(t) for t in truth.read_text().splitlines()}
    first = next(line for line in lines if planted[line["item_id"]]["kind"] == "planted" and line["matches"])
    shown = run_cli("match", str(out), "--store", str(matching_db))
    assert shown.returncode == 0 and first["item_id"] in shown.stdout and "risk" in shown.stdout
    assert "MATCH" in shown.stdout and "+3.50 product:" in shown.stdout


def test_eval_matching_command(tmp_path):
    """`--demo`: the documented figures' index, built in a scratch store."""
    done = run_cli("eval", "matching", "--demo", "--shipments", "600", "--ceiling", "--json", str(tmp_path / "m.json"))
    assert done.returncode == 0, done.stderr
    assert "all planted" in done.stdout and "threshold sweep" in done.stdout
    assert "not among the 5 shown, by why" in done.stdout  # each miss explained: tied, outranked, unfetched...
    scores = json.loads((tmp_path / "m.json").read_text())
    assert scores["shipments"] == 600 and scores["by_mode"]["decoy"]["shipments"] > 150
    # what the parcels say lets a fair ranking find nearly every demo offer among five
    assert 0.9 <= scores["ceiling"]["all but vague"]["fair"] <= scores["ceiling"]["all but vague"]["ties_won"] <= 1


@pytest.mark.slow
@pytest.mark.skipif(not (SHARED_DATA / "agora-2014").is_dir(), reason="needs ../shared/data")
def test_eval_matching_on_the_real_datasets(tmp_path):
    """`--data`: the shared datasets indexed with their capture dates and shipments planted from
    them (docs/matching.md has the 3,000-shipment figures): lawful decoys and cover-only parcels
    never MATCH, a MATCH is right, and a parcel in its listing's words is among the five shown."""
    store = tmp_path / "real.db"
    done = run_cli("eval", "matching", "--data", str(SHARED_DATA), "--store", str(store), "--shipments", "800",
                   "--ceiling", "--json", str(tmp_path / "m.json"))
    assert done.returncode == 0, done.stderr
    by_mode = json.loads((tmp_path / "m.json").read_text())["by_mode"]
    assert by_mode["decoy"]["predicted"] == 0 and by_mode["vague"]["predicted"] == 0
    described = [by_mode[m] for m in ("listing_words", "misspelt", "other_name")]
    assert 1 - sum(c["wrong"] for c in described) / sum(c["predicted"] for c in described) >= 0.95
    words = by_mode["listing_words"]
    assert words["shown5"] / words["shipments"] >= 0.85
    scores = json.loads((tmp_path / "m.json").read_text())
    misses = scores["misses"]  # each miss has its reason
    assert sum(misses["other_name"].values()) == by_mode["other_name"]["shipments"] - by_mode["other_name"]["shown5"]
    # a generic name ("cocaine powder") fits many offers alike: no fair ranking finds them all
    ceiling = scores["ceiling"]
    assert ceiling["other_name"]["fair"] < ceiling["listing_words"]["fair"]
    for mode in ("listing_words", "other_name", "misspelt", "all but vague"):
        assert 0 < ceiling[mode]["fair"] <= ceiling[mode]["ties_won"] <= 1
    again = run_cli("eval", "matching", "--data", str(SHARED_DATA), "--store", str(store), "--shipments", "50")
    assert again.returncode == 0 and "already indexed: reused" in again.stderr


def test_generated_parcels_leave_only_from_countries_an_s10_id_can_name():
    from types import SimpleNamespace

    from matching.synthetic import StreamGenerator

    origins = StreamGenerator._origins(SimpleNamespace(ships_from=("EU", "XK", "NL")))
    assert "NL" in origins and "DE" in origins  # EU is a region: its members
    assert "EU" not in origins and "XK" not in origins  # Kosovo's code is not ISO 3166's
