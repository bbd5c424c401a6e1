"""Uploads and parameters the API must survive (issue 18, items 1, 3, 4): a row limit per
upload (413), problems capped to the first N named and a count, poisoned lines matched
around, a batch that stores a bounded summary, and numbers that are not finite refused by
name. A real uvicorn server on loopback with a real HTTP client; memory under a 1M-row upload
is measured by bench/uploads.py, not here."""

from __future__ import annotations

from functools import partial

import httpx
import pytest

from config import load_config
from servers import make_app, serving

pytestmark = pytest.mark.timeout(600)

ROW_LIMIT, PROBLEM_LIMIT = 50, 5


@pytest.fixture(scope="module")
def client(matching_db, tmp_path_factory):
    from index.embedded import EmbeddedStore
    from interdict.web.access import AccessStore

    state = tmp_path_factory.mktemp("uploads") / "api.db"
    access = AccessStore(state)
    key = access.create_key("uploader", "analyst")[1]
    access.close()
    config = load_config(env={"INTERDICT_API__MAX_UPLOAD_ROWS": str(ROW_LIMIT),
                              "INTERDICT_INPUT__MAX_PROBLEMS": str(PROBLEM_LIMIT)})
    with serving(make_app(partial(EmbeddedStore, matching_db), state, config=config)) as url:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=120) as c:
            yield c


def _csv(rows: int) -> str:
    header = open("docs/samples/shipments.csv", encoding="utf-8").readline()
    return header + "".join(f"BAD{n},2026-01-01\n" for n in range(rows))


def test_an_upload_over_the_row_limit_is_refused_with_413(client):
    for body, kind in ((_csv(ROW_LIMIT + 1), "text/csv"),
                       ('{"item_id": "x"}\n' * (ROW_LIMIT + 1), "application/x-ndjson"),
                       ("[" + ",".join(['{"item_id": "x"}'] * (ROW_LIMIT + 1)) + "]", "application/json")):
        refused = client.post("/api/match", content=body, headers={"Content-Type": kind})
        assert refused.status_code == 413 and "max_upload_rows" in refused.json()["detail"], (kind, refused.text)
    at_limit = client.post("/api/match", content=_csv(ROW_LIMIT), headers={"Content-Type": "text/csv"})
    assert at_limit.status_code == 200


def test_problems_are_capped_named_first_then_counted_and_batches_stay_small(client):
    answer = client.post("/api/match", content=_csv(ROW_LIMIT), headers={"Content-Type": "text/csv"}).json()
    assert len(answer["problems"]) == PROBLEM_LIMIT and answer["problems_total"] > ROW_LIMIT
    assert answer["problems"][0].startswith("line 2: ")
    made = client.post("/api/batches", params={"name": "junk"}, content=_csv(ROW_LIMIT),
                       headers={"Content-Type": "text/csv"})
    assert made.status_code == 200 and len(made.json()["problems"]) == PROBLEM_LIMIT
    listed = next(b for b in client.get("/api/batches").json() if b["id"] == made.json()["id"])
    assert listed["problems"] == [] and listed["problems_total"] == answer["problems_total"]
    one = client.get(f"/api/batches/{made.json()['id']}").json()
    assert len(one["problems"]) == PROBLEM_LIMIT and one["problems_total"] == answer["problems_total"]


def test_poisoned_lines_are_named_and_the_good_ones_matched(client):
    good = open("docs/samples/shipments.jsonl", encoding="utf-8").read().splitlines()
    deep = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    body = "\n".join([deep, '{"n": ' + "9" * 5000 + "}", *good]) + "\n"
    answer = client.post("/api/match", content=body, headers={"Content-Type": "application/x-ndjson"})
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["results"]) == len(good)
    assert [p.split(":")[0] for p in answer.json()["problems"]] == ["line 1", "line 2"]
    whole = client.post("/api/match", content=deep, headers={"Content-Type": "application/json"})
    assert whole.status_code == 422 and "nested too deeply" in whole.json()["detail"]
    infinite = client.post("/api/match", content='{"gross_weight_kg": 1e999}', headers={"Content-Type": "application/json"})
    assert infinite.status_code == 422 and "gross_weight_kg" in infinite.json()["detail"]


@pytest.mark.parametrize("value", ["inf", "nan", "-Infinity", "1e999"])
def test_search_refuses_a_price_bound_that_is_not_finite(client, value):
    refused = client.get("/api/search", params={"q": "cocaine", "price_min_usd": value})
    assert refused.status_code == 422 and "price_min_usd" in refused.text
