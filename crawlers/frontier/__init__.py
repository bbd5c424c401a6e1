"""A market's crawl frontier shared through Redis (scrapy-redis), safe to kill at any point.

scrapy-redis pops a request destructively: a worker killed after the pop loses the page. Here
a pop moves the request into the popping worker's lease (a Redis hash) and the lease is
settled only once what the page gave is safe: its links in the shared queue and its items
committed by the index pipeline (crawlers.signals). A dead worker's leases go back to the
queue. So several workers share one market's crawl without fetching a page twice, and a crawl
killed anywhere resumes at its next start without losing a listing.

Keys per market, under interdict:frontier:<market>: queue (sorted set), seen (fingerprints),
meta (when the crawl began), workers (heartbeats), leases:<worker>. The crawl is complete, and
every key deleted, when the queue is empty and no worker holds a lease (decided once, in Lua).
"""

from crawlers.frontier.keys import (
    LEASE_META,
    FingerprintDupeFilter,
    FrontierState,
    LeasedPriorityQueue,
    connect,
    frontier_prefix,
    frontier_state,
    live_workers,
    unreachable,
)
from crawlers.frontier.middleware import FrontierMiddleware
from crawlers.frontier.scheduler import Frontier

# the names the settings (SCHEDULER, DUPEFILTER_CLASS, SPIDER_MIDDLEWARES) and tools use
__all__ = ["LEASE_META", "FingerprintDupeFilter", "Frontier", "FrontierMiddleware", "FrontierState",
           "LeasedPriorityQueue", "connect", "frontier_prefix", "frontier_state", "live_workers", "unreachable"]
