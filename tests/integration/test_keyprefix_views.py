"""Key-prefix views against a real server, one behaviour at a time: KEYS and SCAN,
blocking pops, pipelines and WATCH, refused and granted commands, nesting, the shared
pool, channels. (test_keyprefix.py runs every supported command in one sweep.)
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable, Iterator, Tuple

import pytest
from keyprefix_cases import (
    GET_SCRIPT,
    LIBRARY,
    Env,
    make_env,
)

import pyredisclient
from pyredisclient import DataError, RedisClient
from pyredisclient.keyprefix import (
    KeyPrefixError,
    escape_glob,
)


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    yield from make_env()


# -- focused behaviour ----------------------------------------------------------------


@pytest.fixture
def plain(env: Env) -> Iterator[RedisClient]:
    """A fresh unprefixed client on database 0 of the emptied server."""
    env.admin.execute_command("FLUSHALL")
    with RedisClient(port=env.server.port) as client:
        yield client


def test_keys_scan_and_scan_iter_return_unprefixed_keys(plain: RedisClient) -> None:
    view = plain.with_prefix("t:")
    plain.mset({"a1": "DECOY", "t:a1x": "x", "t:b": "y"})
    view.set("a2", "z")
    assert sorted(view.keys()) == [b"a1x", b"a2", b"b"]
    assert sorted(view.keys("a*")) == [b"a1x", b"a2"]
    cursor, found = view.scan(0, match="a*", count=100)
    assert cursor == 0 and sorted(found) == [b"a1x", b"a2"]
    assert sorted(view.scan_iter(count=1)) == [b"a1x", b"a2", b"b"]
    assert sorted(view.scan_iter(match="b")) == [b"b"]
    text = RedisClient(port=plain.config.port, decode_responses=True)
    try:
        tview = text.with_prefix("t:")
        assert sorted(tview.keys()) == ["a1x", "a2", "b"]
        assert sorted(tview.scan_iter()) == ["a1x", "a2", "b"]
        bview = text.with_prefix(b"t:")
        assert sorted(bview.keys()) == ["a1x", "a2", "b"]
    finally:
        text.close()


def test_glob_characters_in_the_prefix_match_only_themselves(plain: RedisClient) -> None:
    prefix = "t*[x]?\\:"
    view = plain.with_prefix(prefix)
    # Each of these would match the prefix used as a raw glob pattern.
    plain.mset({"tAx?\\:k": "DECOY", "t*[x]?\\k": "DECOY", "tzzx!\\:k": "DECOY"})
    view.set("k", "mine")
    assert plain.exists(prefix + "k") == 1
    assert view.keys() == [b"k"]
    assert view.keys("*") == [b"k"]
    assert list(view.scan_iter()) == [b"k"]
    assert escape_glob(prefix) == "t\\*\\[x\\]\\?\\\\:"
    assert escape_glob(prefix.encode()) == b"t\\*\\[x\\]\\?\\\\:"


def test_blocking_pops_return_unprefixed_key_names(plain: RedisClient) -> None:
    view = plain.with_prefix(b"t:")
    view.rpush("q1", "a", "b", "c", "d")
    view.zadd("zq", {"m1": 1, "m2": 2, "m3": 3, "m4": 4})
    view.execute_command("XADD", "s", "1-1", "f", "v")
    assert view.blpop(["missing", "q1"], 1) == (b"q1", b"a")
    assert view.brpop("q1", 1) == (b"q1", b"d")
    assert view.execute_command("BLMPOP", 1, 1, "q1", "LEFT") == [b"q1", [b"b"]]
    assert view.execute_command("LMPOP", 1, "q1", "LEFT") == [b"q1", [b"c"]]
    assert view.execute_command("BZPOPMIN", "zq", 1) == [b"zq", b"m1", b"1"]
    assert view.execute_command("BZPOPMAX", "zq", 1) == [b"zq", b"m4", b"4"]
    assert view.execute_command("ZMPOP", 1, "zq", "MIN") == [b"zq", [[b"m2", b"2"]]]
    assert view.execute_command("BZMPOP", 1, 1, "zq", "MAX") == [b"zq", [[b"m3", b"3"]]]
    assert view.execute_command("XREAD", "STREAMS", "s", "0") == [[b"s", [[b"1-1", [b"f", b"v"]]]]]
    assert view.blpop("q1", 0.05) is None  # timeout: nil passes through


def test_a_real_wait_returns_the_unprefixed_key(plain: RedisClient) -> None:
    view = plain.with_prefix("t:")

    def push_later() -> None:
        time.sleep(0.2)
        plain.rpush("t:jobs", "job-1")  # written without the view, under the prefix

    pusher = threading.Thread(target=push_later)
    pusher.start()
    try:
        started = time.monotonic()
        assert view.blpop(["other", "jobs"], 5) == (b"jobs", b"job-1")
        assert 0.1 < time.monotonic() - started < 4
    finally:
        pusher.join(5)


def test_pipelines_and_transactions_are_prefixed(plain: RedisClient) -> None:
    plain.set("k1", "DECOY")
    view = plain.with_prefix("t:")
    for transaction in (True, False):
        p = view.pipeline(transaction=transaction)
        p.set("k1", "v1").get("k1").mset({"k2": "v2"}).keys("k*").rpush("l", "x").blpop("l", 1)
        result = p.execute()
        assert result[0] is True and result[1] == b"v1" and result[2] is True
        assert sorted(result[3]) == [b"k1", b"k2"]
        assert result[5] == (b"l", b"x")
    assert plain.get("k1") == b"DECOY"
    assert sorted(plain.keys()) == [b"k1", b"t:k1", b"t:k2"]


def test_watch_on_a_prefixed_pipeline_watches_the_prefixed_key(plain: RedisClient) -> None:
    view = plain.with_prefix("t:")
    view.set("k", "1")
    with view.pipeline() as p:
        p.watch("k")
        assert p.get("k") == b"1"  # immediate mode between WATCH and MULTI
        plain.set("k", "DECOY")  # the unprefixed key: not watched
        p.multi()
        p.set("k", "2")
        assert p.execute() == [True]
    with view.pipeline() as p:
        p.watch("k")
        plain.set("t:k", "changed")  # the watched, prefixed key
        p.multi()
        p.set("k", "3")
        with pytest.raises(pyredisclient.WatchError):
            p.execute()
    assert plain.mget("k", "t:k") == [b"DECOY", b"changed"]


def test_unsafe_command_in_a_pipeline_raises_before_anything_is_queued(plain: RedisClient) -> None:
    plain.set("k", "DECOY")
    view = plain.with_prefix("t:")
    p = view.pipeline()
    p.set("a", "1")
    with pytest.raises(KeyPrefixError, match="FLUSHDB"):
        p.flushdb()
    assert len(p) == 1
    assert p.execute() == [True]
    assert plain.get("k") == b"DECOY"


UNSAFE = [
    # leaks outside the prefix, refused without a grant
    ("CONFIG", "GET", "requirepass"),
    ("COPY", "k", "k2", "DB", 2),
    ("copy", "k", "k2", "REPLACE", "db", 2),
    ("MOVE", "k", 2),
    ("MIGRATE", "127.0.0.1", 1, "k", 0, 1000),
    ("CLIENT", "LIST"),
    ("INFO", "keyspace"),
    ("INFO",),
    ("DBSIZE",),
    ("FUNCTION", "DUMP"),
    ("FUNCTION", "LIST"),
    ("EVAL", "return redis.call('GET', 'k')", 0),
    ("EVALSHA", "a" * 40, 0),
    ("EVAL_RO", "return 1", 0),
    ("EVALSHA_RO", "a" * 40, 0),
    ("FCALL", "kget", 0),
    ("FCALL_RO", "kget_ro", 0),
    ("SCRIPT", "LOAD", "return 1"),
    ("SCRIPT", "EXISTS", "a" * 40),
    ("SLOWLOG", "GET"),
    ("SLOWLOG", "RESET"),
    ("LATENCY", "LATEST"),
    ("MEMORY", "STATS"),
    ("MEMORY", "PURGE"),
    ("PUBSUB", "NUMPAT"),
    ("ROLE",),
    ("MODULE", "LIST"),
    ("MODULE", "LOAD", "/x.so"),
    ("ACL", "LIST"),
    ("ACL", "GETUSER", "default"),
    ("FLUSHDB",),
    ("FLUSHALL",),
    ("FLUSHDB", "ASYNC"),
    ("RANDOMKEY",),
    ("SWAPDB", 0, 1),
    ("SELECT", 1),
    ("MIGRATE", "127.0.0.1", 1, "k", 0, 1000),
    ("SHUTDOWN", "NOSAVE"),
    ("DEBUG", "SLEEP", 0),
    ("DEBUG", "RELOAD"),
    ("SCRIPT", "FLUSH"),
    ("SCRIPT", "KILL"),
    ("FUNCTION", "FLUSH"),
    ("FUNCTION", "DELETE", "prefixlib"),
    ("FUNCTION", "LOAD", LIBRARY),
    ("CONFIG", "SET", "maxmemory", "1"),
    ("CONFIG", "REWRITE"),
    ("CLIENT", "KILL", "ID", 1),
    ("CLIENT", "PAUSE", 10),
    ("CLIENT", "REPLY", "OFF"),
    ("ACL", "SETUSER", "evil", "on"),
    ("SUBSCRIBE", "chan"),
    ("PSUBSCRIBE", "*"),
    ("MONITOR",),
    ("SAVE",),
    ("AUTH", "x"),
    ("HELLO", 3),
    ("MULTI",),
    ("EXEC",),
    ("DISCARD",),
    ("CLIENT", "TRACKING", "ON"),
    ("SCRIPT", "DEBUG", "YES"),
    ("OBJECT", "NOSUCHSUB", "k"),
    ("NOSUCHCOMMAND", "k"),
    (b"nosuchcommand",),
]


@pytest.mark.parametrize("args", UNSAFE, ids=lambda a: " ".join(map(str, a[:2])))
def test_unsafe_commands_raise_and_send_nothing(plain: RedisClient, args: Tuple[Any, ...]) -> None:
    plain.set("k", "DECOY")
    plain.execute_command("CONFIG", "RESETSTAT")
    view = plain.with_prefix("t:")
    with pytest.raises(KeyPrefixError) as info:
        view.execute_command(*args)
    message = str(info.value)
    assert "cannot be confined to key prefix 't:'" in message
    assert "grant key_prefix_allow=" in message or "refused on every prefixed client" in message
    assert isinstance(info.value, DataError)
    with pytest.raises(KeyPrefixError):  # and in a pipeline, before anything is queued
        view.pipeline().execute_command(*args)
    assert plain.get("k") == b"DECOY"
    # Only the test's own commands reached the server.
    assert set(plain.info("commandstats")) == {"cmdstat_config|resetstat", "cmdstat_get"}


def test_client_methods_for_unsafe_commands_raise(plain: RedisClient) -> None:
    plain.set("k", "DECOY")
    view = plain.with_prefix("t:")
    for call in (view.flushdb, view.flushall, view.script_flush):
        with pytest.raises(KeyPrefixError):
            call()
    with pytest.raises(KeyPrefixError, match="CONFIG SET"):
        view.config_set("maxmemory", "1")
    assert plain.get("k") == b"DECOY"


def test_allow_unsafe_sends_refused_and_unknown_commands_unchanged(plain: RedisClient) -> None:
    plain.set("k", "plain")
    view = plain.with_prefix("t:", allow_unsafe=True)
    view.set("k", "mine")
    assert view.execute_command("GET", "k") == b"mine"  # known commands are still prefixed
    assert plain.execute_command("RANDOMKEY") in (b"k", b"t:k")
    assert view.execute_command("RANDOMKEY") in (b"k", b"t:k")  # not stripped, not refused
    with pytest.raises(pyredisclient.ResponseError, match="unknown command"):
        view.execute_command("NOSUCHCOMMAND", "k")  # sent as it is: the server answers
    assert view.flushdb() is True
    assert plain.keys() == []
    star = plain.with_prefix("s*:", allow_unsafe=True)
    star.rpush("l", "2", "1")
    assert star.execute_command("SORT", "l", "BY", "nosort") == [b"2", b"1"]
    with pytest.raises(KeyPrefixError, match="the prefix holds one"):
        plain.with_prefix("s*:").execute_command("SORT", "l", "BY", "w_*")
    unconfined = plain.with_prefix("s*:", allow="unconfined")
    assert unconfined.execute_command("SORT", "l", "BY", "nosort") == [b"2", b"1"]


def test_script_management(env: Env, plain: RedisClient) -> None:
    """The scripts category also unlocks managing the scripts every client shares."""
    view = plain.with_prefix("t:", allow="scripts")
    tmp = "#!lua name=tmplib\nredis.register_function('tmpf', function() return 1 end)"
    try:
        assert view.execute_command("FUNCTION", "LOAD", tmp) == b"tmplib"
        dump = view.execute_command("FUNCTION", "DUMP")
        assert view.execute_command("FUNCTION", "DELETE", "tmplib") == b"OK"
        assert view.execute_command("FUNCTION", "RESTORE", dump, "REPLACE") == b"OK"
        assert view.execute_command("FCALL", "tmpf", 0) == 1
        for kill in (("SCRIPT", "KILL"), ("FUNCTION", "KILL")):
            with pytest.raises(pyredisclient.ResponseError, match="NOTBUSY"):
                view.execute_command(*kill)  # sent: nothing is running
        assert view.execute_command("SCRIPT", "FLUSH") == b"OK"
        assert view.execute_command("FUNCTION", "FLUSH") == b"OK"
        assert plain.execute_command("FUNCTION", "LIST") == []
    finally:  # what the other tests use
        plain.execute_command("FUNCTION", "LOAD", "REPLACE", LIBRARY)
        assert plain.script_load(GET_SCRIPT) == env.ctx.sha_get
    with pytest.raises(KeyPrefixError, match="key_prefix_allow='scripts'"):
        plain.with_prefix("t:").execute_command("FUNCTION", "FLUSH")


def test_admin_and_unconfined_grants(plain: RedisClient) -> None:
    plain.set("k", "outside")
    admin = plain.with_prefix("t:", allow="admin")
    admin.set("k", "inside")
    for args in (
        ("CONFIG", "RESETSTAT"),
        ("SLOWLOG", "RESET"),
        ("LATENCY", "RESET"),
        ("MEMORY", "PURGE"),
        ("CLIENT", "UNPAUSE"),
        ("ACL", "SETUSER", "tmp-user", "off"),
        ("ACL", "DELUSER", "tmp-user"),
        ("DEBUG", "SLEEP", 0),
        ("SWAPDB", 3, 3),
    ):
        admin.execute_command(*args)  # sent unchanged; the server answers
    with pytest.raises(KeyPrefixError, match="server_info"):
        admin.execute_command("CONFIG", "GET", "maxmemory")  # another category
    with pytest.raises(KeyPrefixError, match="unconfined"):
        admin.execute_command("NOSUCHCOMMAND", "k")
    assert admin.flushdb() is True  # the whole database, as granted
    assert plain.keys() == []
    unconfined = plain.with_prefix("t:", allow="unconfined")
    with pytest.raises(pyredisclient.ResponseError, match="unknown command"):
        unconfined.execute_command("NOSUCHCOMMAND", "k")  # sent as it is
    with pytest.raises(KeyPrefixError, match="admin"):
        unconfined.flushdb()


def test_sort_by_and_get_read_only_inside_the_prefix(plain: RedisClient) -> None:
    plain.mset({"w_a": "1", "w_b": "3", "w_c": "2", "d_a": "DECOY", "d_b": "DECOY"})
    view = plain.with_prefix("t:")
    view.rpush("l", "a", "b", "c")
    view.mset({"w_a": "3", "w_b": "1", "w_c": "2", "d_a": "A", "d_b": "B"})
    assert view.execute_command("SORT", "l", "BY", "w_*", "GET", "d_*", "GET", "#") == [
        b"B",
        b"b",
        None,
        b"c",
        b"A",
        b"a",
    ]


def test_key_prefix_option_is_the_same_as_with_prefix(plain: RedisClient) -> None:
    port = plain.config.port
    with RedisClient(port=port, key_prefix="t:") as configured:
        assert configured.key_prefix == "t:"
        assert configured.config.key_prefix == "t:"
        configured.set("a", "1")
        configured.rpush("l", "x")
        with pytest.raises(KeyPrefixError):
            configured.flushdb()
        assert sorted(configured.keys()) == [b"a", b"l"]
    view = plain.with_prefix("t:")
    assert view.key_prefix == "t:" and view.config.key_prefix == "t:"
    assert view.get("a") == b"1"
    assert sorted(plain.keys()) == [b"t:a", b"t:l"]
    assert plain.key_prefix is None
    with RedisClient.from_url(f"redis://127.0.0.1:{port}/0", key_prefix="t:") as from_url:
        assert from_url.get("a") == b"1"


def test_views_nest(plain: RedisClient) -> None:
    view = plain.with_prefix("a:").with_prefix("b:")
    view.set("k", "v")
    assert plain.keys() == [b"a:b:k"]
    assert view.key_prefix == "a:b:" and view.config.key_prefix == "a:b:"
    assert view.keys() == [b"k"]
    mixed = plain.with_prefix("a:").with_prefix(b"c:")
    assert mixed.key_prefix == b"a:c:"
    with RedisClient(port=plain.config.port, key_prefix="app:") as app:
        app.with_prefix("x:").set("y", "1")
        again = RedisClient(config=app.with_prefix("x:").config)  # same confinement
        try:
            assert again.get("y") == b"1"
        finally:
            again.close()
    assert sorted(plain.keys()) == [b"a:b:k", b"app:x:y"]


def test_the_view_shares_the_pool(plain: RedisClient) -> None:
    view = plain.with_prefix("t:")
    assert view._core is plain._core
    plain.ping()
    before = plain.pool_stats()
    for i in range(20):
        view.set(f"k{i}", i)
        plain.get("x")
    after = plain.pool_stats()
    assert view.pool_stats() == after
    assert after["created"] == before["created"]
    assert after["in_use"] == 0
    view.close()  # closing the view closes the shared pool too
    with pytest.raises(pyredisclient.ConnectionError):
        plain.ping()


def test_published_messages_reach_subscribers_of_the_prefixed_channel(
    env: Env, plain: RedisClient
) -> None:
    view = plain.with_prefix("t:")
    with socket.create_connection(("127.0.0.1", env.server.port), timeout=5) as sub:
        sub.sendall(b"*3\r\n$9\r\nSUBSCRIBE\r\n$6\r\nt:news\r\n$4\r\nnews\r\n")
        wait_for(lambda: plain.execute_command("PUBSUB", "NUMSUB", "t:news")[1] == 1)
        wait_for(lambda: plain.execute_command("PUBSUB", "NUMSUB", "news")[1] == 1)
        assert view.publish("news", "hello") == 1
        assert view.execute_command("PUBSUB", "CHANNELS") == [b"news"]
        assert view.execute_command("PUBSUB", "NUMSUB", "news", "x") == [b"news", 1, b"x", 0]
        data = b""
        deadline = time.monotonic() + 5
        while b"hello" not in data and time.monotonic() < deadline:
            data += sub.recv(4096)
        assert b"$6\r\nt:news\r\n$5\r\nhello" in data
        assert b"$4\r\nnews\r\n$5\r\nhello" not in data


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)
