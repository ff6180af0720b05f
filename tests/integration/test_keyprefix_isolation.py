"""Key-prefix isolation for tenants: nesting, narrowing, every route, hostile arguments.

* Prefixes nest: a view of a client confined to ``app:`` writes under ``app:x:``, and a
  view of that under ``app:x:y:``. Every route a caller has (command methods,
  execute_command, pipelines and transactions, WATCH, scan_iter/hscan_iter, the health
  check, sync and async, views of views) is run through each of them, and afterwards
  the database holds exactly the keys expected under each prefix and the planted decoys,
  unchanged.
* A derived client only narrows: asking for more opt-ins than its parent has raises,
  whatever the route (with_prefix on a view, on a configured client, async).
* Hostile argument objects (a str or bytes subclass that compares equal to another
  command, an int subclass whose ``__int__`` lies, a buffer changed while the C layer
  encodes) cannot make the prefixer decide on one command and the server run another.
"""

from __future__ import annotations

import asyncio
from typing import Any, Coroutine, Dict, Iterator, List, Set, TypeVar

import pytest

from pyredisclient import ConfigurationError, KeyPrefixError, RedisClient
from pyredisclient.aio import AsyncRedisClient

T = TypeVar("T")

DECOYS: Dict[str, str] = {
    "k": "DECOY",
    "k1": "DECOY",
    "cnt": "100",
    "w": "DECOY",
    "x:k": "DECOY",
    "x:cnt": "100",
    "b": "DECOY",
}
# The names each routine writes (health_check's deep key is deleted again).
NAMES = {"k", "k1", "k2", "h", "l", "cnt", "e2", "p1", "t1", "w", "z", "s"}


def run(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture
def plain(redis_url: str) -> Iterator[RedisClient]:
    """An unprefixed client on an emptied database 5, with the decoys planted."""
    with RedisClient.from_url(redis_url, db=5) as client:
        client.flushdb()
        client.mset(DECOYS)
        client.sadd("s", "DECOY")
        try:
            yield client
        finally:
            client.flushdb()


def outside_keys(plain: RedisClient) -> Dict[bytes, Any]:
    """The decoys as they are now (string values and the set)."""
    names = sorted(DECOYS)
    return dict(zip(names, plain.mget(names))) | {"s": plain.smembers("s")}


def assert_confined(plain: RedisClient, prefixes: List[str]) -> None:
    before = {k: v.encode() for k, v in DECOYS.items()} | {"s": {b"DECOY"}}
    assert outside_keys(plain) == before
    expected = {(p + n).encode() for p in prefixes for n in NAMES}
    got = set(plain.keys()) - {k.encode() for k in DECOYS} - {b"s"}
    assert got == expected, (got - expected, expected - got)


def sync_routine(c: RedisClient) -> None:
    """Every route a caller has, on one client."""
    c.set("k", "v")
    assert c.get("k") == b"v"
    c.mset({"k1": "1", "k2": "2"})
    assert c.mget(["k", "k1", "k2"]) == [b"v", b"1", b"2"]
    c.hset("h", mapping={"f": "1", "g": "2"})
    c.rpush("l", "a", "b")
    c.execute_command("SET", "e", "1")
    c.execute_command("RENAME", "e", "e2")
    c.zadd("z", {"m": 1})
    c.sadd("s", "mine")
    assert c.execute_command("SINTERCARD", 1, "s") == 1  # its own set, not the decoy
    p = c.pipeline(transaction=False)
    p.set("p1", "1").get("k").execute_command("DEL", "k1").incr("cnt")
    assert p.execute() == [True, b"v", 1, 1]
    c.set("k1", "1")
    t = c.pipeline()
    t.set("t1", "1").incr("cnt")
    assert t.execute() == [True, 2]

    def bump(pipe: Any) -> None:
        value = int(pipe.get("cnt"))  # immediate, on the watching connection
        pipe.execute_command("WATCH", "w")  # one more watched key, allowed there
        pipe.multi()
        pipe.set("cnt", value + 1)
        pipe.set("w", "mine")

    assert c.transaction(bump, "cnt") == [True, True]
    assert c.get("cnt") == b"3"
    assert sorted(c.scan_iter(count=2)) == sorted(n.encode() for n in NAMES)
    assert sorted(c.keys()) == sorted(n.encode() for n in NAMES)
    assert sorted(c.hscan_iter("h")) == [(b"f", b"1"), (b"g", b"2")]
    assert c.health_check(deep=True)["deep"]["ok"] is True
    # Nothing reaches past the prefix without a grant.
    for refused in (c.flushall, c.flushdb, c.dbsize, lambda: c.config_get("requirepass")):
        with pytest.raises(KeyPrefixError):
            refused()
    with pytest.raises(KeyPrefixError):
        c.eval("return redis.call('FLUSHALL')", 0)
    with pytest.raises(KeyPrefixError):
        c.execute_command("MOVE", "k", 0)


async def async_routine(c: AsyncRedisClient) -> None:
    await c.set("k", "v")
    assert await c.get("k") == b"v"
    await c.mset({"k1": "1", "k2": "2"})
    assert await c.mget(["k", "k1", "k2"]) == [b"v", b"1", b"2"]
    await c.hset("h", mapping={"f": "1", "g": "2"})
    await c.rpush("l", "a", "b")
    await c.execute_command("SET", "e", "1")
    await c.execute_command("RENAME", "e", "e2")
    await c.zadd("z", {"m": 1})
    await c.sadd("s", "mine")
    assert await c.execute_command("SINTERCARD", 1, "s") == 1
    p = c.pipeline(transaction=False)
    p.set("p1", "1").get("k").execute_command("DEL", "k1").incr("cnt")
    assert await p.execute() == [True, b"v", 1, 1]
    await c.set("k1", "1")
    t = c.pipeline()
    t.set("t1", "1").incr("cnt")
    assert await t.execute() == [True, 2]

    async def bump(pipe: Any) -> None:
        value = int(await pipe.get("cnt"))
        await pipe.execute_command("WATCH", "w")
        pipe.multi()
        pipe.set("cnt", value + 1)
        pipe.set("w", "mine")

    assert await c.transaction(bump, "cnt") == [True, True]
    assert await c.get("cnt") == b"3"
    assert sorted([k async for k in c.scan_iter(count=2)]) == sorted(n.encode() for n in NAMES)
    assert sorted(await c.keys()) == sorted(n.encode() for n in NAMES)
    assert sorted([f async for f in c.hscan_iter("h")]) == [(b"f", b"1"), (b"g", b"2")]
    assert (await c.health_check(deep=True))["deep"]["ok"] is True
    for refused in (c.flushall(), c.dbsize(), c.config_get("requirepass")):
        with pytest.raises(KeyPrefixError):
            await refused
    with pytest.raises(KeyPrefixError):
        await c.eval("return redis.call('FLUSHALL')", 0)


def test_no_sync_route_leaves_the_outermost_prefix(plain: RedisClient, redis_url: str) -> None:
    with RedisClient.from_url(redis_url, db=5, key_prefix="app:") as app:
        inner = app.with_prefix("x:")
        innermost = inner.with_prefix("y:")
        assert (app.key_prefix, inner.key_prefix, innermost.key_prefix) == (
            "app:",
            "app:x:",
            "app:x:y:",
        )
        view = plain.with_prefix("v:").with_prefix("w:")  # views of a root client nest too
        for client in (app, inner, innermost, view):
            sync_routine(client)
    assert_confined(plain, ["app:", "app:x:", "app:x:y:", "v:w:"])


def test_no_async_route_leaves_the_outermost_prefix(plain: RedisClient, redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url, db=5, key_prefix="app:") as app:
            inner = app.with_prefix("x:")
            innermost = inner.with_prefix(b"y:")
            assert innermost.key_prefix == b"app:x:y:"
            assert innermost.config.key_prefix == "app:x:y:"
            for client in (app, inner, innermost):
                await async_routine(client)
        async with AsyncRedisClient.from_url(redis_url, db=5) as root:
            await async_routine(root.with_prefix("v:").with_prefix("w:"))

    run(main())
    assert_confined(plain, ["app:", "app:x:", "app:x:y:", "v:w:"])


def test_a_view_of_a_traced_async_client_keeps_its_own_prefix(
    plain: RedisClient, redis_url: str
) -> None:
    pytest.importorskip("opentelemetry")

    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url, db=5, key_prefix="app:") as app:
            app.enable_tracing()
            await app.with_prefix("x:").set("traced", "1")
            await app.set("traced", "2")

    run(main())
    assert plain.mget("app:x:traced", "app:traced") == [b"1", b"2"]


def test_a_derived_client_only_narrows(plain: RedisClient, redis_url: str) -> None:
    granted = plain.with_prefix("t:", allow=["scripts", "server_info"])
    assert granted.config.key_prefix_allow == ("scripts", "server_info")
    assert granted.eval("return 1", 0) == 1
    assert isinstance(granted.dbsize(), int)
    child = granted.with_prefix("c:")  # keeps its parent's grants
    assert child.config.key_prefix_allow == ("scripts", "server_info")
    assert child.eval("return redis.call('SET', KEYS[1], 'v')", 1, "k") == b"OK"
    assert plain.get("t:c:k") == b"v"
    narrower = granted.with_prefix("n:", allow=["scripts"])  # fewer: fine
    with pytest.raises(KeyPrefixError, match="server_info"):
        narrower.dbsize()
    none = granted.with_prefix("n:", allow=())
    with pytest.raises(KeyPrefixError):
        none.eval("return 1", 0)
    # More than the parent has: refused, whichever way it is asked.
    for attempt in (
        lambda: granted.with_prefix("u:", allow_unsafe=True),
        lambda: granted.with_prefix("u:", allow="all"),
        lambda: granted.with_prefix("u:", allow=["admin"]),
        lambda: narrower.with_prefix("u:", allow=["server_info"]),
    ):
        with pytest.raises(ConfigurationError, match="only narrows"):
            attempt()
    with RedisClient.from_url(redis_url, db=5, key_prefix="app:") as app:
        with pytest.raises(ConfigurationError, match="only narrows"):
            app.with_prefix("x:", allow_unsafe=True)
        with pytest.raises(KeyPrefixError):
            app.with_prefix("x:").flushall()

    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url, db=5, key_prefix="app:") as aapp:
            with pytest.raises(ConfigurationError, match="only narrows"):
                aapp.with_prefix("x:", allow_unsafe=True)
            with pytest.raises(KeyPrefixError):
                await aapp.with_prefix("x:").flushall()

    run(main())
    assert plain.get("k") == b"DECOY"


def test_grants_come_from_the_configuration_url_and_environment(
    plain: RedisClient, redis_url: str
) -> None:
    url = f"{redis_url.rsplit('/', 1)[0]}/5?key_prefix=t%3A&key_prefix_allow=scripts"
    with RedisClient.from_url(url) as tenant:
        assert tenant.config.key_prefix_allow == ("scripts",)
        assert tenant.eval("return redis.call('SET', KEYS[1], 'v')", 1, "k") == b"OK"
        with pytest.raises(KeyPrefixError, match="key_prefix_allow='admin'"):
            tenant.flushdb()
    assert plain.get("t:k") == b"v"
    with pytest.raises(ConfigurationError, match="without key_prefix"):
        RedisClient(port=1, key_prefix_allow="scripts")


# -- hostile arguments ---------------------------------------------------------------------


class LyingStr(str):
    """Compares and hashes like "GET" and says it is "GET" when upper-cased."""

    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash("GET")

    def upper(self) -> str:  # type: ignore[override]
        return "GET"

    def encode(self, *args: Any, **kwargs: Any) -> bytes:  # type: ignore[override]
        return b"GET"


class LyingBytes(bytes):
    def __eq__(self, other: object) -> bool:
        return True

    def __hash__(self) -> int:
        return hash("GET")

    def __bytes__(self) -> bytes:
        return b"GET"

    def upper(self) -> bytes:  # type: ignore[override]
        return b"GET"


class LyingInt(int):
    """An int whose every conversion but its value says 1."""

    def __int__(self) -> int:
        return 1

    def __index__(self) -> int:
        return 1

    def __str__(self) -> str:
        return "1"

    def __repr__(self) -> str:
        return "1"


@pytest.mark.parametrize("name", [LyingStr("FLUSHDB"), LyingBytes(b"FLUSHDB")], ids=type)
def test_a_command_name_that_lies_is_judged_by_its_contents(plain: RedisClient, name: Any) -> None:
    view = plain.with_prefix("t:")
    with pytest.raises(KeyPrefixError, match="FLUSHDB"):
        view.execute_command(name)
    with pytest.raises(KeyPrefixError, match="FLUSHDB"):
        view.pipeline().execute_command(name)
    assert plain.get("k") == b"DECOY"


def test_a_numkeys_that_lies_is_judged_by_its_value(plain: RedisClient) -> None:
    view = plain.with_prefix("t:")
    view.sadd("a", "mine")
    view.sadd("b", "mine-too")  # the plain "b" is a string decoy
    # Real value 2: both names are keys and both are prefixed, though __int__ says 1.
    assert view.execute_command("SINTERCARD", LyingInt(2), "a", "b") == 0
    view.zadd("za", {"m": 1})
    view.zadd("zb", {"n": 2})
    plain.zadd("zb", {"DECOY": 9})
    assert view.execute_command("ZUNION", LyingInt(2), "za", "zb") == [b"m", b"n"]
    assert plain.execute_command("ZRANGE", "zb", 0, -1) == [b"DECOY"]


def test_a_buffer_changed_while_the_arguments_are_encoded_changes_nothing(
    plain: RedisClient,
) -> None:
    """The C layer reads a bytearray's buffer when it formats the command, and calls
    str() on an int beyond 64 bits while encoding: a hook there could rewrite a command
    name the prefixer had already passed. The prefixer sends its own copies."""
    view = plain.with_prefix("t:")
    name = bytearray(b"ECHO")
    hits: List[int] = []

    class Hook(int):
        def __str__(self) -> str:
            hits.append(1)
            name[:] = b"INCR"  # same length: allowed while the buffer is exported
            return "cnt"

    assert view.execute_command(name, Hook(2**70)) == str(2**70).encode()
    assert plain.get("cnt") == b"100"  # the decoy was not incremented
    assert hits == []  # the hook never ran: the value was read, not its __str__
    view_mv = memoryview(bytearray(b"ECHO"))
    assert view.execute_command(view_mv, "x") == b"x"


def test_hostile_objects_cannot_unlock_a_grant(plain: RedisClient) -> None:
    class Everything(str):
        def __eq__(self, other: object) -> bool:
            return True

        def __hash__(self) -> int:
            return hash("scripts")

    view = plain.with_prefix("t:", allow=[Everything("server_info")])
    assert view.config.key_prefix_allow == ("server_info",)
    with pytest.raises(KeyPrefixError):
        view.eval("return 1", 0)


def test_every_prefixed_argument_is_sent_as_bytes_once(plain: RedisClient) -> None:
    calls: Set[str] = set()

    class Counting(str):
        def __str__(self) -> str:
            calls.add("str")
            return str.__str__(self)

        def encode(self, *args: Any, **kwargs: Any) -> bytes:  # type: ignore[override]
            calls.add("encode")
            return b"WRONG"

    view = plain.with_prefix("t:")
    assert view.set(Counting("key"), Counting("value")) is True
    assert plain.get("t:key") == b"value"
    assert calls == set()
