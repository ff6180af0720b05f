"""ACL users and passwords against a real redis-server.

The server is started with an ACL user on its command line
(``--user alice on >alicepw ~app:* +@all -flushdb``); others are added at run time
with ACL SETUSER through the default user.
"""

from __future__ import annotations

import time
import urllib.parse
from typing import Any, Callable, Iterator

import pytest

import pyredisclient
from pyredisclient import (
    AuthenticationError,
    NoPermissionError,
    RedisClient,
    ResponseError,
)
from pyredisclient.testing import RedisServer, redis_server_available

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="needs redis-server")

ALICE = ["--user", "alice", "on", ">alicepw", "~app:*", "+@all", "-flushdb"]


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer(extra_args=ALICE) as srv:
        yield srv


@pytest.fixture
def admin(server: RedisServer) -> Iterator[RedisClient]:
    with RedisClient(port=server.port) as client:
        client.flushall()
        yield client
        # Put alice back as the command line made her, whatever the test did.
        client.execute_command("ACL", "SETUSER", "alice", "reset", *ALICE[2:])


@pytest.fixture
def alice(server: RedisServer, admin: RedisClient) -> Iterator[RedisClient]:
    with RedisClient(port=server.port, username="alice", password="alicepw") as client:
        yield client


def whoami(client: RedisClient) -> bytes:
    return client.execute_command("ACL", "WHOAMI")  # type: ignore[no-any-return]


def test_username_and_password(alice: RedisClient) -> None:
    assert whoami(alice) == b"alice"
    assert alice.set("app:k", "v") is True
    assert alice.get("app:k") == b"v"
    assert alice.config.username == "alice"


def test_from_url_with_username_and_password(server: RedisServer, admin: RedisClient) -> None:
    with RedisClient.from_url(f"redis://alice:alicepw@127.0.0.1:{server.port}/0") as client:
        assert whoami(client) == b"alice"
        assert client.set("app:url", "1") is True


def test_from_url_with_a_password_that_needs_quoting(
    server: RedisServer, admin: RedisClient
) -> None:
    password = "p@ss:w/rd%?#&= x"
    admin.execute_command("ACL", "SETUSER", "carol", "on", ">" + password, "~*", "+@all")
    try:
        quoted = urllib.parse.quote(password, safe="")
        with RedisClient.from_url(f"redis://carol:{quoted}@127.0.0.1:{server.port}/2") as c:
            assert whoami(c) == b"carol"
            assert c.config.db == 2
            assert c.set("k", "v") is True
        with RedisClient(port=server.port, username="carol", password=password) as c:
            assert whoami(c) == b"carol"
    finally:
        admin.execute_command("ACL", "DELUSER", "carol")


def test_username_without_password_for_a_nopass_user(
    server: RedisServer, admin: RedisClient
) -> None:
    # As redis-py: a username alone sends AUTH username "", which an ACL user with
    # nopass accepts (and any other user refuses, clearly).
    admin.execute_command("ACL", "SETUSER", "dave", "on", "nopass", "~*", "+@all")
    try:
        with RedisClient(port=server.port, username="dave") as c:
            assert whoami(c) == b"dave"
            assert c.set("k", "v") is True
        # In a URL, user@host is refused (it is as often a password alone, which
        # would then show as a username); ?username= says it plainly.
        url = f"redis://127.0.0.1:{server.port}/0?username=dave"
        with RedisClient.from_url(url) as c:
            assert whoami(c) == b"dave"
            assert c.config.to_url() == url
        with RedisClient(port=server.port, username="alice") as c:
            with pytest.raises(AuthenticationError, match="WRONGPASS"):
                c.ping()
    finally:
        admin.execute_command("ACL", "DELUSER", "dave")


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("alice", "wrong"),
        ("nobody", "alicepw"),
        ("alice", "alicepw "),
        (None, "no-default-password"),
    ],
)
def test_bad_credentials_raise_authentication_error(
    server: RedisServer, admin: RedisClient, username: Any, password: str
) -> None:
    with RedisClient(port=server.port, username=username, password=password) as client:
        started = time.monotonic()
        with pytest.raises(AuthenticationError) as info:
            client.ping()
        assert time.monotonic() - started < 1.0
        assert isinstance(info.value, pyredisclient.ConnectionError)
        message = str(info.value)
        assert "WRONGPASS" in message or "AUTH" in message, message
        # Configuration, not availability: the breaker does not count it.
        for _ in range(10):
            with pytest.raises(AuthenticationError):
                client.ping()
        assert client.circuit_breaker_state()["state"] == "closed"
        assert client.pool_stats()["in_use"] == 0


def test_disabled_user_cannot_log_in(server: RedisServer, admin: RedisClient) -> None:
    admin.execute_command("ACL", "SETUSER", "bob", "off", ">bobpw", "~*", "+@all")
    try:
        with RedisClient(port=server.port, username="bob", password="bobpw") as client:
            with pytest.raises(AuthenticationError, match="WRONGPASS"):
                client.ping()
    finally:
        admin.execute_command("ACL", "DELUSER", "bob")


def test_command_without_permission_raises_no_permission_error(alice: RedisClient) -> None:
    with pytest.raises(NoPermissionError) as info:
        alice.flushdb()
    assert isinstance(info.value, ResponseError)
    message = str(info.value)
    assert message.startswith("NOPERM")
    assert "'flushdb'" in message


def test_key_outside_the_users_pattern_raises_no_permission_error(alice: RedisClient) -> None:
    with pytest.raises(NoPermissionError, match=r"NOPERM .*keys"):
        alice.get("other:k")
    with pytest.raises(NoPermissionError):
        alice.mset({"app:ok": "1", "other:k": "2"})
    assert alice.get("app:ok") is None  # the whole command was refused


def test_permission_errors_keep_the_connection_and_the_breaker(alice: RedisClient) -> None:
    alice.ping()
    for _ in range(10):
        with pytest.raises(NoPermissionError):
            alice.flushdb()
        with pytest.raises(NoPermissionError):
            alice.get("other:k")
    assert alice.set("app:after", "1") is True
    stats = alice.pool_stats()
    assert stats["created"] == 1 and stats["closed"] == 0
    assert alice.circuit_breaker_state()["state"] == "closed"


def test_permission_error_inside_a_pipeline(alice: RedisClient) -> None:
    p = alice.pipeline(transaction=False)
    p.set("app:a", "1").get("other:k").get("app:a")
    result = p.execute(raise_on_error=False)
    assert result[0] is True and result[2] == b"1"
    assert isinstance(result[1], NoPermissionError)
    p = alice.pipeline(transaction=False)
    p.set("app:a", "2").flushdb()
    with pytest.raises(NoPermissionError, match=r"Command # 2 \(FLUSHDB\)"):
        p.execute()


def test_permission_taken_away_at_run_time(alice: RedisClient, admin: RedisClient) -> None:
    assert alice.set("app:k", "v") is True
    admin.execute_command("ACL", "SETUSER", "alice", "-set")
    with pytest.raises(NoPermissionError, match="'set'"):
        alice.set("app:k", "w")
    assert alice.get("app:k") == b"v"


def test_reconnect_logs_in_again(alice: RedisClient, admin: RedisClient) -> None:
    assert whoami(alice) == b"alice"
    assert admin.execute_command("CLIENT", "KILL", "USER", "alice") >= 1
    assert whoami(alice) == b"alice"  # a fresh connection, authenticated again
    assert alice.pool_stats()["created"] == 2


def test_deleted_user_fails_clearly_then_recovers(alice: RedisClient, admin: RedisClient) -> None:
    alice.ping()
    admin.execute_command("ACL", "DELUSER", "alice")  # also drops alice's connections
    with pytest.raises(AuthenticationError, match="WRONGPASS"):
        alice.get("app:k")
    admin.execute_command("ACL", "SETUSER", "alice", *ALICE[2:])
    assert alice.get("app:k") is None
    assert alice.circuit_breaker_state()["state"] == "closed"


@pytest.fixture
def password_server(redis_server_factory: Callable[..., RedisServer]) -> RedisServer:
    return redis_server_factory(password="s3cret-pw")


def test_requirepass_default_user(password_server: RedisServer) -> None:
    port = password_server.port
    with RedisClient.from_url(password_server.url) as c:  # redis://:s3cret-pw@...
        assert whoami(c) == b"default"
    with RedisClient(port=port, password="s3cret-pw") as c:
        assert c.ping() is True
    with RedisClient(port=port, username="default", password="s3cret-pw") as c:
        assert c.ping() is True
    with RedisClient(port=port) as c:
        with pytest.raises(AuthenticationError, match="NOAUTH"):
            c.ping()
    with RedisClient(port=port, password="wrong") as c:
        with pytest.raises(AuthenticationError, match="WRONGPASS"):
            c.ping()


def test_pubsub_with_a_password_subscribes_and_reconnects(password_server: RedisServer) -> None:
    # The AUTH reply once framed a subscriber's first message out of place (a crash).
    with RedisClient(port=password_server.port, password="s3cret-pw") as c:
        pubsub = c.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe("news")
            assert pubsub.get_message(timeout=0.5) is None
            c.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            kinds = []
            for _ in range(30):
                message = pubsub.get_message(timeout=0.1)
                if message is not None:
                    kinds.append(message["type"])
                    break
            assert kinds == ["reconnect"]
            assert c.publish("news", "hi") == 1
            message = pubsub.get_message(timeout=1.0)
            assert message is not None and message["data"] == b"hi"
        finally:
            pubsub.close()


def test_a_least_privilege_user_without_ping_keeps_its_connections(
    server: RedisServer, admin: RedisClient, caplog: pytest.LogCaptureFixture
) -> None:
    """``+@read +@write`` grants no PING (a @connection command), yet the health
    checks PING: a pooled connection idle past ``health_check_interval`` got NOPERM,
    was taken for dead and replaced with a WARNING each time, and an idle
    subscription's health PING raised NoPermissionError from ``get_message()``.
    The refusal is an answer: the connection is alive, and kept."""
    admin.execute_command(
        "ACL", "SETUSER", "reader", "reset", "on", ">readerpw", "~app:*", "&app:*",
        "+@read", "+@write", "+@pubsub",
    )  # fmt: skip
    options = {"username": "reader", "password": "readerpw", "health_check_interval": 0.05}
    with RedisClient(port=server.port, **options) as c, c.pubsub() as ps:
        with pytest.raises(NoPermissionError):
            c.ping()
        ps.subscribe("app:news")
        assert ps.get_message(timeout=2)["type"] == "subscribe"  # type: ignore[index]
        for i in range(4):
            time.sleep(0.1)  # idle past the interval: a health PING before each use
            assert c.set("app:k", i) is True
            assert ps.get_message(timeout=0.1) is None
        assert c.publish("app:news", "m") == 1
        assert ps.get_message(timeout=2)["data"] == b"m"  # type: ignore[index]
        stats = c.pool_stats()
        assert stats["health_checks"] >= 3 and stats["stale"] == 0 and stats["created"] == 1
        assert ps.stats()["health_checks"] >= 3 and ps.stats()["disconnects"] == 0
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []


def test_a_user_without_ping_runs_blocking_commands_on_asyncio(
    server: RedisServer, admin: RedisClient
) -> None:
    """The multiplexed asyncio client opens a blocking command's connection with
    a PING round trip (README, Multiplexing: the loop's order). A ``+@read
    +@write`` user is refused that PING: the refusal is the answer it waits for,
    and the XREAD then runs (and sees the XADD made after it)."""
    import asyncio

    from pyredisclient.aio import AsyncRedisClient

    admin.execute_command(
        "ACL", "SETUSER", "reader", "reset", "on", ">readerpw", "~app:*",
        "+@read", "+@write",
    )  # fmt: skip

    async def main() -> Any:
        async with AsyncRedisClient(port=server.port, username="reader", password="readerpw") as r:
            await r.delete("app:stream")
            read = asyncio.ensure_future(r.xread({"app:stream": "$"}, block=5000))
            await asyncio.sleep(0)  # its connection opens: PING refused, NOPERM
            added = await r.xadd("app:stream", {"n": "1"})
            entries = await asyncio.wait_for(read, 10)
            return entries[0][1][0][0] == added, r.pool_stats()["created"]

    assert asyncio.run(main()) == (True, 2)  # the shared connection and the XREAD's


def test_a_user_without_pubsub_gets_redis_pys_error(
    server: RedisServer, admin: RedisClient
) -> None:
    """A subscriber's connect ends with an UNSUBSCRIBE round trip; for a user without
    pub/sub it was refused and the connect retried forever, get_message() saying
    nothing. Now the SUBSCRIBE's own NOPERM is raised, as redis-py raises it."""
    admin.execute_command(
        "ACL", "SETUSER", "kv", "reset", "on", ">kvpw", "~app:*", "+get", "+set"
    )  # fmt: skip
    with RedisClient(port=server.port, username="kv", password="kvpw") as c, c.pubsub() as ps:
        ps.subscribe("app:news")
        with pytest.raises(NoPermissionError, match="'subscribe' command"):
            ps.get_message(timeout=2)
        assert ps.get_message(timeout=0.2) is None
        assert ps.stats()["disconnects"] == 0
