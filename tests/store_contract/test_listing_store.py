"""The ListingStore contract (index/store.py): documents and search. Every store passes this
file unchanged: the embedded store and a real Elasticsearch node (tests/conftest.py). The
MatchIndex and CrawlLedger interfaces have their own suites beside it."""

import json
import re
from datetime import timedelta

import pytest

from conftest import make_listing
from index import Query, QueryError, listing_id
from store_contract.corpus import CORPUS, T0, keys


def test_upsert_and_get_with_stable_ids(loaded):
    doc = loaded.get_listing(listing_id("alpha", "a1"))
    assert doc.id == listing_id("alpha", "a1") and doc.market == "alpha"
    assert doc.data.listing.title == "Dutch MDMA crystals 84% pure"
    assert doc.first_seen == doc.last_seen == T0 and doc.seen_count == 1
    assert [(p.amount, p.currency) for p in doc.price_history] == [(100, "USD")]
    assert listing_id("alpha", "a1") != listing_id("beta", "a1")
    assert loaded.get_listing("0" * 32) is None
    assert loaded.count_listings() == 5


def test_history_keeps_first_seen_moves_last_seen_and_records_price_changes(loaded, enrich):
    t1, t2 = T0 + timedelta(days=1), T0 + timedelta(days=2)
    same = make_listing(crawled_at=t1, **CORPUS[0])
    assert loaded.upsert_listings(enrich(same)).unchanged == 1
    doc = loaded.get_listing(listing_id("alpha", "a1"))
    assert doc.first_seen == T0 and doc.last_seen == t1 and doc.seen_count == 2 and len(doc.price_history) == 1
    cheaper = make_listing(crawled_at=t2, **{**CORPUS[0], "price": {"amount": 90, "currency": "USD"}})
    assert loaded.upsert_listings(enrich(cheaper)).updated == 1
    doc = loaded.get_listing(listing_id("alpha", "a1"))
    assert [(p.amount, p.at) for p in doc.price_history] == [(100, T0), (90, t2)]
    assert doc.data.listing.price.amount == 90 and doc.first_seen == T0 and doc.last_seen == t2
    # re-indexing the same crawl is idempotent; an older crawl never rewinds the document
    assert loaded.upsert_listings(enrich(cheaper)).unchanged == 1
    older = make_listing(crawled_at=T0 - timedelta(days=5), **{**CORPUS[0], "price": {"amount": 70, "currency": "USD"}})
    loaded.upsert_listings(enrich(older))
    doc = loaded.get_listing(listing_id("alpha", "a1"))
    assert doc.first_seen == T0 - timedelta(days=5) and doc.last_seen == t2 and doc.data.listing.price.amount == 90
    assert loaded.count_listings() == 5


def test_a_listing_without_a_price_is_indexed_sorts_last_and_fails_price_filters(loaded, enrich):
    unpriced = {k: v for k, v in CORPUS[0].items() if k != "price"} | {"listing_key": "np", "title": "MDMA no price"}
    report = loaded.upsert_listings(enrich(make_listing(crawled_at=T0, **unpriced, price=None)))
    assert report.new == 1
    doc = loaded.get_listing(listing_id("alpha", "np"))
    assert doc.data.listing.price is None and doc.price_history == [] and doc.data.enrichment.price_usd is None
    assert "np" in keys(loaded.search(Query(text="mdma", limit=50)))
    for sort in ("price", "-price"):
        assert [h.document.listing_key for h in loaded.search(Query(sort=sort, limit=50)).hits][-1] == "np", sort
    assert "np" not in keys(loaded.search(Query(price_min_usd=0, limit=50)))
    assert "np" not in keys(loaded.search(Query(price_max_usd=1e9, limit=50)))
    # seen again with a price, it gets its first price point; seen again without, it keeps it
    priced = make_listing(crawled_at=T0 + timedelta(days=1), **unpriced, price={"amount": 12, "currency": "USD"})
    loaded.upsert_listings(enrich(priced))
    loaded.upsert_listings(enrich(make_listing(crawled_at=T0 + timedelta(days=2), **unpriced, price=None)))
    doc = loaded.get_listing(listing_id("alpha", "np"))
    assert [(p.amount, p.at) for p in doc.price_history] == [(12, T0 + timedelta(days=1))]


def test_captures_merge_in_time_order_whatever_the_order_they_come_in(store, enrich):
    """Imports bring old captures after newer ones: the history is the market's, in its order."""
    days = [T0 + timedelta(days=d) for d in range(5)]
    prices = [100, 100, 90, 90, 120]  # changes on day 2 (90) and day 4 (120)
    for i in (4, 0, 2, 3, 1):
        store.upsert_listings(enrich(make_listing(crawled_at=days[i], **{**CORPUS[0], "price": {
            "amount": prices[i], "currency": "USD"}})))
    doc = store.get_listing(listing_id("alpha", "a1"))
    assert [(p.amount, p.at) for p in doc.price_history] == [(100, days[0]), (90, days[2]), (120, days[4])]
    assert (doc.first_seen, doc.last_seen, doc.data.listing.price.amount) == (days[0], days[4], 120)


@pytest.mark.parametrize("filters, expected", [
    ({"market": ["alpha"]}, ["a1", "a2"]),
    ({"vendor": ["DUTCHMASTERS"]}, ["a1", "b2"]),
    ({"product": ["mdma"]}, ["a1", "b2"]),
    ({"category": ["drugs"]}, ["a1", "a2", "b2"]),
    ({"category": ["counterfeits.watches"]}, ["b1"]),
    ({"ships_from": ["nl"]}, ["a1", "b2"]),
    # places: where goods can go (a listing to the EU or worldwide reaches Germany) ...
    ({"ships_to": ["DE"]}, ["a1", "a2", "b1", "b2"]),
    ({"ships_to": ["US"]}, ["a1", "b1"]),
    ({"ships_to": ["NORTH_AMERICA"]}, ["a1", "b1"]),
    ({"ships_to": ["JP"]}, ["a1", "b3"]),
    ({"ships_to": ["WORLDWIDE"]}, ["a1"]),
    ({"ships_from": ["EU"]}, ["a1", "a2", "b2"]),
    # ... or as the listing names them
    ({"ships_to_exact": ["DE"]}, ["b1"]),
    ({"ships_to_exact": ["EU", "WORLDWIDE"]}, ["a1", "a2", "b2"]),
    ({"ships_from_exact": ["nl"]}, ["a1", "b2"]),
    ({"currency": ["EUR"]}, ["a2"]),
    ({"market": ["beta"], "product": ["MDMA"]}, ["b2"]),
    ({"hs_code": ["2939.72"]}, ["a2"]),  # cocaine, HS 2022
    ({"market_category": ["pills"]}, ["b2"]),
    ({"vendor": ["kokainkönig"]}, ["a2"]),
])
def test_filters(loaded, filters, expected):
    assert keys(loaded.search(Query(filters=filters, limit=50))) == expected


def test_a_listing_that_excludes_a_country_is_not_found_shipping_there(loaded, enrich):
    loaded.upsert_listings(enrich(make_listing(crawled_at=T0, listing_key="c1", title="LSD blotters 10x", market="gamma",
                                               vendor={"name": "Acid Annie"}, ships_from="Netherlands",
                                               ships_to=["Worldwide except Australia"])))
    assert keys(loaded.search(Query(filters={"ships_to": ["AU"]}, limit=50))) == ["a1"]  # a1: worldwide, c1: not AU
    assert keys(loaded.search(Query(filters={"ships_to": ["NZ"]}, limit=50))) == ["a1", "c1"]
    assert keys(loaded.search(Query(filters={"ships_to": ["OCEANIA"]}, limit=50))) == ["a1", "c1"]
    assert keys(loaded.search(Query(filters={"ships_to_excluded": ["AU"]}, limit=50))) == ["c1"]


def test_price_and_date_ranges(loaded, enrich):
    assert keys(loaded.search(Query(price_min_usd=50, price_max_usd=120, limit=50))) == ["a1", "a2"]  # 80 EUR = 92.8 USD
    later = T0 + timedelta(days=3)
    loaded.upsert_listings(enrich(make_listing(crawled_at=later, **CORPUS[2])))
    assert keys(loaded.search(Query(date_from=later, limit=50))) == ["b1"]
    assert keys(loaded.search(Query(date_to=T0, limit=50))) == ["a1", "a2", "b2", "b3"]
    assert keys(loaded.search(Query(date_field="first_seen", date_from=later, limit=50))) == []


@pytest.mark.parametrize("text, expected", [
    ("mdma", ["a1", "b2"]),
    ("MDMA pills", ["b2"]),
    ('"blue punisher"', ["b2"]),
    ('"punisher blue"', []),
    ("mdma -pills", ["a1"]),
    ("kokain qualitat", ["a2"]),  # accents and case folded
    ("QUALITÄT", ["a2"]),
    ("dutchmasters", ["a1", "b2"]),  # vendor names are searchable
    ("oxycodone", []),
    ("empathogens", ["a1", "b2"]),  # taxonomy labels of the products found are searchable
    ("ecstasy", ["a1"]),  # the market's own category path too
    ('"quotes" AND NEAR( * OR title:x', ["b3"]),  # query syntax is inert
    ("<script>alert(1)</script>", ["b3"]),
    ("日本語", ["b3"]),
    ("-mdma", ["a2", "b1", "b3"]),
])
def test_text_search(loaded, text, expected):
    assert keys(loaded.search(Query(text=text, limit=50))) == expected


def test_hostile_text_round_trips_unchanged(loaded):
    doc = loaded.get_listing(listing_id("beta", "b3"))
    assert doc.data.listing.title == CORPUS[4]["title"]
    assert doc.data.listing.description == CORPUS[4]["description"]


def test_facets_count_over_the_matches(loaded):
    result = loaded.search(Query(text="mdma", facets=["ships_from", "vendor", "market"], limit=0))
    assert result.total == 2 and result.hits == []
    assert [(f.value, f.count) for f in result.facets["ships_from"]] == [("NL", 2)]
    assert [(f.value, f.label, f.count) for f in result.facets["vendor"]] == [("dutchmasters", "DutchMasters", 2)]
    assert {(f.value, f.count) for f in result.facets["market"]} == {("alpha", 1), ("beta", 1)}
    everything = loaded.search(Query(facets=["category"], facet_size=2, limit=0))
    assert [(f.value, f.count) for f in everything.facets["category"]] == [("drugs", 3), ("drugs.empathogens", 2)]


def test_sorting_and_pagination(loaded):
    by_price = loaded.search(Query(sort="price", limit=50))
    assert [h.document.listing_key for h in by_price.hits] == ["b3", "b2", "a2", "a1", "b1"]
    desc = loaded.search(Query(sort="-price", limit=2, offset=1))
    assert [h.document.listing_key for h in desc.hits] == ["a1", "a2"] and desc.total == 5
    pages = [loaded.search(Query(sort="price", limit=2, offset=o)).hits for o in (0, 2, 4)]
    assert [h.document.listing_key for page in pages for h in page] == ["b3", "b2", "a2", "a1", "b1"]
    relevant = loaded.search(Query(text="mdma", limit=50))
    assert relevant.hits[0].score >= relevant.hits[-1].score


def test_highlights_mark_matched_words(loaded):
    from index.query import HIGHLIGHT_END, HIGHLIGHT_START

    hit = loaded.search(Query(text="punisher")).hits[0]
    assert f"{HIGHLIGHT_START}Punisher{HIGHLIGHT_END}" in hit.highlights["title"]


def test_unknown_filter_field_is_rejected():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="unknown filter field 'colour'"):
        Query(filters={"colour": ["red"]})
    with pytest.raises(QueryError):
        from index.query import normalise_term

        normalise_term("colour", "red")


def test_iterating_every_document(loaded, enricher, catalog):
    from contracts.listings import VendorProfile

    assert sorted(d.listing_key for d in loaded.iter_listings()) == sorted(f["listing_key"] for f in CORPUS)
    assert list(loaded.iter_vendors()) == []
    profile = VendorProfile(market="sable", name=catalog.vendors[1].name, url="http://127.0.0.1/v", crawled_at=T0)
    loaded.upsert_vendors(enricher.enrich_vendors([profile]))
    assert [v.name for v in loaded.iter_vendors()] == [catalog.vendors[1].name]


def test_delete(loaded):
    assert loaded.delete_listing(listing_id("alpha", "a1"))
    assert not loaded.delete_listing(listing_id("alpha", "a1"))
    assert loaded.get_listing(listing_id("alpha", "a1")) is None
    assert keys(loaded.search(Query(text="mdma"))) == ["b2"]
    assert loaded.search(Query(filters={"vendor": ["dutchmasters"]}, facets=["vendor"])).facets["vendor"][0].count == 1


def test_vendors_upsert(store, enricher, catalog):
    from contracts.listings import VendorProfile
    from index import vendor_id

    spec = catalog.vendors[0]
    profile = VendorProfile(market="sable", name=spec.name, url="http://127.0.0.1/v", profile=spec.profile,
                            pgp_key=spec.pgp_key, crawled_at=T0)
    assert store.upsert_vendors(enricher.enrich_vendors([profile])).new == 1
    assert store.upsert_vendors(enricher.enrich_vendors([profile.model_copy(update={"crawled_at": T0 + timedelta(1)})])).unchanged == 1
    doc = store.get_vendor(vendor_id("sable", spec.name.upper()))
    assert doc.data.enrichment.identifier_values("pgp") == [spec.fingerprint]
    assert spec.btc_address in doc.data.enrichment.identifier_values("btc")
    assert doc.first_seen == T0 and doc.last_seen == T0 + timedelta(1)
    assert store.count_vendors() == 1


def test_identifiers_are_found_by_filter_and_as_free_text_however_written(store, enricher, enrich, catalog):
    """A vendor's PGP key, wallet and e-mail find its listings (the key is on the profile, not
    on the listings) and every listing that states them, on any market, in any written form."""
    from contracts.listings import VendorProfile

    spec = catalog.vendors[0]
    store.upsert_vendors(enricher.enrich_vendors([VendorProfile(
        market="sable", name=spec.name, url="http://127.0.0.1/v", profile=spec.profile, pgp_key=spec.pgp_key,
        crawled_at=T0)]))
    store.upsert_listings(enrich(
        make_listing(crawled_at=T0, market="sable", listing_key="own", vendor={"name": spec.name}, title="Ketamine 5g"),
        make_listing(crawled_at=T0, market="other", listing_key="alias", vendor={"name": "SomeoneElse"},
                     title="Cocaine 1g", description=f"Questions? Email....{spec.email.upper()} or jabber: x@jabb.im"),
        make_listing(crawled_at=T0, market="other", listing_key="none", vendor={"name": "Stranger"}, title="Ketamine 1g"),
    ))
    fingerprint = spec.fingerprint
    spaced = " ".join(fingerprint[i:i + 4] for i in range(0, 40, 4)).lower()

    def found(**query):
        return keys(store.search(Query(**query)))

    for written in (fingerprint, spaced, "0x" + fingerprint[-16:], "0x" + fingerprint[-8:].lower()):
        assert found(filters={"identifier": [written]}) == ["own"], written
    assert found(filters={"identifier": [spec.email.upper()]}) == ["alias", "own"]
    assert found(filters={"identifier": ["Email....%s" % spec.email]}) == ["alias", "own"]
    assert found(filters={"identifier": [spec.btc_address.upper()]}) == ["own"]  # bech32: any case
    assert found(filters={"identifier": ["@" + spec.handle.upper()]}) == ["own"]
    assert found(filters={"identifier": ["X@Jabb.im"]}) == ["alias"]
    assert found(text=spec.email) == ["alias", "own"]
    assert found(text=f"ketamine {spaced}") == ["own"]
    assert found(text=f"ketamine {spec.email}") == ["own"]  # the words still count
    assert found(filters={"identifier": ["nobody@example.org"]}) == []


def test_folding_is_the_same_in_every_store(store, enrich):
    store.upsert_listings(enrich(make_listing(listing_key="s1", title="Straße nach Köln 84.5g", crawled_at=T0)))
    for text in ("strasse", "STRASSE", "köln", "koln", '"nach koln"', "84", '"84 5g"'):
        assert keys(store.search(Query(text=text))) == ["s1"], text
    assert keys(store.search(Query(text="strase"))) == []


def test_migrate_keeps_every_document_searchable(loaded):
    before = keys(loaded.search(Query(text="mdma", limit=50)))
    message = loaded.migrate()
    assert re.search(r"\b5 listings reindexed|listings-v\d+ \(5 documents;", message), message
    assert keys(loaded.search(Query(text="mdma", limit=50))) == before == ["a1", "b2"]
    assert loaded.count_listings() == 5
    assert keys(loaded.search(Query(filters={"ships_from": ["NL"]}, limit=50))) == ["a1", "b2"]
    assert len(loaded.candidates(["p:mdma@NL"], per_key=10)["p:mdma@NL"]) == 2
    assert len(loaded.profiles(loaded.candidates(["p:mdma@NL"], per_key=10)["p:mdma@NL"])) == 2


def test_indices_are_made_with_the_configured_shards_and_replicas_also_by_migrate(elasticsearch_url, enrich):
    import uuid

    from config import load_config
    from index.elastic import SCHEMA_VERSION, ElasticsearchStore

    settings = load_config(env={"INTERDICT_ELASTICSEARCH__SHARDS": "3", "INTERDICT_ELASTICSEARCH__REPLICAS": "1"})
    store = ElasticsearchStore(settings.elasticsearch, url=elasticsearch_url, index_prefix=f"s{uuid.uuid4().hex[:8]}")
    try:
        store.upsert_listings(enrich(*[make_listing(crawled_at=T0, **fields) for fields in CORPUS]))
        store.migrate()
        for alias in (store.listings, store.vendors, store.jobs_index):
            (index, found), = store.es.indices.get_settings(index=alias).items()
            assert (found["settings"]["index"]["number_of_shards"],
                    found["settings"]["index"]["number_of_replicas"]) == ("3", "1"), index
        assert next(iter(store.es.indices.get_alias(name=store.listings))).endswith(f"-v{SCHEMA_VERSION + 1}")
        assert store.search(Query(text="mdma")).total == 2
    finally:
        store.es.indices.delete(index=",".join(store.es.indices.get(index=f"{store.prefix}-*")))
        store.close()


def test_elasticsearch_breaks_ties_by_id_in_an_index_made_before_the_id_halves_and_after_migrate(
        elasticsearch_url, enrich):
    """Sort ties are broken by id: on its halves as numbers in an index made with them, on the id
    keyword in one made before listings carried them (their fields are added in place, their
    values only by `store migrate`): the same order either way."""
    import uuid

    from config import load_config
    from index.elastic import ElasticsearchStore
    from index.elastic_mappings import LISTINGS_MAPPING

    settings = load_config(env={}).elasticsearch
    items = enrich(*[make_listing(listing_key=f"tie{n}", crawled_at=T0, **{k: v for k, v in CORPUS[n % 5].items()
                                                                          if k != "listing_key"}) for n in range(40)])
    new = ElasticsearchStore(settings, url=elasticsearch_url, index_prefix=f"n{uuid.uuid4().hex[:8]}")
    prefix = f"o{uuid.uuid4().hex[:8]}"
    es = new.es
    try:
        new.upsert_listings(items)
        ties = sorted(listing_id(i.listing.market, i.listing.listing_key) for i in items)
        price = {i: new.get_listing(i).data.enrichment.price_usd for i in ties}
        by_price = sorted(ties, key=lambda i: (price[i] is None, price[i] or 0, i))
        assert len(set(price.values())) < 10  # ties within each price
        for sort, expected in (("-last_seen", ties), ("first_seen", ties), ("price", by_price)):
            assert [h.document.id for h in new.search(Query(sort=sort, limit=40)).hits] == expected, sort
        # an index as an earlier release made it: no halves in its mapping or its documents
        older = {k: v for k, v in LISTINGS_MAPPING.items() if k != "_meta"}
        older["properties"] = {k: v for k, v in older["properties"].items() if k not in ("id_high", "id_low")}
        es.indices.create(index=f"{prefix}-listings-v1", mappings=older)
        es.indices.put_alias(index=f"{prefix}-listings-v1", name=f"{prefix}-listings", is_write_index=True)
        for hit in es.search(index=new.listings, size=100)["hits"]["hits"]:
            source = {k: v for k, v in hit["_source"].items() if k not in ("id_high", "id_low")}
            es.index(index=f"{prefix}-listings", id=hit["_id"], document=source)
        es.indices.refresh(index=f"{prefix}-listings")
        old = ElasticsearchStore(settings, url=elasticsearch_url, index_prefix=prefix)
        try:
            assert [h.document.id for h in old.search(Query(sort="-last_seen", limit=40)).hits] == ties
            assert "id_high" in next(iter(es.indices.get_mapping(index=old.listings).values()))["mappings"]["properties"]
            old.migrate()
            assert [h.document.id for h in old.search(Query(sort="-last_seen", limit=40)).hits] == ties
            assert [h.document.id for h in old.search(Query(sort="-last_seen", offset=25, limit=10)).hits] == ties[25:35]
        finally:
            old.close()
    finally:
        es.indices.delete(index=",".join(es.indices.get(index=f"{new.prefix}-*,{prefix}-*")))
        new.close()


def test_documents_the_index_refuses_are_reported_not_retried(elasticsearch_url, enrich, caplog):
    """A real mapping conflict: the index behind the alias types `market` as a number."""
    import uuid

    from config import load_config
    from index.elastic import ElasticsearchStore

    prefix = f"m{uuid.uuid4().hex[:8]}"
    store = ElasticsearchStore(load_config(env={}).elasticsearch, url=elasticsearch_url, index_prefix=prefix)
    store.es.indices.create(index=f"{prefix}-listings-v1", mappings={"properties": {"market": {"type": "integer"}}})
    store.es.indices.put_alias(index=f"{prefix}-listings-v1", name=f"{prefix}-listings", is_write_index=True)
    try:
        with caplog.at_level("ERROR"):
            report = store.upsert_listings(enrich(make_listing(listing_key="r1", crawled_at=T0)))
        assert (report.new, report.rejected) == (0, 1)
        assert f"rejected document {listing_id('testmarket', 'r1')}" in caplog.text
        assert "market" in caplog.text
    finally:
        store.es.indices.delete(index=",".join(store.es.indices.get(index=f"{prefix}-*")))
        store.close()


def test_an_embedded_file_of_an_earlier_schema_is_migrated_when_opened(tmp_path, enrich):
    """A schema 5 file (before the status filter) opens with every document filterable by status."""
    import sqlite3

    from index.embedded import SCHEMA_VERSION, EmbeddedStore

    path = tmp_path / "old.db"
    with EmbeddedStore(path) as store:
        store.upsert_listings(enrich(*[make_listing(crawled_at=T0, **fields) for fields in CORPUS]))
    db = sqlite3.connect(path)
    db.execute("DELETE FROM terms WHERE field = 'status'")
    db.execute("ALTER TABLE listings DROP COLUMN data_digest")  # schema 13's
    db.execute("DROP INDEX listings_version")  # schema 15's column, and its index
    db.execute("ALTER TABLE listings DROP COLUMN version")
    db.execute("ALTER TABLE listings ADD COLUMN doc TEXT")  # schema 14 moved the documents out of the rows
    db.execute("UPDATE listings SET doc = (SELECT doc FROM listing_docs WHERE rowid = listings.rowid)")
    db.execute("DROP TABLE listing_docs")
    db.execute("UPDATE meta SET value = '5' WHERE key = 'schema'")
    db.commit()
    db.close()
    with EmbeddedStore(path) as store:
        assert store.search(Query(filters={"status": ["active"]}, limit=0)).total == 5
        assert store.db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()[0] == str(SCHEMA_VERSION)
        assert keys(store.search(Query(text="mdma"))) == ["a1", "b2"]
        assert store.db.execute("SELECT count(*) FROM listings WHERE data_digest IS NOT NULL").fetchone()[0] == 5
        assert "doc" not in {row[1] for row in store.db.execute("PRAGMA table_info(listings)")}
        assert store.db.execute("SELECT count(*) FROM listing_docs").fetchone()[0] == 5
        assert store.db.execute("SELECT 1 FROM sqlite_master WHERE name = 'listings_version'").fetchone()
        again = store.upsert_listings(enrich(*[make_listing(crawled_at=T0, **fields) for fields in CORPUS]))
        assert (again.new, again.updated, again.unchanged) == (0, 0, 5)


def test_an_index_of_an_earlier_release_takes_the_new_filter_field(elasticsearch_url, enrich):
    """An index created before `terms.status` existed (strict mapping) gets the field in place:
    documents are accepted and filterable at once."""
    import copy

    from conftest import es_store
    from index.elastic_mappings import LISTINGS_MAPPING

    store = es_store(elasticsearch_url)
    older = copy.deepcopy(LISTINGS_MAPPING)
    for group in ("terms", "labels"):
        del older["properties"][group]["properties"]["status"]
    store.es.indices.create(index=f"{store.prefix}-listings-v1", mappings=older)
    store.es.indices.put_alias(index=f"{store.prefix}-listings-v1", name=store.listings, is_write_index=True)
    try:
        assert store.upsert_listings(enrich(make_listing(listing_key="o1", crawled_at=T0))).new == 1
        assert keys(store.search(Query(filters={"status": ["active"]}))) == ["o1"]
    finally:
        store.es.indices.delete(index=",".join(store.es.indices.get(index=f"{store.prefix}-*")))
        store.close()


def test_deep_pages_beyond_the_result_window(elasticsearch_url, enricher):
    """Elasticsearch's from+size stops at 10,000 hits; the store pages past it."""
    from conftest import es_store

    store = es_store(elasticsearch_url)
    try:
        items = list(enricher.enrich_listings(make_listing(listing_key=f"k{i:02d}", crawled_at=T0) for i in range(20)))
        store.upsert_listings(items)
        everything = [h.document.listing_key for h in store.search(Query(sort="price", limit=20)).hits]
        # a small window set on the real index: from + size past it is refused by the node itself
        store.es.indices.put_settings(index=store.listings, settings={"index": {"max_result_window": 7}})
        with pytest.raises(Exception, match="max_result_window|Result window"):
            store.es.search(index=store.listings, from_=12, size=5)
        fresh = es_store(elasticsearch_url, prefix=store.prefix)
        deep = [h.document.listing_key for h in fresh.search(Query(sort="price", limit=5, offset=12)).hits]
        assert deep == everything[12:17]
        fresh.close()
    finally:
        store.es.indices.delete(index=",".join(store.es.indices.get(index=f"{store.prefix}-*")))
        store.close()


def _store_as_an_older_release_did(store, doc_id: str) -> None:
    """Rewrite one stored document the way a release that took `"price": "Infinity"` left it:
    the amount stored as null, which no reader accepts."""
    doc = store.get_listing(doc_id).model_dump(mode="json")
    doc["data"]["listing"]["price"]["amount"] = None
    if hasattr(store, "db"):
        store.db.execute("UPDATE listing_docs SET doc = ? WHERE rowid = (SELECT rowid FROM listings WHERE id = ?)",
                         (json.dumps(doc), doc_id))
    else:
        store.es.update(index=store.listings, id=doc_id, doc={"doc": doc}, refresh="wait_for")


def test_one_unreadable_stored_document_never_breaks_reads_and_migrate_sets_it_aside(loaded, enrich):
    bad = listing_id("alpha", "a1")
    _store_as_an_older_release_did(loaded, bad)
    found = loaded.search(Query(text="mdma", limit=50))
    assert keys(found) == ["b2"] and found.unreadable == 1
    assert loaded.get_listing(bad) is None and len(list(loaded.iter_listings())) == 4
    assert any(p.startswith(f"{bad}: data.listing.price.amount") for p in loaded.unreadable.named)
    assert loaded.search(Query(filters={"ships_from": ["NL"]})).unreadable == 1
    report = loaded.migrate()
    assert f"{bad}: data.listing.price.amount" in report, report
    after = loaded.search(Query(text="mdma", limit=50))
    assert keys(after) == ["b2"] and after.unreadable == 0 and loaded.count_listings() == 4
    seen_again = loaded.upsert_listings(enrich(make_listing(crawled_at=T0 + timedelta(days=1), **CORPUS[0])))
    assert seen_again.new == 1 and keys(loaded.search(Query(text="mdma", limit=50))) == ["a1", "b2"]


def test_one_batch_holding_a_listing_twice_keeps_both_sightings(store, enrich):
    """Batches are merged as a whole (one read of what is stored per batch): two sightings of
    one listing in the same batch make one document with both in its history."""
    t1 = T0 + timedelta(days=1)
    first = make_listing(crawled_at=T0, **CORPUS[0])
    cheaper = make_listing(crawled_at=t1, **{**CORPUS[0], "price": {"amount": 90, "currency": "USD"}})
    report = store.upsert_listings(enrich(first, cheaper))
    assert (report.new, report.updated, report.unchanged) == (1, 1, 0)
    doc = store.get_listing(listing_id("alpha", "a1"))
    assert [(p.amount, p.at) for p in doc.price_history] == [(100, T0), (90, t1)] and doc.seen_count == 2
    assert store.count_listings() == 1 and keys(store.search(Query(text="mdma"))) == ["a1"]


def test_seen_again_it_stays_found_and_a_new_enrichment_replaces_its_terms(loaded, enrich):
    """A re-crawl that changes nothing moves the dates only (its terms and text stay as they
    were); the same listing enriched differently (a new pipeline) is searched by the new terms."""
    again = enrich(make_listing(crawled_at=T0 + timedelta(days=1), **CORPUS[0]))
    assert loaded.upsert_listings(again).unchanged == 1
    assert keys(loaded.search(Query(text="mdma crystals", filters={"ships_from": ["NL"], "market": ["alpha"]}))) == ["a1"]
    assert loaded.get_listing(listing_id("alpha", "a1")).last_seen == T0 + timedelta(days=1)
    item = enrich(make_listing(crawled_at=T0 + timedelta(days=2), **CORPUS[0]))[0]
    relabelled = item.model_copy(update={"enrichment": item.enrichment.model_copy(update={
        "categories": ["counterfeits.watches"], "category": "counterfeits.watches"})})
    loaded.upsert_listings([relabelled])
    assert "a1" in keys(loaded.search(Query(filters={"category": ["counterfeits.watches"]})))
    assert "a1" not in keys(loaded.search(Query(filters={"category": ["drugs"]})))


def test_the_same_sighting_again_is_counted_unchanged_and_leaves_the_document(loaded, enrich):
    """A re-run of the same input (an import run twice, a file indexed again): every item is
    the very sighting its document holds (index.documents.sighting_digest)."""
    before = {doc.id: doc for doc in loaded.iter_listings()}
    report = loaded.upsert_listings(enrich(*[make_listing(crawled_at=T0, **fields) for fields in CORPUS]))
    assert (report.new, report.updated, report.unchanged) == (0, 0, 5)
    assert {doc.id: doc for doc in loaded.iter_listings()} == before


def test_digests_of_the_records_read_are_kept_and_a_later_item_with_the_same_one_is_unchanged(store, enrich):
    """A caller that read the items from JSON records gives their digests
    (index.documents.record_digest): each document keeps the digest of the item it holds, and
    an item given the same digest again is counted unchanged without being merged."""
    items = enrich(*[make_listing(crawled_at=T0, **fields) for fields in CORPUS[:3]])
    ids = [listing_id(i.listing.market, i.listing.listing_key) for i in items]
    assert store.upsert_listings(items, ["r0", None, "r2"]).new == 3
    kept = store.listing_digests([*ids, "0" * 32])
    assert kept[ids[0]] == "r0" and kept[ids[2]] == "r2" and kept[ids[1]] not in ("r0", "r2", None)
    assert "0" * 32 not in kept
    report = store.upsert_listings(items, ["r0", "another record", "r2"])
    assert (report.new, report.updated, report.unchanged) == (0, 0, 3)
    # the middle one was merged (its digest did not match) and left as it was
    assert store.listing_digests(ids) == kept
    later = enrich(make_listing(crawled_at=T0 + timedelta(days=1), **CORPUS[0]))
    assert store.upsert_listings(later, ["r0 seen later"]).unchanged == 1
    assert store.listing_digests(ids[:1]) == {ids[0]: "r0 seen later"}


@pytest.mark.parametrize("order", ["repeat first", "change first"])
def test_a_repeated_sighting_beside_a_change_of_the_same_listing_in_one_batch(loaded, enrich, order):
    """Only a sighting that matches the stored document *before* the batch changes it is
    skipped unread; the change always lands."""
    repeat = enrich(make_listing(crawled_at=T0, **CORPUS[0]))[0]
    change = enrich(make_listing(crawled_at=T0 + timedelta(days=1),
                                 **{**CORPUS[0], "price": {"amount": 90, "currency": "USD"}}))[0]
    report = loaded.upsert_listings([repeat, change] if order == "repeat first" else [change, repeat])
    assert (report.new, report.updated, report.unchanged) == (0, 1, 1)
    doc = loaded.get_listing(listing_id("alpha", "a1"))
    assert [(p.amount, p.at) for p in doc.price_history] == [(100, T0), (90, T0 + timedelta(days=1))]
    assert doc.last_seen == T0 + timedelta(days=1) and doc.data.listing.price.amount == 90


def test_bulk_writes_are_searchable_when_the_block_ends(store, enrich):
    """Inside bulk_writes() a store may defer making writes searchable (Elasticsearch skips the
    refresh per request: shown here with the index's own periodic refresh turned off); when the
    block ends, everything written is found."""
    elastic = hasattr(store, "es")
    items = enrich(*[make_listing(crawled_at=T0, **fields) for fields in CORPUS])
    with store.bulk_writes():
        assert store.upsert_listings(items[:2]).new == 2
        if elastic:
            store.es.indices.put_settings(index=store.listings, settings={"index": {"refresh_interval": "-1"}})
        assert store.upsert_listings(items[2:]).new == 3
        if elastic:
            assert store.search(Query(limit=0)).total < 5
    assert store.search(Query(limit=0)).total == 5
    assert keys(store.search(Query(text="mdma"))) == ["a1", "b2"]


def test_an_upsert_tells_which_documents_it_wrote_as_they_were_and_as_they_are(loaded, enrich):
    """What trackers look at (``changes=``): each document written once — new ones with nothing
    before, changed ones with the stored document — and nothing for a repeated sighting."""
    stored = loaded.get_listing(listing_id("alpha", "a1"))
    cheaper = make_listing(crawled_at=T0 + timedelta(days=1), **{**CORPUS[0], "price": {"amount": 90, "currency": "USD"}})
    cheapest = make_listing(crawled_at=T0 + timedelta(days=2), **{**CORPUS[0], "price": {"amount": 80, "currency": "USD"}})
    new = make_listing(crawled_at=T0, market="alpha", listing_key="z9", url="http://127.0.0.1/z9", title="new one")
    repeat = make_listing(crawled_at=T0, **CORPUS[1])
    changes: list = []
    report = loaded.upsert_listings(enrich(cheaper, new, repeat, cheapest), changes=changes)
    assert (report.new, report.updated, report.unchanged) == (1, 2, 1)
    by_id = {c.after.id: c for c in changes}
    assert len(changes) == len(by_id) == 2
    assert by_id[stored.id].before == stored
    assert by_id[stored.id].after == loaded.get_listing(stored.id)
    assert by_id[stored.id].after.data.listing.price.amount == 80
    assert by_id[listing_id("alpha", "z9")].before is None
    again: list = []
    assert loaded.upsert_listings(enrich(repeat), changes=again).unchanged == 1 and again == []


def test_a_vendor_upsert_tells_which_profiles_it_wrote(store, enricher):
    from contracts.listings import VendorProfile

    def profile(text: str, day: int):
        return VendorProfile(market="alpha", name="Keeper", url="http://127.0.0.1/v/keeper", profile=text,
                             crawled_at=T0 + timedelta(days=day))

    first: list = []
    assert store.upsert_vendors(enricher.enrich_vendors([profile("hello", 0)]), changes=first).new == 1
    assert [(c.before, c.after.name) for c in first] == [(None, "Keeper")]
    again: list = []
    store.upsert_vendors(enricher.enrich_vendors([profile("hello", 1), profile("hello, new text", 2)]), changes=again)
    [change] = again
    assert change.before == first[0].after and change.after == store.get_vendor(first[0].after.id)
    assert change.after.data.vendor.profile == "hello, new text"


def _photo(sha: str, phash: str, dhash: str):
    from contracts.images import ImageFacts, ListingImage

    return ListingImage(url=f"http://127.0.0.1/p/{sha[:4]}.jpg", facts=ImageFacts(
        sha256=sha, size=100, format="JPEG", width=64, height=64, phash=phash, dhash=dhash))


def test_listing_photos_are_kept_with_their_hashes_and_follow_the_document(loaded, enrich):
    from contracts.images import ImageRefused, ListingImage

    assert list(loaded.listing_photos()) == []
    shown = [_photo("a" * 64, "f" * 16, "0123456789abcdef"), _photo("b" * 64, "8000000000000001", "0" * 16),
             _photo("a" * 64, "f" * 16, "0123456789abcdef"),  # the same file twice: one row
             ListingImage(url="http://127.0.0.1/bomb.png", refused=ImageRefused(reason="too_many_pixels", detail="x")),
             ListingImage(url="http://127.0.0.1/gone.jpg", unavailable="http_404")]
    with_photos = make_listing(crawled_at=T0 + timedelta(days=1), **{**CORPUS[0], "images": shown})
    assert loaded.upsert_listings(enrich(with_photos)).updated == 1
    rows = sorted(loaded.listing_photos(), key=lambda r: r.sha256)
    assert [(r.listing_id, r.market, r.vendor, r.sha256, r.phash, r.dhash) for r in rows] == [
        (listing_id("alpha", "a1"), "alpha", CORPUS[0]["vendor"]["name"], "a" * 64, "f" * 16, "0123456789abcdef"),
        (listing_id("alpha", "a1"), "alpha", CORPUS[0]["vendor"]["name"], "b" * 64, "8000000000000001", "0" * 16)]
    assert [i.refused.reason for i in loaded.get_listing(listing_id("alpha", "a1")).data.listing.images
            if i.refused] == ["too_many_pixels"]
    # seen again showing one photo: the other goes; gone from the store: none left
    fewer = make_listing(crawled_at=T0 + timedelta(days=2), **{**CORPUS[0], "images": shown[1:2]})
    loaded.upsert_listings(enrich(fewer))
    assert [r.sha256 for r in loaded.listing_photos()] == ["b" * 64]
    assert loaded.delete_listing(listing_id("alpha", "a1"))
    assert list(loaded.listing_photos()) == []
