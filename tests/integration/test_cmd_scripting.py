"""Scripting and functions (ScriptCommands, FunctionCommands, register_script's
Script) against a real server: sync, decode_responses, pipelines, transactions,
the asyncio client and pipeline, and key prefixes."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any, Iterator

import pytest

import pyredisclient
from pyredisclient import DataError, NoScriptError, ResponseError
from pyredisclient.client.aio import AsyncRedisClient
from pyredisclient.commands.keyprefix import KeyPrefixError
from pyredisclient.commands.scripting import Script

LIB = "#!lua name=h15lib\nredis.register_function('h15get', function(keys, args) return redis.call('GET', keys[1]) end)\nredis.register_function{function_name='h15ro', callback=function(keys, args) return args[1] end, flags={'no-writes'}}\n"
INCR_BY = "return redis.call('INCRBY', KEYS[1], ARGV[1])"


@pytest.fixture
def r(redis_client: Any) -> Iterator[Any]:
    redis_client.script_flush()
    redis_client.function_flush()
    yield redis_client
    redis_client.function_flush()


@pytest.fixture
def rd(r: Any, redis_url: str) -> Iterator[Any]:
    client = pyredisclient.RedisClient.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        client.close()


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 10))


def test_eval_ro_and_evalsha_ro(r: Any, rd: Any) -> None:
    r.set("k", "v")
    assert r.eval_ro("return redis.call('GET', KEYS[1])", 1, "k") == b"v"
    assert rd.eval_ro("return redis.call('GET', KEYS[1])", 1, "k") == "v"
    with pytest.raises(ResponseError, match=r"[Ww]rite commands are not allowed"):
        r.eval_ro("return redis.call('SET', KEYS[1], 'x')", 1, "k")
    sha = r.script_load("return redis.call('GET', KEYS[1])")
    assert r.evalsha_ro(sha, 1, "k") == b"v"
    with pytest.raises(NoScriptError):
        r.evalsha_ro("0" * 40, 0)


def test_script_kill_and_debug(r: Any) -> None:
    with pytest.raises(ResponseError, match="NOTBUSY"):
        r.script_kill()
    with pytest.raises(DataError, match="redis-cli"):
        r.script_debug("YES")
    with pytest.raises(DataError):
        r.script_flush("LATER")


def test_register_script_falls_back_to_eval(r: Any, rd: Any) -> None:
    script = r.register_script(INCR_BY)
    assert isinstance(script, Script)
    assert script.sha == hashlib.sha1(INCR_BY.encode()).hexdigest()
    assert r.script_exists(script.sha) == [False]
    assert script(keys=["n"], args=[5]) == 5  # NoScriptError -> EVAL (which caches it)
    assert r.script_exists(script.sha) == [True]
    assert script(["n"], [2]) == 7
    r.script_flush()
    assert script(keys=["n"], args=[1], client=rd) == 8  # another client, flushed cache
    bscript = rd.register_script(b"return ARGV[1]")
    assert bscript(args=["x"]) == "x"
    assert "sha=" in repr(bscript)
    with pytest.raises(DataError):
        r.register_script(42)


def test_a_missing_script_costs_one_eval(r: Any) -> None:
    script = r.register_script(INCR_BY)
    r.config_resetstat()
    assert script(keys=["n"], args=[5]) == 5
    assert script(keys=["n"], args=[1]) == 6
    stats = r.info("commandstats")
    assert stats["cmdstat_evalsha"]["calls"] == 2  # the first failed with NOSCRIPT
    assert stats["cmdstat_eval"]["calls"] == 1
    assert "cmdstat_script|load" not in stats and "cmdstat_script" not in stats


def test_one_script_class_for_clients_and_patterns(redis_url: str, r: Any) -> None:
    from pyredisclient.patterns._script import library_script

    own = library_script(INCR_BY)
    assert type(own) is Script and type(r.register_script(INCR_BY)) is Script
    assert own.sha == r.register_script(INCR_BY).sha and own.keys_only
    with pytest.raises(TypeError, match="pass client="):
        own(["n"], [1])
    assert own(["n"], [2], client=r) == 2
    with pyredisclient.RedisClient.from_url(redis_url, key_prefix="t:") as tenant:
        # Confined to its KEYS: runs on a prefixed client that refuses other scripts.
        r.script_flush()
        assert own(["n"], [3], client=tenant) == 3
        assert r.get("t:n") == b"3"
        with pytest.raises(KeyPrefixError):
            tenant.register_script(INCR_BY)(["n"], [1])


def test_register_script_errors_are_not_retried(r: Any) -> None:
    script = r.register_script("return redis.error_reply('boom')")
    with pytest.raises(ResponseError, match="boom"):
        script()


@pytest.mark.parametrize("transaction", [False, True])
def test_script_in_pipeline_loads_first(r: Any, transaction: bool) -> None:
    script = r.register_script(INCR_BY)
    with r.pipeline(transaction=transaction) as pipe:
        pipe.set("n", 10)
        script(keys=["n"], args=[3], client=pipe)
        pipe.get("n")
        assert pipe.execute() == [True, 13, b"13"]
    assert r.script_exists(script.sha) == [True]
    # Registered on the pipeline itself; loaded again after a flush.
    r.script_flush()
    with r.pipeline(transaction=transaction) as pipe:
        pscript = pipe.register_script(INCR_BY)
        pscript(["n"], [1])
        assert pipe.execute() == [14]
        # Scripts are forgotten after execute: nothing to load for an empty batch.
        assert pipe._scripts == set()


def test_script_in_watching_transaction(r: Any) -> None:
    script = r.register_script(INCR_BY)
    r.set("n", 1)

    def txn(pipe: Any) -> None:
        current = int(pipe.get("n"))
        pipe.multi()
        script(keys=["n"], args=[current], client=pipe)

    assert r.transaction(txn, "n") == [2]


def test_functions(r: Any, rd: Any) -> None:
    assert r.function_load(LIB) == b"h15lib"
    with pytest.raises(ResponseError, match="already exists"):
        r.function_load(LIB)
    assert rd.function_load(LIB, replace=True) == "h15lib"
    r.set("k", "v")
    assert r.fcall("h15get", 1, "k") == b"v"
    assert rd.fcall("h15get", 1, "k") == "v"
    assert r.fcall_ro("h15ro", 0, "a") == b"a"
    with pytest.raises(ResponseError):
        r.fcall_ro("h15get", 1, "k")  # not flagged no-writes
    listed = r.function_list()
    assert listed[0][0:2] == [b"library_name", b"h15lib"]
    assert rd.function_list(library="h15*", withcode=True)[0][-1] == LIB
    assert r.function_list(library=None) == listed
    assert r.function_list(library="nomatch*") == []
    stats = r.function_stats()
    assert stats[0] == b"running_script" and stats[1] is None
    with pytest.raises(ResponseError, match="NOTBUSY"):
        r.function_kill()
    payload = r.function_dump()
    assert isinstance(payload, bytes)
    assert r.function_delete("h15lib") is True
    assert r.function_list() == []
    assert r.function_restore(payload) is True
    with pytest.raises(ResponseError):
        r.function_restore(payload)  # APPEND: the library exists
    assert r.function_restore(payload, "REPLACE") is True
    r.function_delete("h15lib")
    assert r.function_restore(payload, policy=None) is True  # the server's APPEND
    assert r.function_flush("ASYNC") is True
    assert r.function_flush() is True


def test_functions_and_scripts_in_transaction(r: Any) -> None:
    with r.pipeline() as pipe:
        pipe.function_load(LIB)
        pipe.fcall_ro("h15ro", 0, "x")
        pipe.eval("return 1", 0)
        pipe.script_exists("0" * 40)
        pipe.function_delete("h15lib")
        assert pipe.execute() == [b"h15lib", b"x", 1, [False], True]


def test_key_prefix_scripts(redis_url: str, r: Any) -> None:
    with pyredisclient.RedisClient.from_url(redis_url, key_prefix="t:") as tenant:
        script = tenant.register_script(INCR_BY)
        with pytest.raises(KeyPrefixError):
            script(keys=["n"], args=[1])
        with pytest.raises(KeyPrefixError):
            tenant.fcall("h15get", 1, "k")
        allowed = r.with_prefix("t:", allow=["scripts"])
        script = allowed.register_script(INCR_BY)
        assert script(keys=["n"], args=[4]) == 4
        assert r.get("t:n") == b"4"  # the key was prefixed
        allowed.function_load(LIB)
        assert allowed.fcall("h15get", 1, "n") == b"4"


# -- the asyncio client and pipeline run every method --------------------------------

ASYNC_CALLS = [
    ("eval", ("return ARGV[1]", 0, "a"), b"a"),
    ("eval_ro", ("return ARGV[1]", 0, "a"), b"a"),
    ("script_load", ("return 7",), hashlib.sha1(b"return 7").hexdigest()),
    ("evalsha", (hashlib.sha1(b"return 7").hexdigest(), 0), 7),
    ("evalsha_ro", (hashlib.sha1(b"return 7").hexdigest(), 0), 7),
    ("script_exists", (hashlib.sha1(b"return 7").hexdigest(),), [True]),
    ("function_load", (LIB,), b"h15lib"),
    ("fcall_ro", ("h15ro", 0, "z"), b"z"),
    ("fcall", ("h15get", 1, "nokey"), None),
    ("function_list", ("nomatch",), []),
    ("function_delete", ("h15lib",), True),
    ("function_flush", (), True),
    ("script_flush", ("SYNC",), True),
]


def test_async_client_every_method(async_redis_client: AsyncRedisClient, r: Any) -> None:
    client = async_redis_client

    async def main() -> None:
        for name, args, expected in ASYNC_CALLS:
            assert await getattr(client, name)(*args) == expected, name
        assert isinstance(await client.function_dump(), bytes)
        assert (await client.function_stats())[0] == b"running_script"
        with pytest.raises(ResponseError, match="NOTBUSY"):
            await client.script_kill()
        with pytest.raises(ResponseError, match="NOTBUSY"):
            await client.function_kill()
        script = client.register_script(INCR_BY)
        assert await script(keys=["n"], args=[2]) == 2  # fell back to EVAL
        assert await script(keys=["n"], args=[2]) == 4
        payload = await client.function_dump()
        assert await client.function_restore(payload) is True
        await client.function_flush()

    run(main())


def test_async_pipeline_every_method(async_redis_client: AsyncRedisClient, r: Any) -> None:
    client = async_redis_client

    async def main() -> None:
        for transaction in (False, True):
            async with client.pipeline(transaction=transaction) as pipe:
                for name, args, _ in ASYNC_CALLS:
                    getattr(pipe, name)(*args)
                assert await pipe.execute() == [e for _, _, e in ASYNC_CALLS]
        script = client.register_script(INCR_BY)
        async with client.pipeline() as pipe:
            script(keys=["n"], args=[5], client=pipe)
            assert await pipe.execute() == [5]

    run(main())


def test_async_script_errors(async_redis_client: AsyncRedisClient, r: Any) -> None:
    script = async_redis_client.register_script("return redis.error_reply('boom')")

    async def main() -> None:
        with pytest.raises(ResponseError, match="boom"):
            await script()

    run(main())
