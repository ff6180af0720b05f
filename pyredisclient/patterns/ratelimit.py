"""Atomic rate limits: a fixed window and a sliding window, one Lua script each.

::

    limiter = RateLimiter(client, limit=100, period=60)                  # fixed window
    limiter = RateLimiter(client, limit=100, period=60, sliding=True)    # sliding log
    result = limiter.hit("user:42")
    if not result.allowed:
        ...  # result.retry_after seconds until a request would pass

Each decision is one script run on the server, so concurrent callers (threads,
tasks, processes, hosts) never get more grants than *limit* in a window. The
sliding window is exact: at most *limit* grants in any interval of *period*
seconds; it keeps one sorted-set entry per grant. Time is the server's (TIME),
so hosts with skewed clocks agree. Keys are ``{namespace}:{identity}`` inside
the client's key_prefix (namespace ``ratelimit``, or ``ratelimit:sliding``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._steps import Steps, run_async, run_sync
from ..client.aio import AsyncRedisClient
from ..client.sync import RedisClient
from ._script import library_script

__all__ = ["AsyncRateLimiter", "RateLimitResult", "RateLimiter"]

# KEYS[1] the counter; ARGV: limit, window ms, cost.
# Returns {allowed, remaining, reset_after ms, retry_after ms}.
_FIXED = library_script(
    """
local limit, window, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then ttl = window end
if used + cost > limit then
  return {0, math.max(limit - used, 0), ttl, ttl}
end
used = redis.call('INCRBY', KEYS[1], cost)
if redis.call('PTTL', KEYS[1]) < 0 then redis.call('PEXPIRE', KEYS[1], window) end
return {1, limit - used, ttl, 0}
"""
)

# KEYS[1] a sorted set of grants scored by their time in microseconds.
# ARGV: limit, window us, cost. Returns as above (in ms, rounded up).
_SLIDING = library_script(
    """
local limit, window, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.0f', now - window))
local used = redis.call('ZCARD', KEYS[1])
local function ms(us) return math.ceil(math.max(us, 0) / 1000) end
if used + cost > limit then
  local retry = window
  if cost <= limit then
    local nth = redis.call('ZRANGE', KEYS[1], used + cost - limit - 1, used + cost - limit - 1,
                           'WITHSCORES')
    retry = tonumber(nth[2]) + window - now
  end
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  return {0, math.max(limit - used, 0), ms(tonumber(last[2]) + window - now), ms(retry)}
end
for i = 1, cost do
  redis.call('ZADD', KEYS[1], string.format('%.0f', now), t[1] .. '.' .. t[2] .. ':' .. (used + i))
end
redis.call('PEXPIRE', KEYS[1], ms(window))
return {1, limit - used - cost, ms(window), 0}
"""
)


@dataclass(frozen=True)
class RateLimitResult:
    """One decision: *allowed*; *remaining* grants in the window; *reset_after*
    seconds until the window is whole again; *retry_after* seconds until a
    request of the same cost could pass (0 when allowed)."""

    allowed: bool
    remaining: int
    reset_after: float
    retry_after: float

    def headers(self, limit: int) -> dict[str, str]:
        """HTTP headers for the decision (``Retry-After`` only when refused)."""
        out = {
            "RateLimit-Limit": str(limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(math.ceil(self.reset_after)),
        }
        if not self.allowed:
            out["Retry-After"] = str(max(1, math.ceil(self.retry_after)))
        return out


class _Limiter:
    def __init__(
        self,
        client: Any,
        limit: int,
        period: float,
        *,
        sliding: bool = False,
        namespace: str | None = None,
    ) -> None:
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValueError(f"limit must be an int >= 1, got {limit!r}")
        if not period > 0:
            raise ValueError(f"period must be > 0 seconds, got {period!r}")
        self.client = client
        self.limit = limit
        self.period = float(period)
        self.sliding = sliding
        # The two kinds keep different types under a key: never the same default.
        self.namespace = namespace or ("ratelimit:sliding" if sliding else "ratelimit")

    def __repr__(self) -> str:
        kind = "sliding" if self.sliding else "fixed"
        return f"<{type(self).__name__} {self.limit}/{self.period:g}s {kind} {self.namespace!r}>"

    def _steps(self, identity: str, cost: int) -> Steps[RateLimitResult]:
        if not isinstance(cost, int) or cost < 1:
            raise ValueError(f"cost must be an int >= 1, got {cost!r}")
        key = f"{self.namespace}:{identity}"
        if self.sliding:
            window = max(1, round(self.period * 1_000_000))
            script = _SLIDING
        else:
            window = max(1, math.ceil(self.period * 1000))
            script = _FIXED
        reply = yield from script.steps(self.client, (key,), (self.limit, window, cost))
        allowed, remaining, reset_ms, retry_ms = (int(x) for x in reply)
        return RateLimitResult(bool(allowed), remaining, reset_ms / 1000, retry_ms / 1000)

    def _reset_steps(self, identity: str) -> Steps[None]:
        yield self.client.delete(f"{self.namespace}:{identity}")


class RateLimiter(_Limiter):
    """At most *limit* grants per *period* seconds and identity, on a RedisClient."""

    client: RedisClient

    def hit(self, identity: str, cost: int = 1) -> RateLimitResult:
        """Take *cost* grants for *identity* if all are available; else take none."""
        return run_sync(self._steps(identity, cost))

    def reset(self, identity: str) -> None:
        """Forget *identity*'s grants."""
        run_sync(self._reset_steps(identity))


class AsyncRateLimiter(_Limiter):
    """:class:`RateLimiter` on an AsyncRedisClient."""

    client: AsyncRedisClient

    async def hit(self, identity: str, cost: int = 1) -> RateLimitResult:
        """Take *cost* grants for *identity* if all are available; else take none."""
        return await run_async(self._steps(identity, cost))

    async def reset(self, identity: str) -> None:
        """Forget *identity*'s grants."""
        await run_async(self._reset_steps(identity))
