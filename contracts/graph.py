"""The correlation graph around an entity (a vendor, an identifier, a market): nodes, and the
links between them with the evidence of each (which listing or profile showed it, and when).
What the API, the CLI's exports (GraphML, JSON) and the web app's drawing share."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from contracts.base import Contract

NodeKind = Literal["vendor", "identifier", "market"]
Relation = Literal["shows", "sells on", "same name", "candidate"]


class Evidence(Contract):
    """Where a link was seen: a listing or a vendor profile, and when."""

    kind: Literal["listing", "profile"]
    id: str  # the listing's or the vendor's document id
    market: str
    seen: datetime  # the last time it was seen showing the link


class GraphNode(Contract):
    id: str  # "vendor:<document id>", "identifier:<search key>", "market:<name>"
    kind: NodeKind
    label: str
    depth: int = Field(ge=0)  # links from the centre
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    listings: int = 0  # a vendor's or market's listings; an identifier's listings showing it
    detail: str = ""  # a vendor's market, an identifier's kind


class GraphEdge(Contract):
    source: str
    target: str
    relation: Relation
    evidence: list[Evidence] = []  # the latest few (``evidence_count`` says how many in all)
    evidence_count: int = 0
    score: float | None = Field(None, ge=0, le=1)  # a candidate link's: how alike (name, routes, products)
    reason: str = ""  # a candidate's: what makes the two alike


class EntityGraph(Contract):
    center: str
    depth: int = Field(ge=1, le=3)
    nodes: list[GraphNode]
    edges: list[GraphEdge]
    truncated: bool = False  # a cap on nodes or links left some out
