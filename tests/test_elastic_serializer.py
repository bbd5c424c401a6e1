"""The Elasticsearch client's serializers (index.elastic_serializer): orjson where it can,
the library's standard-library serializer for what orjson refuses, with the same JSON."""

import json
from datetime import UTC, date, datetime

from elasticsearch.serializer import JsonSerializer, NdjsonSerializer

from index.elastic_serializer import SERIALIZERS

FAST = SERIALIZERS["application/json"]
STANDARD = JsonSerializer()


def test_what_orjson_refuses_to_write_is_written_as_the_standard_serializer_writes_it():
    for value in ({"big": 2**70}, {1: "a key that is not a string"}, {"day": date(2024, 1, 2), "n": 2**65}):
        assert json.loads(FAST.dumps(value)) == json.loads(STANDARD.dumps(value))
    assert FAST.dumps({"big": 2**70}) == STANDARD.dumps({"big": 2**70})


def test_documents_read_back_the_same_through_either_serializer():
    doc = {"title": "Kokain 1g — Ørsted «pure»", "price": 12.5, "when": datetime(2024, 5, 1, 12, tzinfo=UTC),
           "day": date(2024, 5, 1), "tags": ["a", "b"], "none": None}
    assert FAST.loads(FAST.dumps(doc)) == STANDARD.loads(STANDARD.dumps(doc))
    # an escaped lone surrogate, which orjson will not read, is read as `json` reads it
    assert FAST.loads(b'{"t": "\\ud800x"}') == {"t": "\ud800x"}


def test_msearch_bodies_are_newline_delimited_as_before():
    body = [{"index": "x"}, {"query": {"match_all": {}}, "size": 2**70}]
    assert SERIALIZERS["application/x-ndjson"].dumps(body) == NdjsonSerializer().dumps(body)
