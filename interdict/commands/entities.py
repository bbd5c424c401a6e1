"""`interdict graph`: the correlation graph around a vendor, an identifier or a market —
the identifiers vendors show, the markets they sell on, vendors sharing a name or scored as
candidates — as GraphML or JSON for Gephi and networkx (docs/entities.md)."""

from __future__ import annotations

import sys

from interdict.commands.base import Command, add_store_option, write_out
from interdict.errors import UserError


class Graph(Command):
    name = "graph"
    help = "the correlation graph around an entity, as GraphML or JSON"
    description = ("ENTITY: vendor:ID, identifier:VALUE, market:NAME, or a bare vendor name (the one with most "
                   "listings; the same name on other markets links to it), identifier as written or market name. "
                   "Links carry their evidence (the latest listings or profile that showed them, and when); "
                   "candidates (like names on other markets with the same routes or products) carry a score.")

    def add_options(self, parser):
        parser.add_argument("entity", metavar="ENTITY")
        parser.add_argument("--depth", type=int, default=2, choices=[1, 2, 3])
        parser.add_argument("--format", default="json", choices=["json", "graphml"])
        parser.add_argument("--max-nodes", type=int, default=150, metavar="N")
        parser.add_argument("--no-candidates", action="store_true", help="leave out name-similarity candidates")
        parser.add_argument("--out", metavar="FILE", help="write here instead of stdout")
        add_store_option(parser)

    def run(self, args, config) -> int:
        from index import open_store
        from index.entity_graph import EntityNotFound, GraphBuilder
        from interdict.graphs import to_graphml, to_json

        if args.max_nodes < 1:
            raise UserError("--max-nodes: 1 or more")
        with open_store(config, args.store) as store:
            try:
                graph = GraphBuilder(store, args.depth, args.max_nodes, not args.no_candidates).build(args.entity)
            except EntityNotFound as exc:
                raise UserError(str(exc)) from None
        text = to_graphml(graph) if args.format == "graphml" else to_json(graph)
        write_out(text, args.out)
        print(f"{len(graph.nodes)} entities, {len(graph.edges)} links around {graph.center}"
              + (" (capped: some left out)" if graph.truncated else ""), file=sys.stderr)
        return 0
