"""The demo markets crawled into a real Elasticsearch and into the embedded store: every
filter an analyst can set gives the same listings in both."""

import itertools

import pytest

from conftest import run_cli
from index import Query, open_store
from interdict.demo.run import demo_markets, free_port
from servers import RecordingServer

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def both_stores(elasticsearch_url, catalog, demo_crawl):
    """The demo markets crawled into Elasticsearch, beside the run's shared embedded crawl."""
    import uuid

    prefix = f"p{uuid.uuid4().hex[:8]}"
    env = {"INTERDICT_ELASTICSEARCH__INDEX_PREFIX": prefix}
    with demo_markets("127.0.0.1", {"sable": 0, "vesper": 0}, catalog.seed, 0) as urls:
        base = [f"--base-url={m}={u}" for m, u in urls.items()]
        to_es = run_cli("crawl", "sable", "vesper", "--store", elasticsearch_url, *base, env=env)
    assert to_es.returncode == 0, to_es.stderr[-3000:]
    from config import load_config

    config = load_config(env=env)
    from index.elastic import ElasticsearchStore

    es = ElasticsearchStore(config.elasticsearch, url=elasticsearch_url)
    sqlite = open_store(config, str(demo_crawl))
    yield es, sqlite, env
    es.close()
    sqlite.close()


def ids(store, query):
    result = store.search(query.model_copy(update={"limit": 1000, "offset": 0, "sort": "price"}))
    found = [h.document.id for h in result.hits]
    offset = 1000
    while offset < result.total:
        found += [h.document.id for h in store.search(query.model_copy(update={"limit": 1000, "offset": offset,
                                                                              "sort": "price"})).hits]
        offset += 1000
    return result.total, found


def test_crawl_into_elasticsearch_indexes_everything(both_stores):
    es, sqlite, _ = both_stores
    assert es.count_listings() == sqlite.count_listings() == 2100
    assert es.count_vendors() == sqlite.count_vendors() == 205


FACETS = ["market", "vendor", "category", "product", "ships_from", "ships_to", "currency", "hs_code"]


def filter_queries(overview) -> list[Query]:
    """Every filter an analyst can set on the demo index (its facets' values), words, phrases,
    exclusions, place regions and price ranges."""
    facets = FACETS
    queries = [Query(filters={f: [c.value]}) for f in facets for c in overview.facets[f]]
    queries += [Query(filters={"ships_from": ["NL", "DE"], "category": ["drugs"]}),
                Query(text="stealth vacuum", filters={"ships_to": ["WORLDWIDE"]}),
                Query(filters={"ships_to": ["DE"]}), Query(filters={"ships_to_exact": ["DE"]}),
                Query(filters={"ships_to": ["AU"]}), Query(filters={"ships_from": ["EU"]}),
                Query(text='"declared as gift"'), Query(text="mdma -pills"), Query(text="kokain"),
                Query(price_min_usd=100, price_max_usd=250), Query(text="cocaine", price_max_usd=100)]
    for a, b in itertools.combinations(facets[:4], 2):
        queries.append(Query(filters={a: [overview.facets[a][0].value], b: [overview.facets[b][1].value]}))
    return queries


def test_every_filter_gives_the_same_listings_in_both_stores(both_stores):
    es, sqlite, _ = both_stores
    overview = sqlite.search(Query(limit=0, facets=FACETS, facet_size=6))
    assert overview.facets == es.search(Query(limit=0, facets=FACETS, facet_size=6)).facets
    queries = filter_queries(overview)
    checked = 0
    for query in queries:
        total, in_sqlite = ids(sqlite, query)
        assert ids(es, query) == (total, in_sqlite), query
        checked += total > 0
    assert checked >= len(queries) - 3  # the queries do select listings


def test_a_query_tried_on_each_document_in_python_finds_what_the_stores_find(both_stores):
    """index.listing_match (what trackers run on each ingest's listings) against each store's
    own search over its own documents (the two crawls ran at different times): the same
    listings for every filter query above, date ranges, an identifier and exclusions."""
    from datetime import timedelta

    from index import ListingMatcher, ListingTerms

    es, sqlite, _ = both_stores
    overview = sqlite.search(Query(limit=0, facets=FACETS, facet_size=6))

    def between(moments: list, at: int):
        """A bound halfway between two listings' moments at least 2 ms apart, near ``at``:
        Elasticsearch keeps dates to the millisecond, the embedded store to the microsecond."""
        i = next(i for i in range(at, len(moments) - 1) if moments[i + 1] - moments[i] > timedelta(milliseconds=2))
        return moments[i] + (moments[i + 1] - moments[i]) / 2

    for store in (sqlite, es):
        documents = [ListingTerms.of(doc) for doc in store.iter_listings()]
        first = sorted(t.document.first_seen for t in documents)
        last = sorted(t.document.last_seen for t in documents)
        some = next(t.document for t in documents if t.document.data.enrichment.identifier_values())
        queries = filter_queries(overview) + [
            Query(date_field="first_seen", date_to=between(first, len(first) // 2)),
            Query(date_field="first_seen", date_from=between(first, len(first) // 3),
                  date_to=between(first, len(first) // 2)),
            Query(date_from=between(last, len(last) // 4)),
            Query(text="mdma", date_to=between(last, len(last) * 2 // 3), price_min_usd=10),
            Query(text=some.data.enrichment.identifier_values()[0]), Query(text="-mdma -cocaine"),
            Query(text='"free shipping" -"declared as gift"')]
        selective = 0
        for query in queries:
            matcher = ListingMatcher(query, *store.plan(query))
            found = sorted(t.document.id for t in documents if matcher.matches(t))
            assert found == sorted(ids(store, query)[1]), (type(store).__name__, query)
            selective += 0 < len(found) < len(documents)
        assert selective >= len(queries) - 6  # most queries keep some listings and not others


def test_search_command_on_elasticsearch(both_stores, elasticsearch_url):
    _, _, env = both_stores
    proc = run_cli("search", "mdma", "--store", elasticsearch_url, "--filter", "ships_from=NL", env=env)
    assert proc.returncode == 0 and proc.stdout.startswith("6 listing(s) match"), proc.stderr


def test_unreachable_cluster_is_one_clear_line():
    url = f"http://elastic:s3cret@127.0.0.1:{free_port()}"
    proc = run_cli("search", "x", "--store", url)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("interdict: error: cannot reach Elasticsearch at http://127.0.0.1:")
    assert "s3cret" not in proc.stderr and "elastic:" not in proc.stderr


def test_rejected_credentials_are_one_clear_line():
    # A real HTTP server answering as a secured cluster does; the test cluster runs without security.
    class Secured(RecordingServer):
        def respond(self, path, headers):
            return 401, [("WWW-Authenticate", 'Basic realm="security"'), ("X-elastic-product", "Elasticsearch"),
                         ("Content-Type", "application/json")], b'{"error":"unauthorized","status":401}'

    server = Secured()
    proc = run_cli("search", "x", "--store", "elasticsearch", env={
        "INTERDICT_ELASTICSEARCH__URLS": f'["{server.url}"]', "INTERDICT_ELASTICSEARCH__PASSWORD": "hunter2",
        "INTERDICT_ELASTICSEARCH__USERNAME": "analyst"})
    server.close()
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip() == f"interdict: error: Elasticsearch at {server.url} rejected the credentials (401)"
    assert "hunter2" not in proc.stderr
