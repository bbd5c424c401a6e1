"""A watchlist term: what a risk engine targets, derived from the index or curated."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from contracts.base import InputContract

TermKind = Literal["product", "slang", "vendor", "identifier", "route", "concealment", "declaration"]
# Identifier kinds read off listing photos besides their SHA-256 ("image-sha256"): the EXIF
# camera, the camera's body serial number and GPS position (GPS only in an analyst's opt-in
# export). They have no STIX or MISP object: they leave in JSON and CSV only.
EXIF_KINDS = ("exif-camera", "exif-serial", "exif-gps")


class WatchlistTerm(InputContract):
    """One term a risk engine can target, derived from the index (or curated by an analyst)."""

    id: str  # stable across exports: digest of kind, subkind and the folded term
    term: str
    kind: TermKind
    subkind: str | None = None  # identifier kind (email, pgp, btc...), the product a slang word names, a route's category
    source: Literal["index", "curated"] = "index"
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    listing_count: int = Field(0, ge=0)
    markets: list[str] = []
    countries: list[str] = []  # ISO codes of the origins and destinations involved
    hs_codes: list[str] = []
    categories: list[str] = []
    vendors: list[str] = []  # vendor names (for a vendor: the aliases linked by shared identifiers)
    examples: list[str] = []  # listing ids
    note: str = ""
    # How strongly it points at illicit goods, 0–1 (matching.term_weights); STIX confidence = 100 × weight.
    weight: float = Field(1.0, ge=0, le=1, allow_inf_nan=False)
    excluded: str | None = None  # why the default feed leaves it out; None: in the feed
    qualifiers: list[str] = []  # an ordinary-word vendor name: match it only with one of these (market:X, kind:value)
