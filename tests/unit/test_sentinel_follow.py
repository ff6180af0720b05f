"""SentinelFollower's rules (pyredisclient/pubsub/follow.py) with a stand-in resolver:
when it looks, what it asks, and that a failure never escapes. The behaviour with
real sentinels is in tests/integration/test_sentinel.py."""

from __future__ import annotations

from typing import Any, List, Tuple

import pytest

from pyredisclient import _core
from pyredisclient.client.sentinel import MasterNotFoundError
from pyredisclient.integrations.testing import find_free_port
from pyredisclient.pubsub.follow import SentinelFollower


class Resolver:
    """What the follower uses of a SentinelResolver; records what it was asked."""

    service_name = "mymaster"

    def __init__(self, address: Tuple[str, int] | None, fail: bool = False) -> None:
        self.address = address
        self.core: Any = object() if address is not None else None
        self.fail = fail
        self.asked: List[str] = []

    def current(self) -> Any:
        self.asked.append("current")
        if self.fail:
            raise MasterNotFoundError("no sentinel answered")
        self.core = self.core or object()
        self.address = self.address or ("127.0.0.1", find_free_port())
        return self.core

    def poll_ready(self) -> bool:
        return False  # no +switch-master watch here

    def pool_steps(self, offload: Any) -> Any:
        if self.core is None:
            yield offload(self.current)
        return self.core

    def refresh(self, failed: Any) -> bool:
        self.asked.append("refresh")
        if self.fail:
            raise _core.ConnectionError("client is closed")
        return False


def subscriber() -> _core.Subscriber:
    # Never connected: no request is made, so nothing steps it.
    return _core.Subscriber(host="127.0.0.1", port=find_free_port())


def test_placing_asks_the_sentinels_once_and_then_looks_only_when_something_changed() -> None:
    sub = subscriber()
    resolver = Resolver(None)
    follower = SentinelFollower(resolver, sub)
    assert follower.due()
    follower.place()
    assert resolver.asked == ["current"] and follower.target == resolver.address
    assert not follower.due()  # nothing lost, the resolver names the same node
    resolver.address = ("127.0.0.1", find_free_port())  # the client moved
    assert follower.due()
    follower.follow()  # follows the client without asking the sentinels
    assert resolver.asked == ["current"] and follower.target == resolver.address
    assert not follower.due()
    sub.close()


def test_a_failure_is_left_for_the_next_look() -> None:
    sub = subscriber()
    with pytest.raises(MasterNotFoundError):
        SentinelFollower(Resolver(None, fail=True), sub).place()  # as a command raises
    follower = SentinelFollower(Resolver(None, fail=True), sub)
    follower.follow()  # a read never raises for an outage
    assert follower.target is None and follower.due()
    placed = Resolver(("127.0.0.1", find_free_port()), fail=True)
    follower = SentinelFollower(placed, sub)
    follower.follow()  # placed on the resolver's node without asking
    assert follower.target == placed.address and placed.asked == []
    follower.follow()  # same node, its connection not failing: nothing asked
    assert placed.asked == []
    follower._failing = True  # as due() finds it after a loss while still down
    follower.follow()  # the sentinels are asked, and fail quietly
    assert placed.asked == ["refresh"] and follower.target == placed.address
    assert not follower._failing  # asked once per loss
    sub.close()


def test_a_closed_subscription_stays_where_it_was() -> None:
    sub = subscriber()
    resolver = Resolver(("127.0.0.1", find_free_port()))
    follower = SentinelFollower(resolver, sub)
    follower.follow()
    before = follower.target
    sub.close()
    resolver.address = ("127.0.0.1", find_free_port())
    follower.follow()  # the move is refused: nothing raised, nothing recorded
    assert follower.target == before
