"""Regions and the countries they hold: what a listing shipping to "EU" reaches, and what a
search for a place should match. Data: contracts/regions.json (ISO 3166-1 alpha-2 codes;
WORLDWIDE holds every country)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

WORLDWIDE = "WORLDWIDE"
_DATA = Path(__file__).with_name("regions.json")


@lru_cache(maxsize=1)
def load_region_members() -> dict[str, frozenset[str]]:
    data = json.loads(_DATA.read_text(encoding="utf-8"))
    return {region: frozenset(codes) for region, codes in data["region_members"].items() if not region.startswith("_")}


def covers(place: str, country: str) -> bool:
    """Whether a listing's place (ISO code or region id: EU, EUROPE, WORLDWIDE...) includes ``country``."""
    if place == country or place == WORLDWIDE:
        return True
    return country in load_region_members().get(place, ())


def regions_of(country: str) -> list[str]:
    """The region ids that include ``country``, WORLDWIDE last."""
    return [region for region, codes in load_region_members().items() if country in codes] + [WORLDWIDE]


@lru_cache(maxsize=4096)
def places_reaching(place: str) -> tuple[str, ...]:
    """The places a listing may name and still reach ``place``: for a country, itself, the
    regions holding it and WORLDWIDE (a listing to "EU" reaches DE); for a region, itself,
    its countries, the regions sharing countries with it and WORLDWIDE (a listing to DE, or
    to EU, reaches Europe); WORLDWIDE is reached only by WORLDWIDE."""
    if place == WORLDWIDE:
        return (WORLDWIDE,)
    members = load_region_members()
    if place in members:
        own = members[place]
        overlapping = [r for r, codes in members.items() if r != place and codes & own]
        return (place, *sorted(own), *overlapping, WORLDWIDE)
    return (place, *regions_of(place))
