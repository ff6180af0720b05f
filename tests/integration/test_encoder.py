"""The bytes on the wire: the C core's RESP writer, on every path.

A fake server keeps every byte it receives and answers +OK to each command, so a
test can compare the request stream byte for byte with a reference encoding
written here in Python: every argument kind (bytes, bytearray, memoryview, str in
the client's encoding, int, float), sent by a call, a pipeline, a transaction, a
pinned (WATCH) connection and the asyncio client. Commands whose encoding would
reach 2 GiB are refused with DataError before anything is written.
"""

from __future__ import annotations

import asyncio
import mmap
import select
import threading
from pathlib import Path
from typing import Any, Iterator, List, Sequence, Tuple

import pytest

from pyredisclient import DataError, ProtocolError, RedisClient
from pyredisclient.aio import AsyncRedisClient
from tests.fakeservers import FakeServer, Peer

TICK = 0.05


def resp(*args: bytes) -> bytes:
    """The reference encoding of one command (an array of bulk strings)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def _complete(buf: bytes) -> Tuple[int, bytes]:
    """How many whole commands start buf, and what follows them."""
    n = 0
    while buf.startswith(b"*"):
        end = buf.find(b"\r\n")
        if end < 0:
            break
        pos = end + 2
        for _ in range(int(buf[1:end])):
            end = buf.find(b"\r\n", pos)
            if end < 0:
                return n, buf
            pos = end + 2 + int(buf[pos + 1 : end]) + 2
        if len(buf) < pos:
            break
        buf = buf[pos:]
        n += 1
    return n, buf


class Wire:
    """A handler that records the raw request bytes and answers +OK per command."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.data = bytearray()

    def handler(self, peer: Peer) -> None:
        pending = b""
        while not peer.server.stopping:
            ready, _, _ = select.select([peer.sock], [], [], TICK)
            if not ready:
                continue
            chunk = peer.sock.recv(1 << 20)
            if not chunk:
                return
            with self.lock:
                self.data += chunk
            n, pending = _complete(pending + chunk)
            if n and not peer.send(b"+OK\r\n" * n):
                return

    def take(self) -> bytes:
        with self.lock:
            data = bytes(self.data)
            self.data.clear()
        return data


@pytest.fixture
def wire() -> Iterator[Tuple[Wire, FakeServer]]:
    w = Wire()
    with FakeServer(w.handler) as srv:
        yield w, srv


def _client(srv: FakeServer, **kw: Any) -> RedisClient:
    # A liveness PING goes out only after 30 s idle: only our commands here.
    return RedisClient(host=srv.host, port=srv.port, **kw)


# Every kind of argument, and the bytes redis-py would send for it.
BASE = bytearray(b"0123456789")
KINDS: List[Tuple[str, Any, bytes]] = [
    ("bytes", b"by\x00tes", b"by\x00tes"),
    ("empty-bytes", b"", b""),
    ("crlf", b"\r\n*1\r\n$4\r\n", b"\r\n*1\r\n$4\r\n"),
    ("bytearray", bytearray(b"ba\x00"), b"ba\x00"),
    ("memoryview", memoryview(b"memoryview")[3:7], b"oryv"),
    ("mv-of-bytearray", memoryview(BASE)[2:5], b"234"),
    ("ascii-str", "key", b"key"),
    ("empty-str", "", b""),
    ("utf8-str", "ключ-😀", "ключ-😀".encode()),
    ("int", 42, b"42"),
    ("negative-int", -7, b"-7"),
    ("int64-min", -(2**63), b"-9223372036854775808"),
    ("big-int", 2**70, str(2**70).encode()),
    ("float", 1.5, b"1.5"),
    ("float-repr", 0.1, b"0.1"),
    ("float-int", 3.0, b"3.0"),
    ("float-exp", 1e300, b"1e+300"),
]
ARGS = tuple(v for _, v, _ in KINDS)
WANT = resp(b"XCMD", *(w for _, _, w in KINDS))


def test_every_argument_kind_on_the_wire(wire: Tuple[Wire, FakeServer]) -> None:
    w, srv = wire
    with _client(srv) as r:
        assert r.execute_command("XCMD", *ARGS) == b"OK"
        assert w.take() == WANT
        # Each kind alone too, as the first argument after the name.
        for name, value, want in KINDS:
            assert r.execute_command("XCMD", value) == b"OK", name
            assert w.take() == resp(b"XCMD", want), name


def test_str_in_the_clients_encoding(wire: Tuple[Wire, FakeServer]) -> None:
    w, srv = wire
    with _client(srv, encoding="latin-1") as r:
        assert r.execute_command("XCMD", "café", b"caf\xc3\xa9") == b"OK"
        assert w.take() == resp(b"XCMD", b"caf\xe9", b"caf\xc3\xa9")
        pipe = r.pipeline(transaction=False)
        pipe.execute_command("XCMD", "é")
        assert pipe.execute() == [b"OK"]
        assert w.take() == resp(b"XCMD", b"\xe9")


@pytest.mark.parametrize(
    "size",
    [4096 - 20, 4096, 70_000, 2 << 20],
    ids=["on-the-stack", "just-beyond", "spare-block", "beyond-the-spare"],
)
def test_large_commands(wire: Tuple[Wire, FakeServer], size: int) -> None:
    # Up to 4 KiB a call encodes on the stack; beyond, in the client's spare
    # block (kept up to 1 MiB for the next large command).
    w, srv = wire
    value = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    with _client(srv, socket_timeout=10) as r:
        for _ in range(3):
            assert r.execute_command("XCMD", value, bytearray(value[:100])) == b"OK"
            assert w.take() == resp(b"XCMD", value, value[:100])
        assert r.execute_command("XCMD", "small") == b"OK"
        assert w.take() == resp(b"XCMD", b"small")


def test_many_arguments(wire: Tuple[Wire, FakeServer]) -> None:
    w, srv = wire
    args = [b"a%d" % i for i in range(1000)]
    with _client(srv) as r:
        assert r.execute_command("XCMD", *args, *range(20)) == b"OK"
        assert w.take() == resp(b"XCMD", *args, *(b"%d" % i for i in range(20)))


def test_pipeline_and_transaction(wire: Tuple[Wire, FakeServer]) -> None:
    w, srv = wire
    with _client(srv) as r:
        pipe = r.pipeline(transaction=False)
        for name, value, _ in KINDS:
            pipe.execute_command("XCMD", name, value)
        assert pipe.execute() == [b"OK"] * len(KINDS)
        assert w.take() == b"".join(resp(b"XCMD", n.encode(), want) for n, _, want in KINDS)
        # The batch's buffer is reused: a second, different pipeline.
        pipe = r.pipeline(transaction=False)
        pipe.execute_command("XCMD", *ARGS)
        pipe.execute_command("XCMD")
        assert pipe.execute() == [b"OK", b"OK"]
        assert w.take() == WANT + resp(b"XCMD")


def test_transaction_and_pinned(wire: Tuple[Wire, FakeServer]) -> None:
    w, srv = wire
    with _client(srv) as r:
        pipe = r.pipeline(transaction=True)
        pipe.execute_command("XCMD", *ARGS)
        # MULTI / +OK / +OK (the fake queues nothing) / EXEC: EXEC's +OK is
        # not the array a transaction needs, which the client refuses; the
        # bytes sent are what this test is about.
        with pytest.raises(ProtocolError, match="invalid EXEC reply"):
            pipe.execute()
        assert w.take() == resp(b"MULTI") + WANT + resp(b"EXEC")
        # A pinned connection: WATCH, then immediate commands on it.
        with r.pipeline() as pipe:
            pipe.watch("w")
            assert pipe.execute_command("XCMD", *ARGS) == b"OK"
            pipe.unwatch()
        assert w.take() == resp(b"WATCH", b"w") + WANT + resp(b"UNWATCH")


def test_async_paths(wire: Tuple[Wire, FakeServer]) -> None:
    w, srv = wire

    async def main() -> List[bytes]:
        seen = []
        async with AsyncRedisClient(host=srv.host, port=srv.port) as r:
            mutable = bytearray(b"before")
            call = r.execute_command("XCMD", *ARGS, mutable)
            # Encoded when the call starts: a later change is not sent.
            task = asyncio.ensure_future(call)
            await asyncio.sleep(0)
            mutable[:] = b"after!"
            assert await task == b"OK"
            seen.append(w.take())
            pipe = r.pipeline(transaction=False)
            pipe.execute_command("XCMD", *ARGS)
            pipe.execute_command("XCMD", b"x" * 5000)
            assert await pipe.execute() == [b"OK", b"OK"]
            seen.append(w.take())
        return seen

    first, piped = asyncio.run(asyncio.wait_for(main(), 20))
    assert first == resp(b"XCMD", *(want for _, _, want in KINDS), b"before")
    assert piped == WANT + resp(b"XCMD", b"x" * 5000)


# -- 2 GiB -----------------------------------------------------------------


@pytest.fixture(scope="module")
def two_gib(tmp_path_factory: pytest.TempPathFactory) -> Iterator[memoryview]:
    """A 2 GiB read-only buffer that costs no memory: a sparse file, mapped."""
    path: Path = tmp_path_factory.mktemp("sparse") / "2gib"
    with open(path, "wb") as f:
        f.truncate(1 << 31)
    with open(path, "rb") as f:
        mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    view = memoryview(mm)
    try:
        yield view
    finally:
        view.release()
        mm.close()


def _too_big(two_gib: memoryview) -> Sequence[Tuple[Any, ...]]:
    return [
        ("SET", "k", two_gib),  # one argument of 2 GiB
        ("SET", "k", two_gib[: (1 << 31) - 30]),  # just over with its framing
        ("MSET", "a", two_gib[: 1 << 30], "b", two_gib[: 1 << 30]),  # together
    ]


def test_commands_of_2_gib_are_refused(wire: Tuple[Wire, FakeServer], two_gib: memoryview) -> None:
    w, srv = wire
    with _client(srv) as r:
        for args in _too_big(two_gib):
            with pytest.raises(DataError, match="command encoding would exceed 2 GiB"):
                r.execute_command(*args)
            pipe = r.pipeline(transaction=False)
            pipe.execute_command("XCMD")
            with pytest.raises(DataError, match="command encoding would exceed 2 GiB"):
                pipe.execute_command(*args)
            # The pipeline holds what it held before.
            assert pipe.execute() == [b"OK"]
        # Nothing of the refused commands was written, and the client works.
        assert r.execute_command("XCMD", "after") == b"OK"
        assert w.take() == resp(b"XCMD") * 3 + resp(b"XCMD", b"after")


def test_bytes_and_str_summing_to_2_gib_are_refused(wire: Tuple[Wire, FakeServer]) -> None:
    # The one-pass conversion of bytes and ASCII str sums the encoding's
    # size on the way: 32 references to one 64 MiB argument reach 2 GiB.
    w, srv = wire
    big = b"x" * (1 << 26)
    with _client(srv) as r:
        for arg in (big, big.decode()):
            args = ("MSET", *(arg,) * 32)
            with pytest.raises(DataError, match="command encoding would exceed 2 GiB"):
                r.execute_command(*args)
            pipe = r.pipeline(transaction=False)
            with pytest.raises(DataError, match="command encoding would exceed 2 GiB"):
                pipe.execute_command(*args)
            assert len(pipe) == 0
        assert r.execute_command("XCMD", "after") == b"OK"
        assert w.take() == resp(b"XCMD", b"after")


def test_async_commands_of_2_gib_are_refused(
    wire: Tuple[Wire, FakeServer], two_gib: memoryview
) -> None:
    w, srv = wire

    async def main() -> None:
        async with AsyncRedisClient(host=srv.host, port=srv.port) as r:
            for args in _too_big(two_gib):
                with pytest.raises(DataError, match="exceed 2 GiB"):
                    await r.execute_command(*args)
            assert await r.execute_command("XCMD") == b"OK"

    asyncio.run(asyncio.wait_for(main(), 20))
    assert w.take() == resp(b"XCMD")
