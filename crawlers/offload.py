"""Work kept off the reactor thread: writing WARC records (compressing, hashing, writing)
costs milliseconds a page, and in the reactor thread it stalls every download in flight.
Each kind of work gets one worker thread that runs its jobs in the order they were handed
over (records reach their file in fetch order)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from twisted.internet.defer import Deferred


class OrderedWorker:
    """One thread, jobs in order; ``run`` answers a Deferred fired in the reactor thread."""

    def __init__(self, name: str):
        from twisted.internet import reactor  # the crawl's reactor, installed by now
        from twisted.python.threadpool import ThreadPool

        self.reactor = reactor
        self.pool = ThreadPool(minthreads=1, maxthreads=1, name=name)
        self.pool.start()
        reactor.addSystemEventTrigger("during", "shutdown", self.stop)

    def run(self, job: Callable[..., Any], *args: Any, **kwargs: Any) -> Deferred:
        from twisted.internet.threads import deferToThreadPool

        return deferToThreadPool(self.reactor, self.pool, job, *args, **kwargs)

    def stop(self) -> None:
        if self.pool.started:
            self.pool.stop()  # lets the job under way finish


@lru_cache(maxsize=None)
def shared_worker(name: str) -> OrderedWorker:
    """The process's worker of that name, shared by the spiders of one process (the demo
    crawls two markets at once)."""
    return OrderedWorker(name)
