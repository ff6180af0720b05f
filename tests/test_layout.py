"""The package layout: the former module names still work, the version is written
once, and no hand-written module outgrows what a reader can hold in mind."""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest

import pyredisclient

PACKAGE = Path(pyredisclient.__file__).resolve().parent
MAX_LINES = 800  # docs/ARCHITECTURE.md: split a module before it grows past this

# Former module names that are now the very same module objects.
MOVED = {
    "pyredisclient.aio": "pyredisclient.client.aio",
    "pyredisclient.pipeline": "pyredisclient.client.pipeline",
    "pyredisclient.fallback": "pyredisclient.resilience.fallback",
    "pyredisclient.metrics": "pyredisclient.observability.metrics",
    "pyredisclient.tracing": "pyredisclient.observability.tracing",
    "pyredisclient.keyprefix": "pyredisclient.commands.keyprefix",
    "pyredisclient.testing": "pyredisclient.integrations.testing",
    "pyredisclient.pytest_plugin": "pyredisclient.integrations.pytest_plugin",
    "pyredisclient.fastapi": "pyredisclient.integrations.fastapi",
}


@pytest.mark.parametrize("old", sorted(MOVED))
def test_a_former_module_name_is_the_moved_module(old: str) -> None:
    if old.endswith("fastapi"):
        pytest.importorskip("fastapi")
    assert importlib.import_module(old) is importlib.import_module(MOVED[old])


def test_former_names_import_in_a_fresh_interpreter() -> None:
    """``from pyredisclient.x import y`` as users wrote it, each in a new process (no
    module imported before by the suite can make it pass)."""
    code = (
        "from pyredisclient.aio import AsyncPipeline, AsyncRedisClient\n"
        "from pyredisclient.client import RedisClient\n"
        "from pyredisclient.commands import CoreCommands, KeyT\n"
        "from pyredisclient.config import ConfigurationError, RedisConfig, Secret, redact_url\n"
        "from pyredisclient.fallback import fallback_counts, with_redis_fallback\n"
        "from pyredisclient.health import MAX_ERROR_LEN, health_check, health_check_async\n"
        "from pyredisclient.keyprefix import COMMANDS, KeyPrefixError, escape_glob\n"
        "from pyredisclient.metrics import CORE_ERROR_CLASSES, collect, render_prometheus\n"
        "from pyredisclient.pipeline import Pipeline\n"
        "from pyredisclient.pytest_plugin import ExternalRedisServer\n"
        "from pyredisclient.testing import RedisServer, find_free_port\n"
        "from pyredisclient.tracing import make_traced_run\n"
        "import pyredisclient\n"
        "assert pyredisclient.RedisClient is RedisClient\n"
        "assert pyredisclient.AsyncRedisClient is AsyncRedisClient\n"
        "print('ok')\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_the_version_is_the_distribution_version() -> None:
    assert pyredisclient.__version__ == importlib.metadata.version("pyredisclient")


def test_no_hand_written_module_is_too_long() -> None:
    long = {
        str(path.relative_to(PACKAGE.parent)): n
        for path in sorted(PACKAGE.rglob("*.py"))
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these modules (over {MAX_LINES} lines): {long}"
