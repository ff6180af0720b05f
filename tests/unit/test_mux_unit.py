"""client/mux.py's pure rules."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest

from pyredisclient.client.mux import (
    DEDICATED,
    LoopShare,
    Multiplexer,
    _timeout_of,
    counts_own_writes,
    run_wait,
)


@pytest.mark.parametrize(
    "args, expected",
    [
        (("WAIT", 1, 0), True),
        ((b"wait", 1, 0), True),
        (("WaitAof", 1, 0, 0), True),
        (("WAITING",), False),
        (("GET", "k"), False),
        ((b"\xff",), False),
        ((42,), False),
        ((), False),
    ],
)
def test_counts_own_writes(args: tuple, expected: bool) -> None:
    assert counts_own_writes(args) is expected


@pytest.mark.parametrize(
    "args, seconds",
    [
        (("WAIT", 1, 250), 0.25),
        (("WAIT", 1, b"0"), 0.0),
        (("WAIT", 1, -5), 0.0),
        (("WAIT", 1, "x"), 0.0),
        (("WAITAOF", 1, 1, None), 0.0),
    ],
)
def test_timeout_of(args: tuple, seconds: float) -> None:
    assert _timeout_of(args) == seconds


class _Config:
    socket_timeout = 0.05
    retry_on_timeout = False


class _Client:
    _config = _Config()

    def __init__(self) -> None:
        self._mux: Any = None


class _Conn:
    """A shared connection whose WAIT is answered with *reply* on the next iteration."""

    def __init__(self, owner: LoopShare, reply: Any) -> None:
        self.owner, self.reply = owner, reply
        self.retiring = self.dead = False
        self.waits: Dict[Any, Any] = {}
        self.sent = 0

    def submit_last(self, args: tuple, fut: asyncio.Future[Any]) -> bool:
        self.sent += 1
        if not self.retiring:
            self.retiring = True
            self.owner.retire(self)  # type: ignore[arg-type]
        asyncio.get_running_loop().call_soon(fut.set_result, self.reply)
        return True


def test_waitaof_over_several_connections_takes_the_smallest_counts() -> None:
    async def main() -> List[Any]:
        client = _Client()
        client._mux = Multiplexer(2)
        share = client._mux.share(client, asyncio.get_running_loop())
        first, second = _Conn(share, [1, 2]), _Conn(share, [1, 0])
        share.conns[:] = [first, second]  # type: ignore[list-item]
        aof = await run_wait(client, ("WAITAOF", 1, 1, 100))
        # Both handed over now: a second caller with the same arguments queues a
        # new WAIT (the first ones were answered), one with others too.
        wait = await run_wait(client, ("WAIT", 1, 100))
        return [aof, wait, first.sent, second.sent, share.retiring == [first, second]]

    assert asyncio.run(main()) == [[1, 0], [1, 0], 2, 2, True]


def test_no_shared_connection_means_a_dedicated_one() -> None:
    async def main() -> List[Any]:
        client = _Client()
        nothing = await run_wait(client, ("WAIT", 1, 100))  # not multiplexed
        client._mux = Multiplexer(1)
        no_share = await run_wait(client, ("WAIT", 1, 100))
        client._mux.share(client, asyncio.get_running_loop())
        none_open = await run_wait(client, ("WAIT", 1, 100))
        return [nothing is DEDICATED, no_share is DEDICATED, none_open is DEDICATED]

    assert asyncio.run(main()) == [True, True, True]


def test_room_to_retire_waits_at_most_its_bound() -> None:
    async def main() -> List[float]:
        loop = asyncio.get_running_loop()
        share = LoopShare(_Client(), 1)
        share.retiring.append(object())  # type: ignore[arg-type]
        took = []
        for within in (0.0, 0.05):
            t = loop.time()
            await share.room_to_retire(within)
            took.append(loop.time() - t)
        # Room made: the waiter goes on at once.
        loop.call_later(0.01, lambda: (share.retiring.clear(), share._one_less_retiring()))
        t = loop.time()
        await share.room_to_retire(5.0)
        took.append(loop.time() - t)
        return took

    none, bounded, freed = asyncio.run(main())
    assert none < 0.01 and 0.04 <= bounded < 1.0 and freed < 1.0
