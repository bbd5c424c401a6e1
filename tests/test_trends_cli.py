"""`interdict trends`: the store's figures as CSV (safe for spreadsheets) and JSON, filters and
mistakes as a search takes them."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

from conftest import make_listing, run_cli


def test_trends_as_csv_and_json(tmp_path, enricher):
    from index.embedded import EmbeddedStore

    store_path = tmp_path / "store.db"
    with EmbeddedStore(store_path) as store:
        for month, price, market in ((1, 100, "=cmd|' /C calc'!A0"), (2, 80, "=cmd|' /C calc'!A0"), (2, 90, "beta")):
            store.upsert_listings(enricher.enrich_listings([make_listing(
                market=market, listing_key=f"k{month}{market[:2]}", url=f"http://127.0.0.1/{month}", title="Cocaine 2g",
                price={"amount": price, "currency": "USD"}, crawled_at=datetime(2026, month, 5, tzinfo=UTC))]))
    made = run_cli("trends", "--product", "cocaine", "--by", "market", "--interval", "month", "--format", "csv",
                   "--store", str(store_path))
    assert made.returncode == 0 and "2 series over 2 month(s)" in made.stderr, made.stderr
    rows = list(csv.DictReader(io.StringIO(made.stdout)))
    assert [(r["period"], r["series"], r["value"], r["count"], r["unit"]) for r in rows] == [
        ("2026-01", "'=cmd|' /C calc'!A0", "50", "1", "g"), ("2026-02", "'=cmd|' /C calc'!A0", "40", "1", "g"),
        ("2026-01", "beta", "", "0", "g"), ("2026-02", "beta", "45", "1", "g")]
    shown = run_cli("trends", "--measure", "listings", "--format", "json", "--store", str(store_path))
    result = json.loads(shown.stdout)
    assert result["periods"] == ["2026-01", "2026-02"] and result["series"][0]["counts"] == [1, 2]
    wrong = run_cli("trends", "-f", "colour=red", "--store", str(store_path))
    assert wrong.returncode == 2 and "unknown filter field 'colour'" in wrong.stderr
