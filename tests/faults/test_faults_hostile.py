"""Fault injection against hostile peers on loopback: malicious replies, slow servers,
signals, unavailable replies, DNS that never answers, failover seen from a subprocess.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from typing import Any, Callable

import pytest
from fakeservers import (
    FakeServer,
    MiniRedis,
    Peer,
    send_on_first_command,
)
from fault_helpers import (
    Factory,
    maxrss_kib,
    timed,
)

import pyredisclient
from pyredisclient.testing import RedisServer


@pytest.fixture
def server(redis_server_factory: Factory) -> RedisServer:
    return redis_server_factory()


# -- malicious servers -------------------------------------------------------------------------

NESTED_10 = b"*1\r\n" * 10 + b":1\r\n"
NESTED_64 = b"*1\r\n" * 64 + b":1\r\n"
NESTED_65 = b"*1\r\n" * 65 + b":1\r\n"
NESTED_10000 = b"*1\r\n" * 10_000 + b":1\r\n"
# Replies are read up to the framer's depth cap (PRC_FRAMER_MAX_DEPTH, 64), whatever
# hiredis's own limit (0.14 refuses more than 7: the binding builds those).


@pytest.mark.parametrize(
    ("payload", "error", "counts"),
    [
        pytest.param(b"!garbage\r\n", pyredisclient.ProtocolError, True, id="bad-type-byte"),
        pytest.param(b"+OK\n", pyredisclient.ProtocolError, True, id="lf-without-cr"),
        pytest.param(b"$1\r\nxyz\r\n", pyredisclient.ProtocolError, True, id="bulk-no-crlf"),
        pytest.param(b":12x\r\n", pyredisclient.ProtocolError, True, id="bad-integer"),
        pytest.param(b"+" + b"a" * 70_000, pyredisclient.ProtocolError, True, id="endless-line"),
        pytest.param(NESTED_65, pyredisclient.ReplyLimitError, False, id="nested-65"),
        pytest.param(NESTED_10000, pyredisclient.ReplyLimitError, False, id="nested-10000"),
        pytest.param(b"$2147483648\r\n", pyredisclient.ReplyLimitError, False, id="bulk-2GiB"),
        pytest.param(b"*2000000000\r\n", pyredisclient.ReplyLimitError, False, id="array-2G"),
    ],
)
def test_malicious_replies(
    payload: bytes,
    error: type[Exception],
    counts: bool,
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    with FakeServer(send_on_first_command(payload, connections=1)) as fake:
        client = make_client(fake.port, socket_timeout=2, retry_attempts=0)
        rss = maxrss_kib()
        result, elapsed = timed(lambda: client.set("k", "v"))
        grown_kib = maxrss_kib() - rss
        assert type(result) is error, repr(result)
        assert isinstance(result, pyredisclient.ProtocolError)
        assert elapsed < 0.5
        assert grown_kib < 20 * 1024, f"max RSS grew by {grown_kib} KiB"
        assert client.circuit_breaker_state()["failures"] == (1 if counts else 0)
        # The poisoned connection is gone; the next call gets a fresh, correct one.
        assert client.set("k", "v") is True
        assert client.get("k") == b"v"
        assert fake.accepted == 2
    assert client.pool_stats()["created"] == 2


@pytest.mark.parametrize(("payload", "depth"), [(NESTED_10, 10), (NESTED_64, 64)])
def test_a_reply_nested_to_the_framer_cap_is_read(
    payload: bytes, depth: int, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    expected: Any = 1
    for _ in range(depth):
        expected = [expected]
    with FakeServer(send_on_first_command(payload, connections=1)) as fake:
        client = make_client(fake.port, socket_timeout=2, retry_attempts=0)
        assert client.execute_command("GET", "k") == expected
        assert client.get("k") is None  # the connection is still in step
    assert client.pool_stats()["created"] == 1


def test_read_only_call_is_replayed_after_invalid_resp(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    with FakeServer(send_on_first_command(b"!garbage\r\n", connections=2)) as fake:
        client = make_client(fake.port, socket_timeout=2, retry_base=0.01)
        assert client.get("k") is None  # attempts 1 and 2 poisoned, attempt 3 clean
        assert fake.accepted == 3
        assert client.pool_stats()["retries"] == 2
    with FakeServer(send_on_first_command(b"!garbage\r\n")) as fake:
        client = make_client(fake.port, socket_timeout=2, retry_base=0.01)
        with pytest.raises(pyredisclient.ProtocolError):
            client.get("k")
        assert fake.accepted == 4  # 1 + retry_attempts, then it gives up


@pytest.mark.parametrize(
    "payload",
    [b":9223372036854775808\r\n", b":-9223372036854775809\r\n", b"*1\r\n:99999999999999999999\r\n"],
    ids=["int64-max-plus-1", "int64-min-minus-1", "nested-20-digits"],
)
def test_an_integer_reply_beyond_64_bits_is_a_protocol_error(
    payload: bytes, make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    with FakeServer(send_on_first_command(payload, connections=1)) as fake:
        client = make_client(fake.port, socket_timeout=2, retry_attempts=0)
        with pytest.raises(pyredisclient.ProtocolError, match="integer reply beyond 64 bits"):
            client.incr("k")
        assert client.pool_stats()["closed"] == 1  # the connection is gone
        assert client.incr("k") == 1  # a fresh one
        assert fake.accepted == 2


def test_reply_limit_is_not_retried(make_client: Callable[..., pyredisclient.RedisClient]) -> None:
    with FakeServer(send_on_first_command(b"$2147483648\r\n", connections=1)) as fake:
        client = make_client(fake.port, socket_timeout=2)
        with pytest.raises(pyredisclient.ReplyLimitError, match="max_reply_bytes"):
            client.get("k")
        assert fake.accepted == 1
    assert client.pool_stats()["retries"] == 0


def test_max_reply_bytes_is_enforced_on_streamed_bulk(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    big = b"x" * 200_000
    with FakeServer(send_on_first_command(b"$200000\r\n" + big + b"\r\n")) as fake:
        client = make_client(fake.port, socket_timeout=2, max_reply_bytes=100_000)
        with pytest.raises(pyredisclient.ReplyLimitError):
            client.get("k")
        assert fake.accepted == 1


def test_unsolicited_bytes_after_a_reply_retire_the_connection(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    handler = send_on_first_command(
        b"$5\r\nfirst\r\n", extra=b"$6\r\nsecond\r\n", delay_after=0.05, connections=1
    )
    with FakeServer(handler) as fake:
        client = make_client(fake.port, socket_timeout=2)
        assert client.get("k") == b"first"
        time.sleep(0.1)
        # Were the stray bytes read as the next reply, this would return b"second".
        assert client.echo("third") == b"third"
        assert client.get("k") is None
        assert fake.accepted == 2
    stats = client.pool_stats()
    assert stats["created"] == 2
    assert stats["retries"] == 0


def test_unsolicited_bytes_in_the_same_read_fail_the_attempt(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    # A reply and more in one write: which one answers the GET is unknown, so
    # neither is returned; the read-only GET is replayed on a new connection.
    handler = send_on_first_command(b"$5\r\nfirst\r\n$6\r\nsecond\r\n", connections=1)
    with FakeServer(handler) as fake:
        client = make_client(fake.port, socket_timeout=2, retry_base=0.001)
        assert client.get("k") is None  # the second connection's answer
        assert fake.accepted == 2
    stats = client.pool_stats()
    assert stats["created"] == 2
    assert stats["retries"] == 1


# -- slow servers, signals, unavailable replies -------------------------------------------


def test_a_server_dripping_one_byte_at_a_time_still_times_out(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    def drip(peer: Peer) -> None:
        if peer.read_command() is None:
            return
        for byte in b"$1000\r\n" + b"x" * 1000:
            if peer.server.stopping or not peer.send(bytes([byte])):
                return
            time.sleep(0.02)

    with FakeServer(drip) as fake:
        client = make_client(fake.port, socket_timeout=0.3)
        result, elapsed = timed(lambda: client.get("k"))
    assert isinstance(result, pyredisclient.TimeoutError), result
    assert 0.3 <= elapsed < 0.36  # one deadline for the call, not one per read


def test_a_signal_that_does_not_raise_resumes_the_call_without_resending(
    make_client: Callable[..., pyredisclient.RedisClient],
) -> None:
    store = MiniRedis()

    def slow(peer: Peer) -> None:
        while (cmd := peer.read_command()) is not None:
            time.sleep(0.3)
            if not peer.send(store.reply(cmd)):
                return

    handled: list[int] = []
    main = threading.main_thread().ident
    assert main is not None and threading.get_ident() == main
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: handled.append(signum))
    try:
        with FakeServer(slow) as fake:
            client = make_client(fake.port, socket_timeout=1.0)
            timers = [
                threading.Timer(t, signal.pthread_kill, args=(main, signal.SIGUSR1))
                for t in (0.05, 0.1, 0.15)
            ]
            for t in timers:
                t.start()
            result, elapsed = timed(lambda: client.incr("n"))
            for t in timers:
                t.join()
            assert result == 1
            assert fake.command_names() == [b"INCRBY"]  # sent once, despite 3 EINTRs
    finally:
        signal.signal(signal.SIGUSR1, previous)
    assert len(handled) == 3
    assert 0.3 <= elapsed < 0.5
    assert client.pool_stats()["retries"] == 0


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        (b"-LOADING Redis is loading the dataset in memory\r\n", pyredisclient.BusyLoadingError),
        (b"-MASTERDOWN Link with MASTER is down\r\n", pyredisclient.MasterDownError),
    ],
)
def test_unavailable_replies_count_and_retire_the_connection(
    reply: bytes, error: type[Exception], make_client: Callable[..., pyredisclient.RedisClient]
) -> None:
    with FakeServer(send_on_first_command(reply, connections=1)) as fake:
        client = make_client(fake.port, retry_attempts=0)
        with pytest.raises(error):
            client.set("k", "v")
        assert client.circuit_breaker_state()["failures"] == 1
        assert client.set("k", "v") is True
        assert fake.accepted == 2  # the connection that answered LOADING was not reused
        assert client.circuit_breaker_state()["failures"] == 0


# ---------------------------------------------------------------------------
# DNS that never answers
# ---------------------------------------------------------------------------

_SILENT_DNS_SCRIPT = r"""
import json, socket, sys, time
import pyredisclient

# The DNS server of this mount namespace's resolv.conf: bound, never answers.
dns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
dns.bind(("127.0.0.2", 53))
out = {}
client = pyredisclient.RedisClient(
    host="redis.silent-dns.test", socket_connect_timeout=0.3, socket_timeout=0.3,
    retry_attempts=0,
)
t0 = time.monotonic()
try:
    client.ping()
    out["error"] = None
except pyredisclient.RedisError as exc:
    out["error"] = [type(exc).__name__, str(exc)]
out["ping_seconds"] = time.monotonic() - t0
t0 = time.monotonic()
health = client.health_check()
out["health"] = health["status"]
out["health_seconds"] = time.monotonic() - t0
t0 = time.monotonic()
try:
    socket.getaddrinfo("redis.silent-dns.test", 6379)
except OSError:
    pass
out["getaddrinfo_seconds"] = time.monotonic() - t0
client.close()


async def async_part():
    from pyredisclient.aio import AsyncRedisClient

    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.ensure_future(ticker())
    aclient = AsyncRedisClient(
        host="redis.silent-dns.test", socket_connect_timeout=0.3, retry_attempts=0
    )
    t0 = time.monotonic()
    try:
        await aclient.ping()
        out["async_error"] = None
    except pyredisclient.RedisError as exc:
        out["async_error"] = type(exc).__name__
    out["async_seconds"] = time.monotonic() - t0
    out["ticks"] = ticks
    task.cancel()
    await aclient.aclose()


import asyncio
asyncio.run(async_part())
print(json.dumps(out))
"""


def _with_private_etc(
    tmp_path: Any, name: str, text: str, script_text: str
) -> tuple[list[str], dict[str, str], Any]:
    """The command that runs *script_text* in a private mount namespace where
    /etc/<name> is a file holding *text* (returned too, to be rewritten)."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip(f"needs root and unshare(1) for a private /etc/{name}")
    etc = tmp_path / name
    etc.write_text(text)
    script = tmp_path / "script.py"
    script.write_text(script_text)
    command = f"mount --bind {etc} /etc/{name} && exec {sys.executable} {script}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return ["unshare", "-m", "sh", "-c", command], env, etc


def _skip_without_namespace(returncode: int, stderr: str, stdout: str) -> None:
    if returncode != 0 and "unshare" in stderr and "mount" not in stdout:
        pytest.skip(f"no private mount namespace here: {stderr.strip()[:200]}")


def test_a_silent_dns_server_cannot_outlast_the_connect_timeout(tmp_path: Any) -> None:
    """A host name whose DNS server never answers: getaddrinfo alone blocks for the
    resolver's timeouts, but a call (and health_check) ends at socket_connect_timeout.

    Real resolver, real UDP socket: the test runs the client in a private mount
    namespace whose /etc/resolv.conf names a loopback DNS server that never replies.
    """
    command, env, _ = _with_private_etc(
        tmp_path,
        "resolv.conf",
        "nameserver 127.0.0.2\noptions timeout:2 attempts:1\n",
        _SILENT_DNS_SCRIPT,
    )
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    _skip_without_namespace(proc.returncode, proc.stderr, proc.stdout)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    # The resolver itself waits its 2 s timeout: that is what the client must not do.
    assert out["getaddrinfo_seconds"] >= 1.5
    assert out["error"][0] == "TimeoutError"
    assert "resolving redis.silent-dns.test timed out" in out["error"][1]
    assert out["ping_seconds"] < 0.3 + 0.5
    assert out["health"] == "unhealthy"
    assert out["health_seconds"] < 0.3 + 0.5
    # The asyncio client waits for the same lookup without blocking its loop.
    assert out["async_error"] == "TimeoutError"
    assert out["async_seconds"] < 0.3 + 0.5
    assert out["ticks"] >= 10


_FAILOVER_SCRIPT = r"""
import asyncio, json, sys
import pyredisclient
from pyredisclient.aio import AsyncRedisClient

port = int(sys.stdin.readline())
sync = pyredisclient.RedisClient(host="redis.failover.test", port=port)

async def main():
    out = {}
    aio = AsyncRedisClient(host="redis.failover.test", port=port)
    out["before"] = [sync.get("who").decode(), (await aio.get("who")).decode()]
    print("switch", flush=True)
    sys.stdin.readline()  # the old server is gone and the name points elsewhere
    out["after"] = [sync.get("who").decode(), (await aio.get("who")).decode()]
    await aio.aclose()
    print(json.dumps(out), flush=True)

asyncio.run(main())
"""


def test_a_changed_dns_answer_is_followed_on_reconnect(
    tmp_path: Any, redis_server_factory: Factory
) -> None:
    """Failover by DNS: the name moves from the old server's address to the new
    one's, the old server dies, and both clients reach the new server on their next
    call (each connect resolves the name again; nothing pins the first answer)."""
    old = redis_server_factory()
    new = redis_server_factory(start=False)
    new.host = "127.0.0.2"  # same port, another loopback address
    new._plain_port, new._ports_fixed = old.port, True
    new.start()
    for server, name in ((old, "old"), (new, "new")):
        with pyredisclient.RedisClient(host=server.host, port=server.port) as c:
            c.set("who", name)
    command, env, hosts = _with_private_etc(
        tmp_path, "hosts", "127.0.0.1 localhost redis.failover.test\n", _FAILOVER_SCRIPT
    )
    with subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as proc:
        try:
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(f"{old.port}\n")
            proc.stdin.flush()
            line = proc.stdout.readline()
            if line.strip() != "switch":
                stdout, stderr = proc.communicate(timeout=30)
                _skip_without_namespace(proc.returncode, stderr, line + stdout)
                pytest.fail(f"no switch point: {line!r} {stdout!r} {stderr!r}")
            hosts.write_text("127.0.0.1 localhost\n127.0.0.2 redis.failover.test\n")
            old.stop()
            stdout, stderr = proc.communicate("go\n", timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
    assert proc.returncode == 0, stderr
    out = json.loads(stdout.strip().splitlines()[-1])
    assert out == {"before": ["old", "old"], "after": ["new", "new"]}
