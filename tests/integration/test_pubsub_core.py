"""Direct tests of pyredisclient._core.Subscriber: the binding's contract.

PubSub (tests/test_pubsub.py) is a thin layer over this type; here the dicts it
builds, its waits without the GIL, its errors and its reconnect event are
checked on their own, against a real server.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Dict, Iterator, List

import pytest

from pyredisclient import _core
from pyredisclient.testing import RedisServer


def _sub(server: Any, **kw: Any) -> _core.Subscriber:
    return _core.Subscriber(host="127.0.0.1", port=server.port, **kw)


@pytest.fixture
def core(redis_server: Any) -> Iterator[_core.Client]:
    client = _core.Client(host="127.0.0.1", port=redis_server.port, socket_timeout=2.0)
    yield client
    client.close()


def _next(sub: _core.Subscriber, timeout: float = 2.0, skip: bool = False) -> Dict[str, Any]:
    msg = sub.get_message(timeout, skip)
    assert msg is not None, "no message within the timeout"
    return msg


def test_messages_and_confirmations(redis_server: Any, core: _core.Client) -> None:
    sub = _sub(redis_server)
    try:
        assert not sub.subscribed
        assert sub.get_message(0, False) is None  # nothing subscribed: nothing to read
        sub.request(("SUBSCRIBE", "core:a", b"core:b"))
        sub.request(("PSUBSCRIBE", "core:p*"))
        sub.flush()
        assert sub.subscribed
        assert (sub.count(0), sub.count(1), sub.count(2)) == (2, 1, 0)
        got = [_next(sub) for _ in range(3)]
        assert got == [
            {"type": "subscribe", "pattern": None, "channel": b"core:a", "data": 1},
            {"type": "subscribe", "pattern": None, "channel": b"core:b", "data": 2},
            {"type": "psubscribe", "pattern": None, "channel": b"core:p*", "data": 3},
        ]
        core.execute(("PUBLISH", "core:a", "hello"))
        core.execute(("PUBLISH", "core:px", b"\x00\xff"))
        assert _next(sub) == {
            "type": "message",
            "pattern": None,
            "channel": b"core:a",
            "data": b"hello",
        }
        assert _next(sub) == {
            "type": "pmessage",
            "pattern": b"core:p*",
            "channel": b"core:px",
            "data": b"\x00\xff",
        }
        sub.request(("PING",))
        sub.request(("PING", "x"))
        assert _next(sub) == {"type": "pong", "pattern": None, "channel": None, "data": b""}
        assert _next(sub)["data"] == b"x"
        sub.request(("UNSUBSCRIBE",))
        sub.request(("PUNSUBSCRIBE", "core:p*"))
        left = [_next(sub) for _ in range(3)]
        assert [(m["type"], m["data"]) for m in left] == [
            ("unsubscribe", 2),
            ("unsubscribe", 1),
            ("punsubscribe", 0),
        ]
        assert {m["channel"] for m in left} == {b"core:a", b"core:b", b"core:p*"}
        assert not sub.subscribed
        stats = sub.stats()
        assert stats["messages"] == 2 and stats["connects"] == 1 and stats["reconnects"] == 0
    finally:
        sub.close()


def test_decode_and_shard_channels(redis_server: Any, core: _core.Client) -> None:
    sub = _sub(redis_server, decode_responses=True)
    try:
        sub.request(("SSUBSCRIBE", "core:s"))
        sub.flush()
        assert _next(sub) == {
            "type": "ssubscribe",
            "pattern": None,
            "channel": "core:s",
            "data": 1,
        }
        core.execute(("SPUBLISH", "core:s", "é"))
        assert _next(sub) == {
            "type": "smessage",
            "pattern": None,
            "channel": "core:s",
            "data": "é",
        }
        sub.request(("SUNSUBSCRIBE",))
        assert _next(sub)["type"] == "sunsubscribe"
    finally:
        sub.close()


def test_skip_confirms(redis_server: Any, core: _core.Client) -> None:
    sub = _sub(redis_server)
    try:
        sub.request(("SUBSCRIBE", "core:skip"))
        sub.flush()
        core.execute(("PUBLISH", "core:skip", "1"))
        assert _next(sub, skip=True)["data"] == b"1"
    finally:
        sub.close()


def test_bad_requests(redis_server: Any) -> None:
    sub = _sub(redis_server)
    try:
        with pytest.raises(ValueError, match="needs a command"):
            sub.request(())
        with pytest.raises(ValueError, match="takes"):
            sub.request(("GET", "k"))
        with pytest.raises(ValueError, match="takes"):
            sub.request(("SUBSCRIBE",))
        with pytest.raises(ValueError, match="takes"):
            sub.request(("PING", "a", "b"))
        with pytest.raises(_core.DataError, match="argument 1 of SUBSCRIBE"):
            sub.request(("SUBSCRIBE", None))  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            sub.request(5)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="timeout"):
            sub.get_message(-1, False)
        with pytest.raises(TypeError):
            sub.get_message(1.0)  # type: ignore[call-arg]
        with pytest.raises(ValueError, match="option port"):
            _core.Subscriber(host="127.0.0.1", port=70000)
    finally:
        sub.close()


@pytest.mark.parametrize("cls", [_core.Client, _core.Subscriber])
def test_creation_errors(cls: Any) -> None:
    # A client and a subscriber refuse the same options the same way.
    with pytest.raises(ValueError, match="option port"):
        cls(host="127.0.0.1", port=70000)
    with pytest.raises(_core.ConnectionError, match="TLS CA certificates"):
        cls(host="127.0.0.1", ssl=True, ssl_ca_certs="/nonexistent/ca.pem")


def test_uninitialised() -> None:
    sub = _core.Subscriber.__new__(_core.Subscriber)
    with pytest.raises(_core.RedisError, match="__init__"):
        sub.get_message(0, False)
    sub.close()  # harmless


def test_closed(redis_server: Any) -> None:
    sub = _sub(redis_server)
    sub.request(("SUBSCRIBE", "core:c"))
    sub.flush()
    sub.close()
    sub.close()
    assert not sub.subscribed
    for call in (
        lambda: sub.get_message(0, False),
        lambda: sub.step(False),
        lambda: sub.request(("SUBSCRIBE", "x")),
        sub.flush,
        sub.flush_step,
    ):
        with pytest.raises(_core.ConnectionError, match="closed"):
            call()


def test_close_from_another_thread_ends_the_wait(redis_server: Any) -> None:
    sub = _sub(redis_server)
    sub.request(("SUBSCRIBE", "core:t"))
    sub.flush()
    assert _next(sub)["type"] == "subscribe"
    got: List[Any] = []
    waited: List[float] = []

    def wait() -> None:
        t0 = time.monotonic()
        got.append(sub.get_message(None, False))  # no limit
        waited.append(time.monotonic() - t0)

    th = threading.Thread(target=wait)
    th.start()
    time.sleep(0.1)
    # The reader holds the turn: a second reader is told so.
    with pytest.raises(RuntimeError, match="another thread is reading"):
        sub.get_message(0, False)
    sub.flush()  # returns at once: the reader sends
    sub.close()
    th.join(5)
    assert not th.is_alive()
    assert got == [None] and waited[0] < 2


def test_waits_release_the_gil(redis_server: Any) -> None:
    sub = _sub(redis_server)
    sub.request(("SUBSCRIBE", "core:gil"))
    sub.flush()
    _next(sub)
    ticks = 0
    stop = time.monotonic() + 0.3

    def spin() -> None:
        nonlocal ticks
        while time.monotonic() < stop:
            ticks += 1

    th = threading.Thread(target=spin)
    th.start()
    assert sub.get_message(0.3, False) is None
    th.join()
    sub.close()
    assert ticks > 1000


def test_reconnect_event(redis_server_factory: Callable[..., RedisServer]) -> None:
    server = redis_server_factory()
    sub = _sub(server, socket_timeout=1.0, retry_base=0.01, retry_cap=0.1)
    client = _core.Client(host="127.0.0.1", port=server.port, socket_timeout=2.0)
    try:
        sub.request(("SUBSCRIBE", "core:r"))
        sub.flush()
        _next(sub)
        server.restart()
        event = _next(sub, timeout=10)
        assert event["type"] == "reconnect"
        data = event["data"]
        assert data["channels"] == 1 and data["patterns"] == 0 and data["attempts"] >= 1
        assert data["down_seconds"] > 0 and "closed" in data["reason"]
        # The resubscription is confirmed (and its confirmation dropped).
        client.execute(("PUBLISH", "core:r", "after"))
        assert _next(sub)["data"] == b"after"
        assert sub.stats()["reconnects"] == 1
    finally:
        sub.close()
        client.close()


def test_step_for_an_event_loop(redis_server: Any, core: _core.Client) -> None:
    sub = _sub(redis_server)
    try:
        state = sub.step(False)  # nothing subscribed: sleep until woken
        assert state == (_core.WANT_SLEEP, -1, None)
        sub.request(("SUBSCRIBE", "core:step"))
        while (flushed := sub.flush_step()) is not None:
            assert flushed[0] in (_core.WANT_READ, _core.WANT_WRITE)
        for _ in range(100):
            r = sub.step(False)
            if isinstance(r, dict):
                break
            assert isinstance(r, tuple) and r[0] == _core.WANT_READ and r[1] >= 0
            time.sleep(0.01)
        assert isinstance(r, dict) and r["type"] == "subscribe"
    finally:
        sub.close()


def test_move_to_another_server(
    redis_server_factory: Callable[..., RedisServer], caplog: pytest.LogCaptureFixture
) -> None:
    first, second = redis_server_factory(), redis_server_factory()
    sub = _sub(first, socket_timeout=1.0)
    client = _core.Client(host="127.0.0.1", port=second.port, socket_timeout=2.0)
    try:
        assert not sub.connected  # nothing asked for yet
        sub.request(("SUBSCRIBE", "core:m"))
        sub.flush()
        assert _next(sub)["type"] == "subscribe" and sub.connected
        for host, port in (("", second.port), ("127.0.0.1", 0), ("127.0.0.1", 70000)):
            with pytest.raises(ValueError, match=r"port in 1\.\.65535"):
                sub.move(host, port)
        with pytest.raises(TypeError):
            sub.move("127.0.0.1")  # type: ignore[call-arg]
        sub.move("127.0.0.1", second.port)
        event = _next(sub)
        assert event["type"] == "reconnect"
        assert event["data"]["reason"] == f"moved to 127.0.0.1:{second.port}"
        assert event["data"]["channels"] == 1 and sub.connected
        # Logged as a move (at once), not as a loss reconnecting with backoff.
        moved = [r.getMessage() for r in caplog.records if "moved to" in r.getMessage()]
        assert moved == [
            f"pub/sub subscription moved to 127.0.0.1:{second.port}: subscribing again "
            "there; a 'reconnect' message will mark the gap"
        ]
        client.execute(("PUBLISH", "core:m", "there"))
        assert _next(sub)["data"] == b"there"
        first.stop()  # the subscription no longer needs it
        assert sub.get_message(0.2, False) is None and sub.connected
    finally:
        sub.close()
        client.close()
    assert not sub.connected
    with pytest.raises(_core.ConnectionError, match="closed"):
        sub.move("127.0.0.1", second.port)
