"""Scrapy's downloader with per-slot concurrency that actually holds.

In Scrapy 2.19 `Downloader._process_queue` schedules each download as a coroutine and
only that coroutine marks the request as transferring; the loop deciding how many to
start sees free slots until the queue is empty. Measured here: a market slot of 3 had 12
requests in flight. Counting the request as transferring before scheduling it restores
the bound (tests/test_transport.py counts requests in flight at the server). Scrapy is
pinned to 2.19.x; the same test file fails if these internals move.
"""

from __future__ import annotations

from time import monotonic

from scrapy.core.downloader import Downloader, Slot
from scrapy.utils.asyncio import call_later
from scrapy.utils.defer import _schedule_coro


class SlotBoundDownloader(Downloader):
    def _process_queue(self, slot: Slot) -> None:
        if slot.latercall:
            return
        now = monotonic()
        delay = slot.download_delay()
        if delay:
            penalty = delay - now + slot.lastseen
            if penalty > 0:
                slot.latercall = call_later(penalty, self._latercall, slot)
                return
        while slot.queue and slot.free_transfer_slots() > 0:
            slot.lastseen = now
            request, queue_dfd = slot.queue.popleft()
            slot.transferring.add(request)  # counted now; _download() adds it again (a set)
            _schedule_coro(self._wait_for_download(slot, request, queue_dfd))
            if delay:
                self._process_queue(slot)
                break
