"""`interdict import`: pages, archives, WARC files and datasets brought into the store."""

from __future__ import annotations


def cmd_import(args, config) -> int:
    from interdict.imports.run import cmd_import as run

    return run(args, config)
