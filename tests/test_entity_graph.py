"""The correlation graph (index/entity_graph.py) on both stores: vendors linked through the
identifiers they show (with the listing or profile that showed each, and when), the same name on
another market, and candidates scored on a like name plus the same products and routes — never a
look-alike name alone; depth and size caps; GraphML and JSON read by networkx; `interdict graph`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import networkx as nx
import pytest
from networkx.readwrite import json_graph

from conftest import make_listing, run_cli
from contracts.documents import listing_id, vendor_id
from contracts.listings import VendorProfile
from index.entity_graph import EntityNotFound, GraphBuilder
from interdict.graphs import to_graphml, to_json, to_svg

T0 = datetime(2026, 9, 1, tzinfo=UTC)
EMAIL = "frost.supply@protonmail.com"
WALLET = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"


def listing(market: str, key: str, vendor: str, title: str, description: str = "", ships_from: str = "Netherlands",
            days: int = 0):
    return make_listing(market=market, listing_key=key, url=f"http://127.0.0.1/{market}/{key}", title=title,
                        description=description, vendor={"name": vendor}, ships_from=ships_from,
                        crawled_at=T0 + timedelta(days=days))


@pytest.fixture
def planted(each_store, enricher):
    store = each_store
    store.upsert_listings(enricher.enrich_listings([
        listing("alpha", "a1", "FrostLab", "Cocaine 1g pure", f"contact {EMAIL}", days=1),
        listing("alpha", "a2", "FrostLab", "Cocaine 5g", f"mail {EMAIL} for bulk", days=3),
        listing("alpha", "a3", "FrostLab", "Cocaine 10g"),
        listing("beta", "b1", "IceMan", "Cocaine 2g", f"write to {EMAIL}", days=2),
        listing("beta", "b2", "Frost_Lab_EU", "Cocaine 1g top"),
        listing("beta", "b3", "Frost_Lab_EU", "Cocaine 3g"),
        listing("beta", "b4", "FrostLab", "Cocaine 1g"),
        listing("beta", "b5", "FrostLabz", "LSD tabs 100ug", ships_from="United States"),
        listing("beta", "b6", "Unrelated", "Cannabis 10g", ships_from="Spain")]))
    store.upsert_vendors(enricher.enrich_vendors([
        VendorProfile(market="beta", name="IceMan", url="http://127.0.0.1/beta/v/iceman",
                      profile=f"BTC for direct deals: {WALLET}", crawled_at=T0 + timedelta(days=4))]))
    return store


def ids(graph) -> dict[str, dict]:
    return {n.id: n for n in graph.nodes}


def edge(graph, source: str, target: str):
    return next(e for e in graph.edges if {e.source, e.target} == {source, target})


def test_vendors_are_linked_through_what_they_show_with_the_evidence(planted):
    frost, ice = vendor_id("alpha", "FrostLab"), vendor_id("beta", "IceMan")
    graph = GraphBuilder(planted, depth=2).build(f"vendor:{frost}")
    nodes = ids(graph)
    email = f"identifier:{EMAIL}"
    assert nodes[f"vendor:{frost}"].depth == 0 and nodes[f"vendor:{frost}"].listings == 3
    assert nodes[email].kind == "identifier" and nodes[email].detail == "email" and nodes[email].depth == 1
    assert nodes[f"vendor:{ice}"].depth == 2  # through the e-mail both show
    shows = edge(graph, f"vendor:{frost}", email)
    assert shows.relation == "shows" and shows.source == f"vendor:{frost}" and shows.evidence_count == 2
    assert [(e.kind, e.id, e.seen) for e in shows.evidence] == [
        ("listing", listing_id("alpha", "a2"), T0 + timedelta(days=3)),
        ("listing", listing_id("alpha", "a1"), T0 + timedelta(days=1))]
    assert [e.id for e in edge(graph, f"vendor:{ice}", email).evidence] == [listing_id("beta", "b1")]
    assert f"identifier:{WALLET}" not in nodes  # IceMan is as deep as the graph goes: not expanded
    # IceMan's wallet is on its profile: the evidence says so
    wallet = edge(GraphBuilder(planted, depth=1).build(f"vendor:{ice}"), f"vendor:{ice}", f"identifier:{WALLET}")
    assert [(e.kind, e.id) for e in wallet.evidence] == [("profile", ice)]
    # the same name on the other market, and where each sells (a market reached is not expanded)
    assert edge(graph, f"vendor:{frost}", f"vendor:{vendor_id('beta', 'FrostLab')}").relation == "same name"
    assert edge(graph, f"vendor:{frost}", "market:alpha").evidence_count == 3
    assert not any(n.kind == "vendor" and n.detail == "beta" and n.label == "Unrelated" for n in graph.nodes)


def test_candidates_need_a_like_name_and_the_same_products_or_routes(planted):
    frost = vendor_id("alpha", "FrostLab")
    graph = GraphBuilder(planted, depth=1).build(f"vendor:{frost}")
    candidates = [e for e in graph.edges if e.relation == "candidate"]
    assert [{e.source, e.target} for e in candidates] == [{f"vendor:{frost}", f"vendor:{vendor_id('beta', 'Frost_Lab_EU')}"}]
    [found] = candidates
    assert 0.6 <= found.score <= 1 and "cocaine" in found.reason and "NL" in found.reason
    # FrostLabz: a like name, other goods from elsewhere: no candidate
    assert f"vendor:{vendor_id('beta', 'FrostLabz')}" not in ids(graph)
    assert not any(e.relation == "candidate" for e in GraphBuilder(planted, 1, candidates=False).build(
        f"vendor:{frost}").edges)


def test_entities_by_name_identifier_or_market_and_the_caps(planted):
    builder = GraphBuilder(planted, depth=1)
    assert builder.resolve("FrostLab") == f"vendor:{vendor_id('alpha', 'FrostLab')}"  # most listings
    assert builder.resolve(EMAIL.upper()) == f"identifier:{EMAIL}"
    assert builder.resolve("beta") == "market:beta"
    with pytest.raises(EntityNotFound):
        builder.resolve("nobody-at-all")
    market = GraphBuilder(planted, depth=1).build("market:beta")
    assert {n.label for n in market.nodes if n.kind == "vendor"} == {"IceMan", "Frost_Lab_EU", "FrostLab",
                                                                      "FrostLabz", "Unrelated"}
    capped = GraphBuilder(planted, depth=3, max_nodes=3).build(f"identifier:{EMAIL}")
    assert len(capped.nodes) == 3 and capped.truncated
    assert all(e.source in ids(capped) and e.target in ids(capped) for e in capped.edges)


def test_graphml_json_and_svg_are_read_by_networkx_and_escape_crawled_text(planted, enricher):
    hostile = '<script>alert(1)</script>"&'
    planted.upsert_listings(enricher.enrich_listings([listing("beta", "h1", hostile, "Cocaine 1g", f"mail {EMAIL}")]))
    graph = GraphBuilder(planted, depth=2).build(f"identifier:{EMAIL}")
    from_graphml = nx.parse_graphml(to_graphml(graph))
    from_json = json_graph.node_link_graph(json.loads(to_json(graph)), edges="links")
    for read in (from_graphml, from_json):
        assert set(read.nodes) == {n.id for n in graph.nodes}
        assert read.number_of_edges() == len(graph.edges)
    hostile_id = f"vendor:{vendor_id('beta', hostile)}"
    assert from_graphml.nodes[hostile_id]["label"] == hostile
    assert from_graphml.edges[hostile_id, f"identifier:{EMAIL}"]["relation"] == "shows"
    svg = to_svg(graph, link=lambda node_id: f"/entities/{node_id}")
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    nx.parse_graphml(to_graphml(graph))  # well-formed XML with the hostile label in it


def test_the_graph_command_writes_graphml_for_gephi(tmp_path, enricher):
    from index.embedded import EmbeddedStore

    store_path = tmp_path / "store.db"
    with EmbeddedStore(store_path) as store:
        store.upsert_listings(enricher.enrich_listings([
            listing("alpha", "a1", "FrostLab", "Cocaine 1g", f"contact {EMAIL}"),
            listing("beta", "b1", "IceMan", "Cocaine 2g", f"write to {EMAIL}")]))
    made = run_cli("graph", "FrostLab", "--depth", "2", "--format", "graphml", "--out", str(tmp_path / "g.graphml"),
                   "--store", str(store_path))
    assert made.returncode == 0 and "4 entities, 3 links" in made.stderr, made.stderr  # and market alpha
    read = nx.read_graphml(tmp_path / "g.graphml")
    assert {d["label"] for _, d in read.nodes(data=True) if d["kind"] == "vendor"} == {"FrostLab", "IceMan"}
    missing = run_cli("graph", "nobody-at-all", "--store", str(store_path))
    assert missing.returncode == 2 and "no vendor, identifier or market" in missing.stderr
