"""A bounded run of the soak (benchmarks/soak.py) inside the test suite.

12 seconds of 8 threads of model-checked calls while the server is killed and
restarted, its client connections are killed, and it is paused twice; the faults end 3
s before the load does. pyredisclient only: the full side-by-side run with redis-py is
``python benchmarks/soak.py`` (60 s per client).
"""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pyredisclient.testing import redis_server_available

pytestmark = pytest.mark.skipif(not redis_server_available(), reason="needs redis-server")


def load_soak() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"
    spec = importlib.util.spec_from_file_location("soak", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["soak"] = module  # dataclasses look their module up by name
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules["soak"]
    return module


def test_bounded_soak_returns_no_wrong_result_and_recovers_within_two_seconds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    soak = load_soak()
    # Seed 7: a kill and restart, a CLIENT KILL, then two pauses, the last ending
    # about 8.6 s in.
    faults = soak.schedule(7, 12.0, 3.0)
    assert [f.kind for f in faults] == ["kill", "client-kill", "pause", "pause"]
    with caplog.at_level(logging.ERROR, "pyredisclient"):
        result = soak.run_phase("pyredisclient", duration=12.0, seed=7, tail=3.0)
    summary = soak.table([result])
    assert result.faults == {"pause": 2, "kill": 1, "client-kill": 1}, summary
    assert result.wrong == 0, (summary, result.examples)
    assert result.unexpected == 0, (summary, result.examples)
    assert result.served > 1000, summary
    assert result.failed > 0, summary  # the faults did hit the calls
    assert result.recovery <= soak.MAX_RECOVERY, summary
    # Before events and short opens, one kill opened the breaker for 30 s.
    assert result.dark < 3.0, summary
