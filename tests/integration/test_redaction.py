"""The password never shows: not in reprs, debug views, logs, errors or tracebacks.

A distinctive password (with characters that URLs must quote) is given every way the
client accepts one — keywords (plain and Secret), a URL (plain and Secret), REDIS_PASSWORD,
REDIS_URL and REDIS_PASSWORD_FILE — to a real server that requires it. Then everything a
user or a log aggregator could see is collected and searched for the password, raw and
URL-quoted: repr/str of clients, pipelines and configs, debug_info(), health checks, every
log record of the whole scenario at DEBUG (a failed login and an unreachable host
included), exception messages, reprs and args, formatted tracebacks (with locals for the
from_env and Secret paths), and the CLI's output.

A wrong password is built by appending to the real one, so a leak of the wrong password
is caught too.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import traceback
import urllib.parse
from pathlib import Path
from typing import Any, Callable, Iterator, List

import pytest

import pyredisclient
from pyredisclient import RedisClient, RedisConfig, Secret
from pyredisclient.config import ConfigurationError
from pyredisclient.testing import RedisServer, find_free_port

PW = "Canary!7f3a#9c@x:y/z%"
QUOTED = urllib.parse.quote(PW, safe="")
WRONG = PW + "-wrong"
ENV_VARS = ("REDIS_URL", "REDIS_HOST", "REDIS_PORT", "REDIS_PASSWORD", "REDIS_PASSWORD_FILE",
            "REDIS_USERNAME", "REDIS_SOCKET_CONNECT_TIMEOUT")  # fmt: skip


def assert_clean(texts: List[str]) -> None:
    joined = "\n".join(texts)
    for needle in (PW, QUOTED, urllib.parse.quote(PW)):
        assert needle not in joined, _context(joined, needle)


def _context(text: str, needle: str) -> str:
    at = text.index(needle)
    return f"secret found: ...{text[max(0, at - 300) : at + 100]}..."


def exception_texts(exc: BaseException, *, with_locals: bool = False) -> List[str]:
    texts = [str(exc), repr(exc), repr(exc.args)]
    texts.append("".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    if with_locals:
        tb = traceback.TracebackException.from_exception(exc, capture_locals=True)
        texts.append("".join(tb.format()))
    return texts


def failure(call: Callable[[], Any]) -> BaseException:
    """The exception ``call`` raises. Its traceback starts in this frame, whose only
    local is ``call``: the caller's own locals stay out of the picture."""
    try:
        call()
    except Exception as exc:
        return exc
    raise AssertionError("expected the call to fail")


def views(client: RedisClient) -> List[str]:
    """Every text view of a client a user might print or log."""
    config = client.config
    return [
        repr(client),
        str(client),
        repr(client.debug_info()),
        repr(config),
        str(config),
        f"{config}",
        repr(config.debug_info()),
        config.to_url(),
        repr(vars(client)),
        repr(client.pipeline()),
        repr(client.pool_stats()),
        repr(client.circuit_breaker_state()),
        repr(client.with_prefix("p:")),
        repr(client.with_prefix("p:").debug_info()),
        repr(client.health_check()),
        repr(client.health_check(deep=True)),
    ]


@pytest.fixture
def server(redis_server_factory: Callable[..., RedisServer]) -> RedisServer:
    return redis_server_factory(password=PW)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No REDIS_* variables, and no shared client before or after.

    (Not the plugin's shared_client_reset: it also calls AsyncRedisClient._reset_shared,
    a coroutine, without awaiting it.)
    """
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    RedisClient._reset_shared()
    try:
        yield
    finally:
        RedisClient._reset_shared()


def log_texts(caplog: pytest.LogCaptureFixture) -> List[str]:
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    texts = [caplog.text]
    for record in caplog.records:
        texts += [record.getMessage(), repr(record.args), formatter.format(record)]
        if record.exc_info:
            texts.append(formatter.formatException(record.exc_info))
    return texts


def test_password_never_shows_in_views_logs_or_errors(
    server: RedisServer,
    clean_env: None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    port = server.port
    base = f"127.0.0.1:{port}/0"
    texts: List[str] = []

    # Every way of giving the password, each one working.
    password_file = tmp_path / "redis-password"
    password_file.write_text(PW + "\n")
    good = [
        RedisClient(port=port, password=PW),
        RedisClient(port=port, password=Secret(PW)),
        RedisClient(port=port, username="default", password=PW),
        RedisClient.from_url(f"redis://:{QUOTED}@{base}"),
        RedisClient.from_url(f"redis://default:{QUOTED}@{base}"),
        RedisClient(config=RedisConfig.from_url(Secret(f"redis://:{QUOTED}@{base}"))),
        RedisClient(config=RedisConfig(port=port, password=PW)),
    ]
    monkeypatch.setenv("REDIS_URL", f"redis://:{QUOTED}@{base}")
    good.append(RedisClient(config=RedisConfig.from_env()))
    good.append(RedisClient.get_client())
    monkeypatch.delenv("REDIS_URL")
    monkeypatch.setenv("REDIS_PORT", str(port))
    monkeypatch.setenv("REDIS_PASSWORD", PW)
    good.append(RedisClient(config=RedisConfig.from_env()))
    monkeypatch.delenv("REDIS_PASSWORD")
    monkeypatch.setenv("REDIS_PASSWORD_FILE", str(password_file))
    good.append(RedisClient(config=RedisConfig.from_env()))
    monkeypatch.delenv("REDIS_PASSWORD_FILE")
    try:
        for client in good:
            assert client.ping() is True
            assert client.config.password == Secret(PW)
            texts += views(client)
    finally:
        for client in good:
            if client is not RedisClient._shared:
                client.close()

    # A wrong password, every way; and a server that is not there.
    closed_port = find_free_port()
    bad = [
        RedisClient(port=port, password=WRONG),
        RedisClient(port=port, username="default", password=Secret(WRONG)),
        RedisClient.from_url(f"redis://:{urllib.parse.quote(WRONG, safe='')}@{base}"),
        RedisClient(port=closed_port, password=PW, socket_connect_timeout=0.2),
        RedisClient.from_url(f"redis://u:{QUOTED}@127.0.0.1:{closed_port}/0"),
    ]
    monkeypatch.setenv("REDIS_PORT", str(port))
    monkeypatch.setenv("REDIS_PASSWORD", WRONG)
    bad.append(RedisClient(config=RedisConfig.from_env()))
    try:
        for client in bad:
            for call in (client.ping, lambda c=client: c.set("k", "v")):
                exc = failure(call)
                assert isinstance(exc, pyredisclient.ConnectionError), repr(exc)
                texts += exception_texts(exc)
            p = client.pipeline(transaction=False)
            p.set("k", "v").get("k")
            texts += exception_texts(failure(p.execute))
            health = client.health_check()
            assert health["status"] == "unhealthy", health
            texts += views(client)
    finally:
        for client in bad:
            client.close()

    # The shared client, created from an environment whose server is down.
    RedisClient._reset_shared()
    monkeypatch.delenv("REDIS_PORT")
    monkeypatch.delenv("REDIS_PASSWORD")
    monkeypatch.setenv("REDIS_URL", f"redis://:{QUOTED}@127.0.0.1:{closed_port}/0")
    monkeypatch.setenv("REDIS_SOCKET_CONNECT_TIMEOUT", "0.2")
    shared = RedisClient.get_client()
    texts += exception_texts(failure(shared.ping))
    texts += views(shared)
    texts.append(repr(RedisClient.health_check()))

    records = [r for r in caplog.records if r.name.startswith("pyredisclient")]
    assert any(r.levelno >= logging.WARNING for r in records), "expected the failures logged"
    texts += log_texts(caplog)
    assert_clean(texts)
    assert "***" in "\n".join(texts)


def test_tracebacks_with_locals_from_env_and_secret_paths(
    server: RedisServer, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts: List[str] = []
    closed_port = find_free_port()
    monkeypatch.setenv("REDIS_PORT", str(server.port))
    monkeypatch.setenv("REDIS_PASSWORD", WRONG)
    from_env = RedisClient(config=RedisConfig.from_env())
    shared = RedisClient.get_client()
    from_secret_url = RedisClient.from_url(Secret(f"redis://:{QUOTED}@127.0.0.1:{closed_port}/0"))
    from_secret = RedisClient(port=closed_port, password=Secret(PW), socket_connect_timeout=0.2)
    try:
        for client in (from_env, shared, from_secret_url, from_secret):
            for call in (
                client.ping,
                lambda c=client: c.get("k"),
                lambda c=client: c.pipeline().set("k", "v").execute(),
                lambda c=client: c.with_prefix("p:").mget(["a", "b"]),
            ):
                exc = failure(call)
                assert isinstance(exc, pyredisclient.ConnectionError), repr(exc)
                texts += exception_texts(exc, with_locals=True)
    finally:
        for client in (from_env, from_secret_url, from_secret):
            client.close()
    # The locals were really captured (so the search above means something).
    assert any("self = <RedisClient" in text for text in texts)
    assert_clean(texts)


def test_configuration_error_tracebacks_from_a_secret_url() -> None:
    texts: List[str] = []
    for url in (Secret(f"redis://:{QUOTED}@h:x/0"), Secret(f"redis://:{QUOTED}@h:1/x")):
        exc = failure(lambda u=url: RedisClient.from_url(u))
        assert isinstance(exc, ConfigurationError)
        texts += exception_texts(exc, with_locals=True)
    assert_clean(texts)


@pytest.mark.parametrize("via", ["from_env", "get_client"])
def test_configuration_error_tracebacks_from_the_environment(
    clean_env: None, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    monkeypatch.setenv("REDIS_PASSWORD", PW)
    monkeypatch.setenv("REDIS_PORT", "not-a-port")
    call = RedisConfig.from_env if via == "from_env" else RedisClient.get_client
    exc = failure(call)
    assert isinstance(exc, ConfigurationError)
    assert_clean(exception_texts(exc))  # the message and plain traceback are clean
    assert_clean(exception_texts(exc, with_locals=True))


def test_cli_output_hides_the_password(server: RedisServer, clean_env: None) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS}
    env["PYTHONPATH"] = str(Path(pyredisclient.__file__).resolve().parent.parent)
    outputs: List[str] = []
    good = f"redis://:{QUOTED}@127.0.0.1:{server.port}/0"
    wrong = f"redis://:{urllib.parse.quote(WRONG, safe='')}@127.0.0.1:{server.port}/0"
    runs = [(["--url", good], {}, 0), ([], {"REDIS_URL": good}, 0), (["--url", wrong], {}, 1)]
    for args, extra_env, status in runs:
        done = subprocess.run(
            [sys.executable, "-m", "pyredisclient", "ping", *args],
            env={**env, **extra_env},
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
        assert (done.returncode == 0) == (status == 0), done.stdout + done.stderr
        outputs += [done.stdout, done.stderr]
    assert "***" in "\n".join(outputs)
    assert_clean(outputs)


# -- every configuration error path, with the locals of every frame ------------------------


class Call:
    """``fn(*args, **kwargs)`` as a callable whose frame and repr show no argument."""

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._fn, self._args, self._kwargs = fn, args, kwargs

    def __call__(self) -> Any:
        return self._fn(*self._args, **self._kwargs)

    def __repr__(self) -> str:
        return "<Call>"


BASE = f"redis://:{QUOTED}@127.0.0.1"
# URLs with the password that fail, one per way a URL can be wrong.
BAD_URLS = [
    f"{BASE}:x/0",  # bad port
    f"{BASE}:0/0",  # port out of range
    f"{BASE}:6379/x",  # bad db
    f"{BASE}:6379/-1",
    f"http://:{QUOTED}@127.0.0.1",  # unknown scheme
    f"{BASE}/0?socket_timeout=abc",  # bad query value
    f"{BASE}/0?socket_timeout=0",
    f"{BASE}/0?retry_base=2&retry_cap=1",  # fields that contradict
    f"{BASE}/0?ssl_ca_certs=/nonexistent",  # TLS option without TLS
    f"rediss://:{QUOTED}@127.0.0.1/0?ssl_ca_certs=/nonexistent",  # unreadable CA file
    f"{BASE}/0?bogus=1",  # unknown query option
    f"{BASE}/0?db=1&db=2",  # given twice
    f"{BASE}/0?encoding=nope",
    f"{BASE}/0?client_name=a%20b",
    f"{BASE}/0?decode_responses=maybe",
    f"redis://:{QUOTED}@[::1/0",  # malformed IPv6
    f"{BASE}/0#frag",  # a fragment
    f"unix://:{QUOTED}@host/run/s",  # unix:// with a host
    f"redis://{QUOTED}@127.0.0.1/0",  # no ':' in the user info
    f"redis://app{QUOTED}@127.0.0.1/0",
]


def _config_error_calls(tmp_path: Path) -> List[Call]:
    aio = pytest.importorskip("pyredisclient.aio")
    undecodable = tmp_path / "undecodable"
    undecodable.write_bytes(b"\xff" + PW.encode())
    calls = []
    for url in BAD_URLS:
        calls += [
            Call(RedisConfig.from_url, url),
            Call(RedisClient.from_url, url),
            Call(aio.AsyncRedisClient.from_url, url),
            Call(RedisConfig.from_env, environ={"REDIS_URL": url}),
        ]
    calls += [
        # Keyword arguments: the password with a bad other option, every constructor.
        Call(RedisClient, password=PW, port="x"),
        Call(RedisClient, password=PW, db=-1),
        Call(RedisClient, password=PW, socket_timeout=float("nan")),
        Call(RedisClient, password=PW, prot=1),  # unknown keyword: TypeError
        Call(aio.AsyncRedisClient, password=PW, port=70000),
        Call(RedisClient, "127.0.0.1", "x", config=None, password=PW),
        Call(RedisClient, config=RedisConfig(password=Secret(PW)), db="x"),
        Call(RedisClient, config=RedisConfig(), password=PW, retry_cap=0.001),
        Call(RedisClient.from_url, "redis://127.0.0.1/0", password=PW, db="x"),
        Call(RedisConfig.from_url, "redis://127.0.0.1/0", password=PW, port=0),
        Call(RedisConfig(password=Secret(PW)).replace, password=PW, db=-1),
        Call(RedisConfig.from_env, environ={}, password=PW, port=0),
        # The environment: the password with a bad other variable.
        Call(RedisConfig.from_env, environ={"REDIS_PASSWORD": PW, "REDIS_PORT": "x"}),
        Call(RedisConfig.from_env, environ={"REDIS_PASSWORD": PW, "REDIS_DB": "x"}),
        Call(RedisConfig.from_env, environ={"REDIS_PASSWORD": PW, "REDIS_SOCKET_TIMEOUT": "soon"}),
        Call(RedisConfig.from_env, environ={"REDIS_PASSWORD_FILE": str(tmp_path / "missing")}),
        Call(RedisConfig.from_env, environ={"REDIS_PASSWORD_FILE": str(undecodable)}),
        Call(
            RedisConfig.from_env,
            environ={"REDIS_PASSWORD_FILE": str(undecodable), "REDIS_PASSWORD": PW},
        ),
        Call(RedisConfig.from_env, environ={"ENVIRONMENT": "production", "REDIS_PASSWORD": PW}),
    ]
    return calls


def test_every_configuration_error_traceback_with_locals_hides_the_password(
    tmp_path: Path,
) -> None:
    texts: List[str] = []
    calls = _config_error_calls(tmp_path)
    for call in calls:
        exc = failure(call)
        assert isinstance(exc, (ConfigurationError, TypeError)), repr(exc)
        texts += exception_texts(exc, with_locals=True)
    assert_clean(texts)
    joined = "\n".join(texts)
    # The locals were printed, URLs and passwords among them, as holders showing ***.
    assert "url = Secret('***')" in joined
    assert "'password': Secret('***')" in joined
    # A client whose constructor raised shows in its frame without a failing repr.
    assert "self = <RedisClient (not initialised)>" in joined
    assert "self = <AsyncRedisClient (not initialised)>" in joined


@pytest.mark.parametrize("via", ["get_client", "lifespan"])
def test_configuration_errors_at_startup_hide_the_password(
    clean_env: None, monkeypatch: pytest.MonkeyPatch, via: str
) -> None:
    texts: List[str] = []
    for url in BAD_URLS:
        if via == "get_client":
            monkeypatch.setenv("REDIS_URL", url)
            call = Call(RedisClient.get_client)
        else:
            fastapi = pytest.importorskip("pyredisclient.fastapi")

            async def start(lifespan: Any) -> None:
                async with lifespan(None):
                    pass

            call = Call(asyncio.run, start(fastapi.lifespan(url)))
        exc = failure(call)
        assert isinstance(exc, ConfigurationError), repr(exc)
        texts += exception_texts(exc, with_locals=True)
    assert_clean(texts)


def test_repr_of_a_client_that_was_never_initialised() -> None:
    aio = pytest.importorskip("pyredisclient.aio")

    class Sub(RedisClient):
        pass

    for cls in (RedisClient, aio.AsyncRedisClient, Sub):
        assert repr(object.__new__(cls)) == f"<{cls.__name__} (not initialised)>"


def test_a_url_password_without_a_colon_is_never_echoed(
    caplog: pytest.LogCaptureFixture, clean_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # redis://secret@host: redis-py reads "secret" as a user name with an empty password
    # (and the server refuses it); here it is refused at once, and never shown.
    caplog.set_level(logging.DEBUG)
    texts: List[str] = []
    url = f"redis://{QUOTED}@127.0.0.1:6379/0"
    monkeypatch.setenv("REDIS_URL", url)
    for call in (
        Call(RedisClient.from_url, url),
        Call(RedisConfig.from_env),
        Call(RedisClient.get_client),
    ):
        exc = failure(call)
        assert isinstance(exc, ConfigurationError)
        assert "no ':'" in str(exc), str(exc)
        texts += exception_texts(exc, with_locals=True)
    texts.append(pyredisclient.config.redact_url(f"connecting to {url}"))
    texts += log_texts(caplog)
    assert_clean(texts)
