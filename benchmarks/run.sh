#!/usr/bin/env bash
# Run the benchmark in its own environment and keep the results.
#
#   bash benchmarks/run.sh [--quick] [bench.py options]
#
# Makes benchmarks/.venv (gitignored) on first use: pyredisclient from this
# repository (pip install -e ..) plus redis-py and hiredis from PyPI
# (benchmarks/requirements.txt; never dependencies of the package). bench.py
# starts its own throwaway redis-server on loopback and prints the tables;
# they are also written to benchmarks/results/<timestamp>.txt (with the raw
# numbers in .json beside it). Needs redis-server, redis-benchmark
# (redis-tools), taskset, and for the full report strace and valgrind:
# scripts/setup.sh installs all of them.
#
# Environment:
#   PYTHON=python3.12   interpreter for the venv (default: python3)
#   BENCH_FORCE_PIP=1   reinstall the venv's packages
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
VENV="$HERE/.venv"
PYTHON=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1

say() { printf 'bench: %s\n' "$*" >&2; }
die() {
    printf 'bench: error: %s\n' "$*" >&2
    exit 1
}

for tool in redis-server redis-benchmark taskset; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "$tool not found: run 'bash scripts/setup.sh' (Debian: redis-server redis-tools util-linux)"
done
for tool in strace valgrind; do
    command -v "$tool" >/dev/null 2>&1 ||
        say "warning: $tool not found: its section of the report is skipped (apt-get install $tool)"
done

# --- the benchmark's own environment ------------------------------------------
if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
    rm -rf "$VENV"
    say "creating $VENV with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV" || die "python -m venv failed (apt-get install python3-venv)"
fi
stamp="$VENV/.bench-setup"
want=$(cat "$HERE/requirements.txt" "$ROOT/pyproject.toml" "$ROOT/setup.py" | sha256sum | cut -d' ' -f1)
if [ "${BENCH_FORCE_PIP:-0}" = 1 ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
    say "installing redis-py, hiredis and pyredisclient (editable) into $VENV"
    "$VENV/bin/python" -m pip install -q -r "$HERE/requirements.txt"
    # The project's build requirements (pyproject.toml [build-system]) go into
    # the venv, and the package is built without isolation: the in-place
    # rebuilds below then use the same setuptools, with no download each time.
    mapfile -t build_requires < <("$VENV/bin/python" - "$ROOT/pyproject.toml" <<'PY'
import re
import sys

text = open(sys.argv[1], encoding="utf-8").read()
try:
    import tomllib
except ImportError:  # Python < 3.11: the [build-system] requires list by hand
    m = re.search(r"^\[build-system\][^\[]*?^requires\s*=\s*\[(.*?)\]", text, re.M | re.S)
    reqs = re.findall(r"[\"']([^\"']+)[\"']", m.group(1)) if m else ["setuptools", "wheel"]
else:
    reqs = tomllib.loads(text).get("build-system", {}).get("requires", ["setuptools", "wheel"])
print("\n".join(reqs))
PY
    )
    "$VENV/bin/python" -m pip install -q --upgrade "${build_requires[@]}"
    "$VENV/bin/python" -m pip install -q --no-build-isolation -e "$ROOT"
    printf '%s\n' "$want" >"$stamp"
fi
# The editable install builds the extension in the source tree; rebuild it if
# a C file changed since (a no-op otherwise). Shared with the project's .venv:
# same interpreter, same file.
(cd "$ROOT" && "$VENV/bin/python" setup.py -q build_ext --inplace >/dev/null) ||
    die "building pyredisclient's extension failed"
# Import from outside the tree so that the installed package is what loads.
(cd / && "$VENV/bin/python" -c 'import pyredisclient, redis, hiredis') ||
    die "the benchmark environment is broken; try BENCH_FORCE_PIP=1"

# --- run ---------------------------------------------------------------------
mkdir -p "$HERE/results"
stamp_time=$(date +%Y%m%d-%H%M%S)
out="$HERE/results/$stamp_time.txt"
say "results go to ${out#"$ROOT"/}"
set +e
"$VENV/bin/python" "$HERE/bench.py" --json "$HERE/results/$stamp_time.json" "$@" | tee "$out"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] || die "bench.py failed (exit $rc)"
say "results: ${out#"$ROOT"/}"
