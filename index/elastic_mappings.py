"""The Elasticsearch mappings of the listings, vendors and jobs indexes. Listings and vendors
live behind aliases (a new release's fields are added in place, `store migrate` re-indexes);
the jobs index is a plain one whose mapping never changes."""

from __future__ import annotations

from index.query import FILTER_FIELDS

TEXT_FIELDS = {"title_t": 4.0, "description_t": 1.0, "extra_t": 2.0}  # weights as in the embedded store
LISTINGS_MAPPING = {
    "dynamic": "strict",
    # Set only when an index is made (fields added in place leave it out): its documents all
    # hold id_high and id_low, so searches may break ties on them (elastic_search.sort_by).
    "_meta": {"id_halves": True},
    "properties": {
        "id": {"type": "keyword"},
        "market": {"type": "keyword"},
        "listing_key": {"type": "keyword"},
        # The id's two halves as numbers, in the id's order (elastic_search.id_halves): how
        # searches break ties.
        "id_high": {"type": "long", "index": False},
        "id_low": {"type": "long", "index": False},
        "first_seen": {"type": "date"},
        "last_seen": {"type": "date"},
        "price_usd": {"type": "double"},
        "lifetime_days": {"type": "double"},  # last seen less first seen (Store.lifetimes)
        **{name: {"type": "text", "analyzer": "whitespace"} for name in TEXT_FIELDS},
        "terms": {"properties": {f: {"type": "keyword"} for f in FILTER_FIELDS}},
        "labels": {"properties": {f: {"type": "keyword"} for f in FILTER_FIELDS}},
        "doc": {"type": "object", "enabled": False},  # the whole document, kept, not indexed
        "block": {"type": "keyword"},  # blocking keys (index.profiles)
        # the listing's photos (index.documents.photo_rows): read all at once by the near-duplicate search
        "photos": {"properties": {"sha256": {"type": "keyword"},
                                  **{f: {"type": "keyword", "index": False} for f in ("phash", "dhash", "vendor")}}},
        "profile": {"type": "object", "enabled": False},  # the match profile, kept, not indexed
        "data_digest": {"type": "keyword", "index": False, "doc_values": False},  # index.documents.sighting_digest
        # first seen .. last seen, and each price per unit with when it held (index.trends)
        "life": {"type": "date_range"},
        "unit_periods": {"type": "nested", "properties": {
            "during": {"type": "date_range"}, "start": {"type": "date"}, "last": {"type": "date"},
            "usd": {"type": "double"}, "unit": {"type": "keyword"}}},
    },
}
JOBS_MAPPING = {"properties": {"market": {"type": "keyword"}, "started": {"type": "date"},
                               "job_id": {"type": "keyword"}, "doc": {"type": "object", "enabled": False}}}
VENDORS_MAPPING = {
    "dynamic": "strict",
    "properties": {
        "id": {"type": "keyword"},
        "market": {"type": "keyword"},
        "name": {"type": "keyword"},
        "first_seen": {"type": "date"},
        "last_seen": {"type": "date"},
        "identifiers": {"type": "keyword"},
        "doc": {"type": "object", "enabled": False},
    },
}


def missing_properties(wanted: dict, current: dict) -> dict:
    """The part of a mapping an index lacks, object fields included (terms.status)."""
    missing = {}
    for name, spec in wanted.items():
        if name not in current:
            missing[name] = spec
        elif "properties" in spec:
            inner = missing_properties(spec["properties"], current[name].get("properties", {}))
            if inner:
                missing[name] = {"properties": inner}
    return missing
