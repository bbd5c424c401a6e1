"""Entities as the web app and the API show them: a vendor, an identifier or a market with its
first and last sighting, its listings, the entities linked to it with the evidence of each link,
and the correlation graph around it (an SVG drawn here; GraphML and JSON from /api/graph)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from contracts.graph import EntityGraph
from index.entity_graph import EntityNotFound, GraphBuilder
from index.query import Query
from index.store import Store
from interdict.graphs import to_graphml, to_json, to_svg
from interdict.web.api.listings import hit_out
from interdict.web.auth import CanRead
from interdict.web.deps import StoreDep
from interdict.web.ui import page

api = APIRouter(tags=["entities"])
pages = APIRouter(include_in_schema=False)
LISTINGS = 20


def entity_href(node_id: str) -> str:
    return "/entities/" + quote(node_id, safe=":")


def build(store: Store, entity: str, depth: int, max_nodes: int = 150) -> EntityGraph:
    if not 1 <= depth <= 3:
        raise HTTPException(422, "depth is 1, 2 or 3")
    try:
        return GraphBuilder(store, depth, max(1, min(max_nodes, 500))).build(entity)
    except EntityNotFound as exc:
        raise HTTPException(404, str(exc)) from None


@api.get("/graph", summary="The correlation graph around an entity: JSON (networkx node-link) or GraphML")
def graph(entity: str, who: CanRead, store: StoreDep, depth: int = 2, max_nodes: int = 150,
          format: Literal["json", "graphml"] = "json") -> Response:
    found = build(store, entity, depth, max_nodes)
    who.audit("view", f"graph/{found.center}", depth=depth, format=format, nodes=len(found.nodes))
    if format == "graphml":
        return Response(to_graphml(found), media_type="application/graphml+xml",
                        headers={"Content-Disposition": 'attachment; filename="interdict-graph.graphml"'})
    return Response(to_json(found), media_type="application/json")


def _listings(store: Store, node_id: str) -> tuple[list, int]:
    kind, _, value = node_id.partition(":")
    field = {"vendor": "vendor_id", "identifier": "identifier", "market": "market"}[kind]
    found = store.search(Query(filters={field: [value]}, sort="-last_seen", limit=LISTINGS))
    return [hit_out(h.document, None, {}) for h in found.hits], found.total


@pages.get("/entities/{node_id:path}")
def entity_page(node_id: str, request: Request, who: CanRead, store: StoreDep, depth: int = 2) -> HTMLResponse:
    found = build(store, node_id, depth)
    center = next(n for n in found.nodes if n.id == found.center)
    names = {n.id: n for n in found.nodes}
    linked = sorted((e for e in found.edges if found.center in (e.source, e.target)),
                    key=lambda e: (e.relation == "candidate", -(e.evidence_count or 0)))
    listings, total = _listings(store, found.center)
    who.audit("view", f"entity/{found.center}", depth=depth)
    return page(request, "entity.html", key=who.key, graph=found, center=center, names=names, linked=linked,
                svg=to_svg(found, link=lambda n: f"{entity_href(n)}?depth={depth}"), depth=depth, href=entity_href,
                listings=listings, total=total, quoted=quote(found.center, safe=""))
