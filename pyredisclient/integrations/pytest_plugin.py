"""pytest plugin: real Redis servers and clients for tests.

Installed with the package and loaded by pytest through the ``pytest11``
entry point, so any project that depends on pyredisclient gets these
fixtures without a conftest:

``redis_server`` (session)
    A :class:`~pyredisclient.testing.RedisServer` on a free loopback port,
    started once per session (so once per pytest-xdist worker). Skips the
    test when ``redis-server`` is not installed. With an external server
    (``--pyredisclient-url`` or the ``pyredisclient_url`` ini value) it is an
    :class:`ExternalRedisServer` instead, whose start/stop/pause skip.
``redis_url`` (session)
    The URL of that server.
``redis_client`` (function)
    A ``pyredisclient.RedisClient`` on that server, closed after the test.
    On the plugin's own server its database is emptied with FLUSHDB first.
    An external server's data is never destroyed: unless the run opts in
    with ``--pyredisclient-allow-flushdb`` (ini ``pyredisclient_allow_flushdb
    = true``), the client gets a key prefix unique to the test
    (:func:`redis_key_prefix`), and the keys under it are deleted after
    the test; commands that cannot be confined to a prefix (FLUSHDB, ...)
    raise KeyPrefixError.
``async_redis_client`` (function)
    The same for ``pyredisclient.aio.AsyncRedisClient``. A plain (not async)
    fixture: the client binds to no event loop, so any runner works (an
    ``async def`` test under anyio's ``@pytest.mark.anyio`` or
    pytest-asyncio's ``@pytest.mark.asyncio``, or ``asyncio.run`` in a plain
    test).
``redis_key_prefix`` (function)
    The key prefix of those clients: None when the database may be flushed,
    else ``"pytest:<random>:"``.
``redis_server_factory`` (function)
    A callable that starts extra servers (same keyword arguments as
    RedisServer) and closes them all after the test: for tests that stop,
    pause or kill a server without disturbing the shared one.
``shared_client_reset`` (function)
    Resets the process-wide clients (``RedisClient.get_client()`` and the
    async one) before and after the test.
``redis_env`` (function)
    Points ``REDIS_URL`` at the test server and resets the shared clients,
    so code that calls ``get_client()`` talks to the test server (with
    ``REDIS_KEY_PREFIX`` set to the test's prefix on an external server).

``redis_cluster``, ``redis_cluster_with_replicas``, ``redis_sentinel`` and their factories
    Real Redis Cluster and Sentinel topologies: see
    :mod:`pyredisclient.integrations.pytest_topologies`, loaded with this plugin.

Fault injection example::

    def test_hung_server(redis_server_factory):
        server = redis_server_factory()
        client = pyredisclient.RedisClient.from_url(server.url, socket_timeout=0.2)
        server.pause()        # accepts connections, never answers
        with pytest.raises(pyredisclient.TimeoutError):
            client.get("k")
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Union

import pytest

from ..config import redact_url
from .testing import RedisServer, RedisServerError, redis_server_available

if TYPE_CHECKING:
    from ..client.aio import AsyncRedisClient
    from ..client.sync import RedisClient

__all__ = ["ExternalRedisServer"]

# The cluster and sentinel fixtures live in a module of their own.
pytest_plugins = ["pyredisclient.integrations.pytest_topologies"]

logger = logging.getLogger("pyredisclient")

_SKIP_NO_SERVER = (
    "redis-server not found on PATH (install redis-server or pass --pyredisclient-url)"
)

# Every option and ini value is namespaced: a project's own conftest.py may well
# define --redis-url (redis-py's suite does), and two plugins adding one option
# abort the whole run.
URL_OPTION = "--pyredisclient-url"
URL_INI = "pyredisclient_url"
FLUSH_OPTION = "--pyredisclient-allow-flushdb"
FLUSH_INI = "pyredisclient_allow_flushdb"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--pyredisclient-url`` and ``--pyredisclient-allow-flushdb`` (and ini values)."""
    group = parser.getgroup("pyredisclient")
    group.addoption(
        URL_OPTION,
        action="store",
        default=None,
        metavar="URL",
        help="use this Redis server for the redis_server/redis_client fixtures "
        "instead of starting one; its data is left alone (each test gets its own "
        "key prefix) unless --pyredisclient-allow-flushdb is given; tests that stop "
        "or pause the server are skipped",
    )
    group.addoption(
        FLUSH_OPTION,
        action="store_true",
        default=None,
        help="let redis_client FLUSHDB the external server's database before each test "
        "(everything in that database is lost)",
    )
    parser.addini(URL_INI, "the Redis server URL (as --pyredisclient-url)", default=None)
    parser.addini(
        FLUSH_INI,
        "let redis_client FLUSHDB an external server's database (as --pyredisclient-allow-flushdb)",
        type="bool",
        default=False,
    )


def _external_url(config: pytest.Config) -> str | None:
    """The external server's URL from the command line or the ini file, or None."""
    url = config.getoption(URL_OPTION)
    if not url:
        url = config.getini(URL_INI)
    return str(url) if url else None


def _may_flush_external(config: pytest.Config) -> bool:
    flag = config.getoption(FLUSH_OPTION)
    return bool(config.getini(FLUSH_INI) if flag is None else flag)


def pytest_report_header(config: pytest.Config) -> str:
    """Say which server the fixtures will use."""
    url = _external_url(config)
    if url:
        how = (
            "its database is flushed before each test"
            if _may_flush_external(config)
            else "each test confined to its own key prefix"
        )
        return f"redis: external server {ExternalRedisServer(url)!r} ({how})"
    exe = shutil.which("redis-server")
    if exe is None:
        return "redis: redis-server not found; tests that need a server will be skipped"
    try:
        version = subprocess.run(
            [exe, "--version"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        version = "version unknown"
    return f"redis: {exe} ({version})"


class ExternalRedisServer:
    """A server given with ``--pyredisclient-url``: it can be used but not controlled.

    Has the addressing attributes of RedisServer (host, port, url,
    password); the methods that would stop, pause or restart it skip the
    calling test.
    """

    def __init__(self, url: str) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("redis", "rediss", "unix"):
            raise pytest.UsageError(
                f"{URL_OPTION}: unsupported scheme in {redact_url(url)!r} "
                "(use redis://, rediss:// or unix://)"
            )
        self._url = url
        self.scheme = parsed.scheme
        self.host = parsed.hostname or "127.0.0.1"
        self.password = urllib.parse.unquote(parsed.password) if parsed.password else None
        self.unix_socket_path = parsed.path if parsed.scheme == "unix" else None
        self.port: int = 0 if parsed.scheme == "unix" else (parsed.port or 6379)
        self.tls_port = self.port if parsed.scheme == "rediss" else None

    @property
    def url(self) -> str:
        """The URL given on the command line."""
        return self._url

    @property
    def is_running(self) -> bool:
        """Assumed True: the server is not ours to watch."""
        return True

    def _cannot(self, what: str) -> NoReturn:
        pytest.skip(f"cannot {what} an external server given with {URL_OPTION}")

    def start(self) -> NoReturn:
        """Skip: an external server cannot be started."""
        self._cannot("start")

    def stop(self) -> NoReturn:
        """Skip: an external server cannot be stopped."""
        self._cannot("stop")

    def restart(self) -> NoReturn:
        """Skip: an external server cannot be restarted."""
        self._cannot("restart")

    def pause(self) -> NoReturn:
        """Skip: an external server cannot be paused."""
        self._cannot("pause")

    def resume(self) -> NoReturn:
        """Skip: an external server cannot be resumed."""
        self._cannot("resume")

    def kill(self) -> NoReturn:
        """Skip: an external server cannot be killed."""
        self._cannot("kill")

    def close(self) -> None:
        """Nothing to do: the server is not ours."""

    def __repr__(self) -> str:
        safe = redact_url(self._url)
        if self.password:
            safe = safe.replace(urllib.parse.quote(self.password, safe=""), "***")
            safe = safe.replace(self.password, "***")
        return f"<ExternalRedisServer {safe}>"


AnyRedisServer = Union[RedisServer, ExternalRedisServer]


@pytest.fixture(scope="session")
def redis_server(request: pytest.FixtureRequest) -> Iterator[AnyRedisServer]:
    """The session's Redis server (one per xdist worker); skips if unavailable."""
    url = _external_url(request.config)
    if url:
        yield ExternalRedisServer(url)
        return
    if not redis_server_available():
        pytest.skip(_SKIP_NO_SERVER)
    server = RedisServer()
    try:
        server.start()
    except RedisServerError:
        server.close()
        raise
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def redis_url(redis_server: AnyRedisServer) -> str:
    """URL of the session's Redis server, e.g. ``redis://127.0.0.1:41234/0``."""
    return redis_server.url


@pytest.fixture
def redis_key_prefix(
    request: pytest.FixtureRequest, redis_server: AnyRedisServer, redis_url: str
) -> Iterator[str | None]:
    """The key prefix that isolates this test on the server, or None when none is needed.

    None on the plugin's own server, whose database is emptied with FLUSHDB
    instead, and on an external one with ``--pyredisclient-allow-flushdb``.
    Otherwise ``"pytest:<random>:"``, and after the test every key under it is
    deleted: the external server keeps exactly the data it had.
    """
    if isinstance(redis_server, RedisServer) and redis_server.is_paused:
        # A test paused the shared server and did not resume it.
        logger.warning("resuming the shared redis-server, left paused by an earlier test")
        redis_server.resume()
    import pyredisclient

    if isinstance(redis_server, RedisServer) or _may_flush_external(request.config):
        with pyredisclient.RedisClient.from_url(redis_url) as admin:
            admin.flushdb()
        yield None
        return
    prefix = f"pytest:{uuid.uuid4().hex[:12]}:"
    try:
        yield prefix
    finally:
        _delete_prefixed(redis_url, prefix)


def _delete_prefixed(url: str, prefix: str) -> None:
    """Delete the keys under ``prefix`` (no glob characters in it: a random hex name)."""
    import pyredisclient

    with pyredisclient.RedisClient.from_url(url) as admin:
        batch: list[bytes] = []
        for key in admin.scan_iter(match=prefix + "*", count=1000):
            batch.append(key)
            if len(batch) >= 1000:
                admin.delete(*batch)
                batch.clear()
        if batch:
            admin.delete(*batch)


@pytest.fixture
def redis_client(redis_url: str, redis_key_prefix: str | None) -> Iterator[RedisClient]:
    """A RedisClient on the session server, isolated as :func:`redis_key_prefix` says."""
    import pyredisclient

    client = pyredisclient.RedisClient.from_url(redis_url, key_prefix=redis_key_prefix)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def async_redis_client(redis_url: str, redis_key_prefix: str | None) -> Iterator[AsyncRedisClient]:
    """An AsyncRedisClient on the session server, isolated like :func:`redis_client`.

    A plain fixture: the client binds to no event loop until a call runs, so it
    serves an ``async def`` test under any runner (anyio's ``@pytest.mark.anyio``,
    pytest-asyncio) and ``asyncio.run`` alike.
    """
    from ..client.aio import AsyncRedisClient

    client = AsyncRedisClient.from_url(redis_url, key_prefix=redis_key_prefix)
    try:
        yield client
    finally:
        # Synchronous (aclose only calls it): shuts the sockets down, wakes waiters.
        client._close_now()  # type: ignore[attr-defined]


@pytest.fixture
def redis_server_factory() -> Iterator[Callable[..., RedisServer]]:
    """A callable starting extra RedisServer instances, all closed after the test.

    Keyword arguments are RedisServer's (password, extra_args, tls, ...).
    Pass ``start=False`` for a prepared but not yet started server.
    """
    if not redis_server_available():
        pytest.skip(_SKIP_NO_SERVER)
    servers: list[RedisServer] = []

    def make(*, start: bool = True, **kwargs: Any) -> RedisServer:
        server = RedisServer(**kwargs)
        servers.append(server)
        if start:
            server.start()
        return server

    try:
        yield make
    finally:
        errors: list[BaseException] = []
        for server in reversed(servers):
            try:
                server.close()
            except Exception as exc:  # close the others, then report
                errors.append(exc)
        if errors:
            raise errors[0]


def _reset_shared_clients() -> None:
    """Call ``_reset_shared()`` on the sync and async client classes, if any."""
    try:
        import pyredisclient
    except ImportError:
        return
    for name in ("RedisClient", "AsyncRedisClient"):
        reset = getattr(getattr(pyredisclient, name, None), "_reset_shared", None)
        if reset is not None:
            reset()


@pytest.fixture
def shared_client_reset() -> Iterator[None]:
    """Reset the process-wide (``get_client()``) clients before and after the test."""
    _reset_shared_clients()
    try:
        yield
    finally:
        _reset_shared_clients()


@pytest.fixture
def redis_env(
    monkeypatch: pytest.MonkeyPatch,
    redis_url: str,
    redis_key_prefix: str | None,
    shared_client_reset: None,
) -> Iterator[str]:
    """Set ``REDIS_URL`` to the test server (and reset the shared clients); yield it.

    Isolated like :func:`redis_client`: with a key prefix, ``REDIS_KEY_PREFIX`` is
    set to it too, so that clients built from the environment stay under it.
    """
    monkeypatch.setenv("REDIS_URL", redis_url)
    if redis_key_prefix is not None:
        monkeypatch.setenv("REDIS_KEY_PREFIX", redis_key_prefix)
    else:
        monkeypatch.delenv("REDIS_KEY_PREFIX", raising=False)
    yield redis_url
