"""Credentials that change: providers asked at every new connection, password files
read again when they change, and password rotation under load, against a real
redis-server with an ACL user ``app`` (the default user stays open for the admin).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import pickle
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, List, Tuple

import pytest

from pyredisclient import (
    AsyncRedisClient,
    AuthenticationError,
    ConnectionError,
    PasswordFileCredentialProvider,
    RedisClient,
    RedisConfig,
    TimeoutError,
    UsernamePasswordCredentialProvider,
)
from pyredisclient.config import ConfigurationError
from pyredisclient.testing import RedisServer, redis_server_available

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="needs redis-server")

# Passwords that never appear anywhere but the server's ACL and the providers.
P1, P2, P3, P4 = (f"pw-{n}-Zq8vT{n}xK" for n in ("one", "two", "three", "four"))
APP = ["--user", "app", "on", ">" + P1, "~*", "&*", "+@all"]
THREADS = 8


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with RedisServer(extra_args=APP) as srv:
        yield srv


@pytest.fixture
def admin(server: RedisServer) -> Iterator[RedisClient]:
    with RedisClient(port=server.port) as client:
        client.execute_command("ACL", "SETUSER", "app", "reset", *APP[2:])
        yield client
        client.execute_command("ACL", "SETUSER", "app", "reset", *APP[2:])


class Holder:
    """A provider whose password the test changes; counts the times it is asked."""

    def __init__(self, password: str, username: str | None = "app") -> None:
        self.lock = threading.Lock()
        self.username, self.password = username, password
        self.asked = 0

    def set(self, password: str) -> None:
        with self.lock:
            self.password = password

    def __call__(self) -> Tuple[str | None, str]:
        with self.lock:
            self.asked += 1
            return self.username, self.password


def kill_app(admin: RedisClient) -> None:
    """Close every connection of the app user: each logs in again when next used."""
    admin.execute_command("CLIENT", "KILL", "USER", "app")


def assert_hidden(texts: List[str]) -> None:
    for text in texts:
        for pw in (P1, P2, P3, P4):
            assert pw not in text


# -- the provider is asked at every new connection ----------------------------------


def test_asked_at_every_new_connection(server: RedisServer, admin: RedisClient) -> None:
    holder = Holder(P1)
    with RedisClient(port=server.port, credential_provider=holder) as client:
        assert holder.asked == 0  # not at construction
        assert client.execute_command("ACL", "WHOAMI") == b"app"
        assert client.get("k") is None
        assert holder.asked == 1  # a pooled connection is not asked again
        kill_app(admin)
        admin.execute_command("ACL", "SETUSER", "app", "resetpass", ">" + P2)
        holder.set(P2)
        assert client.get("k") is None  # reconnected with the new password
        assert holder.asked == 2
        assert holder.asked == client.pool_stats()["created"]


def test_redis_py_shaped_providers(server: RedisServer, admin: RedisClient) -> None:
    class PasswordOnly:
        def get_credentials(self) -> Tuple[str]:
            return ("unused",)

    class UserAndPassword:
        def get_credentials(self) -> Tuple[str, str]:
            return ("app", P1)

    with RedisClient(port=server.port, credential_provider=UserAndPassword()) as c:
        assert c.execute_command("ACL", "WHOAMI") == b"app"
    provider = UsernamePasswordCredentialProvider("app", P1)
    assert P1 not in repr(provider)
    with RedisClient(port=server.port, credential_provider=provider) as c:
        assert c.execute_command("ACL", "WHOAMI") == b"app"
    # (password,) is AUTH password: the default user, which has none here.
    with RedisClient(port=server.port, credential_provider=PasswordOnly()) as c:
        with pytest.raises(AuthenticationError):
            c.ping()


def test_provider_that_raises_fails_clearly(server: RedisServer) -> None:
    def broken() -> Tuple[str, str]:
        raise KeyError("vault unreachable")

    with RedisClient(port=server.port, credential_provider=broken) as client:
        for _ in range(2):
            with pytest.raises(AuthenticationError) as info:
                client.get("k")
            assert "the credentials provider raised KeyError: 'vault unreachable'" in str(
                info.value
            )
        stats = client.pool_stats()
        assert stats["in_use"] == 0 and stats["idle"] == 0  # closed, never pooled
        assert stats["created"] == stats["closed"] == 2
        assert stats["retries"] == 0
        assert client.circuit_breaker_state()["state"] == "closed"


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        (lambda: 42, "returns (username, password) or (password,), not int"),
        (lambda: ("app", 7), "str (or None) username and password"),
        (lambda: ("app", "a\0b"), "with a NUL character"),
    ],
)
def test_provider_with_a_bad_answer(
    server: RedisServer, answer: Callable[[], Any], fragment: str
) -> None:
    with RedisClient(port=server.port, credential_provider=answer) as client:
        with pytest.raises(
            AuthenticationError, match=fragment.replace("(", r"\(").replace(")", r"\)")
        ):
            client.ping()
        assert client.pool_stats()["in_use"] == 0


def test_provider_options_are_checked() -> None:
    async def token() -> Tuple[str, str]:
        return ("app", P1)

    with pytest.raises(ConfigurationError, match="password is given with credential_provider"):
        RedisConfig(password=P1, credential_provider=lambda: ("app", P1))
    with pytest.raises(ConfigurationError, match="username is given with credential_provider"):
        RedisConfig(username="app", credential_provider=lambda: ("app", P1))
    with pytest.raises(ConfigurationError, match="credential_provider must be an object with"):
        RedisConfig(credential_provider="app:pw")
    with pytest.raises(ConfigurationError, match="can only be awaited: use AsyncRedisClient"):
        RedisClient(credential_provider=token)
    with pytest.raises(ConfigurationError, match="is an object: pass it as a keyword"):
        RedisConfig.from_env(environ={"REDIS_CREDENTIAL_PROVIDER": "x"})
    cfg = RedisConfig(credential_provider=lambda: ("app", P1))
    assert cfg.debug_info()["credential_provider"] == "<function>"
    assert "credential_provider" not in cfg.to_url()


# -- rotation under load ------------------------------------------------------------


class Load:
    """THREADS threads calling GET until stopped; every outcome with its time."""

    def __init__(self, client: RedisClient) -> None:
        self.client = client
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.outcomes: List[Tuple[float, BaseException | None]] = []
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(THREADS)]

    def _run(self, i: int) -> None:
        deadline = time.monotonic() + 30
        for _ in range(1_000_000):
            if self.stop.is_set() or time.monotonic() > deadline:
                return
            try:
                self.client.get(f"k{i}")
                outcome: BaseException | None = None
            except Exception as exc:
                outcome = exc
                time.sleep(0.005)
            with self.lock:
                self.outcomes.append((time.monotonic(), outcome))

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(10)

    def since(self, t0: float) -> List[Tuple[float, BaseException | None]]:
        with self.lock:
            return [o for o in self.outcomes if o[0] >= t0]

    def wait_successes(self, t0: float, n: int = 50, limit: float = 10.0) -> None:
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if sum(1 for _, e in self.since(t0) if e is None) >= n:
                return
            time.sleep(0.01)
        raise AssertionError(f"fewer than {n} successful calls after the rotation")


# One retry window: from when the new password is available to the client, calls
# may still fail for this long (calls that asked the provider just before).
WINDOW = 1.0


def rotate_under_load(
    admin: RedisClient, client: RedisClient, set_password: Callable[[str], None]
) -> List[BaseException]:
    """Rotate twice while THREADS threads call GET; return the errors seen.

    Graceful (new password added on the server before the client gets it, the old
    one removed after): no call fails. Abrupt (the server changes first, the client
    learns 0.3 s later): calls fail with AuthenticationError only until the client
    has the new password, then succeed."""
    errors: List[BaseException] = []
    with Load(client) as load:
        load.wait_successes(0)
        t0 = time.monotonic()
        admin.execute_command("ACL", "SETUSER", "app", ">" + P2)
        set_password(P2)
        # A connection that asked just before may still send the old password: remove
        # it once such a connection has logged in (minutes, in real rotations).
        time.sleep(0.2)
        admin.execute_command("ACL", "SETUSER", "app", "<" + P1)
        kill_app(admin)
        load.wait_successes(time.monotonic())
        graceful = [e for _, e in load.since(t0) if e is not None]
        assert graceful == []

        t1 = time.monotonic()
        admin.execute_command("ACL", "SETUSER", "app", "resetpass", ">" + P3)
        kill_app(admin)
        time.sleep(0.3)
        set_password(P3)
        t_new = time.monotonic()
        load.wait_successes(t_new)
        time.sleep(max(0.0, t_new + WINDOW + 0.3 - time.monotonic()))
        abrupt = [(t, e) for t, e in load.since(t1) if e is not None]
        assert abrupt, "killing the connections after the server changed must show"
        assert all(isinstance(e, AuthenticationError) for _, e in abrupt), abrupt[:3]
        assert max(t for t, _ in abrupt) <= t_new + WINDOW
        late = load.since(t_new + WINDOW)
        assert late and all(e is None for _, e in late)
        errors = [e for _, e in abrupt]
    return errors


def test_rotation_with_a_provider_under_load(
    server: RedisServer, admin: RedisClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    holder = Holder(P1)
    with RedisClient(
        port=server.port, credential_provider=holder, max_connections=THREADS
    ) as client:
        errors = rotate_under_load(admin, client, holder.set)
        assert holder.asked >= 3
        texts = [caplog.text, repr(client), str(client.debug_info()), repr(client.config)]
        assert_hidden(texts + [str(e) for e in errors] + [repr(e) for e in errors])


def test_rotation_with_a_password_file_under_load(
    server: RedisServer, admin: RedisClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secret = tmp_path / "redis-password"
    secret.write_text(P1 + "\n")

    def set_password(password: str) -> None:
        if password == P2:  # a new file swapped in, as a Kubernetes secret volume does
            new = tmp_path / "new-password"
            new.write_text(password + "\n")
            os.replace(new, secret)
        else:  # rewritten in place, same size: the modification time says it changed
            before = secret.stat().st_mtime_ns
            secret.write_text(password + "\n")
            if secret.stat().st_mtime_ns == before:
                os.utime(secret, ns=(before + 1_000_000, before + 1_000_000))

    env = {
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": str(server.port),
        "REDIS_USERNAME": "app",
        "REDIS_PASSWORD_FILE": str(secret),
        "REDIS_MAX_CONNECTIONS": str(THREADS),
    }
    config = RedisConfig.from_env(environ=env)
    assert config.password_file == str(secret)
    with RedisClient(config=config) as client:
        errors = rotate_under_load(admin, client, set_password)
        texts = [caplog.text, repr(client), str(client.debug_info()), repr(client.config)]
        assert_hidden(texts + [str(e) for e in errors])
    # Rewritten in place, the file may be read empty for a moment: a WARNING, and the
    # password read before is kept.
    changed = [r for r in caplog.records if "changed: new connections" in r.getMessage()]
    assert len(changed) == 2 and all(r.levelno == logging.INFO for r in changed)


def test_password_file_unreadable_keeps_the_last_password(
    server: RedisServer, admin: RedisClient, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret = tmp_path / "pw"
    secret.write_text(P1)
    with RedisClient(port=server.port, username="app", password_file=str(secret)) as client:
        assert client.ping() is True
        config = client.config
        assert config.effective_credential_provider is config.effective_credential_provider
        for copied in (copy.deepcopy(config), pickle.loads(pickle.dumps(config))):
            assert copied == config  # the provider it made is not part of it
            assert copied.effective_credential_provider.get_credentials() == ("app", P1)
        secret.unlink()
        kill_app(admin)
        with caplog.at_level(logging.WARNING, logger="pyredisclient"):
            assert client.ping() is True  # reconnected with the password read before
            kill_app(admin)
            assert client.ping() is True
        warned = [r for r in caplog.records if "cannot read the password file" in r.getMessage()]
        assert len(warned) == 1  # once, not per connection
        secret.write_text("")
        kill_app(admin)
        assert client.ping() is True
    provider = PasswordFileCredentialProvider(str(tmp_path / "missing"))
    with pytest.raises(OSError, match="No such file"):
        provider.get_credentials()
    with pytest.raises(ConfigurationError, match="cannot read the password file"):
        RedisConfig(password_file=str(tmp_path / "missing"))


def test_pubsub_asks_the_provider_when_it_reconnects(
    server: RedisServer, admin: RedisClient
) -> None:
    holder = Holder(P1)
    with RedisClient(port=server.port, credential_provider=holder) as client:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe("news")
            assert pubsub.get_message(timeout=1.0) is None
            asked = holder.asked
            admin.execute_command("ACL", "SETUSER", "app", "resetpass", ">" + P2)
            holder.set(P2)
            kill_app(admin)
            for _ in range(50):
                message = pubsub.get_message(timeout=0.1)
                if message is not None and message.get("type") == "reconnect":
                    break
            assert holder.asked > asked
            assert client.publish("news", "hi") >= 1
        finally:
            pubsub.close()


# -- asyncio --------------------------------------------------------------------------


def run(coro: Any, timeout: float = 30.0) -> Any:
    return asyncio.run(asyncio.wait_for(coro, timeout))


def test_async_rotation_with_an_async_provider(
    server: RedisServer, admin: RedisClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    state = {"password": P1, "asked": 0}

    async def token() -> Tuple[str, str]:
        await asyncio.sleep(0)
        state["asked"] += 1
        return ("app", str(state["password"]))

    async def main() -> List[Tuple[float, BaseException | None]]:
        outcomes: List[Tuple[float, BaseException | None]] = []
        stop = asyncio.Event()
        async with AsyncRedisClient(port=server.port, credential_provider=token) as client:

            async def worker(i: int) -> None:
                for _ in range(100_000):
                    if stop.is_set():
                        return
                    try:
                        await client.get(f"k{i}")
                        outcomes.append((time.monotonic(), None))
                    except Exception as exc:
                        outcomes.append((time.monotonic(), exc))
                        await asyncio.sleep(0.005)

            tasks = [asyncio.create_task(worker(i)) for i in range(THREADS)]
            await asyncio.sleep(0.2)
            admin.execute_command("ACL", "SETUSER", "app", "resetpass", ">" + P3)
            kill_app(admin)
            t_kill = time.monotonic()
            await asyncio.sleep(0.3)
            state["password"] = P3
            t_new = time.monotonic()
            await asyncio.sleep(0.3 + WINDOW)
            stop.set()
            await asyncio.gather(*tasks)
            assert state["asked"] >= 2
            outcomes.append((t_kill, None))
            outcomes.append((t_new, None))
            assert_hidden([repr(client), str(client.debug_info())])
        return outcomes

    outcomes = run(main())
    t_kill, t_new = outcomes[-2][0], outcomes[-1][0]
    outcomes = outcomes[:-2]
    errors = [(t, e) for t, e in outcomes if e is not None]
    assert all(t >= t_kill and t <= t_new + WINDOW for t, _ in errors), errors[:3]
    assert all(isinstance(e, (AuthenticationError, ConnectionError)) for _, e in errors)
    assert any(isinstance(e, AuthenticationError) for _, e in errors)
    late = [e for t, e in outcomes if t > t_new + WINDOW]
    assert late and all(e is None for e in late)
    assert_hidden([caplog.text] + [str(e) for _, e in errors])


def test_async_provider_that_raises_or_hangs(server: RedisServer) -> None:
    async def broken() -> Tuple[str, str]:
        raise LookupError("no token")

    async def hangs() -> Tuple[str, str]:
        await asyncio.sleep(30)
        return ("app", P1)

    async def main() -> None:
        async with AsyncRedisClient(port=server.port, credential_provider=broken) as client:
            with pytest.raises(AuthenticationError, match="raised LookupError: no token") as info:
                await client.get("k")
            assert isinstance(info.value.__cause__, LookupError)
            assert client.pool_stats()["in_use"] == 0
        async with AsyncRedisClient(
            port=server.port, credential_provider=hangs, socket_connect_timeout=0.2
        ) as client:
            start = time.monotonic()
            with pytest.raises(TimeoutError, match="did not answer"):
                await client.get("k")
            assert time.monotonic() - start < 2.0
        # A sync provider works on the async client too (called on the loop), and so
        # does redis-py's shape with get_credentials_async.
        provider = UsernamePasswordCredentialProvider("app", P1)
        async with AsyncRedisClient(port=server.port, credential_provider=provider) as client:
            assert await client.execute_command("ACL", "WHOAMI") == b"app"
        async with AsyncRedisClient(
            port=server.port, credential_provider=lambda: ("app", P1)
        ) as client:
            assert await client.execute_command("ACL", "WHOAMI") == b"app"
            with pytest.raises(ConfigurationError, match="get_credentials"):
                AsyncRedisClient(port=server.port, credential_provider=hangs).pubsub()

    run(main())


def test_pubsub_reconnects_while_other_threads_subscribe(
    server: RedisServer, admin: RedisClient
) -> None:
    """A subscriber reconnects holding its own lock; threads that subscribe hold the
    GIL and take that lock: the provider must not need the GIL there (a deadlock)."""
    holder = Holder(P1)
    with RedisClient(port=server.port, credential_provider=holder) as client:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        stop = threading.Event()

        def reader() -> None:
            for _ in range(100_000):
                if stop.is_set():
                    return
                pubsub.get_message(timeout=0.05)

        thread = threading.Thread(target=reader, daemon=True)
        try:
            pubsub.subscribe("c0")
            thread.start()
            end = time.monotonic() + 1.5
            for i in range(100_000):
                if time.monotonic() > end:
                    break
                # Each takes the subscriber's lock with the GIL held (subscribe()
                # would also flush, which a reader in another thread refuses).
                pubsub._sub.request(("SUBSCRIBE", f"c{i % 7}"))
                pubsub._sub.count(0)
                if i % 20 == 0:
                    admin.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
            stop.set()
            thread.join(5)
            assert not thread.is_alive(), "the reader is stuck"
            assert holder.asked >= 2
        finally:
            stop.set()
            pubsub.close()
