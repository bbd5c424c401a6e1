"""`interdict index` of a file it has indexed before (a replayed export, a daily re-index):
records the store holds as they are are counted unchanged without being validated, and
the store ends exactly as the full path leaves it — changed, respelled, broken and plain
records among them included."""

import json
from datetime import timedelta

from conftest import make_listing, run_cli
from index import listing_id
from index.documents import record_digest
from index.embedded import EmbeddedStore
from store_contract.corpus import CORPUS, T0


def documents(path):
    store = EmbeddedStore(path)
    try:
        return {doc.id: doc for doc in store.iter_listings()}
    finally:
        store.close()


def test_a_file_indexed_again_is_unchanged_and_changes_beside_it_land(tmp_path, enricher):
    items = list(enricher.enrich_listings([make_listing(crawled_at=T0, **fields) for fields in CORPUS]))
    lines = [item.model_dump_json() for item in items]
    first = tmp_path / "first.jsonl"
    first.write_text("\n".join(lines) + "\n")
    store = str(tmp_path / "s.db")
    assert "5 new" in run_cli("index", str(first), "--store", store).stderr
    before = documents(store)
    # what makes the next run skip validation: each document keeps its record's digest
    sightings = [record_digest(json.loads(line)) for line in lines]
    kept = EmbeddedStore(store)
    try:
        assert kept.listing_digests(before) == dict(sightings)
    finally:
        kept.close()

    again = run_cli("index", str(first), "--store", store)
    assert again.returncode == 0 and "listings: 0 new, 0 updated, 5 unchanged" in again.stderr
    assert documents(store) == before

    # the next day's file: one price changed, one record spelled differently (same data: it
    # takes the full path and is still unchanged), a broken line, an invalid record, a plain
    # listing (enriched on the way) between enriched ones, and a record repeated
    changed = json.loads(lines[0])
    changed["listing"].update(price={"amount": 90.0, "currency": "USD"},
                              crawled_at=(T0 + timedelta(days=1)).isoformat())
    respelled = json.loads(lines[1])
    respelled["listing"]["crawled_at"] = T0.isoformat()  # +00:00 where Interdict writes Z
    assert respelled["listing"]["crawled_at"] != json.loads(lines[1])["listing"]["crawled_at"]
    invalid = json.loads(lines[3])
    invalid["listing"]["price"] = {"amount": "lots", "currency": "USD"}
    plain = make_listing(crawled_at=T0 + timedelta(days=2), **CORPUS[4])
    second = tmp_path / "second.jsonl"
    second.write_text("\n".join([json.dumps(changed), json.dumps(respelled), lines[2], '{"listing": ',
                                 json.dumps(invalid), lines[4], plain.model_dump_json(), lines[2]]) + "\n")
    proc = run_cli("index", str(second), "--store", store)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert f"{second}:4: skipped: not valid JSON" in proc.stderr
    assert f"{second}:5: skipped:" in proc.stderr and "listing.price.amount" in proc.stderr
    # the changed price updates; the plain listing, seen later as it was, only moves its dates
    assert "listings: 0 new, 1 updated, 5 unchanged" in proc.stderr and "2 line(s) skipped" in proc.stderr
    after = documents(store)
    a1 = after[listing_id("alpha", "a1")]
    assert [(p.amount, p.at) for p in a1.price_history] == [(100, T0), (90, T0 + timedelta(days=1))]
    e5 = listing_id(plain.market, plain.listing_key)
    assert after[e5].last_seen == T0 + timedelta(days=2) and after[e5].first_seen == T0
    assert {k: v for k, v in after.items() if k not in (a1.id, e5)} == {
        k: v for k, v in before.items() if k not in (a1.id, e5)}

    # the same file once more: the changed record is held now; the respelled one (its document
    # keeps the first file's digest) and the plain one go the full way, the plain one enriched
    # anew, and the older sighting before it is merged again (seen_count counts a replayed older
    # sighting again: index.documents.merge_listing cannot tell it was seen)
    last = run_cli("index", str(second), "--store", store)
    assert "listings: 0 new, 0 updated, 6 unchanged" in last.stderr
    final = documents(store)
    assert {k: v for k, v in final.items() if k != e5} == {k: v for k, v in after.items() if k != e5}
    assert (final[e5].first_seen, final[e5].last_seen, final[e5].price_history) == (
        after[e5].first_seen, after[e5].last_seen, after[e5].price_history)


def test_a_file_of_several_batches_replays_in_order_on_each_store(tmp_path, enricher, each_store):
    """More than two runs of BULK_BATCH: each run is looked up while the next is read (on a
    thread of its own for Elasticsearch), and each run's answer lands on that run's records — a
    listing changed in one run and repeated in the next, and a plain vendor record (which makes
    the reader wait for the store) between them."""
    from index.store import BULK_BATCH

    base = [json.loads(item.model_dump_json())
            for item in enricher.enrich_listings([make_listing(crawled_at=T0, **fields) for fields in CORPUS])]
    records = []
    for n in range(2 * BULK_BATCH + 150):
        record = json.loads(json.dumps(base[n % len(base)]))
        record["listing"]["listing_key"] = f"k{n:05d}"
        records.append(record)
    first = tmp_path / "first.jsonl"
    first.write_text("".join(json.dumps(r) + "\n" for r in records))
    env = {"INTERDICT_ELASTICSEARCH__INDEX_PREFIX": each_store.prefix} if hasattr(each_store, "prefix") else {}
    target = str(each_store.path) if not env else each_store.urls[0]
    n = len(records)
    assert f"listings: {n} new, 0 updated, 0 unchanged" in run_cli("index", str(first), "--store", target, env=env).stderr
    again = run_cli("index", str(first), "--store", target, env=env)
    assert again.returncode == 0 and f"listings: 0 new, 0 updated, {n} unchanged" in again.stderr

    # k00007 (run 1) is seen again a day later, cheaper, in run 2, and that sighting repeated in run 3
    later = json.loads(json.dumps(records[7]))
    later["listing"].update(price={"amount": 1.0, "currency": "USD"}, crawled_at=(T0 + timedelta(days=1)).isoformat())
    vendor = {"market": records[0]["listing"]["market"], "name": "newcomer", "profile": "Ships from NL.",
              "crawled_at": T0.isoformat(), "url": "http://market.test/v/newcomer"}
    second = [*records[:BULK_BATCH + 10], later, vendor, *records[BULK_BATCH + 10:2 * BULK_BATCH + 50], later,
              *records[2 * BULK_BATCH + 50:]]
    path = tmp_path / "second.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in second))
    proc = run_cli("index", str(path), "--store", target, env=env)
    assert proc.returncode == 0, proc.stderr
    assert f"listings: 0 new, 1 updated, {n + 1} unchanged; vendors: 1 new" in proc.stderr
    doc = each_store.get_listing(listing_id(records[7]["listing"]["market"], "k00007"))
    assert [p.amount for p in doc.price_history] == [records[7]["listing"]["price"]["amount"], 1.0]
    assert doc.last_seen == T0 + timedelta(days=1)
    replay = run_cli("index", str(path), "--store", target, env=env)
    assert f"listings: 0 new, 0 updated, {n + 2} unchanged; vendors: 0 new, 0 updated" in replay.stderr
