"""Shipping hints, routes, categories, language and raw records through the real pipeline."""

import socket
from pathlib import Path

import pytest

from conftest import enrich_raw, make_listing
from contracts.listings import RawListing


raw = enrich_raw


def test_shipping_hints_from_free_text(enricher):
    e = raw(enricher, title="Amnesia Haze 10g",
            description="Double vacuum sealed in MBB with a decoy item, declared as a gift, no customs form. "
                        "Sent by DHL Express, tracked. Delivery 3-5 working days. 100% reship if lost. "
                        "Use a drop address or a Packstation.")
    assert {"DHL", "tracked", "express"} <= set(e.carriers)
    assert {"vacuum sealed", "moisture barrier bag", "decoy"} <= set(e.stealth)
    assert {"gift", "no customs declaration"} <= set(e.declared_as)
    assert e.reship and {"drop address", "pickup point"} <= set(e.drop_hints)
    assert e.delivery_days == (3.0, 5.0)
    kinds = {m.label for m in e.entities}
    assert {"CARRIER", "STEALTH", "DECLARED_AS", "RESHIP", "DROP", "DELIVERY_TIME"} <= kinds
    assert all(m.component == "interdict_shipping" for m in e.entities if m.label in ("CARRIER", "DELIVERY_TIME"))


def test_a_lone_number_of_days_is_not_a_delivery_time(enricher):
    assert raw(enricher, title="7 days of bliss: 10 tabs").delivery_days is None
    assert raw(enricher, title="weed", description="Delivery within 2 days in the UK").delivery_days == (2.0, 2.0)


@pytest.mark.parametrize("ships_from, ships_to, origin, destinations, excluded", [
    ("From: Germany To: EU", None, ["DE"], ["EU"], []),  # Agora's badly split cell
    ("Netherlands", "Worldwide except Australia, New Zealand", ["NL"], ["WORLDWIDE"], ["AU", "NZ"]),
    ("USA", "We do not ship to USA / Canada", ["US"], [], ["US", "CA"]),
    ("UK", "EU, North America", ["GB"], ["EU", "NORTH_AMERICA"], []),
    ("  \n  Hong Kong\n  ", "WW", ["HK"], ["WORLDWIDE"], []),
    # Agora 2014's cells as they are: "NA" is its missing value (4,367 of 7,986 rows), not Namibia
    ("NA", "NA", [], [], []),
    ("N/A", ["-", "unknown", "?", "None"], [], [], []),
    ("\n      The home of the Body Bags\n      ", "Kind Hearts and Gentle People\n    ", [], [], []),  # no Andorra
    ("usa", "USA & CN", ["US"], ["US", "CN"], []),
    ("Germany", "Everyplace except Australia and Finland", ["DE"], ["WORLDWIDE"], ["AU", "FI"]),
    ("Canada", "WORLWIDE", ["CA"], ["WORLDWIDE"], []),
    ("EU", "EU except DE", ["EU"], ["EU"], ["DE"]),
    ("In stock", "Ships to: IN only", [], ["IN"], []),  # a code where the cell is a code, a word where it is prose
])
def test_market_cells_to_codes(enricher, ships_from, ships_to, origin, destinations, excluded):
    routes = enricher.routes_from_cells(ships_from, ships_to)
    assert (routes["ships_from"], routes["ships_to"], routes["ships_to_excluded"]) == (origin, destinations, excluded)


@pytest.mark.parametrize("title, origin, destinations", [
    ("[PROMO] EU-WW 10x 200ug THE HOLY FAMILY", ["EU"], ["WORLDWIDE"]),
    ("1 Oz Penis Envy Shrooms! USA-USA", ["US"], ["US"]),
    ("5g cocaine UK > EU tracked", ["GB"], ["EU"]),
    ("Shipping from Spain to Italy only", ["ES"], ["IT"]),
    ("Shipped from Canada to USA and Canada only", ["CA"], ["US", "CA"]),  # was US only
    ("Ships from Germany to DE, AT & CH", ["DE"], ["DE", "AT", "CH"]),
    ("10g MDMA crystal - domestic USA", ["US"], ["US"]),
    ("Cocaine 5g - ships from the UK", ["GB"], []),
    ("UK customers: next day delivery", [], ["GB"]),
    ("NO SHIPPING TO USA - 100 XANAX 2MG", [], []),  # neither Norway nor Tonga; USA is an exclusion
])
def test_routes_written_in_titles(enricher, title, origin, destinations):
    e = raw(enricher, title=title)
    assert (e.ships_from, e.ships_to) == (origin, destinations)


def test_exclusions_in_free_text_stay_exclusions_and_missing_markers_are_no_place(enricher):
    e = raw(enricher, title="LSD blotters", description="We ship worldwide except AU and NZ.")
    assert (e.ships_to, e.ships_to_excluded) == (["WORLDWIDE"], ["AU", "NZ"])
    na = raw(enricher, title="Speed 10g", description="Ships from: NA. Ships to: NA")
    assert (na.ships_from, na.ships_to) == ([], []) and not [m for m in na.entities if m.label == "PLACE"]


@pytest.mark.parametrize("title, origin, destinations", [
    ("MDMA shipping from RO to EU", [], ["EU"]),  # a code vendors rarely write bare: a name is needed
    ("Shipping from Romania to EU", ["RO"], ["EU"]),
    ("WW shipping from ES", ["ES"], ["WORLDWIDE"]),
    ("Georgia GA - USA - PERSONAL INFO SSN & DOB", [], []),  # GA: a US state, not Gabon
])
def test_bare_codes_in_free_text_are_the_ones_vendors_write(enricher, title, origin, destinations):
    enrichment = raw(enricher, title=title)
    assert (enrichment.ships_from, enrichment.ships_to) == (origin, destinations)


def test_where_a_product_comes_from_is_not_where_it_ships_from(enricher):
    hash_ = raw(enricher, title="1 GRAM OF FINEST CREAMY HASH DIRECT FROM NEPAL")
    assert (hash_.ships_from, hash_.provenance) == ([], ["NP"])
    mdma = raw(enricher, title="MDMA", description="Imported from Holland, shipped from Germany to the EU.")
    assert (mdma.ships_from, mdma.ships_to, mdma.provenance) == (["DE"], ["EU"], ["NL"])
    assert raw(enricher, title="weed", description="Best weed from Spain").ships_from == []


@pytest.mark.parametrize("text", [
    "I am in it to win it, no doubt",  # in, it, no: words, not India, Italy, Norway
    "Be sure to check the FAQ; we are the best",
    "us and them, de facto",
    "Cashout CC to PM",  # credit cards to Perfect Money, not Cocos Islands to Saint Pierre
])
def test_short_words_are_not_countries(enricher, text):
    e = raw(enricher, title="Listing", description=text)
    assert not e.ships_from and not e.ships_to
    assert not [m for m in e.entities if m.label == "PLACE"]


@pytest.mark.parametrize("title, category", [
    ("Methamphetamine Manufacture Guide, 8th edition", "digital.guides"),  # a guide about meth is a guide
    ("35 Grams Mexican Brown Rock Heroin", "drugs.opioids"),  # strong "heroin" beats weak "rock"
    ("500g crystal 3-mmc", "drugs.stimulants"),
    ("1000g AB-PINACA", "drugs.synthetic_cannabinoids"),  # research-chemical code pattern
    ("Flubromazolam 1mg pellets x 20", "drugs.sedatives"),  # INN stem
    ("Valacyclovir 500mg 50 tabs", "drugs.prescription"),
    ("Oxycodon 80mg", "drugs.opioids"),  # one typo away from the gazetteer
    ("1/2 oz Sunset Runtz AAAA", "drugs.cannabis.herb"),
    ("Swiss White Fluff 150ug x 10", "drugs.psychedelics"),
    ("10 X 250mg HEINEKEN", "drugs.empathogens"),  # a dose hint when nothing names the product
    ("Florida Driver's License UV+SCAN", "counterfeits.documents"),
    ("VISA - CREDIT CARD - \"Editable PSD Template\"", "counterfeits.documents"),
    ("US Fullz DOB+SSN+MMN", "digital.data"),
    ("Glock 19 Gen5 + 50 rounds", "weapons.firearms"),
    ("Marlboro Gold 10 cartons", "tobacco"),
    ("1 x Master Kush autoflower seed", "drugs.cannabis.seeds"),
    ("Raw Garden Live Resin 1.0g Cart", "drugs.cannabis.vapes"),
    ("Cannabis infused chocolate bar 160mg THC", "drugs.cannabis.edibles"),
])
def test_main_category(enricher, title, category):
    assert raw(enricher, title=title).category == category


def test_nps_are_a_secondary_category(enricher):
    e = raw(enricher, title="Etizolam 1mg x 60")
    assert e.category == "drugs.sedatives"
    assert {"drugs.sedatives", "drugs.nps"} <= set(e.categories)


def test_weak_alias_yields_to_a_named_product(enricher):
    e = raw(enricher, title="2C-B 20mg pills")
    assert [p.canonical for p in e.products] == ["2C-B"]
    assert raw(enricher, title="Ice 5g").products[0].canonical == "methamphetamine"


@pytest.mark.parametrize("text, language", [
    ("Beste kwaliteit wiet uit Nederland, snel en discreet verzonden", "nl"),
    ("Hochwertiges Kokain aus Deutschland, diskreter Versand", "de"),
    ("Cocaína de alta calidad, envío discreto desde España", "es"),
    ("High quality cocaine shipped discreetly from the Netherlands", "en"),
])
def test_language(enricher, text, language):
    assert raw(enricher, title=text).language == language


def test_language_unknown_for_too_little_text(enricher):
    assert raw(enricher, title="10g 4-MMC").language is None


def test_prices_with_tiers_and_conversion(enricher):
    e = raw(enricher, title="Speed paste", price="Buy price USD 500.00 (0.3065 BTC)", date="2017-05-09",
            description="1g - $15, 5g: €60, 10g for 0.05 BTC")
    listed = e.prices[0]
    assert (listed.source, listed.amount, listed.currency, listed.usd) == ("field", 500.0, "USD", 500.0)
    tiers = {(p.quantity.amount, p.currency) for p in e.prices if p.quantity}
    assert tiers == {(1.0, "USD"), (5.0, "EUR"), (10.0, "BTC")}
    btc = [p for p in e.prices if p.currency == "BTC"][0]
    assert btc.usd == 85.0  # 0.05 BTC at the 2017-05-08 row of config/rates.toml (1,700 USD)


def test_raw_vendor_cells_are_cleaned(enricher):
    assert raw(enricher, title="x", vendor="Sold by EMS-CHEMIE -\n0 sold since Mar 31, 2017").vendor == "EMS-CHEMIE"
    assert raw(enricher, title="x", vendor="Dr Feelgood 98.5%").vendor == "Dr Feelgood"


def test_long_fields_are_cut_and_marked(tmp_path):
    from enrichment.pipeline import Enricher

    small = Enricher(max_field_chars=1000)
    listing = make_listing(title="cocaine", description="word " * 1000 + " heroin")
    result = next(small.enrich_listings([listing]))
    assert result.enrichment.truncated == ["description"]
    assert [p.canonical for p in result.enrichment.products] == ["cocaine"]  # heroin was past the cut


def test_components_work_on_spacy_tokens_too(tmp_path):
    """pipeline.cfg can switch back to spaCy's tokenizer (for token-based components)."""
    from enrichment.pipeline import DEFAULT_CONFIG, Enricher

    config = tmp_path / "pipeline.cfg"  # data file names stay relative to enrichment/data
    config.write_text(DEFAULT_CONFIG.read_text().replace('@tokenizers = "interdict.text_view_tokenizer.v1"',
                                                         '@tokenizers = "spacy.Tokenizer.v1"'))
    tokenised = Enricher(config)
    assert [t.text for t in tokenised.nlp.make_doc("molly from NL")] == ["molly", "from", "NL"]
    e = next(tokenised.enrich_raw([RawListing(title="Molly 10g, ships from Germany, DHL tracked")]))[1]
    assert e.category == "drugs.empathogens" and e.ships_from == ["DE"] and "DHL" in e.carriers
    doc = tokenised.nlp("Xanax 2mg bars")  # the plain spaCy call works as well
    assert {m.value for m in doc._.interdict_entities if m.label == "PRODUCT"} == {"alprazolam"}


def test_no_network_while_loading_or_enriching(monkeypatch):
    """Nothing is downloaded: the language model ships inside the installed wheel."""
    from enrichment.components.language import model_path

    assert Path(model_path()).is_file() and "site-packages" in model_path()

    def refuse(*args, **kwargs):
        raise AssertionError("enrichment opened a network socket")

    # A guard, not a stand-in: any attempt to connect fails the test.
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    from enrichment.pipeline import Enricher

    e = next(Enricher().enrich_raw([RawListing(title="Kokain aus Deutschland, sehr rein")]))[1]
    assert e.language == "de" and e.products[0].canonical == "cocaine"


@pytest.mark.parametrize("text, expected", [
    # a leader before an address: the parcel with name@gmail.com must find its vendor
    ("Contact: Email....name@gmail.com for bulk", [("email", "name@gmail.com")]),
    ("mail me at my.email@proton.me", [("email", "my.email@proton.me")]),
    # the sentence going on after the cue is no handle ...
    ("download wickr before ordering, then message me", []),
    # ... a label after it introduces one
    ("Telegram support: @calilab12", [("telegram", "calilab12")]),
    ("Wickr: joedealer", [("wickr", "joedealer")]),
    ("my wickr is joedealer", [("wickr", "joedealer")]),
    ("wickr joe_dealer88 for orders", [("wickr", "joe_dealer88")]),
])
def test_contacts_written_as_real_listings_write_them(enricher, text, expected):
    assert [(i.kind, i.value) for i in raw(enricher, title="listing", description=text).identifiers] == expected
