"""Command methods run in C (plain_command), against a real server.

On a pipeline, a plain command method queues straight into the batch, without
the argument tuple; on a client it calls the ``_run`` hook in C. Both must send
what the Python body sends, for every kind of argument, with the same errors,
and leave nothing half-queued when an argument is refused.
"""

from __future__ import annotations

from typing import Any

import pytest

from pyredisclient import DataError, RedisClient
from tests.conftest import ClientFactory


def test_pipeline_queues_every_argument_kind(r: RedisClient) -> None:
    r.set("k", "0123456789")
    r.hset("h", mapping={"2.5": "float", "5": "five"})
    pipe = r.pipeline(transaction=False)
    out = (
        pipe.get("k")
        .get(b"k")
        .get(bytearray(b"k"))
        .get(memoryview(b"xkx")[1:2])
        .getrange("k", 2, 4)
        .hget("h", 2.5)
        .hget("h", 5)
        .strlen("k")
        .setrange("k", 0, "é")
        .get("k")
    )
    assert out is pipe
    assert pipe.execute() == [
        b"0123456789",
        b"0123456789",
        b"0123456789",
        b"0123456789",
        b"234",
        b"float",
        b"five",
        10,
        10,
        "é".encode() + b"23456789",
    ]


def test_pipeline_refusal_leaves_nothing_queued(r: RedisClient) -> None:
    pipe = r.pipeline()  # a transaction: MULTI goes in with the first command
    with pytest.raises(DataError, match="argument 1 of GET"):
        pipe.get(object())
    with pytest.raises(DataError, match="argument 1 of GET"):
        pipe.get(True)
    with pytest.raises(DataError, match="cannot be encoded"):
        pipe.get("\udcff")
    assert len(pipe) == 0
    pipe.set("k", "v").get("k")
    assert pipe.execute() == [True, b"v"]


def test_pipeline_with_client_encoding(make: ClientFactory) -> None:
    client = make(encoding="latin-1", decode_responses=True)
    pipe = client.pipeline(transaction=False)
    pipe.set("k", "é").get("k").strlen("k")
    assert pipe.execute() == [True, "é", 1]  # one byte in latin-1
    with pytest.raises(DataError, match="latin-1"):
        client.pipeline().get("€")


def test_pipeline_with_key_prefix(make: ClientFactory) -> None:
    client = make(key_prefix="app:")
    pipe = client.pipeline(transaction=False)
    pipe.set("k", "v").get("k").strlen("k")
    assert pipe.execute() == [True, b"v", 1]
    assert make().get("app:k") == b"v"


def test_client_and_watching_pipeline(r: RedisClient) -> None:
    r.set("k", "v")
    assert r.get("k") == b"v" and r.strlen("k") == 1 and r.ttl("k") == -1
    with pytest.raises(DataError, match="argument 1 of TTL"):
        r.ttl(object())
    with r.pipeline() as pipe:
        pipe.watch("k")
        assert pipe.get("k") == b"v"  # between WATCH and MULTI: runs at once
        pipe.multi()
        pipe.get("k")
        assert pipe.execute() == [b"v"]


def test_many_plain_commands_in_one_pipeline(r: RedisClient) -> None:
    keys = [f"key:{i}" for i in range(3_000)]
    with r.pipeline(transaction=False) as pipe:
        for i, key in enumerate(keys):
            pipe.set(key, i)
        for key in keys:
            pipe.get(key)
        replies: Any = pipe.execute()
    assert replies[3_000:] == [str(i).encode() for i in range(3_000)]
