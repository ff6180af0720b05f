"""Tests of the pytest plugin (pyredisclient.pytest_plugin): its fixtures in a pytest run
of their own, and in process.
"""

from __future__ import annotations

import importlib.metadata
import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from server_helpers import (
    process_gone,
)

from pyredisclient import pytest_plugin
from pyredisclient.pytest_plugin import ExternalRedisServer
from pyredisclient.testing import RedisServer, raw_ping, redis_server_available

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="redis-server not on PATH")


@pytest.fixture
def server() -> Any:
    with RedisServer() as srv:
        yield srv


# -- the pytest plugin ------------------------------------------------------


def _plugin_installed() -> bool:
    found = importlib.metadata.entry_points()
    if hasattr(found, "select"):
        entry_points = found.select(group="pytest11")
    else:  # Python 3.9: a dict of groups
        entry_points = found.get("pytest11", [])
    return any(ep.value == "pyredisclient.pytest_plugin" for ep in entry_points)


def _run_pytest(
    tmp_path: Path, source: str, *args: str, ini: str = "", conftest: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run an inner pytest session on *source* in a subprocess."""
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(source))
    (tmp_path / "pytest.ini").write_text("[pytest]\n" + textwrap.dedent(ini))
    if conftest:
        (tmp_path / "conftest.py").write_text(textwrap.dedent(conftest))
    plugin = [] if _plugin_installed() else ["-p", "pyredisclient.pytest_plugin"]
    argv = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-W", "error", *plugin]
    return subprocess.run(
        [*argv, "-rs", *args, "test_inner.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_plugin_fixtures_start_and_clean_up_servers(tmp_path: Path) -> None:
    record = tmp_path / "record.txt"
    result = _run_pytest(
        tmp_path,
        f"""
        from pyredisclient.testing import RedisServer, raw_ping

        def test_fixtures(redis_server, redis_url, redis_server_factory):
            assert isinstance(redis_server, RedisServer)
            assert redis_url == redis_server.url
            assert raw_ping((redis_server.host, redis_server.port)) == b"+PONG"
            extra = redis_server_factory(password="pw")
            idle = redis_server_factory(start=False)
            assert not idle.is_running
            assert extra.port != redis_server.port
            extra.pause()  # left paused on purpose: teardown must cope
            with open({str(record)!r}, "w") as f:
                f.write(f"{{redis_server.pid}} {{redis_server.tmpdir}} ")
                f.write(f"{{extra.pid}} {{extra.tmpdir}}")

        def test_same_session_server(redis_server):
            with open({str(record)!r}) as f:
                assert int(f.read().split()[0]) == redis_server.pid
        """,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    assert "redis: " in result.stdout  # the report header names the server
    session_pid, session_dir, extra_pid, extra_dir = record.read_text().split()
    assert process_gone(int(session_pid))
    assert process_gone(int(extra_pid))
    assert not Path(session_dir).exists()
    assert not Path(extra_dir).exists()


def test_plugin_with_external_redis_url(tmp_path: Path, server: RedisServer) -> None:
    result = _run_pytest(
        tmp_path,
        f"""
        import pytest

        def test_url(redis_server, redis_url):
            assert redis_url == {server.url!r}
            assert redis_server.port == {server.port}
            assert redis_server.host == "127.0.0.1"

        def test_cannot_stop(redis_server):
            redis_server.stop()

        def test_cannot_pause(redis_server):
            redis_server.pause()
        """,
        "--pyredisclient-url",
        server.url,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed, 2 skipped" in result.stdout
    assert "external server" in result.stdout
    assert server.is_running  # stop() was refused


class _Recorder:
    """Stands in for pytest's parser: records the option and ini names added."""

    def __init__(self) -> None:
        self.options: list[str] = []
        self.inis: list[str] = []

    def getgroup(self, name: str) -> _Recorder:
        return self

    def addoption(self, *names: str, **kwargs: Any) -> None:
        self.options += names

    def addini(self, name: str, *args: Any, **kwargs: Any) -> None:
        self.inis.append(name)


def test_every_option_and_ini_value_is_namespaced() -> None:
    recorder = _Recorder()
    pytest_plugin.pytest_addoption(recorder)  # type: ignore[arg-type]
    assert recorder.options and recorder.inis
    assert all(name.startswith("--pyredisclient-") for name in recorder.options)
    assert all(name.startswith("pyredisclient_") for name in recorder.inis)


def test_plugin_loads_next_to_a_conftest_that_defines_redis_url(
    tmp_path: Path, server: RedisServer
) -> None:
    # What redis-py's own suite (and many projects) have in their conftest.py.
    conftest = """
        import pytest

        def pytest_addoption(parser):
            parser.addoption("--redis-url", default="redis://localhost:6379/9",
                             help="the project's own server")
            parser.addini("redis_url", "the project's own server", default=None)

        @pytest.fixture
        def project_url(request):
            return request.config.getoption("--redis-url")
        """
    source = f"""
        def test_both(project_url, redis_url):
            assert project_url == "redis://127.0.0.1:1/5"
            assert redis_url == {server.url!r}
        """
    result = _run_pytest(
        tmp_path,
        source,
        "--redis-url",
        "redis://127.0.0.1:1/5",
        "--pyredisclient-url",
        server.url,
        conftest=conftest,
        ini="redis_url = redis://ignored\n",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


_ISOLATED_TESTS = """
    import asyncio

    import pytest

    from pyredisclient import KeyPrefixError

    def test_writes_under_its_own_prefix(redis_client, redis_key_prefix):
        assert redis_key_prefix.startswith("pytest:")
        assert redis_client.get("user:kept") is None  # the user's key is out of sight
        redis_client.set("a", 1)
        redis_client.mset({"b": 2, "c": 3})
        assert sorted(redis_client.keys("*")) == [b"a", b"b", b"c"]
        with pytest.raises(KeyPrefixError, match="FLUSHDB"):
            redis_client.flushdb()

    def test_the_next_test_starts_empty(redis_client):
        assert redis_client.keys("*") == []
        redis_client.set("a", "again")

    @pytest.mark.anyio
    async def test_async_under_anyio(async_redis_client):
        await async_redis_client.set("async", 1)
        assert await async_redis_client.get("user:kept") is None

    def test_get_client_under_redis_env(redis_env):
        from pyredisclient import RedisClient

        RedisClient.get_client().set("shared", 1)
        assert RedisClient.get_client().get("user:kept") is None

    def test_async_under_asyncio_run(async_redis_client):
        asyncio.run(async_redis_client.set("run", 1))
        assert asyncio.run(async_redis_client.get("run")) == b"1"
    """


def test_an_external_server_keeps_the_users_data(tmp_path: Path, server: RedisServer) -> None:
    import pyredisclient

    with pyredisclient.RedisClient.from_url(server.url) as user:
        user.set("user:kept", "precious")
        user.hset("user:hash", mapping={"f": "v"})
        result = _run_pytest(tmp_path, _ISOLATED_TESTS, "--pyredisclient-url", server.url)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "5 passed" in result.stdout
        assert "each test confined to its own key prefix" in result.stdout
        # Nothing of the user's was touched, and nothing of the tests is left.
        assert user.get("user:kept") == b"precious"
        assert user.hgetall("user:hash") == {b"f": b"v"}
        assert sorted(user.keys("*")) == [b"user:hash", b"user:kept"]


def test_flushing_an_external_server_needs_the_opt_in(tmp_path: Path, server: RedisServer) -> None:
    import pyredisclient

    source = """
        def test_flushed(redis_client, redis_key_prefix):
            assert redis_key_prefix is None
            assert redis_client.keys("*") == []
            redis_client.set("from-the-test", 1)
        """
    with pyredisclient.RedisClient.from_url(server.url) as user:
        for args, ini in (
            (["--pyredisclient-url", server.url, "--pyredisclient-allow-flushdb"], ""),
            ([], f"pyredisclient_url = {server.url}\npyredisclient_allow_flushdb = true\n"),
        ):
            user.set("user:kept", "precious")
            result = _run_pytest(tmp_path, source, *args, ini=ini)
            assert result.returncode == 0, result.stdout + result.stderr
            assert "flushed before each test" in result.stdout
            assert user.get("user:kept") is None
            assert user.get("from-the-test") == b"1"


def test_plugin_skips_without_redis_server(tmp_path: Path) -> None:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    # Only Python on PATH: no redis-server.
    os.symlink(sys.executable, bindir / "python")
    env = dict(os.environ, PATH=str(bindir))
    (tmp_path / "test_inner.py").write_text(
        "def test_needs_server(redis_url):\n    raise AssertionError('ran')\n"
        "def test_needs_factory(redis_server_factory):\n    raise AssertionError('ran')\n"
    )
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    plugin = [] if _plugin_installed() else ["-p", "pyredisclient.pytest_plugin"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugin, "-rs", "test_inner.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 skipped" in result.stdout
    assert "redis-server not found" in result.stdout


def test_open_fds_counts_descriptors(open_fds: Any) -> None:
    before = open_fds()
    sock = socket.socket()
    try:
        assert open_fds() == before + 1
    finally:
        sock.close()
    assert open_fds() == before


# -- the plugin, in process ---------------------------------------------------


def test_external_server_parses_the_url() -> None:
    server = ExternalRedisServer("redis://:s%40cret@127.0.0.1:7000/1")
    assert (server.host, server.port, server.password) == ("127.0.0.1", 7000, "s@cret")
    assert server.url == "redis://:s%40cret@127.0.0.1:7000/1"
    assert server.tls_port is None and server.unix_socket_path is None
    assert server.is_running
    assert "s%40cret" not in repr(server) and "***" in repr(server)
    server.close()  # nothing to do, and no error

    tls = ExternalRedisServer("rediss://cache.internal/0")
    assert (tls.host, tls.port, tls.tls_port) == ("cache.internal", 6379, 6379)
    unix = ExternalRedisServer("unix:///run/redis.sock?db=2")
    assert unix.unix_socket_path == "/run/redis.sock"
    assert unix.port == 0
    with pytest.raises(pytest.UsageError):
        ExternalRedisServer("http://127.0.0.1:6379")
    # User info without ':' may well be the password: never shown.
    bare = ExternalRedisServer("redis://s3cret@127.0.0.1:7000/0")
    assert "s3cret" not in repr(bare) and "***" in repr(bare)
    with pytest.raises(pytest.UsageError) as info:
        ExternalRedisServer("http://:s3cret@127.0.0.1:6379")
    assert "s3cret" not in str(info.value)


@pytest.mark.parametrize("method", ["start", "stop", "restart", "pause", "resume", "kill"])
def test_external_server_cannot_be_controlled(method: str) -> None:
    server = ExternalRedisServer("redis://127.0.0.1:6379/0")
    with pytest.raises(pytest.skip.Exception, match="external server"):
        getattr(server, method)()


class _FakeConfig:
    def __init__(self, url: str | None, flush: bool | None = None) -> None:
        self.url = url
        self.flush = flush

    def getoption(self, name: str) -> Any:
        assert name in ("--pyredisclient-url", "--pyredisclient-allow-flushdb")
        return self.url if name == "--pyredisclient-url" else self.flush

    def getini(self, name: str) -> Any:
        assert name in ("pyredisclient_url", "pyredisclient_allow_flushdb")
        return None if name == "pyredisclient_url" else False


def test_report_header(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    config: Any = _FakeConfig(None)
    assert "redis-server" in pytest_plugin.pytest_report_header(config)
    config = _FakeConfig("redis://:pw@10.1.2.3:6379/0")
    header = pytest_plugin.pytest_report_header(config)
    assert "external server" in header and "pw" not in header
    assert "own key prefix" in header
    header = pytest_plugin.pytest_report_header(_FakeConfig("redis://h/0", flush=True))  # type: ignore[arg-type]
    assert "flushed before each test" in header
    monkeypatch.setenv("PATH", str(tmp_path))
    assert "not found" in pytest_plugin.pytest_report_header(_FakeConfig(None))  # type: ignore[arg-type]


def _needs_own_server(server: Any) -> None:
    if not isinstance(server, RedisServer):
        pytest.skip("the session server is external (--pyredisclient-url)")


def test_session_fixtures(redis_server: Any, redis_url: str) -> None:
    _needs_own_server(redis_server)
    assert redis_url == redis_server.url
    assert raw_ping((redis_server.host, redis_server.port)) == b"+PONG"


def test_server_factory_fixture(redis_server_factory: Any, redis_server: Any) -> None:
    first = redis_server_factory(password="pw")
    second = redis_server_factory(extra_args=["--maxclients", "5"])
    idle = redis_server_factory(start=False)
    assert first.is_running and second.is_running and not idle.is_running
    assert len({first.port, second.port, getattr(redis_server, "port", None)}) == 3
    assert raw_ping((first.host, first.port), password="pw") == b"+PONG"
    second.pause()  # teardown resumes and stops it


def test_shared_client_reset_calls_reset_shared(monkeypatch: pytest.MonkeyPatch) -> None:
    import pyredisclient

    calls: list[str] = []

    class FakeSync:
        @staticmethod
        def _reset_shared() -> None:
            calls.append("sync")

    class FakeAsync:
        @staticmethod
        def _reset_shared() -> None:
            calls.append("async")

    monkeypatch.setattr(pyredisclient, "RedisClient", FakeSync, raising=False)
    monkeypatch.setattr(pyredisclient, "AsyncRedisClient", FakeAsync, raising=False)
    pytest_plugin._reset_shared_clients()
    assert calls == ["sync", "async"]
    monkeypatch.setattr(pyredisclient, "AsyncRedisClient", object, raising=False)
    pytest_plugin._reset_shared_clients()  # a class without _reset_shared is fine
    assert calls == ["sync", "async", "sync"]


def test_redis_env_points_at_the_test_server(redis_env: str, redis_url: str) -> None:
    assert redis_env == redis_url
    assert os.environ["REDIS_URL"] == redis_url


def test_redis_client_fixture_resumes_a_paused_server(
    request: pytest.FixtureRequest, redis_server: Any
) -> None:
    import pyredisclient

    _needs_own_server(redis_server)
    if not hasattr(pyredisclient, "RedisClient"):
        pytest.skip("the C extension is not built")
    redis_server.pause()
    try:
        client = request.getfixturevalue("redis_client")
        assert not redis_server.is_paused
        assert client.ping() is True
    finally:
        if redis_server.is_paused:
            redis_server.resume()
