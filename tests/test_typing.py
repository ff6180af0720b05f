"""The public API is typed: ``mypy --strict examples/`` passes, and the examples run.

mypy checks the examples the way a user's code is checked: against the
package's inline annotations, ``py.typed``, ``_core.pyi`` and ``aio.pyi``.
Small probe programs pin down what users write most (awaiting a typed
command, chaining a pipeline). Skipped when mypy is not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import List

import pytest

from pyredisclient import RedisClient

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "pyredisclient"
# Modules written for the examples' features: their errors are never someone
# else's to fix.
OWN = (
    "examples/",
    "pyredisclient/observability/metrics.py",
    "pyredisclient/observability/tracing.py",
    "pyredisclient/integrations/fastapi.py",
)

pytestmark = pytest.mark.timeout(300)  # a cold mypy cache takes ~15 s, more on a busy box


def mypy(*args: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mypy", reason="mypy not installed")
    # The examples import these; without them mypy reports import errors.
    for module, package in (
        ("fastapi", "fastapi"),
        ("functions_framework", "functions-framework"),
        ("opentelemetry.trace", "opentelemetry-api"),
    ):
        pytest.importorskip(module, reason=f"{package} not installed (the examples use it)")
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )


def error_lines(output: str) -> List[str]:
    return [line for line in output.splitlines() if ": error:" in line]


def test_ships_py_typed_and_stubs() -> None:
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "_core.pyi").is_file()


def test_examples_and_integrations_have_no_type_errors_of_their_own() -> None:
    result = mypy(
        "examples/",
        "pyredisclient/observability/metrics.py",
        "pyredisclient/observability/tracing.py",
        "pyredisclient/integrations/fastapi.py",
    )
    own = [line for line in error_lines(result.stdout) if line.startswith(OWN)]
    assert not own, "\n".join(own)


def test_mypy_strict_passes_on_the_examples() -> None:
    result = mypy("examples/")
    assert result.returncode == 0, result.stdout + result.stderr


def _probe(tmp_path: Path, source: str) -> List[str]:
    """mypy's errors in *source* itself (not in modules it imports)."""
    path = tmp_path / "probe.py"
    path.write_text(textwrap.dedent(source))
    result = mypy(str(path))
    assert "probe.py" in result.stdout or result.returncode in (0, 1), result.stderr
    return [line for line in error_lines(result.stdout) if line.startswith(str(path))]


def test_awaited_async_commands_have_their_reply_types(tmp_path: Path) -> None:
    errors = _probe(
        tmp_path,
        """
        from __future__ import annotations
        from pyredisclient.aio import AsyncRedisClient

        async def use(client: AsyncRedisClient) -> float:
            n: int = await client.incr("k")
            popped = await client.blpop("q", 1)
            if popped is not None:
                key, value = popped
            score = await client.zscore("z", "m")
            pipe = client.pipeline()
            pipe.set("a", 1).incr("a")
            results: list[object] = await pipe.execute()
            async for key in client.scan_iter(match="x:*"):
                pass
            report = await client.health_check()
            return n + (score or 0.0) + len(results) + len(report)
        """,
    )
    assert not errors, "\n".join(errors)


def test_a_wrong_await_is_caught(tmp_path: Path) -> None:
    # The stubs must be precise enough to catch mistakes, not Any everywhere.
    errors = _probe(
        tmp_path,
        """
        from pyredisclient.aio import AsyncRedisClient

        async def use(client: AsyncRedisClient) -> str:
            return await client.incr("k")
        """,
    )
    assert len(errors) == 1
    assert 'Incompatible return value type (got "int", expected "str")' in errors[0]


def test_sync_pipeline_calls_chain(tmp_path: Path) -> None:
    errors = _probe(
        tmp_path,
        """
        from pyredisclient import RedisClient

        def use(client: RedisClient) -> list[object]:
            pipe = client.pipeline()
            pipe.lpush("k", "v").ltrim("k", 0, 9).expire("k", 60)
            return pipe.execute()
        """,
    )
    assert not errors, "\n".join(errors)


def run_example(script: str, redis_url: str) -> subprocess.CompletedProcess[str]:
    """Run examples/<script> with REDIS_URL set (and no ENVIRONMENT/APP_ENV)."""
    env = dict(os.environ, REDIS_URL=redis_url)
    for name in ("ENVIRONMENT", "APP_ENV"):
        env.pop(name, None)
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("script", ["quickstart.py", "async_quickstart.py"])
def test_examples_run(script: str, redis_client: RedisClient, redis_url: str) -> None:
    result = run_example(script, redis_url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "health: healthy" in result.stdout
    if script == "async_quickstart.py":
        # Five concurrent WATCH/MULTI withdrawals of 30 from 100: exactly three fit.
        assert "withdrawals: 3 of 5 succeeded, balance 10" in result.stdout


def test_quickstart_keeps_going_with_redis_down() -> None:
    from pyredisclient.testing import find_free_port

    result = run_example("quickstart.py", f"redis://127.0.0.1:{find_free_port()}/0")
    # As its text says: a warning, the fallback values, "unhealthy", counted errors.
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "recent: []"
    assert lines[1] == '{"visits": null}'
    assert lines[2].startswith("health: unhealthy connect 127.0.0.1:")
    assert lines[3].startswith("calls: ") and "'ConnectionError':" in lines[3]
    assert "the search was not recorded" in result.stderr
    assert "Traceback" not in result.stderr
