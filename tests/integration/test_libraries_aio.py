"""Libraries written for redis.asyncio, handed an AsyncRedisClient: fastapi-cache2,
saq (an asyncio job queue), aiogram (a Telegram bot's conversation state),
Litestar's RedisStore, fastapi-users' RedisStrategy and starsessions' RedisStore,
installed from PyPI by the test extras (scripts/setup.sh)."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import Any, Dict, List

import pytest

import pyredisclient


def test_fastapi_cache2_with_the_async_client(redis_url: str) -> None:
    pytest.importorskip("fastapi_cache")
    from fastapi import FastAPI
    from fastapi_cache import FastAPICache
    from fastapi_cache.backends.redis import RedisBackend
    from fastapi_cache.decorator import cache

    httpx = pytest.importorskip("httpx")
    calls: List[int] = []
    app = FastAPI()

    @app.get("/item/{n}")
    @cache(expire=60)
    async def item(n: int) -> Dict[str, int]:
        calls.append(n)
        return {"n": n, "calls": len(calls)}

    async def main() -> List[Any]:
        async with pyredisclient.AsyncRedisClient.from_url(redis_url) as r:
            FastAPICache.init(RedisBackend(r), prefix="fc")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
                first = (await http.get("/item/1")).json()
                again = (await http.get("/item/1")).json()
                keys = await r.keys("fc:*")
                ttl = await r.ttl(keys[0])
                await FastAPICache.clear(namespace=None)
                return [first, again, len(keys), ttl, await r.keys("fc:*")]

    first, again, stored, ttl, left = asyncio.run(main())
    assert first == again == {"n": 1, "calls": 1} and calls == [1]
    assert stored == 1 and 50 < ttl <= 60 and left == []


def test_saq_queue_and_worker_on_the_async_client(redis_url: str) -> None:
    """saq's RedisQueue takes a redis.asyncio client: jobs enqueued and run by a
    worker (BLMOVE and Lua scripts), ``apply``, a job's status changes heard through
    pub/sub (PSUBSCRIBE) up to its retried success, and ``disconnect()`` (the
    pool's) at the end."""
    pytest.importorskip("saq")
    from saq import Job, Status, Worker
    from saq.queue.redis import RedisQueue

    from pyredisclient.aio import AsyncRedisClient

    attempts: List[int] = []

    async def add(ctx: Any, *, a: int, b: int) -> int:
        return a + b

    async def flaky(ctx: Any) -> str:
        attempts.append(1)
        if len(attempts) < 2:
            raise ValueError("first attempt fails")
        return "ok"

    async def main() -> List[Any]:
        client = AsyncRedisClient.from_url(redis_url)
        queue = RedisQueue(client, name=f"saq-{time.monotonic_ns()}")
        worker = Worker(queue, functions=[("add", add), ("flaky", flaky)], concurrency=4)
        # The worker's first sweep, run beside its first dequeues, can abort a job
        # caught between BLMOVE and its status update (saq's race, with redis.asyncio
        # too); swept now, the next sweep is a minute away.
        assert await queue.sweep() == []
        task = asyncio.create_task(worker.start())
        try:
            jobs = [await queue.enqueue("add", a=i, b=1) for i in range(10)]
            applied = await queue.apply("add", a=20, b=22, timeout=10)
            for job in jobs:  # polled: refresh(until_complete=) subscribes after it reads,
                deadline = time.monotonic() + 10  # so it can miss a fast job's news
                while job.status != Status.COMPLETE and time.monotonic() < deadline:
                    await asyncio.sleep(0.01)
                    await job.refresh()
            # Pub/sub: listen to a job's key first, then enqueue it.
            seen: List[str] = []

            def heard(key: str, status: Any) -> bool:
                seen.append(status.value)
                return status == Status.COMPLETE

            flaky_job = Job("flaky", key=f"flaky-{time.monotonic_ns()}", retries=2, queue=queue)
            listening = asyncio.create_task(queue.listen([flaky_job.key], heard, timeout=10))
            await asyncio.sleep(0.2)  # the PSUBSCRIBE goes out on the loop
            await queue.enqueue(flaky_job)
            await listening
            await flaky_job.refresh()
            return [
                sorted(j.result for j in jobs),
                applied,
                flaky_job.result,
                seen[-1],
                "queued" in seen,  # after the failed attempt, queued again
                (await queue.info())["queued"],
            ]
        finally:
            await worker.stop()
            task.cancel()
            await queue.disconnect()
            await client.aclose()

    assert asyncio.run(main()) == [list(range(1, 11)), 42, "ok", "complete", True, 0]
    assert len(attempts) == 2


def test_aiogram_fsm_storage_on_the_async_client(redis_url: str) -> None:
    """aiogram's RedisStorage (a Telegram bot's conversation state) takes a
    redis.asyncio client: states and data with their TTLs, and ``close()``, which
    calls ``aclose(close_connection_pool=True)``."""
    pytest.importorskip("aiogram")
    from aiogram.fsm.storage.base import StorageKey
    from aiogram.fsm.storage.redis import DefaultKeyBuilder, RedisStorage

    from pyredisclient.aio import AsyncRedisClient

    async def main() -> List[Any]:
        client = AsyncRedisClient.from_url(redis_url)
        storage = RedisStorage(
            redis=client, key_builder=DefaultKeyBuilder(prefix="ag"), state_ttl=60, data_ttl=30
        )
        key = StorageKey(bot_id=1, chat_id=2, user_id=3)
        await storage.set_state(key, "form:name")
        await storage.set_data(key, {"name": "Ann", "step": 1})
        await storage.update_data(key, {"step": 2})
        seen = [await storage.get_state(key), await storage.get_data(key)]
        keys = sorted(await client.keys("ag:*"))
        ttls = [await client.ttl(k) for k in keys]
        seen += [keys, 25 < ttls[0] <= 30 and 55 < ttls[1] <= 60]
        await storage.set_state(key, None)
        await storage.set_data(key, {})
        seen += [
            await storage.get_state(key),
            await storage.get_data(key),
            await client.keys("ag:*"),
        ]
        await storage.close()
        with pytest.raises(pyredisclient.ConnectionError):
            await client.ping()
        return seen

    assert asyncio.run(main()) == [
        "form:name",
        {"name": "Ann", "step": 2},
        [b"ag:2:3:data", b"ag:2:3:state"],
        True,  # state_ttl and data_ttl
        None,
        {},
        [],
    ]


def test_litestar_redis_store_on_the_async_client(redis_url: str) -> None:
    """Litestar's RedisStore (its server-side sessions, response cache and rate
    limits sit on stores) takes a redis.asyncio client: its Lua get-and-renew,
    namespaces, and ``delete_all`` (SCAN and DEL of the namespace)."""
    pytest.importorskip("litestar")
    from litestar.stores.redis import RedisStore

    from pyredisclient.aio import AsyncRedisClient

    async def main() -> List[Any]:
        client = AsyncRedisClient.from_url(redis_url)
        store = RedisStore(redis=client, namespace="LS", handle_client_shutdown=True)
        await store.set("a", b"1", expires_in=10)
        seen: List[Any] = [await store.get("a"), await store.exists("a")]
        seen.append(5 < (await store.expires_in("a") or 0) <= 10)
        seen.append(await store.get("a", renew_for=timedelta(seconds=100)))
        seen.append(95 < (await store.expires_in("a") or 0) <= 100)  # renewed
        child = store.with_namespace("child")
        await child.set("b", "x")
        seen += [await child.get("b"), sorted(await client.keys("LS*"))]
        await store.delete("a")
        seen.append(await store.get("a"))
        await store.delete_all()
        seen += [await child.get("b"), await client.keys("LS*")]
        await store._shutdown()  # what Litestar's app shutdown calls
        with pytest.raises(pyredisclient.ConnectionError):
            await client.ping()
        return seen

    assert asyncio.run(main()) == [
        b"1",
        True,
        True,
        b"1",
        True,
        b"x",
        [b"LS:a", b"LS_child:b"],
        None,
        None,
        [],
    ]


def test_fastapi_users_redis_strategy_on_the_async_client(redis_url: str) -> None:
    """fastapi-users' RedisStrategy (its database-free login tokens) takes a
    redis.asyncio client: a token written with its lifetime, read back to the
    user, and destroyed at logout."""
    pytest.importorskip("fastapi_users")
    from fastapi_users.authentication import RedisStrategy

    class User:
        id = "u1"

    class Users:  # the two methods of a UserManager the strategy calls
        async def get(self, user_id: str) -> Any:
            return User() if user_id == "u1" else None

        def parse_id(self, value: Any) -> str:
            return str(value)

    async def main() -> List[Any]:
        # decode_responses, as fastapi-users' documentation builds its client
        async with pyredisclient.AsyncRedisClient.from_url(redis_url, decode_responses=True) as r:
            strategy = RedisStrategy(r, lifetime_seconds=60, key_prefix="fu:")
            token = await strategy.write_token(User())
            ttl = await r.ttl(f"fu:{token}")
            user = await strategy.read_token(token, Users())  # type: ignore[arg-type]
            await strategy.destroy_token(token, User())
            gone = await strategy.read_token(token, Users())  # type: ignore[arg-type]
            return [ttl, user, gone, await r.exists(f"fu:{token}")]

    ttl, user, gone, left = asyncio.run(main())
    assert 50 < ttl <= 60 and user.id == "u1"
    assert gone is None and left == 0


def test_starsessions_redis_store_on_the_async_client(redis_url: str) -> None:
    """starsessions' RedisStore (server-side sessions for Starlette and FastAPI)
    takes a redis.asyncio client: a session written by one request is read by the
    next through its cookie, with the store's TTL, and cleared."""
    pytest.importorskip("starsessions")
    httpx = pytest.importorskip("httpx")
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route
    from starsessions import SessionAutoloadMiddleware, SessionMiddleware
    from starsessions.stores.redis import RedisStore

    async def count(request: Any) -> Any:
        request.session["n"] = request.session.get("n", 0) + 1
        return JSONResponse({"n": request.session["n"]})

    async def logout(request: Any) -> Any:
        request.session.clear()
        return JSONResponse({"n": 0})

    async def main() -> List[Any]:
        async with pyredisclient.AsyncRedisClient.from_url(redis_url) as r:
            store = RedisStore(connection=r, prefix="ss:")
            app = Starlette(
                routes=[Route("/count", count), Route("/logout", logout)],
                middleware=[
                    Middleware(SessionMiddleware, store=store, lifetime=60),
                    Middleware(SessionAutoloadMiddleware),
                ],
            )
            transport = httpx.ASGITransport(app=app)
            # https: the session cookie is a secure one
            async with httpx.AsyncClient(transport=transport, base_url="https://t") as http:
                seen = [(await http.get("/count")).json()["n"] for _ in range(3)]
                keys = await r.keys("ss:*")
                ttl = await r.ttl(keys[0])
                await http.get("/logout")
                return [seen, len(keys), ttl, await r.keys("ss:*")]

    seen, stored, ttl, left = asyncio.run(main())
    assert seen == [1, 2, 3] and stored == 1 and 50 < ttl <= 60
    assert left == []
