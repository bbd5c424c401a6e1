"""Python's cyclic garbage collector during a bulk load (`interdict index`)."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# A young pass every so many batches, a full one (the whole heap) every so many more: what cycles
# can hold stays bounded (a bulk load makes few: the heap did not grow without any pass), while
# a pass per batch walked every live record of the runs being read and looked up — 10 % of a
# 100k re-ingest (measured in bench/README.md).
YOUNG_PASS_EVERY = 10
FULL_PASS_EVERY = 50


@contextmanager
def collected_per_batch() -> Iterator[Callable[[], None]]:
    """Inside the block the collector runs when the caller says a batch is done (call the
    function yielded), not every 700 allocations. A bulk load makes millions of short-lived
    containers (decoded records, validated items) and few cycles; the automatic passes walked
    each batch's objects again and again while the batch was alive: a 100k-listing
    `interdict index` took 57 s with them and 48 s with the collector off throughout (one run
    each, bench/README.md). Cycles (an exception's traceback, say) are still freed, within ten
    batches."""
    was_enabled = gc.isenabled()
    batches = 0

    def batch_done() -> None:
        nonlocal batches
        batches += 1
        if batches % YOUNG_PASS_EVERY == 0:
            gc.collect(2 if batches % FULL_PASS_EVERY == 0 else 1)

    gc.disable()
    try:
        yield batch_done
    finally:
        if was_enabled:
            gc.enable()
