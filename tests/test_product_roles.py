"""What a listing offers, read as real listings write it (issue 20, part 2): seeds, guides and
paraphernalia are not the drug, brand and weapon words beside a drug are its name, a replica
keeps its item's kind, a bare percentage beside the goods is the purity."""

import pytest

from conftest import enrich_raw


raw = enrich_raw


def offered(enrichment):
    return {p.canonical: (p.category, p.hs_code, p.role) for p in enrichment.products}


def test_seeds_named_after_a_rifle_are_seeds_not_a_weapon(enricher):
    seeds = raw(enricher, title="AK47 feminised seeds x10")
    assert seeds.category == "drugs.cannabis.seeds"
    assert not any(c.startswith("weapons") for c in seeds.categories)
    assert all(role == "topic" or category == "drugs.cannabis.seeds"
               for category, _, role in offered(seeds).values())


@pytest.mark.parametrize("title, category", [
    ("7g AK-47", None),  # a strain with no product named: no class rather than a rifle
    ("1/2 ounce of AK-47 - indoor weed", "drugs.cannabis.herb"),
    ("10 Pills ~ 180 mg. MDMA \"Grenades\"", "drugs.empathogens"),
    ("25g Rolex soft A+ HASHISH Coffeshop quality", "drugs.cannabis.resin"),
    ("50 x Louis Vuitton xtc pills 200mg MDMA", "drugs.empathogens"),
    ("Gun Powder Heroin 1g", "drugs.opioids"),
])
def test_weapon_and_brand_words_beside_a_drug_are_its_name(enricher, title, category):
    enrichment = raw(enricher, title=title)
    assert enrichment.category == category
    assert not any(c.startswith(("weapons", "counterfeits")) for c in enrichment.categories)
    assert any(e.label == "NAME" for e in enrichment.entities)


@pytest.mark.parametrize("title, category", [
    ("Brand New Arsenal AK47 SLR107FR", "weapons.firearms"),
    ("Glock 19 Gen 5 with two magazines", "weapons.firearms"),
    ("Rolex Submariner Green/Green [Replica]", "counterfeits.watches"),
])
def test_weapons_and_brands_on_their_own_stay_what_they_are(enricher, title, category):
    assert raw(enricher, title=title).category == category


@pytest.mark.parametrize("title, category", [
    ("Replica Louis Vuitton bag", "counterfeits.bags"),
    ("Omega - Seamaster Planet Ocean Lady [Replica]", "counterfeits.watches"),
    ("GUCCI short Wallet Replica", "counterfeits.bags"),
    ("Hermes Reversible \"H\" Belt [Replica]", "counterfeits.bags"),
])
def test_a_replica_keeps_its_items_kind(enricher, title, category):
    enrichment = raw(enricher, title=title)
    assert enrichment.category == category
    assert not {"counterfeit coupons", "counterfeit banknotes"} & set(offered(enrichment))


def test_the_word_replica_alone_is_a_counterfeit_of_no_known_kind(enricher):
    assert raw(enricher, title="AAA grade replica, ask for models").category == "counterfeits"


def test_a_manufacture_guide_is_a_guide_with_the_drug_as_its_topic(enricher):
    guide = raw(enricher, title="Meth manufacture guide - cook your own crystal meth")
    assert guide.category == "digital.guides"
    assert offered(guide)["methamphetamine"] == ("drugs.stimulants", None, "topic")
    assert "drugs.stimulants" not in guide.categories and "digital.guides" in guide.categories


@pytest.mark.parametrize("title, category", [
    ("Bong glass water pipe 30cm", "paraphernalia"),
    ("2 x High Quality Pyrex Glass Oil Burner / Meth Pipe", "paraphernalia"),
    ("500g/0.01 Digital scales **ESCROW**", "paraphernalia"),
    ("Marquis Reagent Test Kit - Best home test for MDMA", "paraphernalia"),
    ("Mushroom grow kit, colonised, ready to fruit", "drugs.psychedelics.spores"),
    ("Premium Ecuador Spore Syringe 10ml", "drugs.psychedelics.spores"),
])
def test_paraphernalia_and_grow_kits_are_not_the_drug(enricher, title, category):
    enrichment = raw(enricher, title=title)
    assert enrichment.category == category
    assert all(role == "topic" or c.startswith(category) for c, _, role in offered(enrichment).values())


def test_a_pipe_for_meth_names_meth_only_as_its_topic(enricher):
    pipe = raw(enricher, title="Glass pipe for meth, 10cm")
    assert offered(pipe)["methamphetamine"][2] == "topic"
    assert offered(pipe)["smoking pipe"] == ("paraphernalia", "9614.00", "item")


@pytest.mark.parametrize("title, category", [
    ("14.0 GRAMS MDMA CRYSTALS - REAGENT TESTED", "drugs.empathogens"),
    ("7g / quarter oz Gorilla Glue from Seed Stockers", "drugs.cannabis.herb"),
    ("Kush 7g, no seeds no stems", "drugs.cannabis.herb"),
    ("1oz Organic Indoor Cannabis ***FREE EDIBLE INCLUDED***", "drugs.cannabis.herb"),
    ("3.5g MDMA + free pipe", "drugs.empathogens"),
    ("5 G Caramello Hash - Ultimate Stealth and Packing Methods", "drugs.cannabis.resin"),
])
def test_words_that_look_like_another_product_do_not_take_the_listing(enricher, title, category):
    assert raw(enricher, title=title).category == category


@pytest.mark.parametrize("title, purity", [
    ("Molly 84% 10g", 84.0),
    ("MDMA crystals 84% 10g", 84.0),
    ("Cocaine 1g 90% pure", 90.0),
    ("10% OFF - Cocaine 1g", None),
    ("100% Unique guide pack", None),
    ("Ketamine 5g - 20% discount this week", None),
])
def test_a_bare_percentage_beside_the_goods_is_the_purity(enricher, title, purity):
    enrichment = raw(enricher, title=title)
    assert enrichment.purity == purity
    assert not any(e.label == "PERCENT" for e in enrichment.entities)


def test_a_seizure_letter_is_no_letter_stealth(enricher):
    enrichment = raw(enricher, title="Cocaine 1g", description="Reship on a seizure letter. Sent in a letter, "
                                                              "use a dead-letter box if you like")
    assert enrichment.stealth == ["letter"]  # "in a letter" only
    assert "dead drop" in enrichment.drop_hints
    assert raw(enricher, title="Cocaine 1g", description="Reship on a seizure letter only").stealth == []
