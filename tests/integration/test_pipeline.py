"""Pipelines and MULTI/EXEC transactions of RedisClient against a real server.

Results with callbacks applied, error handling (raise_on_error, queue-time errors
and EXECABORT, errors inside the EXEC array), reuse, length, context manager,
chaining, very long pipelines, and the timeout of blocking commands in a pipeline.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

import pytest

from pyredisclient import (
    ConnectionError,
    DataError,
    Pipeline,
    RedisClient,
    RedisError,
    ReplyLimitError,
    ResponseError,
    TimeoutError,
    WatchError,
)

SECRET = "s3cret-argument-value"


# Pipelines are held as Any here so that tests can also use WATCH mode, where
# commands return values; pipeline.pyi types the buffered, chaining mode.


@pytest.fixture
def r(redis_client: RedisClient) -> Any:
    return redis_client


def calls(r: Any, command: str) -> int:
    """How many times the server has run ``command`` (INFO commandstats)."""
    stat = r.info("commandstats").get(f"cmdstat_{command}")
    return 0 if stat is None else int(stat["calls"])


def wait_until(pred: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(0.01)


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------


def queue_mixed(p: Pipeline) -> Pipeline:
    p.set("s", "v")
    p.hset("h", mapping={"f1": "1", "f2": "2"})
    p.hgetall("h")
    p.incr("n")
    p.get("missing")
    p.exists("s", "missing")
    p.sadd("set", "a", "b")
    p.smembers("set")
    p.zadd("z", {"m": 1.5})
    p.zrange("z", 0, -1, withscores=True)
    p.ping()
    return p


MIXED_RESULTS = [
    True,
    2,
    {b"f1": b"1", b"f2": b"2"},
    1,
    None,
    1,
    2,
    {b"a", b"b"},
    1,
    [(b"m", 1.5)],
    True,
]


def test_transaction_results_have_callbacks_applied(r: Any) -> None:
    execs, multis = calls(r, "exec"), calls(r, "multi")
    p = r.pipeline()
    assert p.transaction is True
    assert queue_mixed(p).execute() == MIXED_RESULTS
    assert calls(r, "exec") == execs + 1
    assert calls(r, "multi") == multis + 1
    assert r.get("s") == b"v"


def test_plain_pipeline_results_have_callbacks_applied(r: Any) -> None:
    execs = calls(r, "exec")
    p = r.pipeline(transaction=False)
    assert queue_mixed(p).execute() == MIXED_RESULTS
    assert calls(r, "exec") == execs  # no MULTI/EXEC around a plain pipeline


def test_decoded_pipeline(make: Callable[..., Any]) -> None:
    rd = make(decode_responses=True)
    results = rd.pipeline().set("k", "é").get("k").hset("h", "f", "v").hgetall("h").execute()
    assert results == [True, "é", 1, {"f": "v"}]


def test_chaining_returns_the_pipeline(r: Any) -> None:
    p = r.pipeline()
    assert p.set("a", 1) is p
    assert p.incr("a").get("a") is p
    assert len(p) == 3
    assert p.execute() == [True, 2, b"2"]


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("transaction", [False, True])
def test_raise_on_error_raises_the_first_error_annotated(r: Any, transaction: bool) -> None:
    r.set("str", SECRET)
    p = r.pipeline(transaction=transaction)
    p.set("before", SECRET)
    p.lpush("str", SECRET)  # WRONGTYPE, at run time
    p.incr("str")  # a second error: not the one raised
    p.set("after", "ran")
    with pytest.raises(ResponseError) as info:
        p.execute()
    message = str(info.value)
    assert message.startswith("Command # 2 (LPUSH) of pipeline caused error: WRONGTYPE")
    assert SECRET not in message  # command names only, never argument values
    assert type(info.value) is ResponseError
    # Run-time errors do not stop the other commands (nor roll back a transaction).
    assert r.get("before") == SECRET.encode()
    assert r.get("after") == b"ran"
    assert len(p) == 0


@pytest.mark.parametrize("transaction", [False, True])
def test_errors_returned_in_place_without_raise_on_error(r: Any, transaction: bool) -> None:
    r.set("str", "text")
    p = r.pipeline(transaction=transaction)
    p.set("a", 1).lpush("str", "x").hset("h", "f", "v").incr("str").hgetall("h")
    results = p.execute(raise_on_error=False)
    assert len(results) == 5
    assert results[0] is True
    assert isinstance(results[1], ResponseError) and "WRONGTYPE" in str(results[1])
    assert results[2] == 1
    assert isinstance(results[3], ResponseError) and "not an integer" in str(results[3])
    assert results[4] == {b"f": b"v"}  # callbacks still applied to the others
    assert not str(results[1]).startswith("Command #")


@pytest.mark.parametrize("raise_on_error", [True, False])
def test_queue_time_error_aborts_the_transaction(r: Any, raise_on_error: bool) -> None:
    execs = calls(r, "exec")
    p = r.pipeline()
    p.set("t1", "x")
    p.execute_command("SET", "only-key")  # wrong arity: refused when queued
    p.set("t2", "y")
    with pytest.raises(ResponseError) as info:
        p.execute(raise_on_error=raise_on_error)
    assert str(info.value).startswith(
        "Command # 2 (SET) of pipeline caused error: wrong number of arguments"
    )
    # EXECABORT: nothing ran.
    assert r.exists("t1", "t2", "only-key") == 0
    assert calls(r, "exec") == execs + 1
    assert len(p) == 0
    assert p.set("t1", "ok").execute() == [True]


def test_unknown_command_aborts_the_transaction(r: Any) -> None:
    p = r.pipeline()
    p.set("u1", 1).execute_command("NOSUCHCMD", "arg").set("u2", 2)
    with pytest.raises(ResponseError, match=r"^Command # 2 \(NOSUCHCMD\)"):
        p.execute()
    assert r.exists("u1", "u2") == 0


def test_plain_pipeline_with_a_bad_command_runs_the_rest(r: Any) -> None:
    p = r.pipeline(transaction=False)
    p.set("p1", 1).execute_command("SET", "only-key").set("p2", 2)
    results = p.execute(raise_on_error=False)
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], ResponseError)
    assert r.exists("p1", "p2") == 2


def test_data_error_while_queueing_leaves_the_pipeline_usable(r: Any) -> None:
    p = r.pipeline(transaction=False)
    p.set("d1", 1)
    with pytest.raises(DataError):
        p.set("d2", None)
    assert len(p) == 1
    p.get("d1")
    assert p.execute() == [True, b"1"]
    assert r.exists("d2") == 0


def test_queued_state_command_is_refused_after_its_container(r: Any) -> None:
    # The batch remembers the last plain command's flags by its name; a
    # container (CLIENT) is never remembered, so its refused subcommand
    # is refused whatever was queued before, in any case.
    p = r.pipeline(transaction=False)
    p.get("s1").execute_command("CLIENT", "NOSUCHSUB").get("s1")
    for args in (("CLIENT", "REPLY", "OFF"), ("client", "reply", "off"), ("SELECT", 1)):
        with pytest.raises(DataError):
            p.execute_command(*args)
        with pytest.raises(DataError):
            p.execute_command(*args)
    assert len(p) == 3
    results = p.execute(raise_on_error=False)
    assert results[0] is None and results[2] is None
    assert isinstance(results[1], ResponseError)


def test_data_error_on_the_first_transaction_command(r: Any) -> None:
    p = r.pipeline()
    with pytest.raises(DataError):
        p.set("k", None)
    p.set("k", "v").execute_command("SET", "only-key")
    with pytest.raises(ResponseError, match=r"Command # 2 \(SET\).*wrong number of arguments"):
        p.execute()


def test_reply_limit_in_a_pipeline_closes_the_connection(r: Any, make: Callable[..., Any]) -> None:
    r.set("big", b"b" * (2 * 1024 * 1024))
    limited = make(max_reply_bytes=1024 * 1024)
    p = limited.pipeline(transaction=False).set("small", 1).get("big").get("small")
    with pytest.raises(ReplyLimitError):
        p.execute()
    assert len(p) == 0
    assert limited.pipeline(transaction=False).get("small").ping().execute() == [b"1", True]


def test_reply_limit_applies_per_reply_in_a_pipeline(r: Any, make: Callable[..., Any]) -> None:
    r.set("kb", b"k" * 1000)
    limited = make(max_reply_bytes=1024 * 1024)
    p = limited.pipeline(transaction=False)
    for _ in range(1500):
        p.get("kb")
    assert p.execute() == [b"k" * 1000] * 1500


# ---------------------------------------------------------------------------
# shape: empty, reuse, len, context manager, size
# ---------------------------------------------------------------------------


def test_empty_pipeline_executes_without_the_server(make: Callable[..., Any]) -> None:
    client = make()
    assert client.pipeline().execute() == []
    assert client.pipeline(transaction=False).execute() == []
    assert client.pool_stats()["created"] == 0


def test_len_reuse_and_reset(r: Any) -> None:
    for transaction in (True, False):
        p = r.pipeline(transaction=transaction)
        assert len(p) == 0 and bool(p) is True
        p.set("x", 1).incr("x")
        assert len(p) == 2  # MULTI is not counted
        assert p.execute() == [True, 2]
        assert len(p) == 0
        p.incr("x")
        assert p.execute() == [3]
        p.set("x", "text").incr("x")
        with pytest.raises(ResponseError):
            p.execute()
        assert len(p) == 0
        p.delete("x").incr("x")
        assert p.execute() == [1, 1]
        p.set("never", 1)
        p.reset()
        assert len(p) == 0
        assert p.execute() == []
        r.delete("x")
    assert r.exists("never") == 0


def test_context_manager_resets_without_executing(r: Any) -> None:
    with r.pipeline() as p:
        p.set("cm1", 1).set("cm2", 2)
        assert len(p) == 2
    assert len(p) == 0
    assert p.execute() == []
    with pytest.raises(KeyError):
        with r.pipeline(transaction=False) as p2:
            p2.set("cm3", 3)
            raise KeyError("inside")
    assert len(p2) == 0
    assert r.exists("cm1", "cm2", "cm3") == 0
    with r.pipeline() as p3:
        assert p3.set("cm4", 4).get("cm4").execute() == [True, b"4"]


def test_multi_turns_a_plain_pipeline_into_a_transaction(r: Any) -> None:
    execs = calls(r, "exec")
    p = r.pipeline(transaction=False)
    p.multi()
    with pytest.raises(RedisError, match="nested"):
        p.multi()
    assert p.set("m", 1).incr("m").execute() == [True, 2]
    assert calls(r, "exec") == execs + 1
    buffered = r.pipeline(transaction=False).set("m2", 1)
    with pytest.raises(RedisError, match="already buffered"):
        buffered.multi()


@pytest.mark.parametrize("transaction", [False, True])
def test_ten_thousand_commands(r: Any, transaction: bool) -> None:
    n = 10_000
    p = r.pipeline(transaction=transaction)
    for i in range(n // 2):
        p.set(f"k{i}", i)
        p.incr("counter")
    assert len(p) == n
    results = p.execute()
    assert results[0::2] == [True] * (n // 2)
    assert results[1::2] == list(range(1, n // 2 + 1))
    p2 = r.pipeline(transaction=transaction)
    for i in range(n):
        p2.get(f"k{i % (n // 2)}")
    values = p2.execute()
    assert values == [str(i % (n // 2)).encode() for i in range(n)]
    assert r.get("counter") == str(n // 2).encode()


def test_pipelines_from_many_threads(r: Any) -> None:
    errors: list[BaseException] = []

    def work(t: int) -> None:
        try:
            for rnd in range(15):
                p = r.pipeline(transaction=rnd % 2 == 0)
                for i in range(40):
                    p.set(f"t{t}:{i}", f"{t}:{rnd}:{i}").get(f"t{t}:{i}")
                results = p.execute()
                assert results[1::2] == [f"{t}:{rnd}:{i}".encode() for i in range(40)]
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert errors == []
    assert r.dbsize() == 8 * 40


# ---------------------------------------------------------------------------
# blocking commands and failures
# ---------------------------------------------------------------------------


def test_blocking_command_in_a_pipeline_uses_socket_timeout(
    r: Any, make: Callable[..., Any]
) -> None:
    client = make(socket_timeout=0.3)
    p = client.pipeline(transaction=False).set("pb", 1).blpop("pb:list", 3)
    start = time.monotonic()
    with pytest.raises(TimeoutError):
        p.execute()
    elapsed = time.monotonic() - start
    assert 0.28 <= elapsed < 0.8  # socket_timeout, not the 3 s block
    assert len(p) == 0
    # The timed-out connection was closed: its BLPOP cannot eat a later push.
    wait_until(lambda: int(r.info("clients")["blocked_clients"]) == 0)
    assert client.rpush("pb:list", "x") == 1
    assert client.lrange("pb:list", 0, -1) == [b"x"]
    assert client.get("pb") == b"1"


def test_blocking_command_inside_a_transaction_does_not_block(
    make: Callable[..., Any],
) -> None:
    client = make(socket_timeout=0.3)
    start = time.monotonic()
    assert client.pipeline().blpop("tb:list", 5).set("tb", 1).execute() == [None, True]
    assert time.monotonic() - start < 0.3


def test_pipeline_on_a_stopped_server(redis_server_factory: Callable[..., Any]) -> None:
    server = redis_server_factory()
    client = RedisClient.from_url(server.url, socket_connect_timeout=1.0)
    try:
        assert client.pipeline().set("k", 1).execute() == [True]
        server.stop()
        p = client.pipeline().set("k", 2).get("k")
        with pytest.raises(ConnectionError):
            p.execute()
        assert len(p) == 0
        server.start()
        assert p.set("k", 3).get("k").execute() == [True, b"3"]
    finally:
        client.close()


def test_repr(r: Any) -> None:
    p = r.pipeline().set("a", 1)
    assert "transaction of 1 commands" in repr(p)
    assert "pipeline of 0 commands" in repr(r.pipeline(transaction=False))


# ---------------------------------------------------------------------------
# WATCH / MULTI / EXEC on a pinned connection
# ---------------------------------------------------------------------------


def test_watch_reads_immediately_then_multi_queues(r: Any) -> None:
    r.set("w:n", 5)
    with r.pipeline() as p:
        assert p.watch("w:n") is True
        assert r.pool_stats()["in_use"] == 1  # the watching connection is pinned
        value = int(p.get("w:n"))  # immediate while watching
        assert value == 5
        p.multi()
        assert p.set("w:n", value + 1) is p  # queued after multi()
        assert p.get("w:n") is p
        assert p.execute() == [True, b"6"]
    assert r.get("w:n") == b"6"
    assert r.pool_stats()["in_use"] == 0  # EXEC gave the connection back


def test_a_concurrent_write_raises_watch_error(r: Any, make: Callable[..., Any]) -> None:
    other = make()
    r.set("w:k", "a")
    p = r.pipeline()
    p.watch("w:k")
    assert p.get("w:k") == b"a"
    other.set("w:k", "changed")  # another connection writes the watched key
    p.multi()
    p.set("w:k", "mine")
    with pytest.raises(WatchError):
        p.execute()
    assert r.get("w:k") == b"changed"
    assert r.pool_stats()["in_use"] == 0
    # The pipeline is usable afterwards, back in plain queueing mode.
    assert p.set("w:k", "after") is p
    assert p.execute() == [True]


def test_unwatch_goes_back_to_queueing(r: Any) -> None:
    r.set("w:u", 1)
    p = r.pipeline()
    p.watch("w:u")
    assert p.get("w:u") == b"1"
    assert p.unwatch() is True
    assert p.get("w:u") is p  # queued again
    assert len(p) == 1
    assert p.execute() == [b"1"]
    p.reset()
    assert r.pool_stats()["in_use"] == 0


def test_reset_while_watching_releases_the_connection(r: Any) -> None:
    p = r.pipeline()
    p.watch("w:r")
    assert r.pool_stats()["in_use"] == 1
    p.reset()
    assert r.pool_stats()["in_use"] == 0
    assert p.incr("w:r") is p
    assert p.execute() == [1]


def test_transaction_helper_retries_until_exec_succeeds(r: Any, make: Callable[..., Any]) -> None:
    other = make()
    r.set("w:t", 10)
    attempts: list[int] = []

    def incr_by_read(pipe: Any) -> None:
        current = int(pipe.get("w:t"))
        attempts.append(current)
        if len(attempts) == 1:
            other.incr("w:t")  # spoil the first attempt only
        pipe.multi()
        pipe.set("w:t", current * 2)

    assert r.transaction(incr_by_read, "w:t") == [True]
    assert attempts == [10, 11]
    assert r.get("w:t") == b"22"
    assert r.transaction(lambda pipe: 7, "w:t", value_from_callable=True) == 7


def test_multi_twice_and_watch_after_multi_are_refused(r: Any) -> None:
    p = r.pipeline()
    p.watch("w:x")
    p.multi()
    with pytest.raises(RedisError, match="nested"):
        p.multi()
    with pytest.raises(RedisError, match="WATCH after a MULTI"):
        p.watch("w:y")
    p.reset()
    q = r.pipeline(transaction=False)
    q.get("w:x")
    with pytest.raises(RedisError, match="already buffered"):
        q.multi()


def test_a_lost_watching_connection(r: Any, make: Callable[..., Any]) -> None:
    """The watching connection dies: execute() raises WatchError (the watch may be
    lost), reset() survives a failing UNWATCH, and neither pools the corpse."""
    client = make(client_name="watcher")
    p = client.pipeline()
    p.watch("w:lost")
    r.execute_command("CLIENT", "KILL", "SKIPME", "yes", "TYPE", "normal")
    p.multi()
    p.set("w:lost", "x")
    with pytest.raises(WatchError, match="ConnectionError"):
        p.execute()
    closed = client.pool_stats()["closed"]
    p.watch("w:lost")
    r.execute_command("CLIENT", "KILL", "SKIPME", "yes", "TYPE", "normal")
    p.reset()  # UNWATCH fails on the dead connection: swallowed, connection closed
    stats = client.pool_stats()
    assert stats["in_use"] == 0 and stats["idle"] == 0 and stats["closed"] == closed + 1
    assert r.get("w:lost") is None


def test_watch_on_an_unreachable_server_leaves_nothing_pinned(
    make: Callable[..., Any],
) -> None:
    from pyredisclient.testing import find_free_port

    client = make()
    dead = RedisClient(port=find_free_port(), socket_connect_timeout=0.5, retry_attempts=0)
    try:
        p = dead.pipeline()
        with pytest.raises(ConnectionError):
            p.watch("w:dead")
        assert dead.pool_stats()["in_use"] == 0
        assert p.set("w:dead", 1) is p  # back to plain queueing
    finally:
        dead.close()
    assert client.ping() is True


def test_a_watching_pipeline_serves_one_thread_at_a_time(r: Any, make: Callable[..., Any]) -> None:
    """Two threads on one watching pipeline: the second call is refused while the
    first holds the pinned connection, instead of reading the first one's reply."""
    client = make()
    p = client.pipeline()
    p.watch("w:threads")
    result: list[Any] = []
    blocker = threading.Thread(target=lambda: result.append(p.blpop("w:threads:list", 1)))
    blocker.start()
    deadline = time.monotonic() + 2
    while not any("b" in c["flags"] for c in r.client_list()):  # BLPOP is blocked
        assert time.monotonic() < deadline
        time.sleep(0.01)
    with pytest.raises(RuntimeError, match="one call at a time"):
        p.get("w:threads")
    r.rpush("w:threads:list", "v")
    blocker.join(3)
    assert result == [(b"w:threads:list", b"v")]
    assert p.get("w:threads") is None  # the pin is free again, still watching
    p.reset()
    assert client.pool_stats()["in_use"] == 0
