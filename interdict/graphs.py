"""An entity graph (contracts.graph) written out: GraphML and node-link JSON that Gephi and
networkx read, and an SVG drawn on the server (the web app's view; no script needed). Crawled
text in labels is escaped for XML wherever it goes."""

from __future__ import annotations

import json
import math
from xml.sax.saxutils import escape, quoteattr

from contracts.graph import EntityGraph, GraphEdge, GraphNode

COLOURS = {"vendor": "#2f6fb0", "identifier": "#b0602f", "market": "#3d8b3d"}
EDGE_STYLE = {"shows": ("#8a8f98", ""), "sells on": ("#b9c7b9", ""), "same name": ("#2f6fb0", "6 3"),
              "candidate": ("#c0392b", "3 3")}
_NODE_KEYS = (("kind", "string"), ("label", "string"), ("depth", "int"), ("listings", "int"), ("detail", "string"),
              ("first_seen", "string"), ("last_seen", "string"))
_EDGE_KEYS = (("relation", "string"), ("evidence_count", "int"), ("score", "double"), ("reason", "string"),
              ("evidence", "string"))


def _value(item, name: str) -> str | None:
    value = getattr(item, name)
    if name == "evidence":
        return "; ".join(f"{e.kind} {e.id} ({e.market}, {e.seen:%Y-%m-%d})" for e in value) or None
    if value is None:
        return None
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def to_graphml(graph: EntityGraph) -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">']
    for prefix, target, keys in (("n", "node", _NODE_KEYS), ("e", "edge", _EDGE_KEYS)):
        lines += [f'  <key id="{prefix}_{name}" for="{target}" attr.name="{name}" attr.type="{kind}"/>'
                  for name, kind in keys]
    lines.append(f'  <graph id={quoteattr(graph.center)} edgedefault="directed">')
    for node in graph.nodes:
        lines.append(f"    <node id={quoteattr(node.id)}>")
        lines += [f'      <data key="n_{name}">{escape(v)}</data>' for name, _ in _NODE_KEYS
                  if (v := _value(node, name)) is not None]
        lines.append("    </node>")
    for i, edge in enumerate(graph.edges):
        lines.append(f'    <edge id="e{i}" source={quoteattr(edge.source)} target={quoteattr(edge.target)}>')
        lines += [f'      <data key="e_{name}">{escape(v)}</data>' for name, _ in _EDGE_KEYS
                  if (v := _value(edge, name)) is not None]
        lines.append("    </edge>")
    lines += ["  </graph>", "</graphml>"]
    return "\n".join(lines) + "\n"


def to_json(graph: EntityGraph) -> str:
    """networkx's node-link form (``json_graph.node_link_graph(data, edges="links")``), with
    every field of the nodes and links."""
    data = graph.model_dump(mode="json")
    return json.dumps({"directed": True, "multigraph": False,
                       "graph": {"center": data["center"], "depth": data["depth"], "truncated": data["truncated"]},
                       "nodes": data["nodes"], "links": data["edges"]}, ensure_ascii=False, indent=1) + "\n"


def _layout(graph: EntityGraph, size: float) -> dict[str, tuple[float, float]]:
    """The centre in the middle, each depth on a ring around it, a ring's nodes grouped by kind."""
    rings: dict[int, list[GraphNode]] = {}
    for node in graph.nodes:
        rings.setdefault(node.depth, []).append(node)
    middle = size / 2
    places = {}
    deepest = max(rings) if rings else 0
    for depth, nodes in rings.items():
        nodes.sort(key=lambda n: (n.kind, n.label.casefold(), n.id))
        radius = 0 if depth == 0 else (size / 2 - 70) * depth / max(deepest, 1)
        for i, node in enumerate(nodes):
            angle = 2 * math.pi * i / len(nodes) - math.pi / 2 + depth * 0.35
            places[node.id] = (middle + radius * math.cos(angle), middle + radius * math.sin(angle))
    return places


def _short(text: str, limit: int = 22) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def to_svg(graph: EntityGraph, link=lambda node_id: "", size: int = 760) -> str:
    """The graph as an SVG image. ``link``: a node id's page, or "" for none."""
    places = _layout(graph, size)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size + 40}" role="img" '
           f'class="entity-graph" aria-label="{len(graph.nodes)} entities and {len(graph.edges)} links around '
           f'{escape(graph.center)}">', "<title>Correlation graph</title>"]
    for edge in graph.edges:
        out.append(_edge_svg(edge, places))
    for node in graph.nodes:
        x, y = places[node.id]
        radius = 14 if node.depth == 0 else 9
        shape = _shape(node.kind, x, y, radius)
        tip = f"{node.kind}: {node.label}" + (f" ({node.detail})" if node.detail else "") + \
            (f", {node.listings} listing(s)" if node.listings else "")
        label = (f'<text x="{x:.1f}" y="{y + radius + 12:.1f}" text-anchor="middle" class="node-label">'
                 f'{escape(_short(node.label))}</text>')
        body = f"<g><title>{escape(tip)}</title>{shape}{label}</g>"
        href = link(node.id)
        out.append(f"<a href={quoteattr(href)}>{body}</a>" if href else body)
    legend = [("vendor", "circle"), ("identifier", "diamond"), ("market", "square")]
    for i, (kind, shape) in enumerate(legend):
        out.append(f'<g class="legend">{_shape(kind, 20 + i * 150, size + 20, 6)}'
                   f'<text x="{32 + i * 150}" y="{size + 24}">{kind} ({shape})</text></g>')
    out.append(f'<text x="{470}" y="{size + 24}" class="legend">dashed red: candidate (to check)</text>')
    out.append("</svg>")
    return "\n".join(out)


def _shape(kind: str, x: float, y: float, radius: float) -> str:
    colour = COLOURS[kind]
    if kind == "market":
        return (f'<rect x="{x - radius:.1f}" y="{y - radius:.1f}" width="{2 * radius}" height="{2 * radius}" '
                f'fill="{colour}"/>')
    if kind == "identifier":
        return (f'<polygon points="{x:.1f},{y - radius:.1f} {x + radius:.1f},{y:.1f} {x:.1f},{y + radius:.1f} '
                f'{x - radius:.1f},{y:.1f}" fill="{colour}"/>')
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius}" fill="{colour}"/>'


def _edge_svg(edge: GraphEdge, places: dict[str, tuple[float, float]]) -> str:
    (x1, y1), (x2, y2) = places[edge.source], places[edge.target]
    colour, dash = EDGE_STYLE[edge.relation]
    tip = edge.relation + (f" (score {edge.score:.2f}: {edge.reason})" if edge.score is not None else "") + \
        (f", {edge.evidence_count} piece(s) of evidence" if edge.evidence_count else "")
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" stroke-width="1.5"'
            f"{dashed}><title>{escape(tip)}</title></line>")
