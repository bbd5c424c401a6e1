"""The frontier's Redis side: keys, the Lua scripts that make each step atomic, the leasing
queue and the shared fingerprint filter (both scrapy-redis classes), and worker liveness."""

from __future__ import annotations

from dataclasses import dataclass

from redis import Redis, RedisError
from scrapy.http import Request
from scrapy_redis.dupefilter import RFPDupeFilter
from scrapy_redis.queue import PriorityQueue

from crawlers.history import runner_alive

LEASE_META = "interdict_lease"

POP_SCRIPT = """
local m = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
if #m == 0 then return false end
redis.call('ZREM', KEYS[1], m[1])
redis.call('HSET', KEYS[2], m[1], m[2])
return m[1]
"""
# The fingerprint is recorded and the request queued in one step: a kill between the two
# would otherwise leave a page "seen" that nobody will ever fetch.
PUSH_SCRIPT = """
if ARGV[1] ~= '' and redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
return 1
"""
REQUEUE_SCRIPT = """
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do redis.call('ZADD', KEYS[2], all[i + 1], all[i]) end
redis.call('DEL', KEYS[1])
redis.call('HDEL', KEYS[3], ARGV[1])
return #all / 2
"""
PENDING_SCRIPT = """
local n = redis.call('ZCARD', KEYS[1])
for _, w in ipairs(redis.call('HKEYS', KEYS[2])) do
  if w ~= ARGV[2] then n = n + redis.call('HLEN', ARGV[1] .. w) end
end
return n
"""
COMPLETE_SCRIPT = """
if redis.call('EXISTS', KEYS[3]) == 0 or redis.call('ZCARD', KEYS[1]) > 0 then return 0 end
for _, w in ipairs(redis.call('HKEYS', KEYS[2])) do
  if redis.call('HLEN', ARGV[1] .. w) > 0 then return 0 end
end
redis.call('DEL', KEYS[1], KEYS[3], KEYS[4])
return 1
"""


def frontier_prefix(market: str) -> str:
    return f"interdict:frontier:{market}"


def connect(url: str) -> Redis:
    """A client for the frontier's server outside the scheduler (claims, status)."""
    return Redis.from_url(url, socket_connect_timeout=10, socket_timeout=10)


def unreachable(exc: RedisError, since_start: bool = False) -> str:
    """The one wording of a Redis outage, for stats, logs, reports and job reasons."""
    return f"the crawl frontier (Redis) {'became' if since_start else 'is'} unreachable: {str(exc).rstrip('.')}"


def server_time(server) -> float:
    """Heartbeats are stamped and judged by Redis's clock: hosts' clocks may disagree."""
    seconds, micros = server.time()
    return seconds + micros / 1e6


def live_workers(server, market: str, lease_timeout: float) -> list[str]:
    """Workers of the market's crawl that are alive (see is_dead)."""
    beats, now = server.hgetall(frontier_prefix(market) + ":workers"), server_time(server)
    return [w.decode() for w, at in beats.items() if not is_dead(w.decode(), now - float(at), lease_timeout)]


@dataclass
class FrontierState:
    """A market's crawl on the shared frontier, as `interdict status` shows it."""
    started: str  # when the crawl under way began; "" when none is
    queued: int
    in_hand: int  # leased by workers, alive or dead
    workers: int  # alive


def frontier_state(server, market: str, lease_timeout: float) -> FrontierState:
    prefix = frontier_prefix(market)
    started = server.hget(prefix + ":meta", "started")
    in_hand = sum(server.hlen(f"{prefix}:leases:{w.decode()}") for w in server.hkeys(prefix + ":workers"))
    return FrontierState(started.decode() if started else "", server.zcard(prefix + ":queue"), in_hand,
                         len(live_workers(server, market, lease_timeout)))


def is_dead(worker: str, silent_for: float, lease_timeout: float) -> bool:
    """A worker on this host is dead once its process is; one elsewhere once its heartbeat
    is older than the lease timeout."""
    return not runner_alive(worker.rsplit(":", 1)[0]) or silent_for > lease_timeout


class FingerprintDupeFilter(RFPDupeFilter):
    """scrapy-redis's shared filter, keyed by the project's own request fingerprints (a page
    served by another mirror of the market is the same page)."""

    def __init__(self, server, key, debug=False, fingerprinter=None):
        super().__init__(server, key, debug)
        self.fingerprinter = fingerprinter

    def request_fingerprint(self, request: Request) -> str:
        return self.fingerprinter.fingerprint(request).hex()


class LeasedPriorityQueue(PriorityQueue):
    """scrapy-redis's priority queue whose pop leases instead of removing."""

    def __init__(self, server, spider, key, serializer=None, leases: str = ""):
        super().__init__(server, spider, key, serializer)
        self.leases = leases
        self._pop, self._push = server.register_script(POP_SCRIPT), server.register_script(PUSH_SCRIPT)

    def encode(self, request: Request) -> bytes:
        return self._encode_request(request)

    def decode(self, data: bytes) -> Request:
        return self._decode_request(data)

    def push_new(self, seen_key: str, fingerprint: str, request: Request) -> bool:
        return bool(self._push(keys=[seen_key, self.key], args=[fingerprint, -request.priority, self.encode(request)]))

    def pop_leased(self) -> bytes | None:
        return self._pop(keys=[self.key, self.leases])
