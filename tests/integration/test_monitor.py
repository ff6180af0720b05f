"""client.monitor(): redis-py's Monitor over the C subscriber's monitor mode.

Against real servers: what each field says (TCP, unix socket, Lua, another
database), arguments with quotes, backslashes and binary bytes, no health-check
PINGs in the stream, a kill of the monitor's connection (it reconnects and sends
MONITOR again), an unreachable server and an ACL refusal (a clear error, the
connection closed), close() from another thread, asyncio (cancellation included)
and a cluster node. The line parser's edge cases are at the end.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from typing import Any, Callable, Dict, Iterator, List

import pytest

from pyredisclient import (
    AsyncRedisClient,
    ConnectionError,
    RedisClient,
    RedisClusterClient,
    RedisError,
    ResponseError,
)
from pyredisclient.integrations.testing_cluster import RedisClusterServers
from pyredisclient.pubsub.monitor import Monitor, parse_monitor_line
from pyredisclient.testing import RedisServer

ServerFactory = Callable[..., RedisServer]


@pytest.fixture
def server(redis_server_factory: ServerFactory) -> RedisServer:
    return redis_server_factory()


@pytest.fixture
def client(server: RedisServer) -> Iterator[RedisClient]:
    c = RedisClient(host="127.0.0.1", port=server.port, socket_timeout=2.0)
    yield c
    c.close()


def until(m: Monitor, word: str, timeout: float = 5.0) -> List[Dict[str, Any]]:
    """Commands read until one whose arguments include ``word`` (that one last)."""
    seen: List[Dict[str, Any]] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        info = m.next_command(timeout=0.2)
        if info is not None:
            seen.append(info)
            if word.encode() in info["args"]:
                return seen
    raise AssertionError(f"{word!r} not seen within {timeout} s; saw {seen!r}")


def test_fields_as_redis_py_gives_them(client: RedisClient, server: RedisServer) -> None:
    mark = uuid.uuid4().hex
    with client.monitor() as m:
        assert isinstance(m, Monitor) and not m.closed
        before = time.time()
        client.set(mark, "v")
        info = until(m, mark)[-1]
        assert info["command"] == f"SET {mark} v"
        assert info["args"] == [b"SET", mark.encode(), b"v"]
        assert info["db"] == 0 and info["client_type"] == "tcp"
        assert info["client_address"] == "127.0.0.1" and info["client_port"].isdigit()
        assert before - 1 < info["time"] < time.time() + 1
        # Lua's calls, and another database.
        client.eval("return redis.call('GET', KEYS[1])", 1, mark)
        lua = until(m, mark)  # the EVAL, then its GET
        lua += until(m, mark) if lua[-1]["client_type"] != "lua" else []
        assert lua[-1]["client_type"] == "lua" and lua[-1]["command"] == f"GET {mark}"
        assert lua[-1]["client_address"] == "lua" and lua[-1]["client_port"] == ""
        with RedisClient(host="127.0.0.1", port=server.port, db=3) as db3:
            db3.get(mark + "3")
            assert until(m, mark + "3")[-1]["db"] == 3
        with RedisClient(unix_socket_path=server.unix_socket_path) as unix:
            unix.get(mark + "u")
            info = until(m, mark + "u")[-1]
            assert info["client_type"] == "unix" and info["client_address"] == "unix"
    assert m.closed


def test_quotes_backslashes_and_binary_arguments(client: RedisClient) -> None:
    keys = [b'a"b', b"c\\", b"\\x92", b"\x00\x92\xff\n\r\t\x07\x08 ", "é".encode()]
    with client.monitor() as m:
        for key in keys:
            client.get(key)
        seen = [info for info in until(m, keys[-1].decode()) if info["args"][0] == b"GET"]
    assert [info["args"][1] for info in seen] == keys
    # redis-py's "command": MONITOR's quoting, with \" shown as ".
    assert seen[0]["command"] == 'GET a"b'
    assert seen[2]["command"] == "GET \\\\x92"
    assert seen[4]["command"] == "GET \\xc3\\xa9"

    # A megabyte value full of escapes comes back byte for byte.
    big = bytes(range(256)) * 4096
    with client.monitor() as m:
        client.set("big", big)
        info = until(m, "big")[-1]
    assert info["args"] == [b"SET", b"big", big]


def test_no_health_check_pings_and_listen(server: RedisServer) -> None:
    fast = RedisClient(host="127.0.0.1", port=server.port, health_check_interval=0.05)
    other = RedisClient(host="127.0.0.1", port=server.port)
    try:
        with fast.monitor() as quiet, other.monitor() as watcher:
            time.sleep(0.4)  # eight health-check intervals
            other.get("after-the-wait")
            seen = until(watcher, "after-the-wait")
            assert not [i for i in seen if i["args"][0].upper() == b"PING"], seen
            assert quiet._pubsub.stats()["health_checks"] == 0
            # listen() yields the same stream.
            fast.get("via-listen")
            for info in quiet.listen():
                if b"via-listen" in info["args"]:
                    break
    finally:
        fast.close()
        other.close()


def test_reconnects_after_its_connection_is_killed(server: RedisServer) -> None:
    c = RedisClient(host="127.0.0.1", port=server.port, retry_base=0.01, retry_cap=0.05)
    try:
        with c.monitor() as m:
            (monitor_id,) = [
                cl["id"] for cl in c.client_list() if "O" in cl["flags"]
            ]  # the monitor's flag
            assert c.client_kill_filter(_id=monitor_id) == 1
            # Commands sent while it reconnects are lost; it shows those after.
            end = time.monotonic() + 10
            found = None
            while found is None and time.monotonic() < end:
                c.get("after-the-kill")
                info = m.next_command(timeout=0.1)
                while info is not None and found is None:
                    if b"after-the-kill" in info["args"]:
                        found = info
                    info = m.next_command(timeout=0)
            assert found is not None, "no command seen after the kill"
            stats = m._pubsub.stats()
            assert stats["reconnects"] == 1 and stats["connects"] == 2
            assert len([cl for cl in c.client_list() if "O" in cl["flags"]]) == 1
    finally:
        c.close()


def test_unreachable_server_raises_and_closes(open_fds: Callable[[], int]) -> None:
    from pyredisclient.integrations.testing import find_free_port

    before = open_fds()
    c = RedisClient(
        host="127.0.0.1",
        port=find_free_port(),
        socket_connect_timeout=0.2,
        socket_timeout=0.2,
        retry_base=0.01,
        retry_cap=0.05,
    )
    m = c.monitor()
    started = time.monotonic()
    with pytest.raises(ConnectionError, match=r"MONITOR was not confirmed within 0\.4 s"):
        m.__enter__()
    assert time.monotonic() - started < 3
    assert m.closed
    c.close()
    assert open_fds() <= before


def test_acl_refusal_is_raised(client: RedisClient, server: RedisServer) -> None:
    user = f"nomon{uuid.uuid4().hex[:6]}"
    client.acl_setuser(
        user, enabled=True, passwords=["+pw"], commands=["+@all", "-monitor"], keys=["*"]
    )
    try:
        with RedisClient(host="127.0.0.1", port=server.port, username=user, password="pw") as c:
            m = c.monitor()
            with pytest.raises(ResponseError, match="monitor"):
                with m:
                    pass  # pragma: no cover - never entered
            assert m.closed
    finally:
        client.acl_deluser(user)


def test_close_from_another_thread_ends_a_wait(client: RedisClient) -> None:
    m = client.monitor()
    m.start()
    got: List[Any] = []
    t = threading.Thread(target=lambda: got.append(m.next_command(timeout=10)))
    t.start()
    time.sleep(0.2)
    started = time.monotonic()
    m.close()
    t.join(5)
    assert not t.is_alive() and got == [None]
    assert time.monotonic() - started < 2
    with pytest.raises(ConnectionError, match="closed"):  # as a closed PubSub
        m.next_command(timeout=0)
    m.close()  # idempotent
    assert repr(m) == "<Monitor closed>"


def test_asyncio_monitor(server: RedisServer) -> None:
    async def main() -> None:
        a = AsyncRedisClient(host="127.0.0.1", port=server.port)
        try:
            async with a.monitor() as m:
                await a.set("ak", "1")
                info = await m.next_command(timeout=5)
                assert info is not None and info["args"] == [b"SET", b"ak", b"1"]
                # A cancelled wait leaves it usable and in step.
                waiter = asyncio.ensure_future(m.next_command())
                await asyncio.sleep(0.05)
                waiter.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await waiter
                await a.get("after-cancel")
                async for info in m.listen():
                    if info["args"] == [b"GET", b"after-cancel"]:
                        break
                assert await m.next_command(timeout=0.05) is None
            assert m.closed and repr(m) == "<AsyncMonitor closed>"
        finally:
            await a.aclose()

    asyncio.run(main())


def test_asyncio_unreachable_server_raises() -> None:
    from pyredisclient.integrations.testing import find_free_port

    async def main() -> None:
        a = AsyncRedisClient(
            host="127.0.0.1", port=find_free_port(), socket_connect_timeout=0.2, socket_timeout=0.2
        )
        m = a.monitor()
        with pytest.raises(ConnectionError, match="not confirmed"):
            await m.__aenter__()
        assert m.closed
        await a.aclose()

    asyncio.run(main())


def test_cluster_monitor_on_a_node(redis_cluster: RedisClusterServers) -> None:
    c = RedisClusterClient(host="127.0.0.1", port=redis_cluster.addresses[0][1])
    try:
        key = "mon:{a}"
        owner = c.get_node_from_key(key)
        with c.monitor(owner) as m:
            c.set(key, "1")
            assert until(m, key)[-1]["command"] == f"SET {key} 1"
        with c.monitor() as m:  # the default node
            c.echo("to-the-default-node")  # keyless: the default node runs it
            assert until(m, "to-the-default-node")[-1]["command"] == "ECHO to-the-default-node"
        with pytest.raises(RedisError, match="one node"):
            c.monitor("all")
    finally:
        c.close()


# -- the line parser -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "line, fields",
    [
        (
            b'1.5 [0 127.0.0.1:6379] "GET" "k"',
            ("127.0.0.1", "6379", "tcp", "GET k", [b"GET", b"k"]),
        ),
        ('2 [1 [::1]:50000] "PING"', ("[::1]", "50000", "tcp", "PING", [b"PING"])),
        ('2 [1 unix:/tmp/r.sock] "PING"', ("unix", "/tmp/r.sock", "unix", "PING", [b"PING"])),
        ('2 [0 ] "PING"', ("", "", "unknown", "PING", [b"PING"])),
        # An argument that ends in a backslash (redis-py's regex loses the next one).
        (b'3 [0 lua] "GET" "a\\\\" "b"', ("lua", "", "lua", "GET a\\\\ b", [b"GET", b"a\\", b"b"])),
        # Escapes that are not Redis's are kept as the character.
        (b'3 [0 lua] "x\\q\\xZZ"', ("lua", "", "lua", "x\\q\\xZZ", [b"xqxZZ"])),
        (b"3 [0 lua]", ("lua", "", "lua", "", [])),
    ],
)
def test_parse_monitor_line(line: Any, fields: Any) -> None:
    info = parse_monitor_line(line)
    got = (
        info["client_address"],
        info["client_port"],
        info["client_type"],
        info["command"],
        info["args"],
    )
    assert got == fields


@pytest.mark.parametrize("line", [b"OK", b"", "abc [0 x] y", b"1.0 [x 1.2.3.4:5]"])
def test_parse_monitor_line_refuses_other_lines(line: Any) -> None:
    with pytest.raises(RedisError, match="not a MONITOR line"):
        parse_monitor_line(line)
