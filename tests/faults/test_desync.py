"""Bytes the server sent unasked never become someone's reply.

A connection is out of step when it carries bytes that answer nothing we sent:
readable at checkout, sent before the handshake, or beyond the expected replies in
one read. Such a connection is closed, never pooled, and the call fails through the
safe-retry rules: a read-only command is replayed on a fresh connection, a write
that reached the server is not, and the error says the connection was out of step.
Each case runs for the sync client, the asyncio client, and pipelines.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable

import pytest
from conftest import ClientFactory
from fakeservers import FakeServer, LateDuplicate, bad_exec, greeting, stale_reply_first

import pyredisclient
from pyredisclient.aio import AsyncRedisClient

CALLS = 300


@pytest.fixture
def make_client(make_client: ClientFactory) -> ClientFactory:
    """The shared factory with room for the replays these tests expect."""
    return make_client.with_defaults(socket_timeout=2.0, retry_base=0.0005)


def async_client(port: int, **options: Any) -> AsyncRedisClient:
    # The per-call path's defences (one pooled connection per call); the shared
    # connection's are tested below (test_*_multiplexed).
    options.setdefault("async_multiplex", False)
    options.setdefault("socket_timeout", 2.0)
    options.setdefault("retry_base", 0.0005)
    return AsyncRedisClient(host="127.0.0.1", port=port, **options)


def tally(results: list[Any], expected: list[Any]) -> dict[str, int]:
    """How many calls got their own value, another call's, or an error."""
    counts = {"right": 0, "wrong": 0, "error": 0}
    for got, want in zip(results, expected):
        if isinstance(got, BaseException):
            counts["error"] += 1
        else:
            counts["right" if got == want else "wrong"] += 1
    return counts


def run_calls(call: Callable[[int], Any], after: Callable[[], bool] = lambda: True) -> list[Any]:
    """call(i) for each of CALLS calls: its value, or the RedisError it raised.
    after() runs between calls (and must return True)."""
    results: list[Any] = []
    for i in range(CALLS):
        try:
            results.append(call(i))
        except pyredisclient.RedisError as exc:
            results.append(exc)
        assert after()
    return results


def assert_never_wrong(results: list[Any], expected: list[Any]) -> dict[str, int]:
    """No call got another call's value. A call may fail, only as out of step."""
    counts = tally(results, expected)
    assert counts["wrong"] == 0, counts
    for r in results:
        if isinstance(r, BaseException):
            assert isinstance(r, pyredisclient.ProtocolError) and "out of step" in str(r), r
    # Errors come only from a client so slow that every attempt read an
    # answer and its duplicate together (replays ran out): rare, and never
    # most of the calls.
    assert counts["right"] > CALLS // 2, counts
    return counts


# -- an extra reply 2 ms after the right one (the measurement) --------


def test_late_duplicate_reply_is_never_handed_to_the_next_call(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    # The server repeats every answer 2 ms later; the caller's next call comes
    # after that (as a handler doing other work between calls would). The
    # duplicate then sits on the pooled connection: checkout must find it and
    # open a new connection rather than read it as the next reply. (The
    # issue's 158 of 300 wrong values came from calls back to back: the
    # duplicate then arrives during the next call, see test_stale_reply_*.)
    server = LateDuplicate(0.002)
    with FakeServer(server) as fake:
        client = make_client(fake.port)
        results = run_calls(lambda i: client.echo(f"v{i}"), server.wait_duplicates)
        counts = assert_never_wrong(results, [f"v{i}".encode() for i in range(CALLS)])
        # Every connection was retired: at the next checkout, which found the
        # duplicate; or at once, when a slow client read answer and duplicate
        # together (out of step: replayed on a new connection, or failed).
        stats = client.pool_stats()
        assert stats["stale"] >= CALLS - 1 - counts["error"]
        assert stats["idle"] <= 1


def test_late_duplicate_reply_pipelines(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    server = LateDuplicate(0.002)
    with FakeServer(server) as fake:
        client = make_client(fake.port)

        def call(i: int) -> Any:
            return client.pipeline(transaction=False).echo(f"a{i}").echo(f"b{i}").execute()

        expected = [[f"a{i}".encode(), f"b{i}".encode()] for i in range(CALLS)]
        assert_never_wrong(run_calls(call, server.wait_duplicates), expected)


def test_late_duplicate_reply_asyncio() -> None:
    server = LateDuplicate(0.002)

    async def main(port: int) -> tuple[list[Any], list[Any]]:
        client = async_client(port)
        loop = asyncio.get_running_loop()
        singles: list[Any] = []
        pipelines: list[Any] = []
        try:
            for i in range(CALLS):
                for results, pipelined in ((singles, False), (pipelines, True)):
                    try:
                        if pipelined:
                            pipe = client.pipeline(transaction=False)
                            pipe.echo(f"a{i}").echo(f"b{i}")
                            results.append(await pipe.execute())
                        else:
                            results.append(await client.echo(f"v{i}"))
                    except pyredisclient.RedisError as exc:
                        results.append(exc)
                    assert await loop.run_in_executor(None, server.wait_duplicates)
            return singles, pipelines
        finally:
            await client.aclose()

    with FakeServer(server) as fake:
        singles, pipelines = asyncio.run(main(fake.port))
    assert_never_wrong(singles, [f"v{i}".encode() for i in range(CALLS)])
    assert_never_wrong(pipelines, [[f"a{i}".encode(), f"b{i}".encode()] for i in range(CALLS)])


# -- an extra reply in the same read as the next answer -----------------------


def test_stale_reply_in_the_same_read_is_not_a_reply(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    # Every answer but a connection's first comes after the previous answer
    # repeated, in one write: the first reply read is another call's. Before
    # the fix the client returned it (about every second call was wrong).
    with FakeServer(stale_reply_first()) as fake:
        client = make_client(fake.port)
        results: list[Any] = []
        for i in range(CALLS):
            try:
                results.append(client.echo(f"v{i}"))
            except pyredisclient.RedisError as exc:
                results.append(exc)
        counts = tally(results, [f"v{i}".encode() for i in range(CALLS)])
        # Read-only: each out-of-step call was replayed on a fresh connection.
        assert counts == {"right": CALLS, "wrong": 0, "error": 0}
    stats = client.pool_stats()
    assert stats["retries"] == CALLS - 1
    assert stats["idle"] <= 1


def test_stale_reply_fails_a_write_without_replaying_it(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    with FakeServer(stale_reply_first()) as fake:
        client = make_client(fake.port)
        assert client.set("k", "1") is True
        with pytest.raises(pyredisclient.ProtocolError, match="out of step"):
            client.set("k", "2")
        # It reached the server once (the reply cannot say whether it ran).
        assert fake.command_names().count(b"SET") == 2
        assert client.pool_stats()["retries"] == 0
        assert client.get("k") == b"2"  # a fresh connection


def test_stale_reply_pipelines(make_client: Callable[..., pyredisclient.RedisClient]) -> None:
    with FakeServer(stale_reply_first()) as fake:
        client = make_client(fake.port)
        for i in range(CALLS // 3):
            pipe = client.pipeline(transaction=False)
            pipe.echo(f"a{i}").echo(f"b{i}").echo(f"c{i}")
            assert pipe.execute() == [f"{c}{i}".encode() for c in "abc"]
        # The pooled connection answered one request: the next is out of step.
        pipe = client.pipeline(transaction=False)
        pipe.set("k", "w").echo("y")
        with pytest.raises(pyredisclient.ProtocolError, match="out of step"):
            pipe.execute()  # a write in it: not replayed
        assert fake.command_names().count(b"SET") == 1


def test_stale_reply_asyncio() -> None:
    async def main(port: int) -> list[Any]:
        client = async_client(port)
        results: list[Any] = []
        try:
            for i in range(CALLS):
                try:
                    results.append(await client.echo(f"v{i}"))
                except pyredisclient.RedisError as exc:
                    results.append(exc)
            pipe = client.pipeline(transaction=False)
            pipe.echo("p1").echo("p2")
            assert await pipe.execute() == [b"p1", b"p2"]
            # The pooled connection answered one request: a write on it fails.
            with pytest.raises(pyredisclient.ProtocolError, match="out of step"):
                await client.set("k", "2")
            return results
        finally:
            await client.aclose()

    with FakeServer(stale_reply_first()) as fake:
        results = asyncio.run(main(fake.port))
        assert fake.command_names().count(b"SET") == 1
    counts = tally(results, [f"v{i}".encode() for i in range(CALLS)])
    assert counts == {"right": CALLS, "wrong": 0, "error": 0}


# -- bytes before the handshake ----------------------------------------------------


def test_greeting_is_not_taken_as_the_auth_reply(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    # Before: "+EARLY" was AUTH's reply and AUTH's "+OK" the echo's result.
    with FakeServer(greeting(b"+EARLY\r\n", connections=1)) as fake:
        client = make_client(fake.port, password="pw")
        assert client.echo("mine") == b"mine"
        assert fake.accepted == 2  # the setup was replayed on a new connection
        assert fake.command_names().count(b"ECHO") == 1


def test_a_server_that_always_greets_is_refused(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    with FakeServer(greeting(b"+EARLY\r\n")) as fake:
        client = make_client(fake.port, password="pw", db=2)
        with pytest.raises(pyredisclient.ProtocolError, match="out of step"):
            client.echo("mine")
        pipe = client.pipeline(transaction=False)
        pipe.echo("a")
        with pytest.raises(pyredisclient.ProtocolError, match="out of step"):
            pipe.execute()
        assert b"ECHO" not in fake.command_names()


def test_greeting_asyncio() -> None:
    async def main(port: int, always: bool) -> None:
        client = async_client(port, password="pw")
        try:
            if always:
                with pytest.raises(pyredisclient.ProtocolError, match="out of step"):
                    await client.echo("mine")
            else:
                assert await client.echo("mine") == b"mine"
        finally:
            await client.aclose()

    with FakeServer(greeting(b"+EARLY\r\n", connections=1)) as fake:
        asyncio.run(main(fake.port, always=False))
        assert fake.accepted == 2
    with FakeServer(greeting(b"+EARLY\r\n")) as fake:
        asyncio.run(main(fake.port, always=True))
        assert b"ECHO" not in fake.command_names()


# -- a malformed EXEC reply ----------------------------------------------------------

BAD_EXEC = [b":5\r\n", b"$3\r\nabc\r\n", b"*1\r\n:1\r\n", b"*3\r\n:1\r\n:2\r\n:3\r\n", b"+OK\r\n"]
BAD_EXEC_IDS = ["integer", "bulk", "short-array", "long-array", "status"]


@pytest.mark.parametrize("exec_reply", BAD_EXEC, ids=BAD_EXEC_IDS)
def test_malformed_exec_reply_is_a_protocol_error(
    exec_reply: bytes, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    with FakeServer(bad_exec(exec_reply)) as fake:
        client = make_client(fake.port)
        with client.pipeline() as pipe:
            pipe.set("a", "1").get("a")
            with pytest.raises(pyredisclient.ProtocolError, match="invalid EXEC reply"):
                pipe.execute()
        # ... after WATCH too, on the pinned connection.
        with client.pipeline() as pipe:
            pipe.watch("a")
            pipe.multi()
            pipe.set("a", "2").get("a")
            with pytest.raises(pyredisclient.ProtocolError, match="invalid EXEC reply"):
                pipe.execute()
        stats = client.pool_stats()
        assert stats["closed"] == 2 and stats["idle"] == 0  # never pooled
        assert client.ping() is True
        assert fake.accepted == 3


def test_well_formed_exec_replies_still_pass(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    with FakeServer(bad_exec(b"*2\r\n+OK\r\n$1\r\n1\r\n")) as fake:
        client = make_client(fake.port)
        pipe = client.pipeline()
        assert pipe.set("a", "1").get("a").execute() == [True, b"1"]
    with FakeServer(bad_exec(b"*-1\r\n")) as fake:
        client = make_client(fake.port)
        pipe = client.pipeline()
        with pytest.raises(pyredisclient.WatchError):
            pipe.set("a", "1").get("a").execute()
    with FakeServer(bad_exec(b"-EXECABORT Transaction discarded\r\n")) as fake:
        client = make_client(fake.port)
        pipe = client.pipeline()
        with pytest.raises(pyredisclient.ExecAbortError):
            pipe.set("a", "1").execute()
        assert client.pool_stats()["closed"] == 0


@pytest.mark.parametrize("exec_reply", BAD_EXEC, ids=BAD_EXEC_IDS)
def test_malformed_exec_reply_asyncio(exec_reply: bytes) -> None:
    async def main(port: int) -> dict[str, int]:
        client = async_client(port)
        try:
            pipe = client.pipeline()
            pipe.set("a", "1").get("a")
            with pytest.raises(pyredisclient.ProtocolError, match="invalid EXEC reply"):
                await pipe.execute()
            async with client.pipeline() as tx:
                await tx.watch("a")
                tx.multi()
                tx.set("a", "2").get("a")
                with pytest.raises(pyredisclient.ProtocolError, match="invalid EXEC reply"):
                    await tx.execute()
            assert await client.ping() is True
            return dict(client._core.pool_stats())
        finally:
            await client.aclose()

    with FakeServer(bad_exec(exec_reply)) as fake:
        stats = asyncio.run(main(fake.port))
        assert fake.accepted == 3
    assert stats["closed"] == 2


# -- a shared connection (asyncio multiplexing) -----------------------------------


@pytest.mark.parametrize("exec_reply", BAD_EXEC, ids=BAD_EXEC_IDS)
def test_malformed_exec_reply_multiplexed(exec_reply: bytes) -> None:
    """A transaction on the shared connection whose EXEC reply does not hold one
    reply per command: that caller gets ProtocolError; the replies were counted by
    the framer, so the connection stays in step and keeps serving."""

    async def main(port: int) -> dict[str, int]:
        client = async_client(port, async_multiplex=True)
        try:
            assert await client.set("a", "0") is True  # opens the shared connection
            pipe = client.pipeline()
            pipe.set("a", "1").get("a")
            other = asyncio.ensure_future(client.get("a"))
            with pytest.raises(pyredisclient.ProtocolError, match="invalid EXEC reply"):
                await pipe.execute()
            assert await other == b"0"  # the fake never runs what MULTI queued
            assert await client.ping() is True
            return dict(client._core.pool_stats())
        finally:
            await client.aclose()

    with FakeServer(bad_exec(exec_reply)) as fake:
        stats = asyncio.run(main(fake.port))
        assert fake.accepted == 1  # the pipeline went out on the shared connection
    assert stats["closed"] == 0


def test_stale_reply_multiplexed_never_reaches_a_caller() -> None:
    """More replies than pending calls: the shared connection is out of step, closed;
    its calls fail or are sent again (a read), a write is never replayed, and no
    caller ever gets another's reply."""

    async def main(port: int) -> tuple[list[Any], Any]:
        client = async_client(port, async_multiplex=True)
        results: list[Any] = []
        try:
            for i in range(CALLS):
                try:
                    results.append(await client.echo(f"v{i}"))
                except pyredisclient.RedisError as exc:
                    results.append(exc)
            try:
                write: Any = await client.set("k", "2")
            except pyredisclient.RedisError as exc:
                write = exc
            return results, write
        finally:
            await client.aclose()

    with FakeServer(stale_reply_first()) as fake:
        results, write = asyncio.run(main(fake.port))
        assert fake.command_names().count(b"SET") == 1
    counts = tally(results, [f"v{i}".encode() for i in range(CALLS)])
    # Each connection goes out of step on its second request: the read is sent
    # again, on a new connection whose first request it is.
    assert counts == {"right": CALLS, "wrong": 0, "error": 0}
    assert isinstance(write, pyredisclient.ProtocolError)
    assert "out of step" in str(write)


def test_late_duplicate_multiplexed_never_reaches_a_caller() -> None:
    server = LateDuplicate(0.002)

    async def main(port: int) -> list[Any]:
        client = async_client(port, async_multiplex=True)
        loop = asyncio.get_running_loop()
        results: list[Any] = []
        try:
            for i in range(CALLS):
                try:
                    results.append(await client.echo(f"v{i}"))
                except pyredisclient.RedisError as exc:
                    results.append(exc)
                # Paced as the other tests: the duplicate is in before the next
                # call (one arriving after the next request was sent could not be
                # told from its answer, by any client).
                assert await loop.run_in_executor(None, server.wait_duplicates)
                await asyncio.sleep(0.001)
            return results
        finally:
            await client.aclose()

    with FakeServer(server) as fake:
        results = asyncio.run(main(fake.port))
    counts = tally(results, [f"v{i}".encode() for i in range(CALLS)])
    # Each duplicate found the connection idle: out of step, replaced.
    assert counts == {"right": CALLS, "wrong": 0, "error": 0}
