"""Long pipelines whose replies are converted while the rest still arrive.

From 512 commands on, a sync pipeline's replies are turned into Python objects in
steps while the server is still answering (the core hands back what it has framed,
PRC_WANT_CONVERT), instead of all at the end. These tests pin what must not change
with that: a replay after a lost connection starts the conversion over (nothing
from the dead connection survives), a reply that cannot be decoded fails the call
whether it came early or late and leaves the client usable, NeverDecode replies and
transactions keep their shapes, and threads doing it at once get their own replies.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, List

import pytest

from pyredisclient import RedisClient, WatchError
from tests.fakeservers import FakeServer, MiniRedis, Peer

N = 2_000


def _bulk(value: bytes) -> bytes:
    return b"$%d\r\n%s\r\n" % (len(value), value)


def test_a_replay_starts_the_conversion_over() -> None:
    """The first connection answers 1,500 of 2,000 GETs with stale values, waits
    while the client converts them, and hangs up; the replay on a new connection
    must return only the new connection's replies, in order."""
    store = MiniRedis()
    for i in range(N):
        store.data[b"k%d" % i] = b"v%d" % i
    answered: List[int] = []

    def handler(peer: Peer) -> None:
        gets: List[bytes] = []
        while True:
            cmd = peer.read_command()
            if cmd is None:
                return
            if peer.index > 0 or cmd[0].upper() != b"GET":
                if not peer.send(store.reply(cmd)):
                    return
                continue
            gets.append(cmd[1])
            if len(gets) == N:
                stale = b"".join(_bulk(b"stale-" + key) for key in gets[:1_500])
                peer.send(stale)
                peer.delivered()
                answered.append(1_500)
                time.sleep(0.3)  # the client converts what it has meanwhile
                peer.close()
                return

    with FakeServer(handler) as srv:
        client = RedisClient(host=srv.host, port=srv.port, retry_attempts=2, retry_base=0.01)
        try:
            p = client.pipeline(transaction=False)
            for i in range(N):
                p.get(f"k{i}")
            assert p.execute() == [b"v%d" % i for i in range(N)]
            assert answered == [1_500]
            assert srv.accepted == 2
            stats = client.pool_stats()
            assert stats["retries"] == 1 and stats["in_use"] == 0
        finally:
            client.close()


@pytest.mark.parametrize("bad_at", [3, 700, N - 1])
def test_an_undecodable_reply_fails_the_call_wherever_it_is(
    redis_client: RedisClient, make: Callable[..., Any], bad_at: int
) -> None:
    """Early (converted while the call runs), middle, or last (converted at the
    end): UnicodeDecodeError, the connection is dropped, the breaker stays closed
    and the next pipeline works."""
    redis_client.mset({f"k{i}": f"v{i}" for i in range(N)})
    redis_client.set(f"k{bad_at}", b"\xff\xfe")
    rd = make(decode_responses=True, failure_threshold=1)
    p = rd.pipeline(transaction=False)
    for i in range(N):
        p.get(f"k{i}")
    with pytest.raises(UnicodeDecodeError):
        p.execute()
    assert rd.circuit_breaker_state()["state"] == "closed"
    stats = rd.pool_stats()
    assert stats["in_use"] == 0 and stats["closed"] == stats["created"] - stats["idle"]
    redis_client.set(f"k{bad_at}", f"v{bad_at}")
    p = rd.pipeline(transaction=False)
    for i in range(N):
        p.get(f"k{i}")
    assert p.execute() == [f"v{i}" for i in range(N)]


@pytest.mark.parametrize("transaction", [False, True])
def test_never_decoded_replies_keep_their_place(
    redis_client: RedisClient, make: Callable[..., Any], transaction: bool
) -> None:
    redis_client.mset({f"k{i}": f"v{i}" for i in range(N)})
    rd = make(decode_responses=True)
    dumped = redis_client.dump("k5")
    raw_at = {5, 1_000, N - 1}
    p = rd.pipeline(transaction=transaction)
    for i in range(N):
        if i in raw_at:
            p.dump("k5")
        else:
            p.get(f"k{i}")
    replies = p.execute()
    assert len(replies) == N
    for i, reply in enumerate(replies):
        assert reply == (dumped if i in raw_at else f"v{i}"), i


def test_threads_with_long_pipelines_get_their_own_replies(
    redis_client: RedisClient,
) -> None:
    """Each conversion step takes the GIL back: other threads run between them,
    and none of their replies may land in another thread's list."""
    errors: List[BaseException] = []
    redis_client.mset({f"t{t}:{i}": f"{t}.{i}" for t in range(4) for i in range(N)})

    def work(t: int) -> None:
        try:
            for _ in range(5):
                p = redis_client.pipeline(transaction=False)
                for i in range(N):
                    p.get(f"t{t}:{i}")
                assert p.execute() == [f"{t}.{i}".encode() for i in range(N)]
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not any(th.is_alive() for th in threads)
    assert errors == []


def test_a_long_watched_transaction(redis_client: RedisClient, make: Callable[..., Any]) -> None:
    """On a pinned (WATCH) connection: the replies of a long transaction, and its
    WatchError when a watched key changed, both through the conversion in steps."""
    redis_client.mset({f"k{i}": f"v{i}" for i in range(N)})
    with redis_client.pipeline() as p:
        p.watch("k0")
        p.multi()
        for i in range(N):
            p.get(f"k{i}")
        assert p.execute() == [b"v%d" % i for i in range(N)]
    other = make()
    with redis_client.pipeline() as p:
        p.watch("k0")
        other.set("k0", "changed")
        p.multi()
        for i in range(N):
            p.get(f"k{i}")
        with pytest.raises(WatchError):
            p.execute()
    assert redis_client.get("k0") == b"changed"
    assert redis_client.pool_stats()["in_use"] == 0
