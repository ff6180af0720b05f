"""AsyncRedisClient's multiplexing (client/mux.py, csrc/binding/mux.c) on real servers.

Many tasks share one connection per loop: every reply reaches its own caller, also
while random tasks are cancelled; a caller's deadline passes without desynchronising
the others; a server killed mid-flight fails the calls that may have run and sends the
others again; the fd stays registered once per connection and is never leaked. Each
test runs on the default event loop and on uvloop.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from typing import Any, Callable, Dict, List

import pytest
from aio_helpers import run_on_each_loop  # noqa: F401  (the fixture ``run``)

from pyredisclient import (
    CircuitOpenError,
    ConnectionError,
    DataError,
    RedisClient,
    ResponseError,
    TimeoutError,
)
from pyredisclient._core import RETRY
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.testing import RedisServer

ServerFactory = Callable[..., RedisServer]


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_many_tasks_share_one_connection(run: Any, redis_url: str) -> None:
    async def main() -> Dict[str, Any]:
        async with AsyncRedisClient.from_url(redis_url) as r:
            await r.delete("mux:n")
            replies = await asyncio.gather(*(r.incr("mux:n") for _ in range(2000)))
            return {"replies": replies, "stats": r.pool_stats()}

    out = run(main())
    assert sorted(out["replies"]) == list(range(1, 2001))
    assert out["stats"]["created"] == 1  # one socket served all 2,000 calls


def test_random_cancellations_among_10000_calls(run: Any, redis_url: str) -> None:
    """Each reply is checked against its own key while random tasks are cancelled:
    the tombstones keep the replies in step with the callers."""
    n = 10_000
    rnd = random.Random(18)

    async def main() -> Dict[str, int]:
        async with AsyncRedisClient.from_url(redis_url) as r:
            pipe = r.pipeline(transaction=False)
            for i in range(0, n, 1000):
                await r.mset({f"mux:c:{j}": f"v{j}" for j in range(i, i + 1000)})
            del pipe
            wrong = ok = 0

            queued: set[int] = set()  # calls whose command was queued

            async def one(i: int) -> None:
                nonlocal wrong, ok
                queued.add(i)  # the command is queued before the first await yields
                if i % 3 == 0:
                    got = await r.get(f"mux:c:{i}")
                    expect: Any = f"v{i}".encode()
                else:
                    got = await r.strlen(f"mux:c:{i}")
                    expect = len(f"v{i}")
                if got == expect:
                    ok += 1
                else:
                    wrong += 1

            tasks = [asyncio.ensure_future(one(i)) for i in range(n)]
            cancelled = 0
            for _ in range(200):  # bounded: cancel a few tasks per loop iteration
                await asyncio.sleep(0)
                for t in rnd.sample(tasks, 10):
                    if t.cancel():
                        cancelled += 1
                if all(t.done() for t in tasks):
                    break
            results = await asyncio.gather(*tasks, return_exceptions=True)
            errors = [x for x in results if isinstance(x, BaseException)]
            assert all(isinstance(x, asyncio.CancelledError) for x in errors)
            # Cancelled while their command was in flight: each left a tombstone.
            tombstones = sum(
                1 for i, x in enumerate(results) if isinstance(x, BaseException) and i in queued
            )
            assert tombstones > 0
            # The connection is still in step after all that.
            assert await r.get("mux:c:7") == b"v7"
            assert r.pool_stats()["created"] == 1
            return {"ok": ok, "wrong": wrong, "cancelled": len(errors)}

    out = run(main(), 60)
    assert out["wrong"] == 0
    assert out["cancelled"] > 0
    assert out["ok"] + out["cancelled"] == n


DEBUG = ["--enable-debug-command", "yes"]


def test_a_slow_reply_times_out_its_caller_only(
    run: Any, redis_server_factory: ServerFactory
) -> None:
    """DEBUG SLEEP holds the server: the callers waiting behind it time out at their
    own deadline, their late replies are dropped, and the connection stays in step."""
    server = redis_server_factory(extra_args=DEBUG)

    # The server answers at 0.75 s: after the callers' deadline (0.5 s) and before
    # the connection would count as stalled (nothing read for twice that, 1 s).
    # With DEBUG SLEEP 0.6 and socket_timeout 0.3 the reply raced the stall rule.
    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(server.url, socket_timeout=0.5) as r:
            await r.set("mux:t", "x")
            start = time.monotonic()
            slow = asyncio.ensure_future(r.execute_command("DEBUG", "SLEEP", "0.75"))
            waiting = [asyncio.ensure_future(r.get("mux:t")) for _ in range(5)]
            results = await asyncio.gather(slow, *waiting, return_exceptions=True)
            took = time.monotonic() - start
            after = [await r.get("mux:t") for _ in range(3)]
            return [results, took, after, r.pool_stats()["created"]]

    results, took, after, created = run(main())
    assert all(isinstance(x, TimeoutError) for x in results)
    assert took < 0.75  # each at its own deadline, not the server's
    assert after == [b"x"] * 3
    assert created == 1  # the same connection, still in step


def test_paused_server_stalls_then_connection_is_replaced(
    run: Any, redis_server_factory: ServerFactory
) -> None:
    server = redis_server_factory()

    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(server.url, socket_timeout=0.2) as r:
            await r.set("k", "v")
            server.pause()
            try:
                first = await asyncio.gather(r.get("k"), return_exceptions=True)
                # Nothing read for twice socket_timeout: the connection is declared
                # stalled and closed; the next call opens another once resumed.
                await asyncio.sleep(0.5)
            finally:
                server.resume()
            again = await r.get("k")
            return [first[0], again, r.pool_stats()["created"]]

    first, again, created = run(main())
    assert isinstance(first, TimeoutError)
    assert again == b"v"
    assert created == 2


def test_server_killed_mid_flight(run: Any, redis_server_factory: ServerFactory) -> None:
    """Writes that may have reached the server are not replayed; reads are retried
    on a new connection."""
    server = redis_server_factory(extra_args=DEBUG)

    async def main() -> Dict[str, List[Any]]:
        # The breaker off: 21 failed calls of 25 would open it (right for an
        # outage), and the reads sent again would then fail fast.
        async with AsyncRedisClient.from_url(
            server.url, socket_timeout=2, retry_attempts=2, circuit_breaker=False
        ) as r:
            await r.set("k", "v")
            await r.delete("counter")
            # DEBUG SLEEP holds the replies so that the calls are all in flight
            # (written) when the server dies.
            blocker = asyncio.ensure_future(r.execute_command("DEBUG", "SLEEP", "0.5"))
            await asyncio.sleep(0.05)
            reads = [asyncio.ensure_future(r.get("k")) for _ in range(20)]
            writes = [asyncio.ensure_future(r.incr("counter")) for _ in range(20)]
            await asyncio.sleep(0.1)
            server.kill()
            server.start()
            out = {
                "blocker": await asyncio.gather(blocker, return_exceptions=True),
                "reads": await asyncio.gather(*reads, return_exceptions=True),
                "writes": await asyncio.gather(*writes, return_exceptions=True),
            }
            out["counter"] = [await r.get("counter")]
            return out

    out = run(main())
    # Sent again to the restarted server, which has no data (no persistence): a
    # read that was not retried would have raised.
    assert all(x is None for x in out["reads"]), out["reads"]
    assert all(isinstance(x, ConnectionError) for x in out["writes"]), out["writes"]
    assert isinstance(out["blocker"][0], ConnectionError)
    assert out["counter"] == [None]  # no INCR was replayed on the new server


def test_commands_not_written_are_sent_again(run: Any, redis_server_factory: ServerFactory) -> None:
    """A connection that fails before its queued commands were written: they never
    reached the server, so every one of them, writes too, goes out again. The first,
    written at once (nothing else was in flight), may have run: it is not replayed."""
    server = redis_server_factory()

    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(server.url) as r:
            await r.delete("c")
            share = r._mux.share(r, asyncio.get_running_loop())  # type: ignore[union-attr]
            conn = share.pick()
            assert conn is not None
            futs = [asyncio.ensure_future(r.incr("c")) for _ in range(10)]
            await asyncio.sleep(0)  # queued; the flush is due at the end of this iteration
            assert conn.mux.pending_bytes > 0
            conn.fail(ConnectionError("injected before the flush"))
            got = await asyncio.gather(*futs, return_exceptions=True)
            return [got, await r.get("c"), conn.dead]

    got, counter, dead = run(main())
    assert isinstance(got[0], ConnectionError)
    assert sorted(got[1:]) == list(range(2, 11))  # the first INCR ran once, on the server
    assert counter == b"10"
    assert dead


def test_without_retries_a_written_read_is_not_sent_again(
    run: Any, redis_server_factory: ServerFactory
) -> None:
    """retry_attempts=0: a read in flight when the server dies gets the error (it
    was handed RETRY, and sent again on a new connection, before)."""
    server = redis_server_factory(extra_args=DEBUG)

    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(
            server.url, socket_timeout=2, retry_attempts=0, circuit_breaker=False
        ) as r:
            await r.set("k", "v")
            blocker = asyncio.ensure_future(r.execute_command("DEBUG", "SLEEP", "0.5"))
            await asyncio.sleep(0.05)
            reads = [asyncio.ensure_future(r.get("k")) for _ in range(5)]
            await asyncio.sleep(0.1)
            server.kill()
            server.start()
            await asyncio.gather(blocker, return_exceptions=True)
            return await asyncio.gather(*reads, return_exceptions=True)

    got = run(main())
    assert all(isinstance(x, ConnectionError) for x in got), got


def test_pipelines_share_the_connection(run: Any, redis_url: str) -> None:
    """Pipelines without WATCH, plain and MULTI/EXEC, go out on the shared
    connection among other tasks' calls; each gets its own replies."""

    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(redis_url) as r:
            await r.delete("mux:pn", *[f"mux:s{i}" for i in range(300)])

            async def pipe(i: int) -> List[Any]:
                async with r.pipeline(transaction=i % 2 == 0) as p:
                    p.set(f"mux:p{i}", i).get(f"mux:p{i}").incr("mux:pn")
                    return await p.execute()

            async def single(i: int) -> Any:
                return await r.incrby(f"mux:s{i}", i)

            work = [pipe(i) if i % 3 else single(i) for i in range(300)]
            out = await asyncio.gather(*work)
            async with r.pipeline(transaction=False) as p:  # one command: still a list
                p.sscan("mux:none")
                assert await p.execute() == [(0, [])]
            with pytest.raises(ResponseError, match="Command # 2"):  # as on its own
                async with r.pipeline(transaction=False) as p:
                    p.set("mux:pe", "x").incr("mux:pe")
                    await p.execute()
            return [out, await r.get("mux:pn"), r.pool_stats()["created"]]

    out, count, created = run(main())
    for i, got in enumerate(out):
        if i % 3:
            assert got[:2] == [True, str(i).encode()]
        else:
            assert got == i
    assert sorted(got[2] for i, got in enumerate(out) if i % 3) == list(range(1, 201))
    assert count == b"200"
    assert created == 1  # every pipeline on the one shared connection


def test_large_pipeline_takes_its_own_connection(run: Any, redis_url: str) -> None:
    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(redis_url) as r:
            await r.set("mux:big", "x")  # the shared connection is open
            async with r.pipeline(transaction=False) as p:
                for i in range(1000):  # ~130 KiB: past the 64 KiB bound
                    p.set(f"mux:b{i}", b"v" * 100)
                out = await p.execute()
            return [len(out), all(out), r.pool_stats()["created"]]

    assert run(main()) == [1000, True, 2]


def test_pipelines_in_flight_when_the_server_dies(
    run: Any, redis_server_factory: ServerFactory
) -> None:
    """A read-only pipeline on the shared connection is sent again; one with writes
    that may have run is not: its caller gets the error."""
    server = redis_server_factory(extra_args=DEBUG)

    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(
            server.url, socket_timeout=2, retry_attempts=2, circuit_breaker=False
        ) as r:
            await r.set("k", "v")
            blocker = asyncio.ensure_future(r.execute_command("DEBUG", "SLEEP", "0.5"))
            await asyncio.sleep(0.05)

            async def pipe(write: bool) -> List[Any]:
                async with r.pipeline(transaction=False) as p:
                    for _ in range(3):
                        p.incr("c") if write else p.get("k")
                    return await p.execute()

            reads = asyncio.ensure_future(pipe(False))
            writes = asyncio.ensure_future(pipe(True))
            await asyncio.sleep(0.1)
            server.kill()
            server.start()
            await asyncio.gather(blocker, return_exceptions=True)
            got = await asyncio.gather(reads, writes, return_exceptions=True)
            return [*got, await r.get("c")]

    reads, writes, counter = run(main())
    assert reads == [None, None, None]  # sent again, to the restarted (empty) server
    assert isinstance(writes, ConnectionError), writes
    assert counter is None  # no INCR replayed


def test_fd_not_leaked_over_1000_connect_close_cycles(run: Any, redis_url: str) -> None:
    async def main() -> int:
        before = open_fds()
        for _i in range(1000):
            r = AsyncRedisClient.from_url(redis_url)
            assert await r.ping()
            await r.aclose()
        return open_fds() - before

    assert run(main(), 120) <= 2


def test_fd_registered_once_for_the_connection_life(run: Any, redis_url: str) -> None:
    calls: Dict[str, int] = {"add_reader": 0, "remove_reader": 0}

    async def main() -> None:
        loop = asyncio.get_running_loop()
        add, remove = loop.add_reader, loop.remove_reader

        def counting_add(*a: Any) -> Any:
            calls["add_reader"] += 1
            return add(*a)

        def counting_remove(*a: Any) -> Any:
            calls["remove_reader"] += 1
            return remove(*a)

        loop.add_reader = counting_add  # type: ignore[method-assign]
        loop.remove_reader = counting_remove  # type: ignore[method-assign]
        async with AsyncRedisClient.from_url(redis_url) as r:
            for _ in range(200):
                await r.get("k")
            await asyncio.gather(*(r.get("k") for _ in range(500)))
            mid = dict(calls)
        # the wait of the first GET (the shared connection opens with it), then
        # the shared connection's one reader
        assert mid["add_reader"] == 2 and mid["remove_reader"] == 1

    run(main())
    assert calls["remove_reader"] == 2  # removed once, at close


def test_dedicated_commands_bypass_the_shared_connection(run: Any, redis_url: str) -> None:
    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(redis_url) as r:
            await r.delete("mux:l")
            blpop = asyncio.ensure_future(r.blpop("mux:l", 2))
            await asyncio.sleep(0.05)
            # The shared connection is not blocked by BLPOP on its own connection.
            await r.rpush("mux:l", "x")
            got = await blpop
            async with r.pipeline() as p:
                await p.watch("mux:w")
                p.multi()
                p.set("mux:w", "1")
                tx = await p.execute()
            with pytest.raises(DataError):
                await r.execute_command("SELECT", "1")
            return [got, tx, r.pool_stats()["created"]]

    got, tx, created = run(main())
    assert got == (b"mux:l", b"x") or got == [b"mux:l", b"x"]
    assert tx == [True]
    assert created == 2  # the shared one and one dedicated


def test_prefix_and_decode_apply(run: Any, redis_url: str) -> None:
    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(redis_url, decode_responses=True) as r:
            p = r.with_prefix("mux:p:")
            await p.set("a", "1")
            return [await p.get("a"), await r.get("mux:p:a"), await r.hgetall("mux:nohash")]

    assert run(main()) == ["1", "1", {}]


def test_error_replies_reach_their_caller(run: Any, redis_url: str) -> None:
    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(redis_url) as r:
            await r.set("mux:s", "x")
            return await asyncio.gather(
                r.incr("mux:s"), r.get("mux:s"), r.lpush("mux:s", "y"), return_exceptions=True
            )

    bad, good, wrongtype = run(main())
    assert type(bad).__name__ == "ResponseError"
    assert good == b"x"
    assert "WRONGTYPE" in str(wrongtype)


def test_open_breaker_refuses_calls(run: Any, redis_server_factory: ServerFactory) -> None:
    server = redis_server_factory()

    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(
            server.url,
            socket_timeout=0.2,
            socket_connect_timeout=0.2,
            failure_threshold=1,
            retry_attempts=0,
        ) as r:
            await r.ping()
            server.kill()
            out: List[Any] = []
            for _ in range(4):
                try:
                    await r.get("k")
                    out.append("ok")
                except Exception as exc:
                    out.append(type(exc))
            return out

    out = run(main())
    assert CircuitOpenError in out


def test_switch_off_uses_a_connection_per_call(run: Any, redis_url: str) -> None:
    async def main() -> int:
        async with AsyncRedisClient.from_url(redis_url, async_multiplex=False) as r:
            assert r._mux is None
            await asyncio.gather(*(r.get("k") for _ in range(20)))
            return int(r.pool_stats()["created"])

    assert run(main()) > 1


def test_max_connections_one_turns_multiplexing_off(redis_url: str) -> None:
    r = AsyncRedisClient.from_url(redis_url, max_connections=1)
    assert r._mux is None
    r2 = AsyncRedisClient.from_url(redis_url, max_connections=8, async_multiplex_connections=20)
    assert r2._mux is not None and r2._mux.size == 7


def test_several_shared_connections(run: Any, redis_url: str) -> None:
    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(redis_url, async_multiplex_connections=3) as r:
            for _ in range(5):  # bounded: the others open in the background
                await asyncio.gather(*(r.incr("mux:sc") for _ in range(300)))
                await asyncio.sleep(0.01)
            return [r.pool_stats()["created"], r.pool_stats()["in_use"]]

    created, in_use = run(main())
    assert created == 3 and in_use == 3


def test_pinned_share_needs_a_connection(redis_url: str) -> None:
    r = AsyncRedisClient.from_url(redis_url)
    with pytest.raises(RuntimeError):
        r._core.pinned().share()
    assert RETRY is not None


def test_metrics_count_shared_calls(run: Any, redis_server_factory: ServerFactory) -> None:
    server = redis_server_factory(extra_args=DEBUG)

    async def main() -> Dict[str, Any]:
        async with AsyncRedisClient.from_url(server.url, socket_timeout=0.3) as r:
            await asyncio.gather(*(r.get("k") for _ in range(10)))
            await r.set("s", "x")
            with pytest.raises(Exception, match="not an integer"):
                await r.incr("s")
            slow = asyncio.ensure_future(r.execute_command("DEBUG", "SLEEP", "0.5"))
            await asyncio.sleep(0.05)
            cancelled = asyncio.ensure_future(r.get("k"))
            await asyncio.sleep(0.05)
            cancelled.cancel()
            with pytest.raises(TimeoutError):
                await slow
            await asyncio.sleep(0.5)
            assert await r.get("s") == b"x"  # the tombstones' replies were dropped
            return dict(r.metrics())

    m = run(main())
    assert m["calls"] == 15  # 10 GETs, SET, INCR, DEBUG, the cancelled GET, GET
    assert m["response_errors"] == 1
    assert m["errors"]["TimeoutError"] == 1
    assert m["errors"]["Interrupted"] == 1


def test_a_reply_that_cannot_be_decoded_fails_its_caller_only(run: Any, redis_url: str) -> None:
    """decode_responses and a value that is not UTF-8: that caller gets the
    decoding error, the others their replies, and the connection stays."""

    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(redis_url, decode_responses=True) as r:
            await r.set("mux:bin", b"\xff\xfe")
            await r.set("mux:txt", "ok")
            got = await asyncio.gather(
                r.get("mux:txt"), r.get("mux:bin"), r.get("mux:txt"), return_exceptions=True
            )
            return [*got, await r.get("mux:txt"), r.pool_stats()["created"]]

    first, bad, third, after, created = run(main())
    assert (first, third, after) == ("ok", "ok", "ok")
    assert isinstance(bad, UnicodeDecodeError)
    assert created == 1


def _primary_and_replica(factory: ServerFactory) -> tuple[RedisServer, RedisServer]:
    primary = factory(extra_args=["--repl-diskless-sync-delay", "0"])
    replica = factory()
    with RedisClient(host=replica.host, port=replica.port) as c:
        c.replicaof(primary.host, primary.port)
    with RedisClient(host=primary.host, port=primary.port) as c:
        for _ in range(200):  # bounded: the replica's first sync
            c.set("mux:sync", 1)
            if c.wait(1, 50) == 1:
                return primary, replica
            time.sleep(0.05)
    raise AssertionError("the replica never caught up")


def _acked_everything(primary: RedisServer) -> None:
    """Until the replica acknowledged every write: a WAIT on a connection that wrote
    nothing (or whose writes were acknowledged) then returns at once."""
    with RedisClient(host=primary.host, port=primary.port) as c:
        for _ in range(100):  # bounded: the replica acknowledges every second
            info = c.info("replication")
            if info["slave0"]["offset"] >= info["master_repl_offset"]:
                return
            time.sleep(0.05)
    raise AssertionError("the replica never acknowledged the writes")


@pytest.mark.parametrize("shared", [1, 3])
def test_wait_counts_the_writes_of_the_shared_connection(
    run: Any, redis_server_factory: ServerFactory, shared: int
) -> None:
    """WAIT counts the writes of its own connection: on a connection of its own it
    would return at once with the replica stopped. It goes on the shared connections
    as their last command; other calls meanwhile go on a new one, without waiting."""
    primary, replica = _primary_and_replica(redis_server_factory)

    async def main() -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        async with AsyncRedisClient(
            host=primary.host, port=primary.port, async_multiplex_connections=shared
        ) as r:
            for _ in range(5):  # several shared connections open under load
                await asyncio.gather(*(r.incr("mux:wn") for _ in range(300)))
                await asyncio.sleep(0.01)
            out["open"] = len(r._mux.shares[asyncio.get_running_loop()].conns)
            await r.set("mux:w", 1)
            out["healthy"] = await r.wait(1, 2000)
            await asyncio.get_running_loop().run_in_executor(None, _acked_everything, primary)
            replica.pause()
            try:
                await asyncio.gather(*(r.incr("mux:wn") for _ in range(300)))
                started = time.monotonic()
                waiting = asyncio.ensure_future(r.wait(1, 600))
                await asyncio.sleep(0)
                # Nobody waits behind the WAIT.
                gets = await asyncio.gather(*(r.get("mux:w") for _ in range(200)))
                out["others_done_first"] = not waiting.done() and gets == [b"1"] * 200
                out["paused"] = await waiting
                out["waited"] = time.monotonic() - started

                # Concurrent writers and WAITs: each counts its own write (none on a
                # connection that wrote nothing); WAITs with the same arguments share
                # one, so they do not wait out their timeouts one after the other.
                async def write_then_wait(i: int) -> Any:
                    await r.set(f"mux:wc:{i}", i)
                    t = time.monotonic()
                    return await r.wait(1, 400), time.monotonic() - t

                out["concurrent"] = await asyncio.gather(*(write_then_wait(i) for i in range(20)))
                # A cancelled WAIT's connection goes back once its reply comes.
                await r.set("mux:w", 2)
                cancelled = asyncio.ensure_future(r.wait(1, 200))
                await asyncio.sleep(0.05)
                cancelled.cancel()
            finally:
                replica.resume()
            await r.set("mux:w", 3)
            out["resumed"] = await r.wait(1, 5000)
            for _ in range(100):  # bounded: the retired connections go back
                if r.pool_stats()["in_use"] <= shared:
                    break
                await asyncio.sleep(0.02)
            out["in_use"] = r.pool_stats()["in_use"]
            out["shared"] = len(r._mux.shares[asyncio.get_running_loop()].conns)
        return out

    out = run(main())
    assert out["open"] == shared
    assert out["healthy"] == 1
    assert out["others_done_first"]
    assert out["paused"] == 0 and out["waited"] >= 0.5
    assert [n for n, _ in out["concurrent"]] == [0] * 20
    assert all(0.35 <= took < 2.0 for _, took in out["concurrent"]), out["concurrent"]
    assert out["resumed"] == 1
    assert out["in_use"] <= shared and out["shared"] <= shared
    with RedisClient(host=replica.host, port=replica.port) as c:
        assert c.get("mux:w") == b"3"


def test_submit_last_seals_its_connection(run: Any, redis_url: str) -> None:
    async def main() -> List[Any]:
        async with AsyncRedisClient.from_url(redis_url) as r:
            # No shared connection open yet: WAIT takes one of its own.
            assert await r.wait(0, 10) == 0
            await r.ping()
            # WAIT 0 0 (no timeout) and arguments that cannot key a shared WAIT.
            assert await r.wait(0, 0) == 0
            assert await r.execute_command("WAIT", 0, bytearray(b"10")) == 0
            await r.set("mux:seal", "1")
            loop = asyncio.get_running_loop()
            conn = r._mux.shares[loop].conns[0]
            assert conn.submit_last(("QUIT",), loop.create_future()) is False
            with pytest.raises(TypeError):
                conn.mux.submit_last(("WAIT", 0, 0))
            fut = loop.create_future()
            assert conn.submit_last((b"wait", 0, 0), fut) is True
            assert conn.retiring and conn not in r._mux.shares[loop].conns
            with pytest.raises(RuntimeError, match="no more"):
                conn.mux.submit(("PING",), loop.create_future())
            reply = await fut
            await asyncio.sleep(0)
            # Answered: shared again (the loop had no other shared connection).
            again = conn in r._mux.shares[loop].conns and not conn.retiring
            again_fut = loop.create_future()
            assert conn.submit_last(("WAIT", 0, 100), again_fut)
            with pytest.raises(RuntimeError, match="every call answered"):
                conn.mux.reopen()
            assert await again_fut == 0
            await asyncio.sleep(0)
            return [reply, again, await r.get("mux:seal"), r.pool_stats()["in_use"]]

    assert run(main()) == [0, True, b"1", 1]


def test_waits_with_a_stopped_replica_keep_connections_bounded(
    run: Any, redis_server_factory: ServerFactory
) -> None:
    """Writers that each WAIT while the replica is stopped: every WAIT holds its
    connection for its whole timeout, so they hand over at most as many connections
    as the loop shares; other calls meanwhile never wait behind them."""
    primary, replica = _primary_and_replica(redis_server_factory)

    async def main() -> Dict[str, Any]:
        async with AsyncRedisClient(host=primary.host, port=primary.port) as r:
            await r.set("mux:b", "x")
            stop = asyncio.Event()
            peak = 0
            gets: List[float] = []

            async def reader() -> None:
                nonlocal peak
                while not stop.is_set():
                    t = time.monotonic()
                    assert await r.get("mux:b") == b"x"
                    gets.append(time.monotonic() - t)
                    peak = max(peak, r.pool_stats()["in_use"])
                    await asyncio.sleep(0.005)

            async def writer(i: int) -> List[int]:
                counts = []
                for round_ in range(3):
                    await r.set(f"mux:b:{i}", round_)
                    await asyncio.sleep(random.random() * 0.05)
                    counts.append(await r.wait(1, 150))
                return counts

            replica.pause()
            try:
                watcher = asyncio.ensure_future(reader())
                started = time.monotonic()
                counts = await asyncio.gather(*(writer(i) for i in range(100)))
                took = time.monotonic() - started
                stop.set()
                await watcher
            finally:
                replica.resume()
            slow = sorted(g for g in gets if g >= 0.1)
            return {"counts": counts, "took": took, "peak": peak, "gets": len(gets), "slow": slow}

    out = run(main(), 60)
    assert all(c == [0, 0, 0] for c in out["counts"])
    # One shared connection and at most one handed over (plus one opening).
    assert out["peak"] <= 3, out
    # No GET waits behind a WAIT: one that did would take the WAIT's 150 ms, and
    # so would every GET issued during a WAIT (dozens). A stall of the whole
    # process (the host, a collection) slows one or two: that is all allowed.
    assert out["gets"] >= 50, out
    assert len(out["slow"]) <= 2, out
    # Rounds of WAITs that share one: not 300 timeouts one after the other.
    assert out["took"] < 5.0, out
    print(f"100 writers x 3 WAITs: {out['took']:.2f} s, peak {out['peak']} connections")


def test_an_idle_shared_connection_closed_by_the_server_is_no_failure(
    run: Any, redis_server_factory: Callable[..., RedisServer], caplog: pytest.LogCaptureFixture
) -> None:
    """A server's ``timeout`` (a managed Redis's idle limit) closes the idle shared
    connection: the next calls open it again, and with no call pending the loss is
    an INFO line, not a WARNING of a failure."""
    server = redis_server_factory(extra_args=["--timeout", "1"])

    async def main() -> List[Any]:
        async with AsyncRedisClient(port=server.port) as r:
            assert await r.set("mux:idle", "v") is True
            await asyncio.sleep(2.5)  # the server checks idle clients about every second
            return [await r.get("mux:idle"), *await asyncio.gather(r.ping(), r.ping())]

    caplog.set_level("INFO", logger="pyredisclient")
    assert run(main()) == [b"v", True, True]
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert ("INFO", next(m for lv, m in lines if "shared connection failed" in m)) in lines
    assert not [m for lv, m in lines if lv == "WARNING" and "shared connection" in m], lines
