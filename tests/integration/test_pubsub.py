"""client.pubsub(): redis-py's subscription API on a connection of its own (sync).

Round trips against the session server: channels, patterns, shard channels, handlers,
the thread runner, decoding, key-prefix confinement, counters, closing. The faults a
subscription survives (restarts, kills, pauses, slow consumers, fork) are in
tests/test_pubsub_faults.py; asyncio in tests/test_pubsub_aio.py.
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from typing import Any, Callable, Dict, Iterator, List

import pytest

import pyredisclient
from pyredisclient import ConnectionError, DataError, PubSubError, RedisClient
from pyredisclient.pubsub import PubSub


@pytest.fixture
def client(redis_url: str) -> Iterator[RedisClient]:
    c = RedisClient.from_url(redis_url, socket_timeout=2.0)
    yield c
    c.close()


@pytest.fixture
def ch() -> str:
    """A channel name of this test's own."""
    return f"ps:{uuid.uuid4().hex[:8]}"


def _next(p: PubSub, timeout: float = 2.0, **kw: Any) -> Dict[str, Any]:
    msg = p.get_message(timeout=timeout, **kw)
    assert msg is not None, "no message within the timeout"
    return msg


def test_a_publish_after_subscribe_returns_finds_the_subscriber(
    client: RedisClient, ch: str
) -> None:
    # subscribe() on a new subscription connects, waits for a PING's answer (the
    # server has taken the connection in), then sends SUBSCRIBE: a PUBLISH sent after
    # it returns reaches it, as with redis-py. Without that round trip a SUBSCRIBE on a
    # connection the server had not yet accepted lost about 1 race in 10 here.
    missed = []
    for i in range(100):
        with client.pubsub() as p:
            (p.psubscribe if i % 2 else p.subscribe)(f"{ch}:{i}" + ("*" if i % 2 else ""))
            if client.publish(f"{ch}:{i}", "m") != 1:
                missed.append(i)
    assert missed == []


def test_subscribe_publish_round_trip(client: RedisClient, ch: str) -> None:
    with client.pubsub() as p:
        assert isinstance(p, PubSub) and not p.subscribed
        assert p.get_message() is None
        p.subscribe(ch, ch + ":2")
        assert p.subscribed
        assert p.channels == {ch.encode(): None, (ch + ":2").encode(): None}
        assert _next(p) == {"type": "subscribe", "pattern": None, "channel": ch.encode(), "data": 1}
        assert _next(p)["data"] == 2
        assert client.publish(ch, "hello") == 1
        assert _next(p) == {
            "type": "message",
            "pattern": None,
            "channel": ch.encode(),
            "data": b"hello",
        }
        assert client.pubsub_numsub(ch) == [(ch.encode(), 1)]
        assert ch.encode() in client.pubsub_channels(ch[:3] + "*")
        p.unsubscribe(ch)
        assert _next(p)["type"] == "unsubscribe"
        assert p.channels == {(ch + ":2").encode(): None}
        p.unsubscribe()
        assert _next(p) == {
            "type": "unsubscribe",
            "pattern": None,
            "channel": (ch + ":2").encode(),
            "data": 0,
        }
        assert not p.subscribed and p.channels == {}
        assert p.stats()["messages"] == 1


def test_list_argument_and_types(client: RedisClient, ch: str) -> None:
    with client.pubsub(ignore_subscribe_messages=True) as p:
        p.subscribe([ch, 7], b"raw:" + ch.encode())
        assert set(p.channels) == {ch.encode(), b"7", b"raw:" + ch.encode()}
        client.publish("7", "seven")
        assert _next(p)["data"] == b"seven"
        with pytest.raises(DataError, match="channel name"):
            p.subscribe(None)  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="at least one"):
            p.subscribe()
        with pytest.raises(TypeError, match="callable"):
            p.subscribe(**{ch: 5})  # type: ignore[arg-type]
        assert set(p.channels) == {ch.encode(), b"7", b"raw:" + ch.encode()}


def test_patterns_and_shards(client: RedisClient, ch: str) -> None:
    with client.pubsub() as p:
        p.psubscribe(ch + ".*")
        p.ssubscribe(ch + "{s}")
        assert _next(p)["type"] == "psubscribe"
        assert _next(p)["type"] == "ssubscribe"
        client.publish(ch + ".x", "1")
        client.spublish(ch + "{s}", "2")
        assert _next(p) == {
            "type": "pmessage",
            "pattern": (ch + ".*").encode(),
            "channel": (ch + ".x").encode(),
            "data": b"1",
        }
        assert _next(p) == {
            "type": "smessage",
            "pattern": None,
            "channel": (ch + "{s}").encode(),
            "data": b"2",
        }
        assert client.pubsub_numpat() >= 1
        p.punsubscribe()
        p.sunsubscribe(ch + "{s}")
        kinds = {_next(p)["type"], _next(p)["type"]}
        assert kinds == {"punsubscribe", "sunsubscribe"}
        assert p.patterns == {} and p.shard_channels == {}


def test_handlers(client: RedisClient, ch: str) -> None:
    seen: List[Dict[str, Any]] = []
    with client.pubsub(ignore_subscribe_messages=True) as p:
        p.subscribe(ch, **{ch + ":h": seen.append})
        p.psubscribe(**{ch + ":p*": seen.append})
        client.publish(ch + ":h", "to handler")
        client.publish(ch + ":pq", "to pattern handler")
        client.publish(ch, "to caller")
        msg = None
        for _ in range(10):
            msg = p.get_message(timeout=1.0)
            if msg is not None:
                break
        assert msg is not None and msg["data"] == b"to caller"
        assert [m["data"] for m in seen] == [b"to handler", b"to pattern handler"]
        # Replacing a handler, and unsubscribing from a handled channel.
        p.subscribe(**{ch + ":h": None})
        assert p.channels[(ch + ":h").encode()] is None
        p.punsubscribe(ch + ":p*")
        assert p.patterns == {}


def test_listen(client: RedisClient, ch: str) -> None:
    p = client.pubsub()
    p.subscribe(ch)
    for i in range(3):
        client.publish(ch, str(i))
    p.unsubscribe()  # listen() ends after the last confirmation
    got = [(m["type"], m["data"]) for m in p.listen()]
    assert got == [
        ("subscribe", 1),
        ("message", b"0"),
        ("message", b"1"),
        ("message", b"2"),
        ("unsubscribe", 0),
    ]
    p.close()
    assert list(p.listen()) == []


def test_ping(client: RedisClient, ch: str) -> None:
    with client.pubsub() as p:
        p.ping()  # nothing subscribed: connects for it
        assert _next(p) == {"type": "pong", "pattern": None, "channel": None, "data": b""}
        p.subscribe(ch)
        _next(p)
        p.ping("hi")
        assert _next(p) == {"type": "pong", "pattern": None, "channel": None, "data": b"hi"}


def test_decode_responses(redis_url: str, ch: str) -> None:
    with RedisClient.from_url(redis_url, decode_responses=True) as client:
        seen: List[Dict[str, Any]] = []
        with client.pubsub() as p:
            p.subscribe(ch, **{ch + "é": seen.append})
            assert set(p.channels) == {ch, ch + "é"}
            _next(p)
            _next(p)
            client.publish(ch, "ünïcode")
            client.publish(ch + "é", "x")
            assert _next(p) == {
                "type": "message",
                "pattern": None,
                "channel": ch,
                "data": "ünïcode",
            }
            assert p.get_message(timeout=0.5) is None
            assert seen[0]["channel"] == ch + "é"


def test_after_a_handshake(redis_url: str, ch: str) -> None:
    # CLIENT SETNAME and SELECT before the subscription: their replies are read by
    # the handshake, and the subscriber frames from an empty buffer after them (it
    # once framed from where the handshake's reader stopped, past its end).
    with RedisClient.from_url(redis_url, client_name="ps-handshake", db=2) as client:
        with client.pubsub() as p:
            p.subscribe(ch)
            assert _next(p)["type"] == "subscribe"
            for i in range(20):
                assert client.publish(ch, f"m{i}" * 100) == 1
                assert _next(p)["data"] == f"m{i}".encode() * 100


def test_run_in_thread(client: RedisClient, ch: str) -> None:
    got: List[bytes] = []
    done = threading.Event()

    def handler(msg: Dict[str, Any]) -> None:
        got.append(msg["data"])
        if len(got) == 3:
            done.set()

    p = client.pubsub()
    p.subscribe(**{ch: handler})
    worker = p.run_in_thread(daemon=True)
    try:
        for i in range(3):
            client.publish(ch, str(i))
        assert done.wait(5)
        assert got == [b"0", b"1", b"2"]
    finally:
        t0 = time.monotonic()
        worker.stop()
        worker.join(5)
    assert not worker.is_alive() and time.monotonic() - t0 < 2
    assert p.closed
    with pytest.raises(ConnectionError, match="closed"):
        p.get_message()


def test_run_in_thread_needs_handlers(client: RedisClient, ch: str) -> None:
    with client.pubsub() as p:
        p.subscribe(ch)
        with pytest.raises(PubSubError, match="no handler"):
            p.run_in_thread()


def test_run_in_thread_exception_handler(client: RedisClient, ch: str) -> None:
    errors: List[BaseException] = []
    failed = threading.Event()

    def bad(msg: Dict[str, Any]) -> None:
        raise ValueError(msg["data"])

    def on_error(exc: BaseException, pubsub: Any, thread: Any) -> None:
        errors.append(exc)
        failed.set()

    p = client.pubsub()
    p.subscribe(**{ch: bad})
    worker = p.run_in_thread(sleep_time=0.05, daemon=True, exception_handler=on_error)
    client.publish(ch, "boom")
    assert failed.wait(5)
    worker.stop()
    worker.join(5)
    assert isinstance(errors[0], ValueError) and errors[0].args == (b"boom",)


def test_run_in_thread_takes_redis_pys_pubsub_and_sharded_pubsub(
    client: RedisClient, ch: str
) -> None:
    """redis-py's ``run_in_thread(pubsub=other)`` runs ``other``; its
    ``sharded_pubsub=True`` worker reads shard-channel messages, which every read
    here carries; and ``ssubscribe``/``sunsubscribe`` take (and, on one server,
    ignore) its ``target_node``, rather than subscribing to a channel of that name."""
    got: List[Any] = []
    done = threading.Event()

    def handler(msg: Dict[str, Any]) -> None:
        got.append((msg["type"], msg["data"]))
        if len(got) == 2:
            done.set()

    unused, p = client.pubsub(), client.pubsub()
    p.ssubscribe(target_node=None, **{f"{ch}:s": handler})
    p.subscribe(**{ch: handler})
    assert list(p.shard_channels) == [f"{ch}:s".encode()]
    worker = unused.run_in_thread(daemon=True, pubsub=p, sharded_pubsub=True)
    try:
        assert worker.pubsub is p
        _until_numsub(client, ch)
        assert client.spublish(f"{ch}:s", "shard") == 1
        assert client.publish(ch, "plain") == 1
        assert done.wait(5)
        assert got == [("smessage", b"shard"), ("message", b"plain")]
        p.sunsubscribe(f"{ch}:s", target_node=None)
    finally:
        worker.stop()
        worker.join(5)
        unused.close()
    assert not worker.is_alive() and p.closed


def test_two_readers(client: RedisClient, ch: str) -> None:
    with client.pubsub() as p:
        p.subscribe(ch)
        _next(p)
        t = threading.Thread(target=p.get_message, kwargs={"timeout": 1.0})
        t.start()
        time.sleep(0.2)
        with pytest.raises(RuntimeError, match="another thread is reading"):
            p.get_message()
        t.join()


def test_subscribe_from_another_thread_wakes_the_reader(client: RedisClient, ch: str) -> None:
    with client.pubsub() as p:
        got: List[Any] = []
        reader = threading.Thread(target=lambda: got.append(p.get_message(timeout=5)))
        reader.start()
        time.sleep(0.1)  # waiting with nothing subscribed
        t0 = time.monotonic()
        p.subscribe(ch)
        reader.join(5)
        assert got and got[0] is not None and got[0]["type"] == "subscribe"
        assert time.monotonic() - t0 < 2


def test_closed(client: RedisClient, ch: str) -> None:
    p = client.pubsub()
    p.subscribe(ch)
    p.close()
    p.close()
    assert p.closed and not p.subscribed
    assert "closed" in repr(p)
    for call in (
        lambda: p.subscribe(ch),
        lambda: p.psubscribe(ch),
        lambda: p.ssubscribe(ch),
        lambda: p.unsubscribe(),
        lambda: p.punsubscribe(),
        lambda: p.sunsubscribe(),
        lambda: p.ping(),
        lambda: p.get_message(),
    ):
        with pytest.raises(ConnectionError, match="closed"):
            call()
    assert list(p.listen()) == []


def test_metrics_count_subscriptions(redis_url: str, ch: str) -> None:
    with RedisClient.from_url(redis_url) as client:
        assert client.metrics()["pubsub"]["subscriptions"] == 0
        p = client.pubsub()
        p.subscribe(ch)
        client.publish(ch, "x")
        _next(p)
        _next(p)
        m = client.metrics()["pubsub"]
        assert m["subscriptions"] == 1 and m["messages"] == 1 and m["connects"] == 1
        view = client.with_prefix("v:")
        q = view.pubsub()  # a view counts in its client's metrics
        assert client.metrics()["pubsub"]["subscriptions"] == 2
        q.close()
        p.close()
        m = client.metrics()["pubsub"]
        assert m["subscriptions"] == 0 and m["messages"] == 1 and m["connects"] == 1
        # A subscription dropped without close() is counted (and closed) too.
        r = client.pubsub()
        r.subscribe(ch)
        del r
        m = client.metrics()["pubsub"]
        assert m["subscriptions"] == 0 and m["connects"] == 2
        text = client.metrics_text()
        assert "pyredisclient_pubsub_reconnects_total 0" in text


def test_pubsub_commands_on_the_client(client: RedisClient, ch: str) -> None:
    assert client.pubsub_channels(ch + "*") == []
    assert client.pubsub_numsub(ch, ch + ":2") == [(ch.encode(), 0), ((ch + ":2").encode(), 0)]
    assert client.pubsub_numsub() == []
    assert isinstance(client.pubsub_numpat(), int)
    with client.pubsub() as p:
        p.subscribe(ch)
        _next(p)
        assert client.pubsub_channels(ch + "*") == [ch.encode()]
        assert client.pubsub_channels() and ch.encode() in client.pubsub_channels()


def test_connection_state_commands_name_pubsub(client: RedisClient, ch: str) -> None:
    with pytest.raises(DataError, match=r"client\.pubsub\(\)"):
        client.execute_command("SUBSCRIBE", ch)


def test_package_exports() -> None:
    assert pyredisclient.PubSub is PubSub
    assert pyredisclient.PubSubError.__mro__[1] is pyredisclient.RedisError


def test_key_prefix_confines_channels(redis_url: str, client: RedisClient, ch: str) -> None:
    with RedisClient.from_url(redis_url, key_prefix="a*:") as app:
        seen: List[Dict[str, Any]] = []
        with app.pubsub() as p, client.pubsub(ignore_subscribe_messages=True) as raw:
            raw.psubscribe("a\\*:" + ch + "*")  # what reaches the prefixed names
            p.subscribe(ch, **{ch + ":h": seen.append})
            p.psubscribe(ch + ".*")
            assert set(p.channels) == {ch.encode(), (ch + ":h").encode()}
            assert _next(p) == {
                "type": "subscribe",
                "pattern": None,
                "channel": ch.encode(),
                "data": 1,
            }
            assert _next(p)["channel"] == (ch + ":h").encode()
            # The pattern's confirmation names it as given: the escaped prefix is cut.
            assert _next(p) == {
                "type": "psubscribe",
                "pattern": None,
                "channel": (ch + ".*").encode(),
                "data": 3,
            }
            # On the server: the prefixed names, the pattern with its prefix escaped.
            assert client.pubsub_numsub("a*:" + ch) == [(("a*:" + ch).encode(), 1)]
            assert client.pubsub_numsub(ch) == [(ch.encode(), 0)]
            assert app.pubsub_numsub(ch) == [(ch.encode(), 1)]
            assert ch.encode() in app.pubsub_channels(ch + "*")
            # An unprefixed publish does not reach it, nor does one matching the
            # pattern only through the prefix's glob characters.
            client.publish(ch, "outside")
            client.publish("aX:" + ch + ".y", "glob")
            assert app.publish(ch, "inside") == 2  # p and raw
            assert _next(p) == {
                "type": "message",
                "pattern": None,
                "channel": ch.encode(),
                "data": b"inside",
            }
            client.publish("a*:" + ch + ".z", "patterned")
            assert _next(p) == {
                "type": "pmessage",
                "pattern": (ch + ".*").encode(),
                "channel": (ch + ".z").encode(),
                "data": b"patterned",
            }
            app.publish(ch + ":h", "handled")
            assert p.get_message(timeout=0.5) is None
            assert [(m["channel"], m["data"]) for m in seen] == [((ch + ":h").encode(), b"handled")]
            assert [m["channel"] for m in _drain(raw)] == [
                b"a*:" + ch.encode(),
                b"a*:" + ch.encode() + b".z",
                b"a*:" + ch.encode() + b":h",
            ]
            # A view nests its prefix under the client's.
            with app.with_prefix("v:").pubsub(ignore_subscribe_messages=True) as q:
                q.subscribe(ch)
                _until_numsub(client, "a*:v:" + ch)
                app.with_prefix("v:").publish(ch, "nested")
                assert _next(q)["channel"] == ch.encode()


def test_key_prefix_channels_off(redis_url: str, client: RedisClient, ch: str) -> None:
    with RedisClient.from_url(
        redis_url, key_prefix="app:", key_prefix_channels=False, decode_responses=True
    ) as app:
        assert app.set("k", "v") and client.get("app:k") == b"v"  # keys still confined
        with app.pubsub(ignore_subscribe_messages=True) as p:
            p.subscribe(ch)
            p.psubscribe(ch + ".*")
            _until_numsub(client, ch)
            assert app.pubsub_numsub(ch) == [(ch, 1)]
            assert client.publish(ch, "shared") == 1
            assert _next(p) == {"type": "message", "pattern": None, "channel": ch, "data": "shared"}
            assert app.publish(ch + ".x", "too") == 1
            assert _next(p)["pattern"] == ch + ".*"
            assert app.with_prefix("v:").publish(ch, "view") == 1  # views keep the switch
            assert _next(p)["data"] == "view"
    assert (
        pyredisclient.RedisConfig.from_url(
            redis_url + "?key_prefix=a:&key_prefix_channels=false"
        ).key_prefix_channels
        is False
    )


def _drain(p: PubSub) -> List[Dict[str, Any]]:
    out = []
    for _ in range(100):
        msg = p.get_message(timeout=0.3)
        if msg is None:
            return out
        out.append(msg)
    return out


def _until_numsub(client: RedisClient, channel: str) -> None:
    end = time.monotonic() + 5
    while client.pubsub_numsub(channel)[0][1] == 0:
        assert time.monotonic() < end, f"nobody subscribed to {channel}"
        time.sleep(0.02)


@dataclasses.dataclass
class Subscription:
    """The shape of redis-py 8's ``redis.typing.Subscription`` (name, handler)."""

    name: Any
    handler: Callable[[Dict[str, Any]], None] | None = None


@pytest.mark.parametrize("make", [Subscription, "redis-py"])
def test_subscription_objects_and_get_sharded_message(
    client: RedisClient, ch: str, make: Any
) -> None:
    # redis-py 8 takes Subscription(name, handler) objects beside names, and has
    # get_sharded_message() for shard channels: ours takes anything with both fields.
    if make == "redis-py":
        make = pytest.importorskip("redis.typing").Subscription
    got: List[Dict[str, Any]] = []
    with client.pubsub(ignore_subscribe_messages=True) as p:
        p.ssubscribe(make(ch + ":s"))
        p.psubscribe(make(ch + ":p*", got.append))
        p.subscribe(make(ch.encode()), make(ch + ":h", got.append), ch + ":bare")
        assert set(p.channels) == {ch.encode(), (ch + ":h").encode(), (ch + ":bare").encode()}
        assert p.channels[(ch + ":h").encode()] == got.append
        assert p.channels[ch.encode()] is None
        _until_numsub(client, ch)  # the SSUBSCRIBE and PSUBSCRIBE went first
        assert client.publish(ch, "1") == 1
        msg = _next(p)
        assert (msg["channel"], msg["data"]) == (ch.encode(), b"1")
        client.publish(ch + ":h", "2")
        client.publish(ch + ":pq", "3")
        assert p.get_message(timeout=2) is None  # each went to its handler
        assert p.get_message(timeout=2) is None
        assert [m["data"] for m in got] == [b"2", b"3"]
        assert client.spublish(ch + ":s", "4") == 1
        msg = p.get_sharded_message(timeout=2)
        assert msg is not None
        assert (msg["type"], msg["channel"], msg["data"]) == (
            "smessage",
            (ch + ":s").encode(),
            b"4",
        )
        with pytest.raises(TypeError, match="must be callable"):
            p.subscribe(make("x", 5))
