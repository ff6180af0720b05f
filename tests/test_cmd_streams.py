"""Stream commands (commands/streams.py) against a real server.

SCRIPT runs on every client kind and on redis-py (tests/cmd_surface.py).
Entry ids are explicit and reply fields that hold times are normalised, so that
runs compare. Explicit expected values follow for the shapes that matter, the
BLOCK timeouts of XREAD/XREADGROUP, and key-prefixed XREAD replies.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from cmd_surface import (
    SAME_AS_SYNC,
    c,
    check_same_as_redis_py,
    check_same_as_sync,
    family_methods,
    methods_called,
)

import pyredisclient
from pyredisclient import DataError
from pyredisclient.aio import AsyncRedisClient
from pyredisclient.commands.streams import StreamCommands

_TIME_FIELDS = {"idle", "seen-time", "active-time", "inactive", "time_since_delivered"}


def untimed(value: Any) -> Any:
    """``value`` with the fields and numbers that hold times (ms) replaced by "T"."""
    if isinstance(value, dict):
        return {k: "T" if k in _TIME_FIELDS else untimed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(untimed(v) for v in value)
    if isinstance(value, int) and not isinstance(value, bool) and value > 10**12:
        return "T"
    return value


SCRIPT = [
    c("xadd", "s", {"f": "v"}, id="1-0"),
    c("xadd", "s", {"f": "v2", "g": b"\x00\xff"}, id="2-0"),
    c("xadd", "s", {"a": 1}, id="3-0", maxlen=10, approximate=False),
    c("xadd", "s", {"a": 2.5}, id="4-0", minid="0-1"),
    c("xadd", "s", {"a": 3}, id="5-0", maxlen=100, limit=10),
    c("xadd", "s", {}),
    c("xadd", "s", {"a": 1}, maxlen=1, minid="1"),
    c("xadd", "s", {"a": 1}, maxlen=-1),
    c("xadd", "s", {"a": 1}, ref_policy="NOPE"),
    c("xadd", "s", {"a": 1}, idmpauto="p", idmp=("p", b"i")),
    c("xadd", "s", {"a": 1}, id="1-1", idmpauto="p"),
    c("xadd", "s", {"a": 1}, id="1-0"),
    c("xadd", "none", {"a": 1}, nomkstream=True),
    c("xlen", "s"),
    c("xlen", "missing"),
    c("xrange", "s"),
    c("xrange", "s", "2-0", "+", count=2),
    c("xrange", "s", count=0),
    c("xrange", "missing"),
    c("xrevrange", "s"),
    c("xrevrange", "s", "+", "3", count=1),
    c("xrevrange", "s", count="1"),
    c("xread", {"s": "0-0"}),
    c("xread", {"s": "2-0"}, count=1),
    c("xread", {"s": "$"}, block=10),
    c("xread", {"s": "4-0", "missing": "0-0"}),
    c("xread", {"missing": "0-0"}),
    c("xread", {}),
    c("xread", {"s": "0"}, block=-1),
    c("xread", {"s": "0"}, count=0),
    c("xread", {"s": "0"}, count=2, max_count=1),
    c("xgroup_create", "s", "g", id="0"),
    c("xgroup_create", "s", "g"),
    c("xgroup_create", "new", "g2", mkstream=True),
    c("xgroup_create", "s", "g3", id="$", entries_read=5),
    c("xgroup_createconsumer", "s", "g", "alice"),
    c("xgroup_createconsumer", "s", "g", "alice"),
    c("xreadgroup", "g", "alice", {"s": ">"}, count=2),
    c("xreadgroup", "g", "bob", {"s": ">"}, count=2),
    c("xreadgroup", "g", "bob", {"s": ">"}, block=10),
    c("xreadgroup", "g", "alice", {"s": "0"}),
    c("xreadgroup", "g", "carol", {"s": ">"}, noack=True),
    c("xreadgroup", "g", "alice", {}),
    c("xreadgroup", "g", "alice", {"s": ">"}, count=-1),
    c("xreadgroup", "g", "alice", {"s": ">"}, block="x"),
    c("xreadgroup", "g", "alice", {"s": ">"}, claim_min_idle_time=-1),
    c("xreadgroup", "g", "alice", {"s": ">"}, max_size=0),
    c("xpending", "s", "g"),
    c("xpending", "s", "g2"),
    c("xpending_range", "s", "g", "-", "+", 10, _norm=untimed),
    c("xpending_range", "s", "g", "-", "+", 1, consumername="alice", _norm=untimed),
    c("xpending_range", "s", "g", "-", "+", 10, idle=0, _norm=untimed),
    c("xpending_range", "s", "g", None, None, None),
    c("xpending_range", "s", "g", "-", None, 10),
    c("xpending_range", "s", "g", None, None, None, consumername="x"),
    c("xpending_range", "s", "g", "-", "+", -1),
    c("xpending_range", "s", "g", "-", "+", 1, idle=-1),
    c("xclaim", "s", "g", "carol", 0, ["1-0"]),
    c("xclaim", "s", "g", "carol", 0, ("2-0",), justid=True),
    c("xclaim", "s", "g", "carol", 0, ["3-0"], idle=10, retrycount=3, force=True),
    c("xclaim", "s", "g", "carol", 0, ["4-0"], time=1_000_000),
    c("xclaim", "s", "g", "carol", -1, ["1-0"]),
    c("xclaim", "s", "g", "carol", 0, []),
    c("xclaim", "s", "g", "carol", 0, ["1-0"], idle="1"),
    c("xautoclaim", "s", "g", "dave", 0),
    c("xautoclaim", "s", "g", "dave", 0, start_id="0-0", count=1, justid=True),
    c("xautoclaim", "s", "g", "dave", -1),
    c("xautoclaim", "s", "g", "dave", 0, count=-1),
    c("xack", "s", "g", "1-0", "2-0", "9-0"),
    c("xinfo_groups", "s", _norm=untimed),
    c("xinfo_consumers", "s", "g", _norm=untimed),
    c("xinfo_stream", "s", _norm=untimed),
    c("xinfo_stream", "s", full=True, _norm=untimed),
    c("xinfo_stream", "new", _norm=untimed),
    c("xinfo_stream", "missing"),
    c("xgroup_setid", "s", "g", "0"),
    c("xgroup_setid", "s", "g", "$", entries_read=0),
    c("xgroup_delconsumer", "s", "g", "dave"),
    c("xgroup_delconsumer", "s", "g", "nobody"),
    c("xgroup_destroy", "s", "g3"),
    c("xgroup_destroy", "s", "g3"),
    c("xdel", "s", "1-0", "9-0"),
    c("xtrim", "s", maxlen=3, approximate=False),
    c("xtrim", "s", minid="4-0", approximate=False),
    c("xtrim", "s", maxlen=0, limit=10),
    c("xtrim", "s"),
    c("xtrim", "s", maxlen=1, minid="1"),
    c("xtrim", "s", maxlen=0, ref_policy="NOPE"),
    c("xrange", "s"),
    c("set", "str", "v"),
    c("xadd", "str", {"a": 1}),
    c("xlen", "str"),
    c("xread", {"str": "0"}),
]


@pytest.mark.parametrize("decode", [False, True], ids=["bytes", "decoded"])
def test_same_results_as_redis_py(redis_client: Any, redis_url: str, decode: bool) -> None:
    # The value b"\x00\xff" is not UTF-8: leave it out of the decoded runs.
    script = [
        call
        for call in SCRIPT
        if not (decode and call.args[1:2] == ({"f": "v2", "g": b"\x00\xff"},))
    ]
    check_same_as_redis_py(redis_url, script, decode)


@pytest.mark.parametrize("mode", SAME_AS_SYNC)
def test_every_client_kind_gives_the_same(redis_client: Any, redis_url: str, mode: str) -> None:
    check_same_as_sync(redis_client, redis_url, SCRIPT, mode)


def test_script_covers_the_family() -> None:
    supported = family_methods(StreamCommands)
    assert supported <= methods_called(SCRIPT)


def test_shapes(redis_client: Any) -> None:
    r = redis_client
    assert r.xadd("s", {"f": "v"}, id="1-0") == b"1-0"
    r.xadd("s", {"f": "w"}, id="2-0")
    assert r.xrange("s") == [(b"1-0", {b"f": b"v"}), (b"2-0", {b"f": b"w"})]
    assert r.xrevrange("s", count=1) == [(b"2-0", {b"f": b"w"})]
    assert r.xread({"s": "1-0"}) == [[b"s", [(b"2-0", {b"f": b"w"})]]]
    assert r.xread({"s": "$"}, block=1) == []
    assert r.xgroup_create("s", "g", id="0") is True
    assert r.xreadgroup("g", "c1", {"s": ">"}, count=1) == [[b"s", [(b"1-0", {b"f": b"v"})]]]
    assert r.xpending("s", "g") == {
        "pending": 1,
        "min": b"1-0",
        "max": b"1-0",
        "consumers": [{"name": b"c1", "pending": 1}],
    }
    (pending,) = r.xpending_range("s", "g", "-", "+", 10)
    assert pending["message_id"] == b"1-0" and pending["consumer"] == b"c1"
    assert pending["times_delivered"] == 1
    assert r.xclaim("s", "g", "c2", 0, ["1-0"]) == [(b"1-0", {b"f": b"v"})]
    assert r.xautoclaim("s", "g", "c3", 0, justid=True) == [b"1-0"]
    assert r.xautoclaim("s", "g", "c1", 0) == [b"0-0", [(b"1-0", {b"f": b"v"})], []]
    info = r.xinfo_stream("s")
    assert info["length"] == 2 and info["last-entry"] == (b"2-0", {b"f": b"w"})
    (group,) = r.xinfo_groups("s")
    assert group["name"] == b"g" and group["pending"] == 1
    names = [consumer["name"] for consumer in r.xinfo_consumers("s", "g")]
    assert names == [b"c1", b"c2", b"c3"]
    full = r.xinfo_stream("s", full=True)
    assert full["entries"] == {b"1-0": {b"f": b"v"}, b"2-0": {b"f": b"w"}}
    assert full["groups"][0]["consumers"][0]["name"] == b"c1"
    assert r.xack("s", "g", "1-0") == 1
    assert r.xgroup_destroy("s", "g") is True
    assert r.xtrim("s", maxlen=1, approximate=False) == 1
    assert r.xdel("s", "2-0") == 1
    assert r.xlen("s") == 0


def test_xread_block_outlasts_the_socket_timeout(redis_client: Any, redis_url: str) -> None:
    redis_client.xadd("s", {"a": 1}, id="1-0")
    redis_client.xgroup_create("s", "g", id="$")
    with pyredisclient.RedisClient.from_url(redis_url, socket_timeout=0.2) as r:
        for read in (
            lambda: r.xread({"s": "$"}, block=1000),
            lambda: r.xreadgroup("g", "c", {"s": ">"}, block=1000),
        ):
            start = time.monotonic()
            assert read() == []
            assert 0.9 < time.monotonic() - start < 3


def test_xread_block_wakes_on_a_new_entry(redis_client: Any, redis_url: str) -> None:
    redis_client.xadd("s", {"a": 1}, id="1-0")
    timer = threading.Timer(0.3, lambda: redis_client.xadd("s", {"b": 2}, id="2-0"))
    with pyredisclient.RedisClient.from_url(redis_url, socket_timeout=0.1) as r:
        timer.start()
        try:
            assert r.xread({"s": "$"}, block=5000) == [[b"s", [(b"2-0", {b"b": b"2"})]]]
        finally:
            timer.join()


def test_async_xread_block(redis_client: Any, redis_url: str) -> None:
    redis_client.xadd("s", {"a": 1}, id="1-0")

    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url, socket_timeout=0.2) as r:
            start = time.monotonic()
            assert await r.xread({"s": "$"}, block=800) == []
            assert 0.7 < time.monotonic() - start < 3

    asyncio.run(main())


def test_prefixed_xread_names_streams_without_prefix(redis_client: Any, redis_url: str) -> None:
    with pyredisclient.RedisClient.from_url(redis_url, key_prefix="p:") as p:
        p.xadd("s", {"a": 1}, id="1-0")
        assert p.xread({"s": "0"}) == [[b"s", [(b"1-0", {b"a": b"1"})]]]
        assert p.xgroup_create("s", "g", id="0") is True
        assert p.xreadgroup("g", "c", {"s": ">"}) == [[b"s", [(b"1-0", {b"a": b"1"})]]]
        assert p.xinfo_groups("s")[0]["pending"] == 1
        assert p.xpending("s", "g")["pending"] == 1
    assert redis_client.keys("*") == [b"p:s"]


def test_argument_errors(redis_client: Any) -> None:
    r = redis_client
    with pytest.raises(DataError):
        r.xadd("s", {})
    with pytest.raises(DataError):
        r.xread({"s": "0"}, block=-1)
    with pytest.raises(DataError):
        r.xclaim("s", "g", "c", 0, [])
    with pytest.raises(DataError):
        r.xtrim("s")


def test_claimed_entries_keep_their_delivery_fields() -> None:
    """XREADGROUP ... CLAIM (Redis 8.4, newer than the test server): each entry
    carries delivery fields after its fields; the shape is redis-py's."""
    helpers = pytest.importorskip("redis._parsers.helpers")
    from pyredisclient.commands.streams import _xread_claimed_result

    reply = [[b"s", [[b"1-0", [b"f", b"v"], 5000, 2], None]]]
    expected = [[b"s", [(b"1-0", {b"f": b"v"}, 5000, 2), (None, None)]]]
    assert _xread_claimed_result(reply) == expected
    assert helpers.parse_xread(reply, claim_min_idle_time=1) == expected
    assert _xread_claimed_result(None) == []
