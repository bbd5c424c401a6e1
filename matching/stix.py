"""Watchlist terms as strict STIX 2.1: nothing custom outside what the standard's extension
mechanism declares, so `stix2.parse(..., allow_custom=False)` and the OASIS validator accept a
bundle without knowing Interdict.

- products, slang, concealment and declaration phrases: indicators with a PCRE pattern for
  goods descriptions;
- identifiers: indicators with STIX patterns over observables — standard ones where STIX has
  them (email-addr, domain-name for onion hosts, user-account for messenger handles), each
  observable beside its indicator and linked to it ("based-on"); wallets, PGP keys and phone
  numbers have no STIX object, so their patterns name new observable types that extension
  definitions in the bundle declare (`cryptocurrency-wallet`, `pgp-key`, `phone-number`). Those
  observables are not sent as objects: a strict STIX reader that does not know an extension
  refuses its new objects, while a pattern is only text to it;
- routes: indicators over a declared `consignment` observable (origin and destination
  country), what a customs risk engine matches parcels on;
- vendors: threat actors with their linked aliases; an identifier a vendor showed "indicates" it.

What Interdict knows beyond STIX's properties (term id, kind, markets, HS codes, countries,
listing count, examples) travels in a property extension, declared like the others. Every
object carries the configured TLP marking; the export cursor travels outside the bundle.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.watchlist import EXIF_KINDS, WatchlistTerm

NAMESPACE = uuid.UUID("6f0a3f0e-5d2b-4c53-9d4e-3b7a1c2f9e10")  # Interdict's, for stable STIX ids
SCO_NAMESPACE = uuid.UUID("00abedb4-aa42-466c-9c01-fed23315a9b7")  # the STIX 2.1 one (spec 2.9)
DEFINED = "2026-12-07T00:00:00.000Z"  # when the extension definitions below were written
PRODUCER = "identity--5b7e8c61-4f2a-4d8e-9a3c-1e6f0b2d7a94"  # Interdict's own

# TLP 1.0 marking definitions of the STIX 2.1 specification (7.2.1.4): fixed ids and contents.
TLP = {
    "white": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}
TLP_ALIASES = {"clear": "white"}  # TLP 2.0's name for white


def stable_uuid(name: str) -> uuid.UUID:
    """The same id for the same thing in every export, shaped as the version 4 UUID STIX asks
    of domain objects (the bits of a digest, not a random draw)."""
    return uuid.UUID(bytes=hashlib.sha256(f"{NAMESPACE}:{name}".encode()).digest()[:16], version=4)


def _extension_id(name: str) -> str:
    return f"extension-definition--{stable_uuid('extension:' + name)}"


TERM_EXTENSION = _extension_id("watchlist-term")
# New observable types: (name, description, properties) — the schema text each definition carries.
NEW_OBSERVABLES = {
    "cryptocurrency-wallet": ("A cryptocurrency address a vendor takes payment at.",
                              {"value": "the address as written", "currency": "btc, xmr, eth..."}),
    "pgp-key": ("An OpenPGP key a vendor signs or receives messages with.",
                {"fingerprint": "the key's fingerprint (or key id) as upper-case hex"}),
    "phone-number": ("A telephone number a vendor gives for contact.",
                     {"value": "the number in E.164 form"}),
    "consignment": ("A parcel or consignment as customs advance data describes it (CN23, ITMATT, ICS2).",
                    {"origin_country": "ISO 3166-1 alpha-2 code of where it is sent from",
                     "destination_country": "ISO 3166-1 alpha-2 code of where it goes"}),
}
_OBSERVABLE_OF_KIND = {"btc": "cryptocurrency-wallet", "xmr": "cryptocurrency-wallet", "eth": "cryptocurrency-wallet",
                       "pgp": "pgp-key", "phone": "phone-number", "email": "email-addr", "onion": "domain-name"}
_KEY_PROPERTY = {"cryptocurrency-wallet": "value", "pgp-key": "fingerprint", "phone-number": "value",
                 "email-addr": "value", "domain-name": "value"}
# What an analyst reads on each indicator (STIX labels), by term kind.
KIND_LABELS = {"product": "product", "slang": "product slang", "identifier": "vendor identifier",
               "route": "shipping route", "concealment": "concealment method", "declaration": "false declaration",
               "vendor": "vendor"}
_INDICATOR_TYPES = {"identifier": ["attribution"], "route": ["anomalous-activity"]}


def stix_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def tlp_marking(level: str) -> str:
    level = TLP_ALIASES.get(level.lower(), level.lower())
    if level not in TLP:
        raise ValueError(f"unknown TLP level {level!r} (use clear, white, green, amber or red)")
    return TLP[level]


def indicator_id(term: WatchlistTerm) -> str:
    return f"{'threat-actor' if term.kind == 'vendor' else 'indicator'}--{stable_uuid(term.id)}"


def shared_objects(level: str) -> list[dict]:
    """What every bundle or collection carries: the producer, its TLP marking (by reference
    to the specification's own) and the extension definitions."""
    marking = tlp_marking(level)
    level = next(name for name, ref in TLP.items() if ref == marking)
    identity = {"type": "identity", "spec_version": "2.1", "id": PRODUCER, "created": DEFINED, "modified": DEFINED,
                "name": "Interdict", "identity_class": "system",
                "description": "Dark-web and marketplace intelligence crawler for customs (watchlist feed)."}
    tlp = {"type": "marking-definition", "spec_version": "2.1", "id": marking, "created": "2017-01-20T00:00:00.000Z",
           "definition_type": "tlp", "name": f"TLP:{level.upper()}", "definition": {"tlp": level}}
    objects: list[dict] = [identity, tlp]
    term_schema = ("Properties of an Interdict watchlist term on the object they extend: term_id (stable id), "
                   "kind (product, slang, vendor, identifier, route, concealment, declaration), subkind (identifier "
                   "kind, or the product a slang word names), source (index or curated), listing_count, markets, "
                   "countries (ISO 3166-1 alpha-2), hs_codes, categories, examples (listing ids), qualifiers (for an "
                   "ordinary-word vendor name: the market:X or kind:value it must come with), weight (0-1).")
    objects.append(_extension_definition("watchlist-term", "Interdict watchlist term", term_schema,
                                         "property-extension"))
    for name, (description, properties) in NEW_OBSERVABLES.items():
        schema = description + " Properties: " + "; ".join(f"{k}: {v}" for k, v in properties.items()) + "."
        objects.append(_extension_definition(name, f"{name} observable", schema, "new-sco"))
    return objects


def _extension_definition(name: str, title: str, schema: str, kind: str) -> dict:
    return {"type": "extension-definition", "spec_version": "2.1", "id": _extension_id(name), "created": DEFINED,
            "modified": DEFINED, "created_by_ref": PRODUCER, "name": title, "description": schema.split(". ")[0] + ".",
            "schema": schema, "version": "1.0.0", "extension_types": [kind]}


def term_objects(term: WatchlistTerm, level: str, valid_days: int, now: datetime,
                 evidence_url: str = "") -> list[dict]:
    """The STIX objects of one term: its indicator (or threat actor) and the observable an
    identifier's indicator is based on, with the relationship between them."""
    marking = [tlp_marking(level)]
    first = term.first_seen or now
    last = max(term.last_seen or now, first)
    common: dict[str, Any] = {
        "spec_version": "2.1", "id": indicator_id(term), "created": stix_time(first), "modified": stix_time(last),
        "created_by_ref": PRODUCER, "object_marking_refs": marking, "confidence": round(term.weight * 100),
        "labels": _labels(term)}
    references = [{"source_name": "interdict-listing", "external_id": listing_id,
                   "description": "a listing the term was seen in",
                   **({"url": f"{evidence_url.rstrip('/')}/listings/{listing_id}"} if evidence_url else {})}
                  for listing_id in term.examples]
    if references:
        common["external_references"] = references
    common["extensions"] = {TERM_EXTENSION: _term_extension(term)}
    if term.kind == "vendor":
        actor = {"type": "threat-actor", **common, "name": term.term, "threat_actor_types": ["criminal"],
                 "description": _description(term)}
        if term.first_seen:
            actor["first_seen"], actor["last_seen"] = stix_time(first), stix_time(last)
        aliases = [v for v in term.vendors if v != term.term]
        if aliases:
            actor["aliases"] = aliases
        return [actor]
    pattern, pattern_type, observable = _pattern(term)
    indicator = {"type": "indicator", **common, "name": term.term, "description": _description(term),
                 "indicator_types": _INDICATOR_TYPES.get(term.kind, ["malicious-activity"]),
                 "pattern": pattern, "pattern_type": pattern_type, "valid_from": stix_time(first),
                 "valid_until": stix_time(max(last, first + timedelta(seconds=1)) + timedelta(days=valid_days))}
    if pattern_type == "stix":
        indicator["pattern_version"] = "2.1"
    objects = [indicator]
    if observable is not None:
        observable["object_marking_refs"] = marking
        objects.append(observable)
        objects.append(relationship(indicator["id"], "based-on", observable["id"], common["created"],
                                    common["modified"], marking))
    return objects


def vendor_links(term: WatchlistTerm, vendors: dict[str, WatchlistTerm], level: str, now: datetime) -> list[dict]:
    """An identifier's indicator "indicates" each vendor in the same feed that showed it."""
    if term.kind != "identifier":
        return []
    out = []
    for name in term.vendors:
        vendor = vendors.get(name)
        if vendor is not None:
            first = stix_time(term.first_seen or now)
            out.append(relationship(indicator_id(term), "indicates", indicator_id(vendor), first,
                                    stix_time(max(term.last_seen or now, term.first_seen or now)), [tlp_marking(level)]))
    return out


def relationship(source: str, kind: str, target: str, created: str, modified: str, marking: list[str]) -> dict:
    return {"type": "relationship", "spec_version": "2.1",
            "id": f"relationship--{stable_uuid(f'{source} {kind} {target}')}", "created": created,
            "modified": modified, "created_by_ref": PRODUCER, "relationship_type": kind, "source_ref": source,
            "target_ref": target, "object_marking_refs": marking}


def bundle(terms: list[WatchlistTerm], level: str = "amber", valid_days: int = 180, evidence_url: str = "",
           now: datetime | None = None) -> dict:
    """A STIX 2.1 bundle of the terms (the cursor stays outside: a header, stderr, a wrapper)."""
    now = now or datetime.now(UTC)
    vendors = {t.term: t for t in terms if t.kind == "vendor"}
    objects: dict[str, dict] = {o["id"]: o for o in shared_objects(level)}
    for term in terms:
        if term.kind == "identifier" and term.subkind in EXIF_KINDS:  # no STIX object says "camera" or "taken at"
            continue
        for obj in term_objects(term, level, valid_days, now, evidence_url) + vendor_links(term, vendors, level, now):
            objects.setdefault(obj["id"], obj)  # two terms can share an observable
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": list(objects.values())}


def to_text(bundle_: dict) -> str:
    return json.dumps(bundle_, indent=1, ensure_ascii=False)


# -- pieces ----------------------------------------------------------------------------------
def _labels(term: WatchlistTerm) -> list[str]:
    labels = [KIND_LABELS[term.kind]]
    if term.kind == "identifier" and term.subkind:
        labels.append(f"identifier: {term.subkind}")
    labels += [f"category: {c}" for c in term.categories]
    labels += [f"hs code: {h}" for h in term.hs_codes]
    if term.source == "curated":
        labels.append("curated by an analyst")
    return labels


def _description(term: WatchlistTerm) -> str:
    seen = (f"seen in {term.listing_count} listing(s) on {', '.join(term.markets)}" if term.markets
            else "not seen in the index yet")
    text = f"{KIND_LABELS[term.kind].capitalize()} {seen}"
    if term.countries:
        text += f"; countries involved: {', '.join(term.countries)}"
    if term.qualifiers:
        text += f"; an ordinary name: match it only with {', '.join(term.qualifiers)}"
    return text + (f". Analyst note: {term.note}" if term.note else ".")


def _term_extension(term: WatchlistTerm) -> dict:
    data = {"extension_type": "property-extension", "term_id": term.id, "kind": term.kind, "source": term.source,
            "listing_count": term.listing_count, "weight": term.weight}
    if term.subkind:
        data["subkind"] = term.subkind
    for name in ("markets", "countries", "hs_codes", "categories", "examples", "qualifiers"):
        if getattr(term, name):
            data[name] = list(getattr(term, name))
    return data


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def pcre(term: str) -> str:
    import re

    return r"(?i)(?<!\w)" + re.escape(term).replace(r"\ ", r"\s+") + r"(?!\w)"


def _pattern(term: WatchlistTerm) -> tuple[str, str, dict | None]:
    if term.kind == "route":
        origin, _, destination = term.term.partition(" -> ")
        return (f"[consignment:origin_country = {_quoted(origin)} AND "
                f"consignment:destination_country = {_quoted(destination)}]"), "stix", None
    if term.kind != "identifier":  # words to look for in goods descriptions
        return pcre(term.term), "pcre", None
    kind, value = term.subkind or "", term.term
    if kind == "image-sha256":  # a listing photo: the file, by its digest
        hashes = {"SHA-256": value}
        return f"[file:hashes.'SHA-256' = {_quoted(value)}]", "stix", observable("file", {"hashes": hashes})
    if kind not in _OBSERVABLE_OF_KIND:  # messenger handles (and a kind STIX has no object for)
        account_type = kind or "unknown"
        props = {"account_login": value, "account_type": account_type}
        pattern = (f"[user-account:account_login = {_quoted(value)} AND "
                   f"user-account:account_type = {_quoted(account_type)}]")
        return pattern, "stix", observable("user-account", props)
    sco_type = _OBSERVABLE_OF_KIND[kind]
    prop = _KEY_PROPERTY[sco_type]
    pattern = f"[{sco_type}:{prop} = {_quoted(value)}]"
    if sco_type == "cryptocurrency-wallet":
        pattern = f"[{sco_type}:{prop} = {_quoted(value)} AND {sco_type}:currency = {_quoted(kind)}]"
    return pattern, "stix", None if sco_type in NEW_OBSERVABLES else observable(sco_type, {prop: value})


def observable(sco_type: str, props: dict) -> dict:
    """A standard cyber observable with its deterministic id: the UUIDv5 of its id-contributing
    properties (all those given here), as STIX 2.1 section 2.9 says."""
    canonical = json.dumps(props, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return {"type": sco_type, "spec_version": "2.1", "id": f"{sco_type}--{uuid.uuid5(SCO_NAMESPACE, canonical)}",
            **props}
