"""Rate limiters: fixed and sliding windows, atomic under threads and tasks."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from pyredisclient import RedisClient
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.keyprefix import KeyPrefixError
from pyredisclient.patterns import AsyncRateLimiter, RateLimiter, RateLimitResult
from pyredisclient.patterns.ratelimit import _FIXED, _SLIDING

KINDS = [False, True]  # sliding


@pytest.mark.parametrize("sliding", KINDS)
def test_grants_then_refuses(redis_client: RedisClient, sliding: bool) -> None:
    limiter = RateLimiter(redis_client, limit=3, period=10, sliding=sliding)
    results = [limiter.hit("u1") for _ in range(5)]
    assert [r.allowed for r in results] == [True, True, True, False, False]
    assert [r.remaining for r in results] == [2, 1, 0, 0, 0]
    assert results[0].retry_after == 0
    assert 9 < results[3].retry_after <= 10 and 9 < results[3].reset_after <= 10
    assert limiter.hit("u2").allowed  # identities are separate
    assert limiter.hit("u1", cost=1).allowed is False
    limiter.reset("u1")
    assert limiter.hit("u1").remaining == 2


@pytest.mark.parametrize("sliding", KINDS)
def test_cost_is_all_or_nothing(redis_client: RedisClient, sliding: bool) -> None:
    limiter = RateLimiter(redis_client, limit=5, period=10, sliding=sliding)
    assert limiter.hit("c", cost=4).remaining == 1
    refused = limiter.hit("c", cost=2)
    assert not refused.allowed and refused.remaining == 1
    assert limiter.hit("c", cost=1).remaining == 0
    assert not limiter.hit("c", cost=9).allowed  # more than the limit: never


@pytest.mark.parametrize("sliding", KINDS)
def test_window_passes(redis_client: RedisClient, sliding: bool) -> None:
    limiter = RateLimiter(redis_client, limit=2, period=0.3, sliding=sliding)
    assert limiter.hit("w").allowed and limiter.hit("w").allowed
    refused = limiter.hit("w")
    assert not refused.allowed and 0 < refused.retry_after <= 0.3
    time.sleep(refused.retry_after + 0.05)
    assert limiter.hit("w").allowed


def test_sliding_window_has_no_boundary_burst(redis_client: RedisClient) -> None:
    """A fixed window grants 2x the limit across a boundary; the sliding one never does."""
    limiter = RateLimiter(redis_client, limit=4, period=0.6, sliding=True)
    granted: list[float] = []
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:  # bounded: 1.5 s
        if limiter.hit("s").allowed:
            granted.append(time.monotonic())
        time.sleep(0.01)
    assert len(granted) >= 8
    for i, start in enumerate(granted):  # any 0.6 s interval (less clock slack)
        assert sum(1 for t in granted[i:] if t - start < 0.55) <= 4


@pytest.mark.parametrize("sliding", KINDS)
def test_threads_never_get_more_than_the_limit(redis_client: RedisClient, sliding: bool) -> None:
    limiter = RateLimiter(redis_client, limit=25, period=30, sliding=sliding)
    start = threading.Barrier(8)

    def worker() -> int:
        start.wait(timeout=10)
        return sum(limiter.hit("t").allowed for _ in range(20))

    with ThreadPoolExecutor(8) as pool:
        granted = sum(pool.map(lambda _: worker(), range(8)))
    assert granted == 25  # 160 tries, exactly the limit granted


@pytest.mark.parametrize("sliding", KINDS)
def test_tasks_never_get_more_than_the_limit(
    async_redis_client: AsyncRedisClient, sliding: bool
) -> None:
    async def main() -> list[RateLimitResult]:
        limiter = AsyncRateLimiter(async_redis_client, limit=30, period=30, sliding=sliding)
        results = await asyncio.gather(*(limiter.hit("a") for _ in range(200)))
        await limiter.reset("a")
        assert (await limiter.hit("a")).remaining == 29
        return list(results)

    results = asyncio.run(main())
    assert sum(r.allowed for r in results) == 30
    assert sorted(r.remaining for r in results if r.allowed) == list(range(30))


def test_scripts_are_reloaded_after_flush(redis_client: RedisClient) -> None:
    limiter = RateLimiter(redis_client, limit=5, period=10)
    sliding = RateLimiter(redis_client, limit=5, period=10, sliding=True)
    limiter.hit("f"), sliding.hit("f")
    assert redis_client.script_exists(_FIXED.sha, _SLIDING.sha) == [True, True]
    redis_client.script_flush()
    assert limiter.hit("f").remaining == 3  # NOSCRIPT -> EVAL, which caches it again
    assert sliding.hit("f").remaining == 3
    assert redis_client.script_exists(_FIXED.sha, _SLIDING.sha) == [True, True]


def test_key_prefix(redis_client: RedisClient) -> None:
    app = redis_client.with_prefix("app:")
    RateLimiter(app, limit=2, period=10, namespace="rl").hit("x")
    RateLimiter(app, limit=2, period=10, sliding=True, namespace="rs").hit("x")
    assert redis_client.get("app:rl:x") == b"1"
    assert redis_client.zcard("app:rs:x") == 1
    with pytest.raises(KeyPrefixError):  # the client itself still refuses scripts
        app.eval("return 1", 0)
    assert app._scripts_view() is app._scripts_view()
    assert app._scripts_view().with_prefix("x:")._scripts_view() is not app._scripts_view()


def test_headers_and_arguments() -> None:
    refused = RateLimitResult(False, 0, 12.2, 3.1)
    assert refused.headers(10) == {
        "RateLimit-Limit": "10",
        "RateLimit-Remaining": "0",
        "RateLimit-Reset": "13",
        "Retry-After": "4",
    }
    assert "Retry-After" not in RateLimitResult(True, 3, 1.0, 0.0).headers(10)
    for bad in ({"limit": 0, "period": 1}, {"limit": 1.5, "period": 1}, {"limit": 1, "period": 0}):
        with pytest.raises(ValueError):
            RateLimiter(None, **bad)  # type: ignore[arg-type]
    assert repr(RateLimiter(None, 5, 60, sliding=True)) == (
        "<RateLimiter 5/60s sliding 'ratelimit:sliding'>"
    )
    with pytest.raises(ValueError, match="cost"):
        RateLimiter(None, 5, 60).hit("x", cost=0)
