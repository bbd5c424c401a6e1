"""The query model both stores execute with the same matching semantics."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contracts.base import UtcDatetime
from contracts.documents import ListingDocument, vendor_id
from contracts.identifiers import identifier_key, identifier_keys, identifiers_in_text
from contracts.regions import WORLDWIDE, load_region_members, places_reaching
from contracts.text import fold
from contracts.vocabulary import load_taxonomy

# field -> how its values are normalised for exact matching
FILTER_FIELDS: dict[str, str] = {
    "market": "fold", "vendor": "fold", "category": "fold", "product": "fold",
    "ships_from": "upper", "ships_to": "upper", "currency": "upper",
    "market_category": "fold", "hs_code": "fold",
    "identifier": "identifier",  # contracts.identifiers: a key per kind, typed or stored
    "vendor_id": "fold",  # index.documents.vendor_id: one vendor on one market
    "status": "fold",  # active, inactive (index.lifecycle)
    "ships_to_excluded": "upper",  # "worldwide except AU" -> AU
}
# Place filters match where goods can go, not only the words a listing used: ships_to=US
# finds listings to US, to North America and WORLDWIDE (less those that exclude US);
# ships_to_exact=US keeps to listings that name US itself. Stored terms stay the listing's
# own places (a worldwide listing would otherwise need a term per country).
PLACE_FILTERS = ("ships_to", "ships_from")
EXACT_FILTERS = {"ships_to_exact": "ships_to", "ships_from_exact": "ships_from"}
SORTS = ("relevance", "price", "-price", "last_seen", "-last_seen", "first_seen", "-first_seen")
_TOKEN_RE = re.compile(r"[^\W_]+")
_CLAUSE_RE = re.compile(r'(-?)"([^"]*)"|(-?)(\S+)')


class QueryError(ValueError):
    pass


def normalise_term(field: str, value: str) -> str:
    stored = EXACT_FILTERS.get(field, field)
    if stored not in FILTER_FIELDS:
        raise QueryError(f"unknown filter field {field!r} (known: {', '.join([*FILTER_FIELDS, *EXACT_FILTERS])})")
    value = value.strip()
    mode = FILTER_FIELDS[stored]
    if mode == "identifier":
        return identifier_key(value)
    return value.upper() if mode == "upper" else fold(value)


class TermClause(BaseModel):
    """Documents whose stored ``field`` terms hold one of ``values`` (none of them: ``negate``),
    or whose ``also`` fields hold one of theirs."""

    field: str
    values: list[str]
    negate: bool = False
    also: dict[str, list[str]] = {}


def term_clauses(filters: dict[str, list[str]], holders: Mapping[str, list[str]] | None = None) -> list[TermClause]:
    """What the stores execute for a query's filters (AND across clauses, OR within one).
    ``holders``: identifier key -> vendors whose profile shows it; an identifier filter then
    also finds those vendors' listings (their PGP key is on the profile, not on each listing)."""
    out = []
    for field, values in filters.items():
        if field == "identifier" and holders:
            vendors = sorted({v for value in values for v in holders.get(value, ())})
            out.append(TermClause(field=field, values=values, also={"vendor_id": vendors} if vendors else {}))
        elif field in EXACT_FILTERS:
            out.append(TermClause(field=EXACT_FILTERS[field], values=values))
        elif field in PLACE_FILTERS:
            reaching = list(dict.fromkeys(p for v in values for p in places_reaching(v)))
            out.append(TermClause(field=field, values=reaching))
            countries = [v for v in values if v not in load_region_members() and v != WORLDWIDE]
            if field == "ships_to" and len(countries) == len(values) == 1:
                # one country asked for: a listing that excludes it does not reach it
                out.append(TermClause(field="ships_to_excluded", values=countries, negate=True))
        else:
            out.append(TermClause(field=field, values=values))
    return out


class Query(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    text: str = ""
    filters: dict[str, list[str]] = {}  # OR within a field, AND across fields
    price_min_usd: float | None = None
    price_max_usd: float | None = None
    date_field: Literal["last_seen", "first_seen"] = "last_seen"
    date_from: UtcDatetime | None = None
    date_to: UtcDatetime | None = None
    facets: list[str] = []
    facet_size: int = Field(10, ge=1, le=1000)
    sort: Literal[SORTS] = "relevance"  # type: ignore[valid-type]
    limit: int = Field(20, ge=0, le=1000)
    offset: int = Field(0, ge=0)

    @field_validator("filters")
    @classmethod
    def _known_filters(cls, filters: dict[str, list[str]]) -> dict[str, list[str]]:
        return {f: list(dict.fromkeys(normalise_term(f, v) for v in values)) for f, values in filters.items() if values}

    def resolved(self) -> tuple[str, dict[str, list[str]]]:
        """(the free text, the filters) as the stores run them: an identifier typed among the
        words ("name@gmail.com", a fingerprint, a wallet) is looked up as an identifier, not as
        words, OR-ed with any identifier filter."""
        keys, rest = identifiers_in_text(self.text)
        if not keys:
            return self.text, self.filters
        filters = dict(self.filters)
        filters["identifier"] = list(dict.fromkeys([*filters.get("identifier", ()), *keys]))
        return rest, filters

    @field_validator("facets")
    @classmethod
    def _known_facets(cls, facets: list[str]) -> list[str]:
        for f in facets:
            normalise_term(f, "")
        return facets


class TextQuery(BaseModel):
    """Parsed text: every clause must match; a clause is a token or a quoted phrase."""

    must: list[list[str]] = []
    must_not: list[list[str]] = []

    @property
    def empty(self) -> bool:
        return not self.must and not self.must_not


def tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(fold(text))


def parse_text(text: str) -> TextQuery:
    parsed = TextQuery()
    for match in _CLAUSE_RE.finditer(text):
        negate = bool(match.group(1) or match.group(3))
        raw = match.group(2) if match.group(2) is not None else match.group(4)
        toks = tokens(raw)
        if not toks:
            continue
        clauses = [toks] if match.group(2) is not None else [[t] for t in toks]
        (parsed.must_not if negate else parsed.must).extend(clauses)
    return parsed


def filter_terms(doc: ListingDocument) -> dict[str, list[tuple[str, str]]]:
    """(normalised key, display value) per filter field of a document. Both stores index these."""
    item, enr = doc.data.listing, doc.data.enrichment
    raw: dict[str, list[str]] = {
        "market": [item.market],
        "vendor": [item.vendor.name],
        "category": enr.categories,
        "product": [p.canonical for p in enr.products],
        "ships_from": enr.ships_from,
        "ships_to": enr.ships_to,
        "ships_to_excluded": enr.ships_to_excluded,
        "currency": [item.price.currency] if item.price else [],
        "market_category": item.category_path[-1:],
        "hs_code": [p.hs_code for p in enr.products if p.hs_code],
        "status": [doc.status],
    }
    out = {}
    for field, values in raw.items():
        seen: dict[str, str] = {}
        for value in values:
            seen.setdefault(normalise_term(field, value), value)
        out[field] = list(seen.items())
    # An identifier is found by each of its keys (a fingerprint by its key ids too), shown as written.
    out["identifier"] = list({key: value for value in enr.identifier_values()
                              for key in identifier_keys(value)}.items())
    out["vendor_id"] = [(vendor_id(doc.market, item.vendor.name), f"{item.vendor.name} ({doc.market})")]
    return out


def text_fields(doc: ListingDocument) -> tuple[str, str, str]:
    """(title, description, everything else searchable) as folded tokens, for both stores."""
    from index.highlight import search_tokens

    item, enr = doc.data.listing, doc.data.enrichment
    taxonomy = load_taxonomy()
    extra = [item.vendor.name, *item.category_path, *(p.canonical for p in enr.products),
             *(taxonomy.get(p.category, "") for p in enr.products)]
    return search_tokens(item.title), search_tokens(item.description), search_tokens(*extra)


class FacetCount(BaseModel):
    value: str  # normalised key (what a filter takes)
    label: str  # as displayed
    count: int


class Hit(BaseModel):
    document: ListingDocument
    score: float | None = None
    highlights: dict[str, str] = {}  # field -> fragment with HIGHLIGHT_START/END markers


class SearchResult(BaseModel):
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetCount]] = {}
    unreadable: int = 0  # stored documents of this page that could not be read (Store.unreadable names them)


# Crawled text never contains these (contracts strip control characters), so renderers can
# turn them into <mark> or terminal bold after escaping everything else.
HIGHLIGHT_START, HIGHLIGHT_END = "\x02", "\x03"


