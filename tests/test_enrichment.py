"""The enrichment pipeline on crafted listings: every fact carries its span and component."""

from pathlib import Path

import pytest

from conftest import make_listing
from contracts.listings import VendorProfile


def enrich(enricher, **fields):
    return next(enricher.enrich_listings([make_listing(**fields)]))


def entities(result, label):
    return [e for e in result.enrichment.entities if e.label == label]


def field_text(result, entity):
    listing = result.listing
    source = {"title": listing.title, "description": listing.description,
              "shipping_options": "; ".join(o.name for o in listing.shipping_options), "ships_from": listing.ships_from}
    if entity.field == "ships_to":
        source["ships_to"] = listing.ships_to[entity.attrs["index"]]
    return source[entity.field][entity.start:entity.end]


@pytest.mark.parametrize("text, canonical, category", [
    ("Molly crystals 84%", "MDMA", "drugs.empathogens"),
    ("best mandy in town", "MDMA", "drugs.empathogens"),
    ("XTC pills Blue Punisher", "MDMA", "drugs.empathogens"),
    ("OC 80 x 10", "oxycodone", "drugs.opioids"),
    ("oxy 30s pressed", "oxycodone", "drugs.opioids"),
    ("Rolex Sub 1:1 clone", "counterfeit watch", "counterfeits.watches"),
    ("Peruvian flake, uncut", "cocaine", "drugs.stimulants"),
    ("Golden Teacher shrooms", "psilocybin mushrooms", "drugs.psychedelics"),
    ("Xanax 2mg bars", "alprazolam", "drugs.sedatives"),
    ("Glock 19 Gen5", "handgun", "weapons.firearms"),
    ("Marlboro Gold cartons", "cigarettes", "tobacco"),
    ("BMK glycidate 5kg", "BMK", "precursors"),
    ("Scannable fake ID card", "fake identity card", "counterfeits.documents"),
    ("THC vape carts live resin", "cannabis vape", "drugs.cannabis.vapes"),
])
def test_products_from_slang_and_brands(enricher, text, canonical, category):
    result = enrich(enricher, title=text)
    products = {p.canonical: p for p in result.enrichment.products}
    assert canonical in products, [p.canonical for p in result.enrichment.products]
    assert products[canonical].category == category
    assert category.split(".")[0] in result.enrichment.categories
    found = [e for e in entities(result, "PRODUCT") if e.value == canonical][0]
    assert found.component == "interdict_products"
    assert field_text(result, found).lower() in text.lower()


def test_hs_codes_for_physical_goods_only(enricher):
    cocaine = enrich(enricher, title="cocaine 1g").enrichment.products[0]
    assert cocaine.hs_code == "2939.72"  # HS 2022 split cocaine from metamfetamine
    data = enrich(enricher, title="fresh fullz with SSN").enrichment.products[0]
    assert data.category == "digital.data" and data.hs_code is None


def test_weak_aliases_need_a_quantity_nearby(enricher):
    assert enrich(enricher, title="Ice 5g shards").enrichment.products[0].canonical == "methamphetamine"
    assert not enrich(enricher, title="Ice cold drinks for everyone").enrichment.products
    # "g" inside "10g" is a unit, never GHB
    assert [p.canonical for p in enrich(enricher, title="10g MDMA").enrichment.products] == ["MDMA"]


def test_quantities_purity_and_prices(enricher):
    result = enrich(enricher, title="5x 80mg OC 80 - 100 pills",
                    description="10g for €120, 1 kg for 0.5 BTC or $1,200.50. Purity: 87%. 3,5g option.")
    quantities = {(q.amount, q.unit) for q in result.enrichment.quantities}
    assert {(5.0, "unit"), (100.0, "unit"), (10.0, "g"), (1000.0, "g"), (3.5, "g")} <= quantities
    dose = [e for e in entities(result, "QUANTITY") if e.text == "5x 80mg"][0]
    assert dose.attrs == {"amount": 5.0, "unit": "unit", "dose": 80.0, "dose_unit": "mg"}
    prices = {(e.attrs["amount"], e.attrs["currency"]) for e in entities(result, "PRICE")}
    assert {(120.0, "EUR"), (0.5, "BTC"), (1200.5, "USD")} <= prices
    assert [e.attrs["percent"] for e in entities(result, "PURITY")] == [87.0]
    for entity in entities(result, "QUANTITY") + entities(result, "PRICE"):
        assert field_text(result, entity) == entity.text


def test_price_tiers_give_unit_prices_and_bulk_discounts(enricher):
    tiers = [{"quantity": q, "price": {"amount": a, "currency": "USD"}}
             for q, a in [("3.5g", 180.0), ("1g", 60.0), ("28g", 1000.0), ("100 pills", 90.0), ("a bag", 5.0)]]
    result = enrich(enricher, title="Cocaine", price={"amount": 60.0, "currency": "USD"}, price_tiers=tiers)
    read = [(t.quantity.amount if t.quantity else None, t.quantity.unit if t.quantity else None, t.unit_price_usd,
             t.discount) for t in result.enrichment.tiers]
    assert read == [(3.5, "g", 51.428571, 0.1429), (1.0, "g", 60.0, None), (28.0, "g", 35.714286, 0.4048),
                    (100.0, "unit", 0.9, None), (None, None, None, None)]


@pytest.mark.parametrize("ships_from, ships_to, origin, destinations", [
    ("Netherlands", ["Worldwide"], ["NL"], ["WORLDWIDE"]),
    ("Deutschland", ["Europa", "Vereinigte Staaten"], ["DE"], ["EUROPE", "US"]),
    ("España", ["UE"], ["ES"], ["EU"]),
    ("United Kingdom", ["United Kingdom, Germany"], ["GB"], ["GB", "DE"]),
    ("USA", ["Canada / Australia"], ["US"], ["CA", "AU"]),
    ("Hong Kong", ["Monde entier"], ["HK"], ["WORLDWIDE"]),
])
def test_ships_from_and_to_as_iso_codes(enricher, ships_from, ships_to, origin, destinations):
    result = enrich(enricher, ships_from=ships_from, ships_to=ships_to)
    assert result.enrichment.ships_from == origin
    assert result.enrichment.ships_to == destinations
    for entity in entities(result, "PLACE"):
        assert field_text(result, entity) and entity.component == "interdict_places"


def test_shipping_roles_from_text_when_fields_are_missing(enricher):
    result = enrich(enricher, description="Discreet. Ships from Germany to the EU only. Versand aus Deutschland.")
    assert result.enrichment.ships_from == ["DE"]
    assert result.enrichment.ships_to == ["EU"]
    # two-letter words are not countries without a shipping cue
    assert not enrich(enricher, description="I am in it to win it, no doubt").enrichment.ships_from


def test_identifiers_in_text_are_validated(enricher):
    good, bad = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5"
    result = enrich(enricher, description=f"pay {good} not {bad}; mail Vendor.Name@Proton.me")
    assert result.enrichment.identifier_values("btc") == [good]
    assert result.enrichment.identifier_values("email") == ["vendor.name@proton.me"]
    btc = entities(result, "BTC_ADDRESS")[0]
    assert btc.component == "interdict_identifiers" and field_text(result, btc) == good


def test_vendor_profile_pgp_fingerprint(enricher):
    key = (Path(__file__).parent / "fixtures" / "pgp" / "ed.asc").read_text()
    vendor = VendorProfile(market="m", name="Ed", url="http://127.0.0.1/v/ed", profile="Contact ed@example.org",
                           pgp_key=key, crawled_at="2026-11-01T00:00:00Z")
    result = next(enricher.enrich_vendors([vendor]))
    assert result.enrichment.identifier_values("pgp") == ["C0620259C942BE7A4D9FD7E70AB7B267D2AB57ED"]
    pgp = [e for e in result.enrichment.entities if e.label == "PGP_FINGERPRINT"][0]
    assert pgp.field == "pgp_key" and pgp.start == 0 and pgp.attrs["user_ids"] == ["Ed Vendor <ed@example.invalid>"]


def test_prices_normalised_with_dated_rates(enricher):
    eur = enrich(enricher, price={"amount": 100, "currency": "EUR"})
    assert eur.enrichment.price_eur == 100 and eur.enrichment.price_usd == 116.0
    # A BTC price converts at the rate in force on its listing's date, not today's.
    january = enrich(enricher, price={"amount": 1, "currency": "BTC"}, crawled_at="2014-01-20T00:00:00Z")
    february = enrich(enricher, price={"amount": 1, "currency": "BTC"}, crawled_at="2014-02-01T00:00:00Z")
    assert (january.enrichment.price_usd, february.enrichment.price_usd) == (830.0, 800.0)
    unknown = enrich(enricher, price={"amount": 1, "currency": "ZZZ"})
    assert unknown.enrichment.price_usd is None


def test_batches_keep_order_and_accented_text_matches(enricher):
    listings = [make_listing(listing_key=str(i), title=f"Kokain Qualität {i}") for i in range(150)]
    results = list(enricher.enrich_listings(listings))
    assert [r.listing.listing_key for r in results] == [str(i) for i in range(150)]
    assert results[7].enrichment.products[0].canonical == "cocaine"


def test_demo_listings_get_the_facts_the_generator_put_in(enricher, catalog):
    """Every demo listing's origin and destination codes come out exactly as generated."""
    from datetime import UTC, datetime

    from contracts.listings import Listing

    specs = catalog.markets["vesper"].listings[:300]
    listings = [Listing(market="vesper", url=f"http://127.0.0.1/item/{s.key}", listing_key=s.key, title=s.title,
                        description=s.description, price={"amount": s.price, "currency": s.currency},
                        vendor={"name": s.vendor}, ships_from=s.ships_from, ships_to=list(s.ships_to),
                        crawled_at=datetime(2026, 11, 28, tzinfo=UTC)) for s in specs]
    results = list(enricher.enrich_listings(listings))
    for spec, result in zip(specs, results):
        assert result.enrichment.ships_from == [spec.origin], spec.ships_from
        assert result.enrichment.ships_to == list(spec.destinations), spec.ships_to
    with_products = sum(1 for r in results if r.enrichment.products)
    assert with_products / len(results) > 0.95


def test_documents_stored_by_pipeline_0_1_still_load():
    from contracts.listings import Enrichment

    old = {"ships_from_codes": ["NL"], "ships_to_codes": ["EU"], "identifiers": {"btc": ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"]},
           "search_text": "mdma", "pipeline_version": "0.1"}
    upgraded = Enrichment.model_validate(old)
    assert (upgraded.ships_from, upgraded.ships_to) == (["NL"], ["EU"])
    assert upgraded.identifier_values("btc") == ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"]
