"""`interdict shipments check FILE...`: validate shipment files (CSV or JSON Lines) the way
matching will read them; every bad row named with its row, column and reason."""

from __future__ import annotations

import sys

from matching.contracts import Shipment
from matching.shipments import RowError, read_shipments

EXIT_BAD_ROWS = 1


def cmd_shipments(args, config) -> int:
    shipments = errors = 0
    for name in args.files:
        try:
            for found in read_shipments(name):
                if isinstance(found, RowError):
                    errors += 1
                    print(found.line(name), file=sys.stderr)
                elif isinstance(found, Shipment):
                    shipments += 1
                    if args.json:
                        print(found.model_dump_json())
        except BrokenPipeError:
            raise  # the reader went away (head, jq): handled by the CLI
        except OSError as exc:
            print(f"interdict: {name}: cannot read: {exc.strerror}", file=sys.stderr)
            errors += 1
    print(f"{shipments} shipment(s) read, {errors} problem(s) reported", file=sys.stderr)
    return EXIT_BAD_ROWS if errors else 0
