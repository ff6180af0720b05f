"""Tests of the command line, python -m pyredisclient."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import pyredisclient
from pyredisclient.integrations.cli import build_parser, main
from pyredisclient.testing import find_free_port


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "demo" in out and "ping" in out


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([])
    assert info.value.code == 2
    assert "COMMAND" in capsys.readouterr().err


def test_demo_against_a_given_server(
    redis_client: Any, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    redis_client.set("unrelated", "kept")
    assert main(["demo", "--url", redis_url]) == 0
    out = capsys.readouterr().out
    for step in ("ping", "hgetall", "lrange", "execute()", "done"):
        assert step in out
    assert "[True, 2, b'2']" in out  # the pipeline
    assert "[True, True, b'after']" in out  # the transaction
    # The demo cleans up its own keys and nothing else.
    assert redis_client.keys("prc-demo:*") == []
    assert redis_client.get("unrelated") == b"kept"


def test_demo_shows_the_fallback(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fallback = pytest.importorskip("pyredisclient.fallback")
    monkeypatch.setattr(
        pyredisclient, "with_redis_fallback", fallback.with_redis_fallback, raising=False
    )
    assert main(["demo", "--url", redis_url]) == 0
    assert "hello (from the fallback)" in capsys.readouterr().out


def test_demo_starts_its_own_server(
    redis_server: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "started a throwaway redis-server" in out
    assert "stopping the throwaway redis-server" in out


def test_demo_without_a_server_binary(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SystemExit, match="redis-server is not on PATH"):
        main(["demo"])


def test_ping(redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ping", "--url", redis_url, "--count", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and all("True in" in line for line in out)


def test_ping_uses_redis_url_and_hides_the_password(
    redis_server_factory: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = redis_server_factory(password="s3cret")
    monkeypatch.setenv("REDIS_URL", server.url)
    assert main(["ping"]) == 0
    out = capsys.readouterr().out
    assert "***" in out and "s3cret" not in out


def test_ping_reports_a_dead_server(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"redis://127.0.0.1:{find_free_port()}/0"
    assert main(["ping", "--url", url]) == 1
    assert "ConnectionError" in capsys.readouterr().err


def test_ping_rejects_a_bad_url(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ping", "--url", "http://nowhere"]) == 2
    assert "error:" in capsys.readouterr().err


def test_log_level_option() -> None:
    args = build_parser().parse_args(["--log-level", "debug", "ping"])
    assert args.log_level == "debug"


def test_runs_as_a_module(redis_url: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pyredisclient", "ping", "--url", redis_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "True" in result.stdout


# -- health, info, config, bench ----------------------------------------------


def test_health_healthy_exits_0(redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["health", "--url", redis_url, "--deep"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "healthy"
    assert report["ping"] == "PONG"
    assert "deep" in json.dumps(report) or report["latency_ms"] >= 0


def test_health_unhealthy_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    port = find_free_port()
    url = f"redis://:hunter2-secret@127.0.0.1:{port}/0?socket_connect_timeout=0.5"
    assert main(["health", "--url", url]) == 2
    out = capsys.readouterr().out
    assert "hunter2-secret" not in out
    assert json.loads(out)["status"] == "unhealthy"


def test_health_degraded_exits_1(
    redis_server_factory: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    # A tiny maxmemory puts usage above the warning ratio: "degraded".
    server = redis_server_factory(extra_args=["--maxmemory", "1mb"])
    assert main(["health", "--url", server.url]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "degraded"


def test_health_bad_configuration(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["health", "--url", "redis://127.0.0.1:99999/0"]) == 2
    assert "ConfigurationError" in capsys.readouterr().out


def test_info_section_as_json(redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["info", "--url", redis_url, "server"]) == 0
    assert "redis_version" in json.loads(capsys.readouterr().out)


def test_info_dead_server(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"redis://127.0.0.1:{find_free_port()}/0?socket_connect_timeout=0.5"
    assert main(["info", "--url", url]) == 1
    assert "ConnectionError" in capsys.readouterr().err


def test_config_from_the_environment_is_redacted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    monkeypatch.setenv("REDIS_URL", "redis://app:s3cret-pw@cache.internal:6380/2")
    monkeypatch.setenv("REDIS_SOCKET_TIMEOUT", "1.5")
    assert main(["config"]) == 0
    out = capsys.readouterr().out
    assert "s3cret-pw" not in out
    info = json.loads(out)
    assert info["effective_host"] == "cache.internal"
    assert info["port"] == 6380 and info["db"] == 2
    assert info["password"] == "***"


def test_config_error_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_PORT", "not-a-port")
    assert main(["config"]) == 2
    assert "REDIS_PORT" in capsys.readouterr().err


def test_bench_quick(redis_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--url", redis_url, "-n", "200"]) == 0
    out = capsys.readouterr().out
    for label in ("SET 16 B", "GET 16 B", "pipeline of 200 GETs", "MGET 100 keys"):
        assert label in out


# -- the first hour: options anywhere, the environment, clear failures ---------------------


def test_options_go_before_or_after_the_command() -> None:
    parser = build_parser()
    for argv in (
        ["--url", "redis://h:1/0", "--log-level", "debug", "ping"],
        ["ping", "--url", "redis://h:1/0", "--log-level", "debug"],
        ["--log-level", "debug", "ping", "--url", "redis://h:1/0"],
    ):
        args = parser.parse_args(argv)
        assert (args.url, args.log_level) == ("redis://h:1/0", "debug"), argv
    args = parser.parse_args(["--url", "redis://a:1/0", "health", "--url", "redis://b:2/0"])
    assert args.url == "redis://b:2/0"  # the one nearer the command's own options
    args = parser.parse_args(["info"])
    assert (args.url, args.log_level) == (None, "warning")


def test_ping_honours_the_redis_environment(
    redis_server_factory: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = redis_server_factory(password="s3cret")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("REDIS_HOST", "127.0.0.1")
    monkeypatch.setenv("REDIS_PORT", str(server.port))
    monkeypatch.setenv("REDIS_PASSWORD", "s3cret")
    monkeypatch.setenv("REDIS_DB", "3")
    assert main(["ping", "-c", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [line for line in out if f":***@127.0.0.1:{server.port}/3: True in" in line]
    assert len(out) == 2
    monkeypatch.setenv("REDIS_PASSWORD", "wrong")
    assert main(["ping"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: AuthenticationError") and "s3cret" not in err


def _run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    base = {k: v for k, v in os.environ.items() if not k.startswith("REDIS_")}
    return subprocess.run(
        [sys.executable, "-m", "pyredisclient", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
        env={**base, **(env or {})},
    )


def test_demo_and_bench_fail_with_one_line_when_redis_is_down_or_refuses(
    redis_server_factory: Any,
) -> None:
    server = redis_server_factory(password="s3cret")
    down = f"redis://127.0.0.1:{find_free_port()}/0"
    wrong = f"redis://:nope@127.0.0.1:{server.port}/0"
    runs = [
        (["demo", "--url", down], {}, "error: ConnectionError: connect 127.0.0.1:"),
        (["demo"], {"REDIS_URL": wrong}, "error: AuthenticationError: "),
        (["bench", "-n", "10", "--url", down], {}, "error: ConnectionError: connect 127.0.0.1:"),
        (["--url", wrong, "bench"], {}, "error: AuthenticationError: "),
        (["ping", "--url", down], {}, "error: ConnectionError: "),
        (["info"], {"REDIS_URL": down}, "error: ConnectionError: "),
    ]
    for args, env, first in runs:
        done = _run_cli(*args, env=env)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        lines = done.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith(first), (args, done.stderr)
        assert "Traceback" not in done.stdout + done.stderr
        assert "nope" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["ping", "-c", "0"],
        ["ping", "--count", "-1"],
        ["ping", "-c", "lots"],
        ["ping", "-c", "1000001"],
        ["bench", "-n", "0"],
        ["bench", "-n", "-5"],
        ["bench", "--count", "2.5"],
    ],
)
def test_invalid_counts_are_usage_errors(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "--count" in err
