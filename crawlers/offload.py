"""Work kept off the reactor thread. Enrichment, store writes and WARC records cost
milliseconds each; run in the reactor thread they stall every download in flight, so a
crawl stopped scaling with concurrency. Each kind of work gets one worker thread that runs
its jobs in the order they were handed over (batches reach the store in crawl order, WARC
records their file in fetch order), and a caller that has too many jobs waiting waits too
(back-pressure up to Scrapy's scheduler)."""

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
    """The process's worker of that name: the spiders of one process (the demo crawls two
    markets at once) share one enrichment pipeline, which is not made for two threads."""
    return OrderedWorker(name)


class InFlight:
    """Jobs handed to a worker and not yet done, with a bound: ``wait_below`` fires once fewer
    than ``limit`` remain."""

    def __init__(self, limit: int):
        self.limit = limit
        self.jobs: list[Deferred] = []
        self.waiters: list[tuple[int, Deferred]] = []

    def add(self, job: Deferred) -> Deferred:
        self.jobs.append(job)
        job.addBoth(self._done, job)
        return job

    def _done(self, result: Any, job: Deferred) -> Any:
        self.jobs.remove(job)
        ready = [(n, w) for n, w in self.waiters if len(self.jobs) < n]
        self.waiters = [(n, w) for n, w in self.waiters if len(self.jobs) >= n]
        for _, waiter in ready:
            waiter.callback(None)
        return result

    def wait_below(self, count: int | None = None) -> Deferred:
        """Fires when fewer than ``count`` (default: the limit) jobs are in flight; at once if so."""
        count = self.limit if count is None else count
        waiter: Deferred = Deferred()
        if len(self.jobs) < count:
            waiter.callback(None)
        else:
            self.waiters.append((count, waiter))
        return waiter

    def wait_all(self) -> Deferred:
        return self.wait_below(1)
