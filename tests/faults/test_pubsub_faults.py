"""Subscriptions that survive the network, against real servers.

A server restarted, killed, paused longer than the health-check interval, a
subscriber killed with CLIENT KILL or cut off as a slow consumer: the subscription
reconnects and resubscribes by itself, reports the gap once with a ``reconnect``
message, delivers what is published after recovery exactly once, and never raises
or spins meanwhile. Also: 10,000 messages counted, 5,000 patterns restored in one
write, close() from another thread, fork. Every server here is the test's own.
"""

from __future__ import annotations

import os
import resource
import socket
import subprocess
import threading
import time
import uuid
from typing import Any, Callable, Dict, Iterator, List

import pytest
from forkchild import run_in_child

from pyredisclient import ConnectionError, RedisClient
from pyredisclient.pubsub import PubSub
from pyredisclient.testing import RedisServer, find_free_port

ServerFactory = Callable[..., RedisServer]

# Fast recovery for tests: backoff 10-100 ms, health checks every 0.3 s.
FAST = {"socket_timeout": 0.5, "retry_base": 0.01, "retry_cap": 0.1, "health_check_interval": 0.3}


@pytest.fixture
def server(redis_server_factory: ServerFactory) -> RedisServer:
    return redis_server_factory()


@pytest.fixture
def client(server: RedisServer) -> Iterator[RedisClient]:
    c = RedisClient(host="127.0.0.1", port=server.port, **FAST)
    yield c
    c.close()


def _until(p: PubSub, kind: str, timeout: float = 10.0) -> List[Dict[str, Any]]:
    """Read until a message of type ``kind``; every message read, that one last."""
    seen: List[Dict[str, Any]] = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        msg = p.get_message(timeout=0.2)
        if msg is not None:
            seen.append(msg)
            if msg["type"] == kind:
                return seen
    raise AssertionError(f"no {kind!r} message within {timeout} s; read {seen!r}")


def _subscribed(client: RedisClient, ch: str, timeout: float = 5.0) -> None:
    """Wait until the server counts a subscriber of ``ch``."""
    end = time.monotonic() + timeout
    while client.pubsub_numsub(ch)[0][1] == 0:
        assert time.monotonic() < end, f"nobody subscribed to {ch} within {timeout} s"
        time.sleep(0.02)


def _publish_until_heard(client: RedisClient, p: PubSub, ch: str, data: str) -> Dict[str, Any]:
    """Publish until the subscriber hears it (it resubscribes when it can)."""
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            if client.publish(ch, data):
                break
        except ConnectionError:
            pass
        time.sleep(0.05)
    return _until(p, "message")[-1]


def test_server_restart(server: RedisServer, client: RedisClient) -> None:
    ch = "f:restart"
    with client.pubsub(ignore_subscribe_messages=True) as p:
        p.subscribe(ch)
        p.psubscribe("f:*")
        for i in range(3):
            client.publish(ch, f"before-{i}")
        got = [m for m in (p.get_message(timeout=2) for _ in range(6)) if m]
        assert [m["data"] for m in got if m["type"] == "message"] == [
            b"before-0",
            b"before-1",
            b"before-2",
        ]
        server.restart()
        seen = _until(p, "reconnect")
        event = seen[-1]
        assert event["pattern"] is None and event["channel"] is None
        assert event["data"]["channels"] == 1 and event["data"]["patterns"] == 1
        assert event["data"]["attempts"] >= 1 and event["data"]["down_seconds"] > 0
        # Nothing from before the restart again, and no confirmations of the
        # resubscription (they are read and dropped).
        assert [m for m in seen if m["type"] != "reconnect"] == []
        _subscribed(client, ch)
        for i in range(3):
            client.publish(ch, f"after-{i}")
        after = [p.get_message(timeout=2) for _ in range(6)]
        assert [(m["type"], m["data"]) for m in after if m] == [
            ("message", b"after-0"),
            ("pmessage", b"after-0"),
            ("message", b"after-1"),
            ("pmessage", b"after-1"),
            ("message", b"after-2"),
            ("pmessage", b"after-2"),
        ]
        assert p.get_message(timeout=0.3) is None  # nothing duplicated
        assert client.metrics()["pubsub"]["reconnects"] == 1


def test_client_kill_type_pubsub(server: RedisServer, client: RedisClient) -> None:
    ch = "f:kill"
    with client.pubsub() as p:
        p.subscribe(ch)
        assert p.get_message(timeout=2)["type"] == "subscribe"  # type: ignore[index]
        assert client.execute_command("CLIENT", "KILL", "TYPE", "pubsub") == 1
        event = _until(p, "reconnect")[-1]
        assert "closed" in event["data"]["reason"]
        assert _publish_until_heard(client, p, ch, "x")["data"] == b"x"
        stats = p.stats()
        assert stats["reconnects"] == 1 and stats["connects"] == 2


def test_paused_server_longer_than_the_health_check(
    server: RedisServer, client: RedisClient
) -> None:
    ch = "f:pause"
    with client.pubsub(ignore_subscribe_messages=True) as p:
        p.subscribe(ch)
        assert p.get_message(timeout=1) is None  # the confirmation, skipped
        server.pause()
        try:
            # Idle 0.3 s, a PING unanswered for 0.5 s: lost; then reconnects that
            # connect but get no answer either. Every wait returns on time.
            t0 = time.monotonic()
            cpu0 = time.thread_time()
            for _ in range(8):
                t = time.monotonic()
                assert p.get_message(timeout=0.25) is None
                assert 0.24 <= time.monotonic() - t < 1.0
            assert time.monotonic() - t0 >= 1.9
            assert time.thread_time() - cpu0 < 0.3  # waited, never spun
        finally:
            server.resume()
        event = _until(p, "reconnect")[-1]
        assert "no reply from the server within 0.5 s" in event["data"]["reason"]
        assert _publish_until_heard(client, p, ch, "back")["data"] == b"back"
        assert p.stats()["health_checks"] >= 1


def test_get_message_returns_on_time_while_the_server_is_down(
    server: RedisServer, client: RedisClient
) -> None:
    with client.pubsub() as p:
        p.subscribe("f:down")
        p.get_message(timeout=1)
        server.stop()
        cpu0 = resource.getrusage(resource.RUSAGE_THREAD).ru_utime
        t0 = time.monotonic()
        for timeout in (0.0, 0.3, 0.5):
            t = time.monotonic()
            assert p.get_message(timeout=timeout) is None
            assert timeout <= time.monotonic() - t < timeout + 0.5
        spent = resource.getrusage(resource.RUSAGE_THREAD).ru_utime - cpu0
        assert spent < 0.2, f"{spent:.3f} s of CPU in {time.monotonic() - t0:.2f} s of waiting"
        # Backoff capped at 0.1 s: a handful of connects, not thousands.
        assert 3 <= p.stats()["disconnects"] <= 40
        assert p.subscribed
        server.start()
        assert _until(p, "reconnect")[-1]["data"]["attempts"] >= 3


def test_listen_keeps_waiting_through_an_outage(server: RedisServer, client: RedisClient) -> None:
    ch = "f:listen"
    p = client.pubsub(ignore_subscribe_messages=True)
    p.subscribe(ch)
    got: List[Dict[str, Any]] = []
    errors: List[BaseException] = []

    def consume() -> None:
        try:
            for msg in p.listen():
                got.append(msg)
                if msg["type"] == "message" and msg["data"] == b"done":
                    return
        except BaseException as exc:  # pragma: no cover - the failure it reports
            errors.append(exc)

    th = threading.Thread(target=consume)
    th.start()
    server.stop()
    time.sleep(1.0)
    assert th.is_alive() and not errors
    server.start()
    _subscribed(client, ch, timeout=10)
    client.publish(ch, "done")
    th.join(10)
    p.close()
    assert not th.is_alive() and not errors
    assert [m["type"] for m in got] == ["reconnect", "message"]


def test_subscribe_while_the_server_is_down(server: RedisServer, client: RedisClient) -> None:
    ch = "f:early"
    server.stop()
    with client.pubsub() as p:
        t0 = time.monotonic()
        p.subscribe(ch)  # kept: made once the server is there
        assert time.monotonic() - t0 < 2
        assert p.subscribed and p.get_message(timeout=0.2) is None
        server.start()
        event = _until(p, "reconnect")[-1]
        assert "Connection refused" in event["data"]["reason"]
        assert _publish_until_heard(client, p, ch, "hi")["data"] == b"hi"


def test_subscribe_while_the_server_loads_its_data(redis_server_factory: ServerFactory) -> None:
    # A restarted server answers most commands (PING too) with -LOADING while it
    # reads its data back, but takes SUBSCRIBE and PUBLISH: a subscription made then
    # works at once. (Its connect's round trip is an UNSUBSCRIBE of nothing, which a
    # loading server answers, so that subscribe() returns with the connection taken in.)
    seed = redis_server_factory()
    with RedisClient(port=seed.port) as c:
        for batch in range(20):
            c.mset({f"k{batch}:{i}": "v" for i in range(1000)})
        c.save()
    seed.stop()
    port = find_free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port", str(port), "--bind", "127.0.0.1", "--dir", str(seed.tmpdir),
            "--save", "", "--key-load-delay", "500",
            "--loading-process-events-interval-bytes", "1024",
        ],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 5
        while raw_reply(port) != b"-LOADING":
            assert time.monotonic() < deadline, "the server never said it was loading"
            time.sleep(0.01)
        with RedisClient(port=port, socket_timeout=2) as c, c.pubsub() as p:
            p.subscribe("during-load")
            assert _until(p, "subscribe", timeout=2)[0]["channel"] == b"during-load"
            assert c.publish("during-load", "hello") == 1
            assert _until(p, "message", timeout=2) == [
                {"type": "message", "pattern": None, "channel": b"during-load", "data": b"hello"}
            ]
            assert raw_reply(port) == b"-LOADING"  # all of it while still loading
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_subscribe_on_a_stale_replica(server: RedisServer) -> None:
    # A replica cut off from its primary, with replica-serve-stale-data no, answers
    # PING with -MASTERDOWN but takes SUBSCRIBE and PUBLISH (their "stale" flag), and
    # so the UNSUBSCRIBE of a subscriber's connect: a subscription there works.
    with RedisClient(port=server.port, socket_timeout=2) as c:
        c.config_set("replica-serve-stale-data", "no")
        c.replicaof("127.0.0.1", find_free_port())  # a primary that is not there
        assert raw_reply(server.port) == b"-MASTERDOWN"
        with c.pubsub() as p:
            p.subscribe("when-stale")
            assert _until(p, "subscribe", timeout=2)[0]["channel"] == b"when-stale"
            assert c.publish("when-stale", "hello") == 1
            assert _until(p, "message", timeout=2)[0]["data"] == b"hello"
        assert raw_reply(server.port) == b"-MASTERDOWN"  # stale all along


def raw_reply(port: int) -> bytes:
    """The first word of a new connection's answer to PING (b"" when it cannot)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).split(b" ")[0].rstrip(b"\r\n")
    except OSError:
        return b""


def test_ten_thousand_messages_counted(server: RedisServer, client: RedisClient) -> None:
    ch = "f:many"
    n = 10_000
    with client.pubsub(ignore_subscribe_messages=True) as p:
        p.subscribe(ch)
        _subscribed(client, ch)
        pipe = client.pipeline(transaction=False)
        for i in range(n):
            pipe.publish(ch, str(i))
        assert pipe.execute() == [1] * n
        seen = []
        for msg in p.listen():
            seen.append(int(msg["data"]))
            if len(seen) == n:
                break
        assert seen == list(range(n))
        assert p.get_message(timeout=0.2) is None
        assert p.stats()["messages"] == n


def test_five_thousand_patterns_resubscribed(server: RedisServer) -> None:
    # Redis 7.0 adds patterns in quadratic time: a few hundred ms of server time on a
    # loaded machine, beyond FAST's socket_timeout.
    client = RedisClient(host="127.0.0.1", port=server.port, **{**FAST, "socket_timeout": 5})
    names = [f"f:p:{i}:*" for i in range(5_000)]
    with client, client.pubsub(ignore_subscribe_messages=True) as p:
        p.psubscribe(*names)
        end = time.monotonic() + 10
        while client.pubsub_numpat() < 5_000:
            assert time.monotonic() < end
            p.get_message(timeout=0.1)
        client.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
        event = _until(p, "reconnect", timeout=20)[-1]
        assert event["data"]["patterns"] == 5_000
        assert client.pubsub_numpat() == 5_000
        client.publish("f:p:4999:x", "last")
        msg = _until(p, "pmessage")[-1]
        assert msg["pattern"] == b"f:p:4999:*" and msg["data"] == b"last"


def test_slow_consumer_is_cut_off_and_told(redis_server_factory: ServerFactory) -> None:
    server = redis_server_factory(
        extra_args=["--client-output-buffer-limit", "pubsub 256kb 128kb 1"]
    )
    ch = "f:slow"
    with RedisClient(host="127.0.0.1", port=server.port, **FAST) as client:
        with client.pubsub(ignore_subscribe_messages=True) as p:
            p.subscribe(ch)
            _subscribed(client, ch)
            # 1 MB batches while the subscriber reads nothing, until the server drops
            # it (the socket buffers on loopback absorb a few MB first).
            payload = "x" * 1000
            sent = 0
            for _ in range(64):
                pipe = client.pipeline(transaction=False)
                for _ in range(1000):
                    pipe.publish(ch, payload)
                pipe.execute()
                sent += 1000
                if client.pubsub_numsub(ch)[0][1] == 0:
                    break
            assert client.pubsub_numsub(ch)[0][1] == 0
            seen = _until(p, "reconnect", timeout=20)
            kept = [m for m in seen if m["type"] == "message"]
            assert len(kept) < sent  # the rest was dropped with the connection
            assert "closed" in seen[-1]["data"]["reason"]
            assert _publish_until_heard(client, p, ch, "again")["data"] == b"again"


def test_close_from_another_thread_while_listen_waits(client: RedisClient) -> None:
    p = client.pubsub()
    p.subscribe("f:close")
    out: List[Any] = []
    th = threading.Thread(target=lambda: out.append([m["type"] for m in p.listen()]))
    th.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    p.close()
    th.join(5)
    assert not th.is_alive() and time.monotonic() - t0 < 1
    assert out == [["subscribe"]]
    with pytest.raises(ConnectionError, match="closed"):
        p.get_message()


def test_close_releases_the_connection(client: RedisClient, open_fds: Callable[[], int]) -> None:
    before = open_fds()
    for _ in range(50):
        p = client.pubsub()
        p.subscribe("f:fd")
        p.get_message(timeout=1)
        p.close()
    assert open_fds() <= before
    for _ in range(50):  # dropped without close(): closed by the finalizer
        p = client.pubsub()
        p.subscribe("f:fd")
        del p
    assert open_fds() <= before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_fork(client: RedisClient) -> None:
    ch = "f:fork"
    p = client.pubsub(ignore_subscribe_messages=True)
    p.subscribe(ch)
    _subscribed(client, ch)

    def child() -> str:
        try:
            p.get_message(timeout=0.1)
        except ConnectionError as exc:
            for call in (lambda: p.subscribe("other"), p.ping, p.unsubscribe):
                try:
                    call()
                except ConnectionError:
                    continue
                return "a call succeeded in the child"
            return str(exc)
        return "no error in the child"

    message = run_in_child(child)
    assert "does not survive fork()" in message
    # The parent's subscription is untouched: still one subscriber, still reading.
    assert client.pubsub_numsub(ch) == [(ch.encode(), 1)]
    client.publish(ch, "parent")
    assert p.get_message(timeout=2)["data"] == b"parent"  # type: ignore[index]
    p.close()


def test_tls_subscription_reconnects(redis_server_factory: ServerFactory) -> None:
    server = redis_server_factory(tls=True, tls_auth_clients=False)
    options = dict(FAST, ssl=True, ssl_ca_certs=server.ca_cert)
    with RedisClient(host="127.0.0.1", port=server.port, **options) as client:
        ch = "f:tls:" + uuid.uuid4().hex[:6]
        with client.pubsub(ignore_subscribe_messages=True) as p:
            p.subscribe(ch)
            _subscribed(client, ch)
            client.publish(ch, "one")
            assert p.get_message(timeout=2)["data"] == b"one"  # type: ignore[index]
            client.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            assert _until(p, "reconnect")[-1]["type"] == "reconnect"
            assert _publish_until_heard(client, p, ch, "two")["data"] == b"two"
