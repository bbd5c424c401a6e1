"""The embedded store searches on postings and columns held in memory
(index/embedded_postings.py): its pages, totals and facets must be what SQL over the same file
gives, and writes by other connections and other processes must be seen by the next search."""

import random
from datetime import UTC, datetime, timedelta

import pytest

from conftest import make_listing, run_cli
from index import Query
from index.embedded import EmbeddedStore

T0 = datetime(2026, 3, 1, tzinfo=UTC)
WORDS = ["mdma", "cocaine", "xanax", "pills", "crystal", "pure", "lsd", "tabs", "ketamine", "speed"]
# bm25 as the store ranks; ties broken by id
RELEVANCE = ("SELECT l.id FROM listings l JOIN listings_fts ON listings_fts.rowid = l.rowid AND listings_fts MATCH ?"
             " WHERE l.rowid IN (SELECT doc FROM terms WHERE field = 'market' AND key = ?)"
             " ORDER BY bm25(listings_fts, 4.0, 1.0, 2.0), l.id")
SORTS = {"price": "l.price_usd IS NULL, l.price_usd, l.id", "-price": "l.price_usd IS NULL, l.price_usd DESC, l.id",
         "-last_seen": "l.last_seen DESC, l.id", "first_seen": "l.first_seen, l.id"}


@pytest.fixture(scope="module")
def corpus(enricher):
    """400 listings: three markets of very different sizes, titles drawn from few words (many
    identical: bm25 ties), a fifth without a price, minutes apart (some at the same moment)."""
    rng = random.Random(22)
    listings = []
    for i in range(400):
        market = "big" if i % 10 < 8 else ("mid" if i % 10 < 9 else "rare")
        title = " ".join(rng.sample(WORDS, rng.randint(1, 3)))
        price = None if i % 5 == 0 else {"amount": rng.choice([5, 10, 10, 20, 45.5, 99]), "currency": "USD"}
        listings.append(make_listing(market=market, listing_key=f"k{i}", url=f"http://127.0.0.1/l/{i}", title=title,
                                     price=price, vendor={"name": f"v{i % 7}"},
                                     crawled_at=T0 + timedelta(minutes=i // 2)))
    return list(enricher.enrich_listings(listings))


@pytest.fixture
def store(tmp_path, corpus):
    with EmbeddedStore(tmp_path / "store.db") as store:
        store.upsert_listings(corpus)
        yield store


def every_id(store, query: Query, page: int = 7) -> list[str]:
    """All ids of a query, read a page at a time (offsets not multiples of anything)."""
    out: list[str] = []
    while True:
        hits = store.search(query.model_copy(update={"offset": len(out), "limit": page})).hits
        out += [h.document.id for h in hits]
        if len(hits) < page:
            return out


@pytest.mark.parametrize("market", ["big", "mid", "rare"])
@pytest.mark.parametrize("word", ["mdma", "pills"])
def test_relevance_pages_with_a_filter_are_sqlites_own_ranking(store, market, word):
    """The rare market keeps a few of the word's matches: the best ranked are read until the
    page and every tie at its end are in."""
    expected = [i for (i,) in store.db.execute(RELEVANCE, (f'"{word}"', market))]
    assert expected, "the corpus holds the word on every market"
    query = Query(text=word, filters={"market": [market]})
    assert every_id(store, query) == expected
    assert store.search(query).total == len(expected)


@pytest.mark.parametrize("sort", sorted(SORTS))
def test_sorted_pages_are_sqls_order_absent_prices_last(store, sort):
    expected = [i for (i,) in store.db.execute(f"SELECT l.id FROM listings l ORDER BY {SORTS[sort]}")]
    assert every_id(store, Query(sort=sort), page=23) == expected
    deep = store.search(Query(sort=sort, offset=390, limit=20)).hits
    assert [h.document.id for h in deep] == expected[390:]


def test_ranges_and_facets_are_sqls_counts(store):
    query = Query(price_min_usd=10, price_max_usd=45.5, date_from=T0 + timedelta(minutes=20), facets=["market", "vendor"])
    result = store.search(query)
    within = ("SELECT rowid FROM listings WHERE price_usd BETWEEN 10 AND 45.5 AND last_seen >= ?")
    since = (T0 + timedelta(minutes=20)).isoformat(timespec="microseconds")
    assert result.total == store.db.execute(f"SELECT count(*) FROM ({within})", (since,)).fetchone()[0] > 0
    for facet in ("market", "vendor"):
        counted = store.db.execute(f"SELECT key, count(*) AS n FROM terms WHERE field = ? AND doc IN ({within})"
                                   " GROUP BY key ORDER BY n DESC, key", (facet, since)).fetchall()
        assert [(f.value, f.count) for f in result.facets[facet]] == counted


def test_moments_late_in_a_second_are_filtered_and_sorted_to_the_microsecond(enricher, tmp_path):
    """SQLite's strftime('%s') rounds a fraction of .9995 or more up to the next second: the
    columns must not (about one listing in two thousand was a second late in date filters)."""
    fractions = [999_999, 999_500, 999_499, 0, 500_000, 999_900]
    moments = [T0 + timedelta(seconds=i, microseconds=f) for i, f in enumerate(fractions)]
    with EmbeddedStore(tmp_path / "store.db") as store:
        store.upsert_listings(enricher.enrich_listings([
            make_listing(market="m", listing_key=f"k{i}", url=f"http://127.0.0.1/l/{i}", title="pills", crawled_at=moment)
            for i, moment in enumerate(moments)]))
        for at in moments:
            until = store.search(Query(date_field="first_seen", date_to=at, limit=10))
            since = store.search(Query(date_field="first_seen", date_from=at + timedelta(microseconds=1), limit=10))
            assert sorted(h.document.first_seen for h in until.hits) == [m for m in moments if m <= at]
            assert sorted(h.document.first_seen for h in since.hits) == [m for m in moments if m > at]
        assert [h.document.first_seen for h in store.search(Query(sort="first_seen")).hits] == moments


def test_another_connections_writes_and_deletions_are_seen_by_the_next_search(store, enricher, tmp_path):
    query = Query(text="mdma", facets=["market"], sort="price")
    before = store.search(query)
    with EmbeddedStore(tmp_path / "store.db") as other:
        moved = next(h.document for h in before.hits)
        other.upsert_listings(enricher.enrich_listings([
            make_listing(market="rare", listing_key="new1", url="http://127.0.0.1/new1", title="mdma mdma",
                         price={"amount": 1, "currency": "USD"}, crawled_at=T0 + timedelta(days=9)),
            # the cheapest mdma listing becomes a ketamine one
            make_listing(market=moved.market, listing_key=moved.listing_key, url=moved.data.listing.url,
                         title="ketamine", price={"amount": 3, "currency": "USD"}, crawled_at=T0 + timedelta(days=9))]))
        after = store.search(query)
        assert after.total == before.total  # one in, one out
        assert after.hits[0].document.listing_key == "new1"
        assert moved.id not in {h.document.id for h in after.hits}
        counts = {f.value: f.count for f in after.facets["market"]}
        assert counts["rare"] == {f.value: f.count for f in before.facets["market"]}.get("rare", 0) + 1
        assert other.delete_listing(after.hits[0].document.id)
    again = store.search(query)
    assert again.total == before.total - 1 and "new1" not in {h.document.listing_key for h in again.hits}
    assert store.search(Query(text="ketamine", filters={"market": [moved.market]}, limit=400)).total == \
        store.db.execute(RELEVANCE.replace("l.id FROM", "count(*) FROM").split(" ORDER BY")[0],
                         ('"ketamine"', moved.market)).fetchone()[0]


def test_listings_another_process_indexes_are_found(store, enricher, tmp_path):
    warm = store.search(Query(filters={"market": ["elsewhere"]}, facets=["market"]))
    assert warm.total == 0
    lines = tmp_path / "more.jsonl"
    fresh = enricher.enrich_listings([make_listing(market="elsewhere", listing_key=f"e{i}", url=f"http://127.0.0.1/e{i}",
                                                   title="crystal", crawled_at=T0) for i in range(30)])
    lines.write_text("".join(item.model_dump_json() + "\n" for item in fresh))
    done = run_cli("index", str(lines), "--store", str(tmp_path / "store.db"))
    assert done.returncode == 0, done.stderr[-2000:]
    found = store.search(Query(filters={"market": ["elsewhere"]}, facets=["market"]))
    assert found.total == 30 and [(f.value, f.count) for f in found.facets["market"]] == [("elsewhere", 30)]


def test_a_page_among_equal_scores_holds_the_smallest_ids(tmp_path, enricher):
    """Sixty listings score alike: the full-text index hands them over in its own order, and a
    page must still hold the smallest ids, as SQL's ORDER BY bm25, id would."""
    same = [make_listing(market="m", listing_key=f"s{i}", url=f"http://127.0.0.1/s{i}", title="lsd blotter")
            for i in range(60)]
    other = [make_listing(market="o", listing_key=f"o{i}", url=f"http://127.0.0.1/o{i}", title="lsd blotter")
             for i in range(20)]
    with EmbeddedStore(tmp_path / "ties.db") as store:
        store.upsert_listings(enricher.enrich_listings(other + same))
        ids = sorted(i for (i,) in store.db.execute("SELECT id FROM listings WHERE market = 'm'"))
        for offset in (0, 5, 30, 57):
            page = store.search(Query(text="lsd", filters={"market": ["m"]}, offset=offset, limit=5)).hits
            assert [h.document.id for h in page] == ids[offset:offset + 5], offset


def test_a_file_made_again_at_the_same_path_is_not_taken_for_the_old_one(store, enricher, tmp_path):
    assert store.search(Query(facets=["market"])).total == 400  # warm: the postings know 400 listings
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"store.db{suffix}").unlink(missing_ok=True)
    with EmbeddedStore(tmp_path / "store.db") as again:
        again.upsert_listings(enricher.enrich_listings([
            make_listing(market="new", listing_key=f"n{i}", url=f"http://127.0.0.1/n{i}", title="speed")
            for i in range(3)]))
        result = again.search(Query(facets=["market"]))
        assert result.total == 3 and [(f.value, f.count) for f in result.facets["market"]] == [("new", 3)]
    assert store.search(Query()).total == 400  # the first store still reads the file it opened
