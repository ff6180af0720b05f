"""Server, client-connection and introspection commands (redis-py's
ManagementCommands and ModuleCommands) against real servers: return shapes with
and without decode_responses, argument errors, the refused connection-state
commands, pipelines, the asyncio client, and key prefixes. Commands that change
the whole server run on a private server."""

from __future__ import annotations

import asyncio
import datetime
import time
from typing import Any, Callable, Iterator

import pytest

import pyredisclient
from pyredisclient import DataError, KeyPrefixError, RedisClient, RedisError, ResponseError
from pyredisclient.client.aio import AsyncRedisClient


@pytest.fixture
def r(redis_client: Any) -> Any:
    return redis_client


@pytest.fixture
def rd(redis_url: str) -> Iterator[Any]:
    with RedisClient.from_url(redis_url, decode_responses=True) as client:
        yield client


@pytest.fixture
def private(redis_server_factory: Callable[..., Any]) -> Iterator[Any]:
    """A client of a server of its own, with DEBUG enabled."""
    server = redis_server_factory(extra_args=["--enable-debug-command", "yes"])
    with RedisClient.from_url(server.url, retry_attempts=0) as client:
        client.server = server  # type: ignore[attr-defined]
        yield client


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 20))


def test_connection_state_commands_are_refused(r: Any) -> None:
    for call, instead in (
        (lambda: r.select(1), "db="),
        (lambda: r.auth("pw"), "password="),
        (lambda: r.auth("pw", "user"), "password="),
        (lambda: r.hello(), ""),
        (lambda: r.reset(), "close()"),
        (lambda: r.client_reply("OFF"), ""),
        (lambda: r.client_tracking_on(), ""),
        (lambda: r.client_tracking_off(prefix=["a"], bcast=True, noloop=True), ""),
        (lambda: r.client_tracking(True, 5, ["p"], optin=True, optout=True), ""),
        (lambda: r.client_no_evict("ON"), ""),
        (lambda: r.client_no_touch("ON"), ""),
        (lambda: r.sync(), "replication"),
        (lambda: r.psync("x", 0), "replication"),
        (lambda: r.readonly(), "Cluster"),
        (lambda: r.readwrite(), "Cluster"),
        (lambda: r.watch("k"), "pipe.watch()"),
        (lambda: r.unwatch(), "pipe.watch()"),
    ):
        with pytest.raises(DataError) as info:
            call()
        assert instead in str(info.value)
    assert r.ping()  # the pooled connection is fine


def test_quit_closes_only_its_connection(r: Any) -> None:
    assert r.quit() is True
    assert r.ping()


def test_info_like_commands(r: Any, rd: Any) -> None:
    assert isinstance(r.lastsave(), datetime.datetime)
    role = r.role()
    assert role[0] == b"master" and rd.role()[0] == "master"
    assert b"Redis ver." in r.lolwut() and "Redis ver." in rd.lolwut(5, 1, 1)
    assert r.wait(0, 10) == 0
    assert r.echo("x") == b"x"


def test_client_commands(r: Any, rd: Any) -> None:
    assert r.client_setname("h15") is True
    info = r.client_info()
    assert isinstance(info["id"], int) and isinstance(info["db"], int)
    assert isinstance(info["addr"], str)
    assert isinstance(r.client_id(), int)
    assert r.client_getredir() == -1
    tracking = rd.client_trackinginfo()
    assert tracking[0] == "flags" and tracking[1] == ["off"]
    listed = list(r.client_list_iter())
    assert listed and all(isinstance(c["id"], str) for c in listed)
    assert [c["id"] for c in r.client_list_iter(client_id=[info["id"]])] in ([], [str(info["id"])])
    with pytest.raises(DataError):
        r.client_list_iter(_type="bogus")
    with pytest.raises(DataError):
        r.client_list(client_id="1")
    assert r.client_unblock(10**9) is False
    assert r.client_kill_filter(_id=10**9) == 0
    assert r.client_kill_filter(_type="pubsub", skipme=True) == 0
    try:
        assert r.client_kill_filter(_id=10**9, maxage=10**6) == 0  # Redis 7.4
    except ResponseError as exc:
        assert "syntax error" in str(exc)
    assert r.client_kill_filter(addr="1.2.3.4:5", laddr="1.2.3.4:6", user="default") == 0
    with pytest.raises(DataError, match="at least one filter"):
        r.client_kill_filter()
    with pytest.raises(DataError):
        r.client_kill_filter(_type="bogus")
    with pytest.raises(DataError):
        r.client_kill_filter(skipme="yes")
    with pytest.raises(ResponseError, match="No such client"):
        r.client_kill("1.2.3.4:5")
    with pytest.raises(DataError):
        r.client_pause("10")


def test_client_kill_pause_unpause(private: Any, redis_url: str) -> None:
    other = RedisClient.from_url(private.server.url, client_name="victim", retry_attempts=0)
    other.ping()
    victim = next(c for c in private.client_list() if c.get("name") == "victim")
    assert private.client_kill(victim["addr"]) is True
    assert private.client_pause(50) is True
    assert private.client_pause(50, all=False) is True
    assert private.client_unpause() == b"OK"
    other.close()


def test_introspection(r: Any, rd: Any) -> None:
    r.set("k", "v")
    stats = r.memory_stats()
    assert isinstance(stats["peak.allocated"], int) and "db.0" in stats
    assert isinstance(stats["db.0"]["overhead.hashtable.main"], int)
    assert isinstance(r.memory_malloc_stats(), bytes)
    assert r.memory_purge() is True
    assert isinstance(r.memory_doctor(), bytes)
    assert isinstance(rd.memory_help(), list)
    assert isinstance(r.memory_usage("k"), int) and r.memory_usage("k", samples=5) > 0
    assert r.config_resetstat() is True
    assert r.slowlog_reset() is True
    assert r.config_set("slowlog-log-slower-than", 0) is True
    try:
        r.set("slow", "x")
        assert r.slowlog_len() >= 1
        entries = r.slowlog_get()
        assert {"id", "start_time", "duration", "command"} <= set(entries[0])
        assert entries[0]["command"].startswith(b"SET slow") or any(
            e["command"] == b"SET slow x" for e in entries
        )
        assert isinstance(entries[0]["client_address"], bytes)
        decoded = rd.slowlog_get(1)
        # Never decoded (the arguments may be binary), as redis-py returns them.
        assert len(decoded) == 1 and isinstance(decoded[0]["command"], bytes)
    finally:
        r.config_set("slowlog-log-slower-than", 10000)
        r.slowlog_reset()
    assert r.latency_latest() == [] or isinstance(r.latency_latest(), list)
    assert r.latency_history("command") == []
    assert r.latency_reset() >= 0 and r.latency_reset("command") == 0
    assert isinstance(r.latency_doctor(), bytes)
    with pytest.raises(ResponseError, match="No samples"):
        r.latency_graph("command")
    assert isinstance(r.latency_histogram("ping"), list)
    count = r.command_count()
    assert count > 200
    commands = r.command()
    assert len(commands) == count and commands["get"]["arity"] == 2
    assert commands["get"]["flags"] == ["readonly", "fast"]
    info = r.command_info("get", "nosuchcommand")
    assert list(info) == ["get"] and info["get"]["first_key_pos"] == 1
    assert b"get" in r.command_list() and "get" in rd.command_list(pattern="g*")
    assert r.command_list(category="string") and r.command_list(module="nomod") == []
    assert r.command_getkeys("MSET", "a", 1, "b", 2) == ["a", "b"]
    assert r.command_getkeysandflags("LMOVE", "a", "b", "LEFT", "RIGHT")[0][0] == b"a"
    assert r.module_list() == []
    with pytest.raises(ResponseError):
        r.module_load("/nonexistent/module.so")
    with pytest.raises(ResponseError):
        r.module_loadex("/nonexistent/module.so", options=["a", "b"], args=["c"])
    with pytest.raises(ResponseError):
        r.module_unload("nomod")


def test_command_docs_depends_on_hiredis(r: Any) -> None:
    try:
        docs = r.command_docs("get")
    except pyredisclient.ProtocolError as exc:
        assert pyredisclient.hiredis_version.startswith("0.") and "depth" in str(exc).lower()
    else:
        assert docs[0] == b"get"


def test_server_changing_commands(private: Any) -> None:
    c = private
    c.set("k", "v")
    assert c.debug_object("k")["refcount"] >= 1
    assert c.debug_object("k")["type"] == "Value"
    assert c.save() is True
    assert c.bgrewriteaof() is True
    assert c.bgsave() is True  # SCHEDULE: after the rewrite
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        p = c.info("persistence")
        if not (p["rdb_bgsave_in_progress"] or p["aof_rewrite_in_progress"]):
            if not p.get("aof_rewrite_scheduled") and not p.get("rdb_bgsave_scheduled"):
                break
        time.sleep(0.05)
    assert c.bgsave(schedule=False) is True
    assert c.swapdb(0, 1) is True and c.dbsize() == 0
    assert c.swapdb(1, 0) is True and c.get("k") == b"v"
    with pytest.raises(ResponseError):
        c.failover("ABORT")  # no failover in progress
    assert c.replicaof("NO", "ONE") == b"OK"
    assert c.slaveof() is True
    with pytest.raises(ResponseError):
        c.migrate("127.0.0.1", 1, "k", 0, 10)  # nothing listens there
    with pytest.raises(DataError):
        c.migrate("127.0.0.1", 1, [], 0, 10)
    with pytest.raises(DataError):
        c.shutdown(save=True, nosave=True)
    c.config_set("appendonly", "no")


def test_shutdown(private: Any) -> None:
    with pytest.raises(RedisError):
        # A refusing SHUTDOWN answers with an error; ABORT with no shutdown running too.
        private.shutdown(abort=True)
    with pytest.raises(pyredisclient.ConnectionError):
        private.shutdown(nosave=True, now=True, force=True)


def test_debug_segfault(private: Any) -> None:
    with pytest.raises(pyredisclient.ConnectionError):
        private.debug_segfault()


def test_config_rewrite_needs_a_file(r: Any) -> None:
    with pytest.raises(ResponseError, match="config file"):
        r.config_rewrite()


def test_key_prefix_gates(redis_url: str, r: Any) -> None:
    with RedisClient.from_url(redis_url, key_prefix="t:") as tenant:
        tenant.set("k", "v")
        assert tenant.memory_usage("k") > 0  # the key is prefixed
        assert tenant.command_getkeys("GET", "x") == ["x"]
        for call in (
            tenant.memory_stats,
            tenant.slowlog_get,
            tenant.role,
            tenant.client_list,
            tenant.acl_users,
            lambda: tenant.swapdb(0, 1),
            lambda: tenant.config_resetstat(),
            lambda: tenant.client_kill_filter(_id=1),
        ):
            with pytest.raises(KeyPrefixError):
                call()
        with pytest.raises(ResponseError, match="DEBUG command not allowed"):
            tenant.debug_object("k")  # confined (the key is prefixed), sent
    assert r.exists("t:k") == 1


# -- the asyncio client and pipelines run the family ---------------------------------

ASYNC_CALLS: list[tuple[str, tuple[Any, ...], Callable[[Any], bool]]] = [
    ("ping", (), lambda v: v is True),
    ("echo", ("e",), lambda v: v == b"e"),
    ("lastsave", (), lambda v: isinstance(v, datetime.datetime)),
    ("role", (), lambda v: v[0] == b"master"),
    ("lolwut", (), lambda v: b"Redis" in v),
    ("wait", (0, 1), lambda v: v == 0),
    ("client_id", (), lambda v: isinstance(v, int)),
    ("client_info", (), lambda v: isinstance(v["id"], int)),
    ("client_getredir", (), lambda v: v == -1),
    ("client_trackinginfo", (), lambda v: v[0] == "flags"),
    ("client_list_iter", (), lambda v: bool(list(v))),
    ("client_unblock", (10**9,), lambda v: v is False),
    ("client_kill_filter", (), lambda v: v == 0),
    ("memory_stats", (), lambda v: "peak.allocated" in v),
    ("memory_malloc_stats", (), lambda v: isinstance(v, bytes)),
    ("memory_doctor", (), lambda v: isinstance(v, bytes)),
    ("memory_help", (), lambda v: isinstance(v, list)),
    ("slowlog_get", (1,), lambda v: isinstance(v, list)),
    ("slowlog_len", (), lambda v: isinstance(v, int)),
    ("latency_latest", (), lambda v: isinstance(v, list)),
    ("latency_history", ("command",), lambda v: v == []),
    ("latency_doctor", (), lambda v: isinstance(v, bytes)),
    ("latency_histogram", ("ping",), lambda v: isinstance(v, list)),
    ("command_count", (), lambda v: v > 200),
    ("command_info", ("get",), lambda v: v["get"]["arity"] == 2),
    ("command_list", (None, None, "ge*"), lambda v: b"get" in v),
    ("command_getkeys", ("GET", "a"), lambda v: v == ["a"]),
    ("command_getkeysandflags", ("GET", "a"), lambda v: v[0][0] == b"a"),
    ("module_list", (), lambda v: v == []),
    ("config_resetstat", (), lambda v: v is True),
]


def test_async_client_runs_the_family(async_redis_client: AsyncRedisClient, r: Any) -> None:
    client = async_redis_client

    async def main() -> None:
        for name, args, ok in ASYNC_CALLS:
            kwargs = {"_id": 10**9} if name == "client_kill_filter" else {}
            value = await getattr(client, name)(*args, **kwargs)
            assert ok(value), (name, value)
        assert await client.quit() is True
        with pytest.raises(DataError):
            await client.select(2)

    run(main())


@pytest.mark.parametrize("transaction", [False, True])
def test_pipelines_run_the_family(
    r: Any, async_redis_client: AsyncRedisClient, transaction: bool
) -> None:
    def queue(pipe: Any) -> None:
        for name, args, _ in ASYNC_CALLS:
            kwargs = {"_id": 10**9} if name == "client_kill_filter" else {}
            getattr(pipe, name)(*args, **kwargs)

    with r.pipeline(transaction=transaction) as pipe:
        queue(pipe)
        values = pipe.execute()
    for (name, _, ok), value in zip(ASYNC_CALLS, values):
        assert ok(value), (name, value)

    async def main() -> None:
        async with async_redis_client.pipeline(transaction=transaction) as apipe:
            queue(apipe)
            avalues = await apipe.execute()
        for (name, _, ok), value in zip(ASYNC_CALLS, avalues):
            assert ok(value), (name, value)

    run(main())
    with r.pipeline() as pipe, pytest.raises(DataError):
        pipe.select(1)


def test_surface_of_these_families_is_complete(redis_url: str) -> None:
    """scripts/surface.py: every method of redis-py's ScriptCommands,
    FunctionCommands, ManagementCommands, ACLCommands and ModuleCommands whose
    command this server knows is on all four hosts, with redis-py's parameters."""
    import importlib.util
    from pathlib import Path

    pytest.importorskip("redis")
    path = Path(__file__).resolve().parents[2] / "scripts" / "surface.py"
    spec = importlib.util.spec_from_file_location("surface", path)
    assert spec is not None and spec.loader is not None
    surface = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(surface)
    families = {
        "ScriptCommands",
        "FunctionCommands",
        "ManagementCommands",
        "ACLCommands",
        "ModuleCommands",
    }
    rows = [r for r in surface.survey(redis_url) if r["family"] in families and r["server"]]
    assert len(rows) > 100
    gaps = {r["method"]: [r[h] for h in surface.HOSTS] for r in rows}
    assert {m: g for m, g in gaps.items() if g != ["ok"] * 4} == {}
    assert "(" in surface.report(rows, show_all=True)
    assert surface.command_of("client_no_evict") == "client|no-evict"
    assert surface.command_of("acl_log_reset") == "acl|log"
    assert surface.command_of("eval_ro") == "eval_ro"


def _version(client: Any) -> tuple[int, ...]:
    return tuple(int(p) for p in client.info("server")["redis_version"].split(".")[:2])


def test_waitaof_and_client_setinfo(r: Any, redis_url: str) -> None:
    if _version(r) >= (7, 2):
        assert r.waitaof(0, 0, 100) == [0, 0]
        assert r.client_setinfo("LIB-NAME", "h15") is True
        with pytest.raises(ResponseError):
            r.client_setinfo("NOT-AN-ATTR", "x")
        return
    # Redis 7.0 does not know them: its error quotes what was sent.
    with pytest.raises(ResponseError, match=r"unknown command 'WAITAOF'.*'1' '0' '100'"):
        r.waitaof(1, 0, 100)
    with pytest.raises(ResponseError, match=r"(?i)unknown subcommand 'SETINFO'"):
        r.client_setinfo("LIB-NAME", "h15")
    pipe = r.pipeline(transaction=False)
    pipe.waitaof(1, 0, 100).client_setinfo("LIB-VER", "1")
    replies = pipe.execute(raise_on_error=False)
    assert all(isinstance(e, ResponseError) for e in replies), replies

    async def main() -> None:
        async with AsyncRedisClient.from_url(redis_url) as client:
            with pytest.raises(ResponseError, match="WAITAOF"):
                await client.waitaof(1, 0, 100)

    run(main())
