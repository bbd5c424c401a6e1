"""Watchlist terms as MISP events, and a MISP feed a MISP instance can pull.

Identifiers become the attributes or objects MISP knows them by (an e-mail address, a coin
address object, a PGP key object, a Telegram account...), vendors threat-actor attributes,
products, slang, routes and phrases text attributes; each attribute carries when it was first
and last seen, where (its comment) and its `dark-web` taxonomy topic; each event its TLP tag.
The mapping is data (matching/data/misp.json). Ids are stable, so a MISP instance that pulls
again updates what it holds instead of duplicating it.

A feed is a folder (or the API's /api/watchlist/misp-feed/ routes): `manifest.json` naming
each event with its timestamp, one `<uuid>.json` per event, and `hashes.csv` — MISP's own
feed layout. It holds one event per kind of term, so a change re-sends only its kind's event.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from contracts.watchlist import EXIF_KINDS, WatchlistTerm
from matching.stix import KIND_LABELS, stable_uuid

ORG = {"name": "Interdict", "uuid": "5b7e8c61-4f2a-4d8e-9a3c-1e6f0b2d7a94"}
KIND_TITLES = {"product": "products", "slang": "product slang", "vendor": "vendors",
               "identifier": "vendor identifiers", "route": "shipping routes",
               "concealment": "concealment methods", "declaration": "false declarations"}


@lru_cache(maxsize=1)
def mapping() -> dict:
    return json.loads((Path(__file__).parent / "data" / "misp.json").read_text())


def tlp_tag(level: str) -> str:
    return f"tlp:{'clear' if level in ('clear', 'white') else level}"


def topics(categories: list[str]) -> list[str]:
    """The dark-web taxonomy topics of Interdict categories (the longest known prefix of each)."""
    known = mapping()["topics"]
    found = set()
    for category in categories:
        parts = category.split(".")
        for end in range(len(parts), 0, -1):
            topic = known.get(".".join(parts[:end]))
            if topic:
                found.add(f'dark-web:topic="{topic}"')
                break
    return sorted(found)


def event(terms: list[WatchlistTerm], info: str, key: str, level: str, as_of: datetime | None = None) -> dict:
    """One MISP event (the JSON MISP imports and PyMISP loads) holding ``terms``; ``key``
    makes its uuid; ``as_of`` is the time of terms that have none (curated ones)."""
    as_of = as_of or _as_of(terms)
    attributes, objects = [], []
    for term in terms:
        if term.kind == "identifier" and term.subkind in EXIF_KINDS:  # MISP has no type for them either
            continue
        obj = mapping()["objects"].get(term.subkind or "") if term.kind == "identifier" else None
        if obj is not None:
            objects.append(_object(term, obj, as_of))
        else:
            attributes.append(_attribute(term, _attribute_kind(term), as_of))
    stamps = [int(_stamp(t, as_of).timestamp()) for t in terms] or [int(as_of.timestamp())]
    dates = [t.first_seen for t in terms if t.first_seen]
    body = {"uuid": str(stable_uuid("misp-event:" + key)), "info": info,
            "date": (min(dates) if dates else as_of).date().isoformat(), "timestamp": str(max(stamps)),
            "publish_timestamp": str(max(stamps)), "published": True, "analysis": "2", "threat_level_id": "2",
            "distribution": "0", "Orgc": ORG, "Org": ORG,
            "Tag": [{"name": tlp_tag(level)}] + [{"name": name} for name in mapping()["event_tags"]],
            "Attribute": attributes, "Object": objects}
    return {"Event": body}


def watchlist_event(terms: list[WatchlistTerm], level: str) -> dict:
    """`interdict watchlist export --format misp`: every term in one event."""
    return event(terms, "Interdict watchlist: dark-web market terms for customs", "watchlist", level)


def feed(terms: list[WatchlistTerm], level: str) -> dict[str, dict]:
    """A MISP feed: {file name: content} — manifest.json, hashes.csv (as text) and one event
    per kind of term."""
    as_of = _as_of(terms)
    files: dict[str, dict] = {}
    manifest, hashes = {}, []
    for kind, title in KIND_TITLES.items():
        of_kind = [t for t in terms if t.kind == kind]
        if not of_kind:
            continue
        doc = event(of_kind, f"Interdict watchlist: {title}", kind, level, as_of)
        body = doc["Event"]
        files[f"{body['uuid']}.json"] = doc
        manifest[body["uuid"]] = {key: body[key] for key in ("info", "Orgc", "analysis", "threat_level_id", "date",
                                                            "timestamp", "Tag")}
        for attribute in body["Attribute"] + [a for o in body["Object"] for a in o["Attribute"]]:
            hashes.append(f"{hashlib.md5(attribute['value'].encode(), usedforsecurity=False).hexdigest()},{body['uuid']}")
    files["manifest.json"] = manifest
    files["hashes.csv"] = {"text": "\n".join(hashes) + ("\n" if hashes else "")}
    return files


def write_feed(files: dict[str, dict], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files.items():
        path = folder / name
        path.write_text(content["text"] if name.endswith(".csv") else json.dumps(content, ensure_ascii=False, indent=1))
        written.append(path)
    return written


# -- pieces ----------------------------------------------------------------------------------
def _as_of(terms: list[WatchlistTerm]) -> datetime:
    # stable while the index is: a feed unchanged is not fetched again
    return max((t.last_seen for t in terms if t.last_seen), default=datetime(2026, 1, 1, tzinfo=UTC))


def _stamp(term: WatchlistTerm, as_of: datetime) -> datetime:
    return term.last_seen or as_of


def _attribute_kind(term: WatchlistTerm) -> dict:
    known = mapping()["attributes"]
    return known.get(term.subkind or "", known["identifier"]) if term.kind == "identifier" else known[term.kind]


def _comment(term: WatchlistTerm) -> str:
    seen = (f"{term.listing_count} listing(s) on {', '.join(term.markets)}" if term.markets
            else "not seen in the index yet")
    parts = [f"{KIND_LABELS[term.kind]}" + (f" ({term.subkind})" if term.subkind else ""), seen]
    if term.countries:
        parts.append("countries: " + ", ".join(term.countries))
    if term.hs_codes:
        parts.append("HS " + ", ".join(term.hs_codes))
    if term.kind == "vendor" and len(term.vendors) > 1:
        parts.append("aliases: " + ", ".join(v for v in term.vendors if v != term.term))
    if term.qualifiers:
        parts.append("only with " + ", ".join(term.qualifiers))
    parts.append(f"weight {term.weight:.2f}")
    if term.note:
        parts.append("note: " + term.note)
    return "; ".join(parts)


def _seen(term: WatchlistTerm) -> dict:
    if term.first_seen is None:
        return {}
    return {"first_seen": term.first_seen.isoformat(), "last_seen": (term.last_seen or term.first_seen).isoformat()}


def _attribute(term: WatchlistTerm, kind: dict, as_of: datetime, relation: str | None = None) -> dict:
    attribute = {"uuid": str(stable_uuid("misp-attribute:" + term.id + (relation or ""))), "type": kind["type"],
                 "category": kind["category"], "value": term.term, "to_ids": kind["to_ids"], "distribution": "5",
                 "comment": _comment(term), "timestamp": str(int(_stamp(term, as_of).timestamp())), **_seen(term),
                 "Tag": [{"name": name} for name in topics(term.categories)]}
    if relation:
        attribute["object_relation"] = relation
    return attribute


def _object(term: WatchlistTerm, template: dict, as_of: datetime) -> dict:
    attributes = [_attribute(term, template, as_of, template["relation"])]
    for relation, value in template["fixed"].items():
        attributes.append({"uuid": str(stable_uuid(f"misp-attribute:{term.id}:{relation}")), "type": "text",
                           "category": template["category"], "value": value, "to_ids": False,
                           "object_relation": relation, "distribution": "5",
                           "timestamp": attributes[0]["timestamp"]})
    return {"uuid": str(stable_uuid("misp-object:" + term.id)), "name": template["template"],
            "meta-category": template["meta_category"], "template_uuid": template["template_uuid"],
            "template_version": template["template_version"], "description": _comment(term),
            "distribution": "5", "timestamp": attributes[0]["timestamp"], "comment": _comment(term),
            **_seen(term), "Attribute": attributes}
