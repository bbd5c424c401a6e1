"""What the matcher says about a shipment: its best matches with the evidence of each, and
the declaration's own risk flags."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, TypeAdapter


# Results are dataclasses, not models: a matcher builds tens of them per shipment at
# thousands of shipments per second, and a pydantic model costs ~10 µs to construct. They
# are typed here once; RESULTS (a pydantic TypeAdapter) validates and serialises them.
# Not frozen (a frozen dataclass sets each field through object.__setattr__: twice the
# cost); treat them as read-only.
@dataclass(slots=True)
class Reason:
    """One piece of evidence for (or against) a match, or one risk flag of a declaration."""

    code: str  # product, similarity, hs_code, origin, destination, quantity, value, identifier, active, ...
    contribution: float  # log-odds added to the score (risk flags: to the risk)
    detail: str  # what was compared, in words an analyst reads


@dataclass(slots=True)
class Match:
    """A listing (or, when only an identifier ties them, a vendor) a shipment may correspond to."""

    listing_id: str | None  # None: the vendor matched by identifier, none of their listings fits
    vendor_id: str
    market: str
    vendor: str
    title: str | None
    score: Annotated[float, Field(ge=0, le=1)]  # probability-like: logistic of the summed contributions
    reasons: list[Reason]


@dataclass(slots=True)
class ShipmentMatches:
    """What the matcher says about one shipment: its best matches and the declaration's own risk flags."""

    item_id: str
    matches: list[Match]  # best first
    risk_flags: list[Reason]
    risk: Annotated[float, Field(ge=0, le=1)]  # from the flags and the best match

    @property
    def best(self) -> Match | None:
        return self.matches[0] if self.matches else None

    def to_json(self) -> str:
        return RESULTS.dump_json(self).decode()


RESULTS = TypeAdapter(ShipmentMatches)
