"""The correlation graph around an entity, read from a store: vendors, the identifiers they
show (PGP keys, wallets, e-mails, handles, onions…) and the markets they sell on, each link with
its evidence (the listings or profile that showed it, and when), out to a depth of 1 to 3 links
and capped in size. Vendors on other markets with a like name and the same routes or products
are added as scored candidates: a lead to check, never a finding."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from difflib import SequenceMatcher

from contracts.documents import ListingDocument, VendorDocument, vendor_id
from contracts.graph import EntityGraph, Evidence, GraphEdge, GraphNode
from contracts.identifiers import identifier_key, identifiers_in_text
from contracts.text import fold
from index.query import Query
from index.store import Store

MAX_NODES = 150
PER_NODE = 25  # links followed from one node (a market's top vendors, an identifier's holders)
EVIDENCE = 3  # evidence items kept per link, the latest
READ = 200  # listings read per vendor or identifier
CANDIDATE_SCORE = 0.6
_NAME_NOISE = re.compile(r"(_?(eu|uk|us|usa|official|shop|store|team)$)|[\d_.\-\s]+")


class EntityNotFound(LookupError):
    pass


def _evidence(doc: ListingDocument) -> Evidence:
    return Evidence(kind="listing", id=doc.id, market=doc.market, seen=doc.last_seen)


def _bare_name(name: str) -> str:
    """A vendor name without what sellers vary across markets (suffixes, digits, separators)."""
    return _NAME_NOISE.sub("", fold(name)) or fold(name)


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


@dataclass
class _Link:
    evidence: list[Evidence] = field(default_factory=list)
    count: int = 0

    def add(self, evidence: Evidence) -> None:
        self.count += 1
        self.evidence.append(evidence)
        self.evidence.sort(key=lambda e: e.seen, reverse=True)
        del self.evidence[EVIDENCE:]


# (the node linked to, the relation, its evidence, the edge's other fields: a candidate's score and reason)
Neighbour = tuple[str, str, "_Link | None", dict[str, Any]]


class GraphBuilder:
    def __init__(self, store: Store, depth: int = 2, max_nodes: int = MAX_NODES, candidates: bool = True):
        if not 1 <= depth <= 3:
            raise ValueError("depth is 1, 2 or 3")
        self.store, self.depth, self.max_nodes, self.candidates = store, depth, max_nodes, candidates
        self.nodes: dict[str, GraphNode] = {}
        self.edges: dict[tuple[str, ...], GraphEdge] = {}
        # what a node's construction reads and its expansion reads again, read once
        self._listings: dict[str, tuple[list[ListingDocument], int]] = {}
        self._profiles: dict[str, VendorDocument | None] = {}
        self._shown: dict[str, tuple[list[ListingDocument], list[str]]] = {}
        self.truncated = False
        self._vendors: dict[str, tuple[str, str, int]] | None = None

    # -- what an entity is -------------------------------------------------------------------
    def resolve(self, entity: str) -> str:
        """The node id of ``entity``: "vendor:ID", "identifier:VALUE", "market:NAME", or a bare
        vendor id, identifier or market name."""
        kind, sep, value = entity.partition(":")
        if sep and kind in ("vendor", "identifier", "market") and value:
            if kind == "identifier":
                return f"identifier:{identifier_key(value)}"
            return f"{kind}:{value if kind == 'vendor' else fold(value)}"
        text = entity.strip()
        if re.fullmatch(r"[0-9a-f]{32}", text) and (self._profile(text) or self._vendor_listings(text)[1]):
            return f"vendor:{text}"
        keys, rest = identifiers_in_text(text)
        if keys and not rest:
            return f"identifier:{keys[0]}"
        if self.store.search(Query(filters={"market": [text]}, limit=0)).total:
            return f"market:{fold(text)}"
        # a name on several markets: the one with most listings; the others link to it by name
        named = sorted((-count, vid) for vid, (name, _, count) in self.vendors().items() if fold(name) == fold(text))
        if named:
            return f"vendor:{named[0][1]}"
        raise EntityNotFound(f"no vendor, identifier or market {text!r} in the index")

    def vendors(self) -> dict[str, tuple[str, str, int]]:
        """vendor id -> (name, market, listings), every vendor with a listing."""
        if self._vendors is None:
            facet = self.store.search(Query(facets=["vendor_id"], facet_size=1000, limit=0)).facets.get("vendor_id", [])
            self._vendors = {}
            for count in facet:
                name, _, market = count.label.rpartition(" (")
                self._vendors[count.value] = (name, market.rstrip(")"), count.count)
        return self._vendors

    # -- building ----------------------------------------------------------------------------
    def build(self, entity: str) -> EntityGraph:
        center = self.resolve(entity)
        if not self._node(center, 0):
            raise EntityNotFound(f"{entity!r} is not in the index")
        queue = deque([center])
        while queue:
            node_id = queue.popleft()
            node = self.nodes[node_id]
            # a market reached from elsewhere is where a vendor sells, not a lead: only a market
            # at the centre brings its vendors in
            if node.depth >= self.depth or (node.kind == "market" and node.depth > 0):
                continue
            for neighbour in self._expand(node):
                queue.append(neighbour)
        return EntityGraph(center=center, depth=self.depth, nodes=list(self.nodes.values()),
                           edges=list(self.edges.values()), truncated=self.truncated)

    def _node(self, node_id: str, depth: int) -> bool:
        """Add the node (True), or say it is not there (False)."""
        if node_id in self.nodes:
            return True
        if len(self.nodes) >= self.max_nodes:
            self.truncated = True
            return False
        kind, _, value = node_id.partition(":")
        node = {"vendor": self._vendor_node, "identifier": self._identifier_node, "market": self._market_node}[kind](
            node_id, value, depth)
        if node is None:
            return False
        self.nodes[node_id] = node
        return True

    def _link(self, source: str, target: str, relation, found: _Link | None = None, **extra) -> None:
        key = (source, target) if relation not in ("candidate", "same name") else tuple(sorted((source, target)))
        if key not in self.edges and source in self.nodes and target in self.nodes:
            self.edges[key] = GraphEdge(source=source, target=target, relation=relation,
                                        evidence=found.evidence if found else [],
                                        evidence_count=found.count if found else 0, **extra)

    def _expand(self, node: GraphNode) -> list[str]:
        kind, _, value = node.id.partition(":")
        added = []
        links = {"vendor": self._vendor_links, "identifier": self._identifier_links,
                 "market": self._market_links}[kind](value)
        for target, relation, found, extra in links:
            fresh = target not in self.nodes
            if not self._node(target, node.depth + 1):
                continue
            # links run from a vendor: to what it shows, where it sells, who it may be
            source, other = (node.id, target) if kind == "vendor" else (target, node.id)
            self._link(source, other, relation, found, **extra)
            if fresh:
                added.append(target)
        return added

    # -- vendors -----------------------------------------------------------------------------
    def _vendor_listings(self, vid: str) -> tuple[list[ListingDocument], int]:
        """The vendor's latest READ listings, and how many it has."""
        if vid not in self._listings:
            found = self.store.search(Query(filters={"vendor_id": [vid]}, sort="-last_seen", limit=READ))
            self._listings[vid] = [h.document for h in found.hits], found.total
        return self._listings[vid]

    def _profile(self, vid: str) -> VendorDocument | None:
        if vid not in self._profiles:
            self._profiles[vid] = self.store.get_vendor(vid)
        return self._profiles[vid]

    def _vendor_node(self, node_id: str, vid: str, depth: int) -> GraphNode | None:
        docs, total = self._vendor_listings(vid)
        profile = self._profile(vid)
        if profile is None and not docs:
            return None
        name = profile.name if profile else docs[0].data.listing.vendor.name
        market = profile.market if profile else docs[0].market
        seen = [d.first_seen for d in docs] + ([profile.first_seen] if profile else [])
        last = [d.last_seen for d in docs] + ([profile.last_seen] if profile else [])
        return GraphNode(id=node_id, kind="vendor", label=name, depth=depth, first_seen=min(seen), last_seen=max(last),
                         listings=total, detail=market)

    def _vendor_links(self, vid: str) -> list[Neighbour]:
        docs, total = self._vendor_listings(vid)
        shows: dict[str, _Link] = {}
        profile = self._profile(vid)
        if profile is not None:
            for i in profile.data.enrichment.identifiers:
                if i.valid:
                    shows.setdefault(identifier_key(i.value), _Link()).add(
                        Evidence(kind="profile", id=profile.id, market=profile.market, seen=profile.last_seen))
        for doc in docs:
            for value in dict.fromkeys(doc.data.enrichment.identifier_values()):
                shows.setdefault(identifier_key(value), _Link()).add(_evidence(doc))
        market = profile.market if profile else (docs[0].market if docs else "")
        sells = _Link()
        for doc in docs:
            sells.add(_evidence(doc))
        sells.count = total
        links: list[Neighbour] = [(f"market:{fold(market)}", "sells on", sells, {})] if market else []
        busiest = sorted(shows.items(), key=lambda kv: -kv[1].count)
        self.truncated |= len(busiest) > PER_NODE
        links += [(f"identifier:{key}", "shows", found, {}) for key, found in busiest[:PER_NODE]]
        node = self.nodes.get(f"vendor:{vid}")
        same = fold(node.label) if node else ""
        links += [(f"vendor:{other}", "same name", None, {}) for other, (name, elsewhere, _) in self.vendors().items()
                  if other != vid and elsewhere != market and fold(name) == same]
        if self.candidates:
            links += self._candidates(vid, market)
        return links

    def _candidates(self, vid: str, market: str) -> list[Neighbour]:
        """Vendors on other markets with a like name and the same routes or products."""
        vendors = self.vendors()
        node = self.nodes.get(f"vendor:{vid}")
        name = node.label if node else vendors.get(vid, ("", market, 0))[0]
        bare = _bare_name(name)
        mine = None
        found: list[Neighbour] = []
        for other, (other_name, other_market, _) in vendors.items():
            if other == vid or other_market == market or fold(other_name) == fold(name):
                continue  # the same name is a link of its own
            alike = SequenceMatcher(None, bare, _bare_name(other_name)).ratio()
            if alike < 0.8:
                continue
            mine = mine or self._profile_of(vid)
            theirs = self._profile_of(other)
            products, routes = _jaccard(mine[0], theirs[0]), _jaccard(mine[1], theirs[1])
            score = round(0.5 * alike + 0.25 * products + 0.25 * routes, 3)
            if score >= CANDIDATE_SCORE:
                reason = (f"name {name!r} ~ {other_name!r} ({alike:.2f}); products in common "
                          f"{', '.join(sorted(mine[0] & theirs[0])) or 'none'}; ships from "
                          f"{', '.join(sorted(mine[1] & theirs[1])) or 'no same place'}")
                found.append((f"vendor:{other}", "candidate", None, {"score": score, "reason": reason}))
        return sorted(found, key=lambda f: -float(f[3]["score"]))[:PER_NODE]

    def _profile_of(self, vid: str) -> tuple[set[str], set[str]]:
        """(products, ships-from places) of a vendor's listings."""
        facets = self.store.search(Query(filters={"vendor_id": [vid]}, facets=["product", "ships_from"],
                                         facet_size=50, limit=0)).facets
        return ({c.value for c in facets.get("product", [])}, {c.value for c in facets.get("ships_from", [])})

    # -- identifiers -------------------------------------------------------------------------
    def _identifier_shown(self, key: str) -> tuple[list[ListingDocument], list[str]]:
        """The listings that show the identifier themselves (a search by it also finds the
        listings of vendors whose profile shows it), and the vendors whose profile shows it."""
        if key not in self._shown:
            found = self.store.search(Query(filters={"identifier": [key]}, sort="-last_seen", limit=READ)).hits
            docs = [h.document for h in found
                    if key in {identifier_key(v) for v in h.document.data.enrichment.identifier_values()}]
            self._shown[key] = docs, self.store.vendors_with_identifiers([key]).get(key, [])
        return self._shown[key]

    def _identifier_node(self, node_id: str, key: str, depth: int) -> GraphNode | None:
        docs, holders = self._identifier_shown(key)
        if not docs and not holders:
            return None
        shown, kind = key, ""
        for doc in docs:
            for i in doc.data.enrichment.identifiers:
                if i.valid and identifier_key(i.value) == key:
                    shown, kind = i.value, i.kind
        for vid in holders[:1] if not kind else []:
            profile = self._profile(vid)
            for i in (profile.data.enrichment.identifiers if profile else []):
                if i.valid and identifier_key(i.value) == key:
                    shown, kind = i.value, i.kind
        seen = [d.first_seen for d in docs]
        return GraphNode(id=node_id, kind="identifier", label=shown, depth=depth, detail=kind, listings=len(docs),
                         first_seen=min(seen) if seen else None,
                         last_seen=max(d.last_seen for d in docs) if docs else None)

    def _identifier_links(self, key: str) -> list[Neighbour]:
        shown_by: dict[str, _Link] = {}
        docs, holders = self._identifier_shown(key)
        for doc in docs:
            shown_by.setdefault(vendor_id(doc.market, doc.data.listing.vendor.name), _Link()).add(_evidence(doc))
        for vid in holders:
            profile = self._profile(vid)
            if profile is not None:
                shown_by.setdefault(vid, _Link()).add(
                    Evidence(kind="profile", id=vid, market=profile.market, seen=profile.last_seen))
        busiest = sorted(shown_by.items(), key=lambda kv: -kv[1].count)
        self.truncated |= len(busiest) > PER_NODE
        return [(f"vendor:{vid}", "shows", found, {}) for vid, found in busiest[:PER_NODE]]

    # -- markets -----------------------------------------------------------------------------
    def _market_node(self, node_id: str, name: str, depth: int) -> GraphNode | None:
        first = self.store.search(Query(filters={"market": [name]}, sort="first_seen", limit=1))
        if not first.total:
            return None
        last = self.store.search(Query(filters={"market": [name]}, sort="-last_seen", limit=1)).hits[0].document
        return GraphNode(id=node_id, kind="market", label=last.market, depth=depth, listings=first.total,
                         first_seen=first.hits[0].document.first_seen, last_seen=last.last_seen)

    def _market_links(self, name: str) -> list[Neighbour]:
        facet = self.store.search(Query(filters={"market": [name]}, facets=["vendor_id"], facet_size=PER_NODE + 1,
                                        limit=0)).facets.get("vendor_id", [])
        self.truncated |= len(facet) > PER_NODE
        links: list[Neighbour] = []
        for count in facet[:PER_NODE]:
            found = _Link()
            found.count = count.count
            links.append((f"vendor:{count.value}", "sells on", found, {}))
        return links
