"""Connection-state commands never reach a pooled connection (DESIGN: clean or gone).

A command that changes its connection for the commands after it (SUBSCRIBE, SELECT,
MONITOR, HELLO, AUTH, RESET, CLIENT REPLY/TRACKING, MULTI, WATCH, ...) would leave a
pooled connection that the next caller inherits: subscribed and unable to answer, in
another database, inside MULTI. The C command table classifies them; every path that
sends one command or queues one into a pipeline refuses them before anything is sent,
with an error naming what to use instead. QUIT is allowed and its connection is closed
after the call.

Each test walks the whole list through every path (the client, the C methods, sync and
async pipelines and transactions, a watching pipeline, a prefixed view), and then checks
with CLIENT INFO that the next call runs on the same, clean connection: same id,
database 3, its name, not subscribed, not in MULTI, RESP2, and that the server never saw
the refused command. The list itself is checked against the server's COMMAND output.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any, Callable, Coroutine, Dict, Iterator, List, Tuple, TypeVar

import pytest

from pyredisclient import DataError, RedisClient, _core
from pyredisclient.aio import AsyncRedisClient

T = TypeVar("T")
Args = Tuple[Any, ...]

# Every connection-state command (with the word its error message must hold): what a
# user may try, subcommand forms included. A command absent from this server (CLIENT
# NO-TOUCH before 7.2) is refused all the same: nothing is sent.
REFUSED: List[Tuple[Args, str]] = [
    (("SUBSCRIBE", "ch"), "pub/sub is not supported"),
    (("PSUBSCRIBE", "ch*"), "pub/sub is not supported"),
    (("SSUBSCRIBE", "ch"), "pub/sub is not supported"),
    (("UNSUBSCRIBE",), "pub/sub is not supported"),
    (("PUNSUBSCRIBE", "ch*"), "pub/sub is not supported"),
    (("SUNSUBSCRIBE",), "pub/sub is not supported"),
    (("MONITOR",), "redis-cli"),
    (("SYNC",), "replication"),
    (("PSYNC", "?", -1), "replication"),
    (("REPLCONF", "listening-port", 6380), "replication"),
    (("SELECT", 2), "set db= in the configuration"),
    (("select", 3), "set db= in the configuration"),
    (("AUTH", "secret"), "username= and password="),
    (("AUTH", "default", "secret"), "username= and password="),
    (("HELLO",), "RESP2"),
    (("HELLO", 3), "RESP2"),
    (("HELLO", 2, "SETNAME", "other"), "RESP2"),
    (("RESET",), "close()"),
    (("CLIENT", "REPLY", "OFF"), "drop replies"),
    (("CLIENT", "REPLY", "SKIP"), "drop replies"),
    ((b"client", b"reply", b"on"), "drop replies"),
    (("CLIENT", "TRACKING", "ON", "BCAST"), "client-side caching"),
    (("CLIENT", "CACHING", "YES"), "client-side caching"),
    (("CLIENT", "NO-EVICT", "ON"), "flag on one connection"),
    (("CLIENT", "NO-TOUCH", "ON"), "flag on one connection"),
    (("SCRIPT", "DEBUG", "YES"), "redis-cli --ldb"),
    (("READONLY",), "Cluster"),
    (("READWRITE",), "Cluster"),
    (("ASKING",), "Cluster"),
    (("MULTI",), "client.pipeline()"),
    (("EXEC",), "client.pipeline()"),
    (("DISCARD",), "client.pipeline()"),
    (("WATCH", "w"), "pipe.watch()"),
    (("UNWATCH",), "pipe.watch()"),
]
IDS = [" ".join(str(a) for a in args[:2]) for args, _ in REFUSED]
WATCHING = {"WATCH", "UNWATCH"}  # allowed on the pinned connection of a watching pipeline

# Commands of the server's connection, pub/sub and transaction groups that stay allowed,
# and why: none changes what a later command on the same connection means.
ALLOWED: Dict[str, str] = {
    "PING": "no state",
    "ECHO": "no state",
    "QUIT": "allowed: its connection is closed after the call, never pooled",
    "WAIT": "no state",
    "CLIENT GETNAME": "reads",
    "CLIENT GETREDIR": "reads",
    "CLIENT HELP": "reads",
    "CLIENT ID": "reads",
    "CLIENT INFO": "reads",
    "CLIENT LIST": "reads",
    "CLIENT TRACKINGINFO": "reads",
    "CLIENT KILL": "acts on other connections; a killed own one is found at checkout",
    "CLIENT PAUSE": "server-wide, not connection state",
    "CLIENT UNPAUSE": "server-wide, not connection state",
    "CLIENT UNBLOCK": "acts on other connections",
    "CLIENT SETNAME": "a label on the connection it ran on; client_name= names them all",
    "CLIENT SETINFO": "a label, like SETNAME",
    "PUBLISH": "no state",
    "SPUBLISH": "no state",
    "PUBSUB CHANNELS": "reads",
    "PUBSUB HELP": "reads",
    "PUBSUB NUMPAT": "reads",
    "PUBSUB NUMSUB": "reads",
    "PUBSUB SHARDCHANNELS": "reads",
    "PUBSUB SHARDNUMSUB": "reads",
}
# Fields of CLIENT INFO that describe the connection's state.
STATE_FIELDS = ("id", "db", "name", "sub", "psub", "ssub", "multi", "flags", "user", "resp")


def run(coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
    return asyncio.run(asyncio.wait_for(coro, timeout))


def refused_in_c(args: Args) -> bool:
    """Whether the C layer refuses ``args`` (Batch.queue: nothing is sent)."""
    try:
        _core.Batch().queue(args)
    except DataError:
        return True
    return False


def parse_info(reply: Any) -> Dict[str, str]:
    text = reply.decode() if isinstance(reply, bytes) else reply
    fields = dict(item.split("=", 1) for item in text.split())
    return {k: fields.get(k, "") for k in STATE_FIELDS}


@pytest.fixture
def client(redis_url: str) -> Iterator[RedisClient]:
    """One pooled connection (so the next call reuses it), database 3, named."""
    with RedisClient.from_url(redis_url, db=3, max_connections=1, client_name="cs") as c:
        c.flushdb()
        c.execute_command("CONFIG", "RESETSTAT")
        try:
            yield c
        finally:
            c.flushdb()


def clean_state(before: Dict[str, str]) -> Dict[str, str]:
    expected = dict(before)
    expected.update(db="3", name="cs", sub="0", psub="0", multi="-1", flags="N", resp="2")
    if before.get("ssub"):
        expected["ssub"] = "0"
    return expected


def assert_nothing_sent(client: RedisClient) -> None:
    """The server ran only the test's own commands (commandstats)."""
    seen = set(client.info("commandstats"))
    own = {"cmdstat_config|resetstat", "cmdstat_client|info", "cmdstat_info", "cmdstat_ping"}
    own.add("cmdstat_flushdb")
    own |= {"cmdstat_watch", "cmdstat_unwatch"}  # pipe.watch() and its reset
    assert seen <= own, seen - own


def sync_paths(client: RedisClient) -> Dict[str, Callable[[Args], Any]]:
    core = client._core
    view = client.with_prefix("t:")

    def watching(args: Args) -> Any:
        with client.pipeline() as pipe:
            pipe.watch("w")
            return pipe.execute_command(*args)  # immediate, on the pinned connection

    return {
        "execute_command": lambda args: client.execute_command(*args),
        "pipeline": lambda args: client.pipeline(transaction=False).execute_command(*args),
        "transaction": lambda args: client.pipeline().execute_command(*args),
        "watching pipeline": watching,
        "prefixed view": lambda args: view.execute_command(*args),
        "prefixed pipeline": lambda args: view.pipeline().execute_command(*args),
        "_core.run": lambda args: core.run(args),
        "_core.execute": lambda args: core.execute(args),
        "_core.start": lambda args: core.start(args),
        "Batch.queue": lambda args: _core.Batch().queue(args),
        "Batch.append": lambda args: _core.Batch().append(args),
    }


# Batch.append is the pipeline's own path: it sends MULTI/EXEC/WATCH itself.
INTERNAL_OK = {"Batch.append": {"MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"}}


def allowed_on(path: str, args: Args) -> bool:
    name = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
    name = name.upper()
    if path == "watching pipeline" and name in WATCHING:
        return True
    return name in INTERNAL_OK.get(path, set())


def test_every_state_command_is_refused_on_every_sync_path(client: RedisClient) -> None:
    before = parse_info(client.execute_command("CLIENT", "INFO"))
    assert before["db"] == "3" and before["name"] == "cs"
    for path, send in sync_paths(client).items():
        for args, advice in REFUSED:
            if allowed_on(path, args):
                continue
            with pytest.raises(DataError) as info:
                send(args)
            if not path.startswith("prefixed"):  # the prefixer refuses with its own words
                assert "is not allowed on a pooled connection" in str(info.value), path
                assert advice in str(info.value), (path, args)
            # The next call runs on the same connection, and it is clean.
            after = parse_info(client.execute_command("CLIENT", "INFO"))
            assert after == clean_state(before), (path, args)
    assert client.ping() is True
    assert client.pool_stats()["created"] == 1
    assert_nothing_sent(client)


def test_every_state_command_is_refused_on_every_async_path(redis_url: str) -> None:
    async def main() -> None:
        async with AsyncRedisClient.from_url(
            redis_url, db=3, max_connections=1, client_name="cs"
        ) as aclient:
            await aclient.execute_command("CONFIG", "RESETSTAT")
            before = parse_info(await aclient.execute_command("CLIENT", "INFO"))
            view = aclient.with_prefix("t:")
            paths: List[Callable[[Args], Any]] = [
                lambda args: aclient.execute_command(*args),
                lambda args: view.execute_command(*args),
                lambda args: view.pipeline().execute_command(*args),
                lambda args: aclient.pipeline(transaction=False).execute_command(*args),
                lambda args: aclient.pipeline().execute_command(*args),
                lambda args: aclient._core.start(args),
            ]
            for args, advice in REFUSED:
                name = str(args[0]).upper()
                for send in paths:
                    with pytest.raises(DataError):
                        result = send(args)
                        if asyncio.iscoroutine(result):
                            await result
                if name not in WATCHING:
                    async with aclient.pipeline() as pipe:
                        await pipe.watch("w")
                        with pytest.raises(DataError, match=re.escape(advice)):
                            await pipe.execute_command(*args)
                after = parse_info(await aclient.execute_command("CLIENT", "INFO"))
                assert after == clean_state(before), args
            stats = await aclient.info("commandstats")
            own = {"cmdstat_config|resetstat", "cmdstat_client|info", "cmdstat_info"}
            assert set(stats) <= own | {"cmdstat_watch", "cmdstat_unwatch"}
            assert aclient.pool_stats()["created"] == 1

    run(main())


def test_watch_and_unwatch_stay_allowed_on_a_watching_pipeline(
    client: RedisClient, redis_url: str
) -> None:
    client.set("a", "1")
    with client.pipeline() as pipe, RedisClient.from_url(redis_url, db=3) as other:
        pipe.watch("a")
        assert pipe.execute_command("WATCH", "b") == b"OK"  # one more watched key
        other.set("b", "changed")
        pipe.multi()
        pipe.set("a", "2")
        with pytest.raises(Exception, match="Watched variable changed"):
            pipe.execute()
    assert client.get("a") == b"1"
    info = parse_info(client.execute_command("CLIENT", "INFO"))
    assert info["multi"] == "-1" and info["db"] == "3"

    # The transaction API itself still works on the same connection.
    def write(p: Any) -> None:
        p.multi()
        p.set("a", "3")

    assert client.transaction(write, "a") == [True]
    assert client.pool_stats()["created"] == 1


def test_quit_closes_its_connection_after_the_call(client: RedisClient, redis_url: str) -> None:
    first = client.execute_command("CLIENT", "ID")
    assert client.execute_command("QUIT") == b"OK"
    stats = client.pool_stats()
    assert stats["idle"] == 0 and stats["closed"] == 1
    second = client.execute_command("CLIENT", "ID")
    assert second != first
    assert parse_info(client.execute_command("CLIENT", "INFO"))["db"] == "3"
    # In a pipeline too: the replies are read, then the connection is closed.
    assert client.pipeline(transaction=False).ping().execute_command("QUIT").execute() == [
        True,
        b"OK",
    ]
    assert client.execute_command("CLIENT", "ID") not in (first, second)
    assert client.pool_stats()["stale"] == 0  # never found dead at checkout: closed at once

    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url, db=3) as aclient:
            one = await aclient.execute_command("CLIENT", "ID")
            assert await aclient.execute_command("QUIT") == b"OK"
            assert await aclient.execute_command("CLIENT", "ID") != one

    run(main())


def test_the_list_covers_the_servers_connection_commands(client: RedisClient) -> None:
    """Every command the server files under @connection, @pubsub or @transaction (and
    its subcommands) is refused by the C layer or deliberately allowed, and everything
    refused is refused."""
    server: List[str] = []
    for entry in client.execute_command("COMMAND"):
        entries = [entry, *(entry[9] if len(entry) > 9 else [])]
        for e in entries:
            categories = {c.decode() if isinstance(c, bytes) else c for c in e[6]}
            if categories & {"@connection", "@pubsub", "@transaction"}:
                server.append(e[0].decode().upper().replace("|", " "))
    undecided = []
    for name in sorted(server):
        if name in ("CLIENT", "PUBSUB", "COMMAND") or name.startswith("COMMAND "):
            continue  # containers, and COMMAND's introspection: no state
        refused = refused_in_c(tuple(name.split(" ")))
        if refused == (name in ALLOWED):
            undecided.append(name)
    assert undecided == [], "decide: refuse in scripts/gen_commands.py or list in ALLOWED"
    for args, _ in REFUSED:
        assert refused_in_c(args), args
    for name in ALLOWED:
        assert not refused_in_c(tuple(name.split(" "))), name
