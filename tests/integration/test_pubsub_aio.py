"""AsyncRedisClient.pubsub(): the asyncio twin, against real servers.

Round trips (channels, patterns, ``async for``, plain and async handlers, the task
runner), cancellation of a task waiting in get_message/listen (the subscription stays
usable; 1,000 cancellations leak no descriptor), reconnects after CLIENT KILL and a
restart, get_message(timeout) on time while the server is down without spinning, and
aclose() from another task. Each test runs its own loop with ``asyncio.run``.
"""

from __future__ import annotations

import asyncio
import resource
import time
import types
import uuid
from typing import Any, Callable, Coroutine, Dict, List, TypeVar

import pytest

from pyredisclient import AsyncRedisClusterClient, ConnectionError, PubSubError, RedisError
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.integrations.testing_topologies import RedisClusterServers
from pyredisclient.pubsub import AsyncPubSub
from pyredisclient.testing import RedisServer

T = TypeVar("T")
ServerFactory = Callable[..., RedisServer]
FAST = {"socket_timeout": 0.5, "retry_base": 0.01, "retry_cap": 0.1, "health_check_interval": 0.3}


def run(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def ch() -> str:
    return f"aps:{uuid.uuid4().hex[:8]}"


async def _next(p: AsyncPubSub, timeout: float = 2.0) -> Dict[str, Any]:
    msg = await p.get_message(timeout=timeout)
    assert msg is not None, "no message within the timeout"
    return msg


async def _until(p: AsyncPubSub, kind: str, timeout: float = 10.0) -> List[Dict[str, Any]]:
    seen: List[Dict[str, Any]] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        msg = await p.get_message(timeout=0.2)
        if msg is not None:
            seen.append(msg)
            if msg["type"] == kind:
                return seen
    raise AssertionError(f"no {kind!r} message within {timeout} s; read {seen!r}")


async def _numsub(client: AsyncRedisClient, channel: str, want: int = 1) -> None:
    end = time.monotonic() + 10
    while (await client.pubsub_numsub(channel))[0][1] != want:
        assert time.monotonic() < end, f"{channel}: not {want} subscribers"
        await asyncio.sleep(0.02)


def test_a_publish_after_subscribe_returns_finds_the_subscriber(
    redis_server: RedisServer, ch: str
) -> None:
    async def main() -> List[int]:
        client = AsyncRedisClient(port=redis_server.port, socket_timeout=2.0)
        missed = []
        try:
            for i in range(100):
                p = client.pubsub()
                await p.subscribe(f"{ch}:{i}")
                if await client.publish(f"{ch}:{i}", "m") != 1:
                    missed.append(i)
                await p.aclose()
        finally:
            await client.aclose()
        return missed

    assert run(main()) == []


def test_round_trip(redis_url: str, ch: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as client:
            async with client.pubsub() as p:
                assert isinstance(p, AsyncPubSub) and not p.subscribed
                assert await p.get_message() is None
                await p.subscribe(ch)
                await p.psubscribe(ch + ".*")
                assert p.subscribed and set(p.channels) == {ch.encode()}
                assert await _next(p) == {
                    "type": "subscribe",
                    "pattern": None,
                    "channel": ch.encode(),
                    "data": 1,
                }
                assert (await _next(p))["type"] == "psubscribe"
                assert await client.publish(ch, "hello") == 1
                assert await _next(p) == {
                    "type": "message",
                    "pattern": None,
                    "channel": ch.encode(),
                    "data": b"hello",
                }
                await client.publish(ch + ".x", "p")
                msg = await _next(p)
                assert msg["type"] == "pmessage" and msg["pattern"] == (ch + ".*").encode()
                await p.ping("hi")
                assert (await _next(p))["data"] == b"hi"
                assert await client.pubsub_numpat() >= 1
                assert ch.encode() in await client.pubsub_channels(ch + "*")
                await p.unsubscribe()
                await p.punsubscribe()
                kinds = [(await _next(p))["type"], (await _next(p))["type"]]
                assert kinds == ["unsubscribe", "punsubscribe"] and not p.subscribed
            assert p.closed
            with pytest.raises(ConnectionError, match="closed"):
                await p.get_message()
            m = client.metrics()["pubsub"]
            assert m["subscriptions"] == 0 and m["messages"] == 2

    run(main())


def test_listen_and_handlers(redis_url: str, ch: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url, decode_responses=True) as client:
            plain: List[str] = []
            awaited: List[str] = []

            async def async_handler(msg: Dict[str, Any]) -> None:
                await asyncio.sleep(0)
                awaited.append(msg["data"])

            p = client.pubsub(ignore_subscribe_messages=True)
            await p.subscribe(ch, **{ch + ":a": async_handler})
            await p.psubscribe(**{ch + ":p*": lambda m: plain.append(m["data"])})
            await _numsub(client, ch)
            for data in ("one", "two", "stop"):
                await client.publish(ch + ":a", "h-" + data)
                await client.publish(ch + ":pq", "p-" + data)
                await client.publish(ch, data)
            got = []
            async for msg in p.listen():
                got.append(msg["data"])
                if msg["data"] == "stop":
                    break
            assert got == ["one", "two", "stop"]
            assert awaited == ["h-one", "h-two", "h-stop"]
            assert plain == ["p-one", "p-two", "p-stop"]
            await p.aclose()
            assert [m async for m in p.listen()] == []

    run(main())


def test_task_runner(redis_url: str, ch: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as client:
            p = client.pubsub()
            await p.subscribe(ch)
            with pytest.raises(PubSubError, match="no handler"):
                await p.run()
            got: List[bytes] = []
            done = asyncio.Event()

            async def handler(msg: Dict[str, Any]) -> None:
                got.append(msg["data"])
                if msg["data"] == b"boom":
                    raise ValueError("handler failed")
                if len(got) == 3:
                    done.set()

            errors: List[BaseException] = []
            await p.subscribe(**{ch: handler})
            task = asyncio.create_task(
                p.run(exception_handler=lambda exc, ps: errors.append(exc), poll_timeout=0.1)
            )
            await _numsub(client, ch)
            for data in ("a", "boom", "b"):
                await client.publish(ch, data)
            await asyncio.wait_for(done.wait(), 5)
            assert got == [b"a", b"boom", b"b"]
            assert [str(e) for e in errors] == ["handler failed"]
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            # Cancelled, not closed: the subscription goes on.
            await client.publish(ch, "after")
            await p.get_message(timeout=1)
            assert got[-1] == b"after"
            # aclose() ends a running task.
            task = asyncio.create_task(p.run())
            await asyncio.sleep(0.05)
            await p.aclose()
            await asyncio.wait_for(task, 2)

    run(main())


def test_task_runner_of_another_subscription_and_target_node(redis_url: str, ch: str) -> None:
    """redis.asyncio's ``run(pubsub=other)`` runs ``other``; ``ssubscribe`` and
    ``sunsubscribe`` take its ``target_node`` (one server: ignored), not as a channel."""

    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as client:
            unused, p = client.pubsub(), client.pubsub()
            heard = asyncio.Event()
            got: List[Any] = []

            def handler(msg: Dict[str, Any]) -> None:
                got.append((msg["type"], msg["data"]))
                heard.set()

            await p.ssubscribe(target_node=None, **{f"{ch}:s": handler})
            assert list(p.shard_channels) == [f"{ch}:s".encode()]
            task = asyncio.create_task(unused.run(pubsub=p, poll_timeout=0.1))
            assert await client.spublish(f"{ch}:s", "shard") == 1
            await asyncio.wait_for(heard.wait(), 5)
            assert got == [("smessage", b"shard")]
            await p.sunsubscribe(f"{ch}:s", target_node=None)
            await p.aclose()
            await asyncio.wait_for(task, 2)  # it ran p: p's close ends it
            await unused.aclose()

    run(main())


def test_task_runner_does_not_starve_the_loop(redis_url: str, ch: str) -> None:
    # run() takes messages already read, and errors that come at once, without
    # suspending; it must still give other tasks their turns (redis-py's does).
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as client:
            p = client.pubsub()
            await p.subscribe(**{ch: lambda msg: None})
            await _numsub(client, ch)
            # A flood already buffered: 2,000 messages in one pipeline.
            pipe = client.pipeline(transaction=False)
            for i in range(2000):
                pipe.publish(ch, str(i))
            await pipe.execute()
            ticks = 0

            async def ticker() -> None:
                nonlocal ticks
                for _ in range(10_000):  # bounded
                    ticks += 1
                    await asyncio.sleep(0)

            tick = asyncio.create_task(ticker())
            task = asyncio.create_task(p.run(poll_timeout=0.05))
            for _ in range(100):
                await asyncio.sleep(0)
            assert ticks >= 50  # the ticker ran while the runner drained the flood
            task.cancel()
            tick.cancel()
            await asyncio.gather(task, tick, return_exceptions=True)
            # An error that comes at once, swallowed by the handler: the loop still turns.
            errors: List[BaseException] = []

            async def failing(**kwargs: Any) -> Any:
                if len(errors) >= 2000:  # bounded: a starved loop gets back here at last
                    await asyncio.sleep(0.01)
                    return None
                raise RuntimeError("at once")

            p.get_message = failing  # type: ignore[method-assign]
            task = asyncio.create_task(p.run(exception_handler=lambda e, ps: errors.append(e)))
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            assert 0 < len(errors) < 2000  # the loop turned long before the bound
            assert all(str(e) == "at once" for e in errors)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await p.aclose()

    run(main())


def test_cancelled_waits_leave_the_subscription_usable(
    redis_url: str, ch: str, open_fds: Callable[[], int]
) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as client:
            p = client.pubsub(ignore_subscribe_messages=True)
            await p.subscribe(ch)
            await _numsub(client, ch)
            before = open_fds()
            selector = getattr(asyncio.get_running_loop(), "_selector")  # noqa: B009
            watched = set(selector.get_map())
            for i in range(1000):
                # A task waiting in get_message or listen, cancelled mid-wait.
                if i % 2:
                    waiter = asyncio.ensure_future(p.get_message(timeout=None))
                else:
                    waiter = asyncio.ensure_future(p.listen().__anext__())
                await asyncio.sleep(0)
                await asyncio.sleep(0)
                waiter.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiter
                if i % 100 == 0:
                    # Still subscribed and in step: a message gets through whole.
                    await client.publish(ch, f"m{i}")
                    msg = await _next(p)
                    assert msg["data"] == f"m{i}".encode()
            assert open_fds() <= before
            assert p.stats()["connects"] == 1  # never reconnected
            # A cancelled wait unregisters the fd it watched.
            assert set(selector.get_map()) == watched
            await p.aclose()

    run(main(), timeout=120)


def test_cancelling_a_timed_wait_at_any_moment_ends_it(redis_url: str, ch: str) -> None:
    # A cancellation landing in the loop iteration where the wait takes its lock was
    # swallowed (asyncio.wait_for before 3.12): run() then went on forever.
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as client:
            p = client.pubsub(ignore_subscribe_messages=True)
            await p.subscribe(ch)
            await _numsub(client, ch)
            for rounds in range(8):
                for _ in range(5):
                    waiter = asyncio.ensure_future(p.get_message(timeout=5))
                    for _ in range(rounds):
                        await asyncio.sleep(0)
                    waiter.cancel()
                    done, _ = await asyncio.wait((waiter,), timeout=2)
                    assert done, f"cancelled after {rounds} loop iterations, still running"
                    assert waiter.cancelled()
            # The lock was given back each time: a message gets through.
            await client.publish(ch, "still")
            assert (await _next(p))["data"] == b"still"
            await p.aclose()

    run(main(), timeout=60)


def test_waiters_queue_behind_one_reader(redis_url: str, ch: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as client:
            async with client.pubsub(ignore_subscribe_messages=True) as p:
                await p.subscribe(ch)
                await _numsub(client, ch)
                readers = [asyncio.ensure_future(p.get_message(timeout=5)) for _ in range(3)]
                await asyncio.sleep(0.05)
                # A subscribe from another task wakes the reader to send it.
                await p.subscribe(ch + ":2")
                await _numsub(client, ch + ":2")
                for i in range(3):
                    await client.publish(ch, str(i))
                got = await asyncio.gather(*readers)
                assert sorted(m["data"] for m in got if m) == [b"0", b"1", b"2"]
                # A reader with a short timeout queued behind a long one returns.
                slow = asyncio.ensure_future(p.get_message(timeout=2))
                await asyncio.sleep(0.01)
                t0 = time.monotonic()
                assert await p.get_message(timeout=0.2) is None
                assert time.monotonic() - t0 < 1
                slow.cancel()

    run(main())


def test_reconnects_after_client_kill_and_restart(redis_server_factory: ServerFactory) -> None:
    server = redis_server_factory()
    ch = "af:kill"

    async def main() -> None:
        async with AsyncRedisClient(host="127.0.0.1", port=server.port, **FAST) as client:
            async with client.pubsub(ignore_subscribe_messages=True) as p:
                await p.subscribe(ch)
                await _numsub(client, ch)
                assert await client.execute_command("CLIENT", "KILL", "TYPE", "pubsub") == 1
                event = (await _until(p, "reconnect"))[-1]
                assert "closed" in event["data"]["reason"] and event["data"]["channels"] == 1
                await _numsub(client, ch)
                await client.publish(ch, "after kill")
                assert (await _next(p))["data"] == b"after kill"
                # The server restarted: the loop keeps running meanwhile.
                await asyncio.get_running_loop().run_in_executor(None, server.restart)
                events: List[Dict[str, Any]] = []
                p.reconnect_handler = events.append
                end = time.monotonic() + 10
                while not events and time.monotonic() < end:
                    assert await p.get_message(timeout=0.2) is None
                assert events and events[0]["type"] == "reconnect"
                await _numsub(client, ch)
                await client.publish(ch, "after restart")
                assert (await _next(p))["data"] == b"after restart"
                assert p.stats()["reconnects"] == 2
                assert client.metrics()["pubsub"]["reconnects"] == 2

    run(main())


def test_get_message_on_time_while_down(redis_server_factory: ServerFactory) -> None:
    server = redis_server_factory()

    async def main() -> None:
        async with AsyncRedisClient(host="127.0.0.1", port=server.port, **FAST) as client:
            async with client.pubsub() as p:
                await p.subscribe("af:down")
                await p.get_message(timeout=1)
                server.stop()
                cpu0 = resource.getrusage(resource.RUSAGE_SELF).ru_utime
                for timeout in (0.0, 0.3, 0.5, 0.5):
                    t = time.monotonic()
                    assert await p.get_message(timeout=timeout) is None
                    assert timeout <= time.monotonic() - t < timeout + 0.5
                spent = resource.getrusage(resource.RUSAGE_SELF).ru_utime - cpu0
                assert spent < 0.3, f"{spent:.3f} s of CPU while waiting 1.3 s"
                assert 3 <= p.stats()["disconnects"] <= 40 and p.subscribed
                server.start()
                assert (await _until(p, "reconnect"))[-1]["data"]["attempts"] >= 3

    run(main())


def test_aclose_from_another_task_ends_listen(redis_url: str, ch: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as client:
            p = client.pubsub()
            await p.subscribe(ch)

            async def consume() -> List[str]:
                return [m["type"] async for m in p.listen()]

            task = asyncio.create_task(consume())
            await asyncio.sleep(0.2)
            t0 = time.monotonic()
            await p.aclose()
            assert await asyncio.wait_for(task, 2) == ["subscribe"]
            assert time.monotonic() - t0 < 1
            with pytest.raises(ConnectionError, match="closed"):
                await p.subscribe(ch)

    run(main())


def test_subscription_objects_and_get_sharded_message(redis_url: str, ch: str) -> None:
    # Anything with name and handler (redis-py 8's Subscription) subscribes, and
    # get_sharded_message() is get_message() under redis-py's name.
    async def main() -> None:
        got: List[Dict[str, Any]] = []

        async def handler(msg: Dict[str, Any]) -> None:
            got.append(msg)

        async with AsyncRedisClient.from_url(redis_url, decode_responses=True) as client:
            p = client.pubsub(ignore_subscribe_messages=True)
            await p.ssubscribe(types.SimpleNamespace(name=ch + ":s", handler=None))
            await p.subscribe(types.SimpleNamespace(name=ch, handler=handler))
            await _numsub(client, ch)  # the SSUBSCRIBE went first
            await client.publish(ch, "1")
            assert await p.get_message(timeout=2) is None  # the handler took it
            assert [(m["channel"], m["data"]) for m in got] == [(ch, "1")]
            await client.spublish(ch + ":s", "2")
            msg = await p.get_sharded_message(timeout=2)
            assert msg is not None and (msg["channel"], msg["data"]) == (ch + ":s", "2")
            await p.aclose()

    run(main())


def test_old_close_names_warn_as_redis_asyncio_does(
    redis_url: str, redis_cluster: RedisClusterServers
) -> None:
    """redis.asyncio deprecated ``close()`` (and a subscription's ``reset()``) for
    ``aclose()``: the same DeprecationWarning here, pointing at the caller, and the
    object is closed all the same."""

    async def main() -> None:
        client = AsyncRedisClient.from_url(redis_url)
        for name in ("close", "reset"):
            p = client.pubsub()
            await p.subscribe("old-names")
            with pytest.warns(DeprecationWarning, match=r"Use aclose\(\) instead") as got:
                await getattr(p, name)()
            assert got[0].filename == __file__ and f"deprecated {name}" in str(got[0].message)
            with pytest.raises(ConnectionError):
                await p.subscribe("again")
        with pytest.warns(DeprecationWarning, match=r"deprecated close\. \(Use aclose"):
            await client.close()
        with pytest.raises(ConnectionError):
            await client.ping()
        cluster = AsyncRedisClusterClient(*redis_cluster.addresses[0])
        assert await cluster.ping() is True
        with pytest.warns(DeprecationWarning, match=r"Use aclose\(\) instead"):
            await cluster.close()
        with pytest.raises(RedisError):
            await cluster.ping()

    run(main())
