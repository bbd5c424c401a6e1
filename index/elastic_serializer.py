"""The JSON serializers of Interdict's Elasticsearch client: orjson, several times faster than
the standard library on the bulk bodies a large `interdict index` sends (the library's default
serializer took a sixth of that command's time), with the standard library kept for what orjson
refuses (an integer beyond 64 bits, a key that is not a string, an escaped lone surrogate), so
that whatever the default serializers sent and read still goes through."""

from __future__ import annotations

from typing import Any

import orjson
from elasticsearch.serializer import JsonSerializer, NdjsonSerializer


def _dumps(serializer: JsonSerializer, data: Any) -> bytes:
    try:
        return orjson.dumps(data, default=serializer.default)
    except orjson.JSONEncodeError:
        return JsonSerializer.json_dumps(serializer, data)


def _loads(serializer: JsonSerializer, data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:  # e.g. an escaped lone surrogate, which `json` reads
        return JsonSerializer.json_loads(serializer, data)


class FastJsonSerializer(JsonSerializer):
    json_dumps = _dumps
    json_loads = _loads


class FastNdjsonSerializer(NdjsonSerializer):  # _msearch bodies
    json_dumps = _dumps
    json_loads = _loads


SERIALIZERS = {FastJsonSerializer.mimetype: FastJsonSerializer(), FastNdjsonSerializer.mimetype: FastNdjsonSerializer()}
