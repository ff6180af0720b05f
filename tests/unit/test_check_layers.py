"""scripts/check_layers.py: the lint check that the C core has no call cycle."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "check_layers.py"

pytestmark = pytest.mark.skipif(
    shutil.which("cc") is None or shutil.which("nm") is None, reason="needs cc and nm"
)


def run(objects: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--objects", str(objects)],
        capture_output=True,
        text=True,
        check=False,
    )


def build(tmp_path: Path, sources: dict[str, str]) -> Path:
    for name, text in sources.items():
        src = tmp_path / f"{name}.c"
        src.write_text(text)
        subprocess.run(["cc", "-c", "-o", str(tmp_path / f"{name}.o"), str(src)], check=True)
    return tmp_path


def test_the_core_has_no_cycle() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert "no call cycle" in proc.stdout
    # The connection sits below the pool, the pool below the call.
    layer = {
        name: int(line.split(":")[0].split()[1])
        for line in proc.stdout.splitlines()
        if line.startswith("layer ")
        for name in [part.split()[0] for part in line.split(": ", 1)[1].split("; ")]
    }
    assert layer["transport.c"] < layer["conn.c"] < layer["pool.c"] < layer["call.c"]
    assert layer["call.c"] < layer["drive.c"]
    # The subscriber: its sets and parser below its connection, which sits
    # above conn.c and below sub.c (requests, the reader's wait).
    assert max(layer["subset.c"], layer["subparse.c"]) < layer["subconn.c"]
    assert layer["conn.c"] < layer["subconn.c"] < layer["sub.c"]


def test_a_cycle_fails(tmp_path: Path) -> None:
    objects = build(
        tmp_path,
        {
            "conn": "int prc__pool_opts(void); int prc__conn_new(void) { return prc__pool_opts(); }",
            "pool": "int prc__conn_new(void); int prc__pool_opts(void) { return 0; }\n"
            "int prc_pool_new(void) { return prc__conn_new(); }",
        },
    )
    proc = run(objects)
    assert proc.returncode == 1
    assert "call cycle among conn.c, pool.c" in proc.stderr
    assert "conn.c -> pool.c (prc__pool_opts)" in proc.stderr


def test_the_core_never_calls_python(tmp_path: Path) -> None:
    objects = build(
        tmp_path, {"conn": "void pyrc_log(void); void prc__conn_free(void) { pyrc_log(); }"}
    )
    proc = run(objects)
    assert proc.returncode == 1
    assert "conn.c uses pyrc_log" in proc.stderr
