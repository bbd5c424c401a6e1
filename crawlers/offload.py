"""Work kept off the reactor thread: writing WARC records (compressing, hashing, writing)
costs milliseconds a page, and in the reactor thread it stalls every download in flight.
Each kind of work gets one worker thread that runs its jobs in the order they were handed
over (records reach their file in fetch order). ``when_done`` awaits the pages that
crawlers/reading.py reads in other processes."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from functools import lru_cache
from typing import Any

from twisted.internet.defer import Deferred
from twisted.python.failure import Failure


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


def when_done(future: Future) -> Deferred:
    """A Deferred fired in the reactor thread when a concurrent future is done."""
    from twisted.internet import reactor

    done: Deferred = Deferred()

    def fire(result: Future) -> None:
        if result.exception() is not None:
            done.errback(Failure(result.exception()))
        else:
            done.callback(result.result())

    future.add_done_callback(lambda result: reactor.callFromThread(fire, result))
    return done
