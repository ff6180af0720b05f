#!/usr/bin/env bash
# Run the pytest suite against the built wheel on every supported Python:
# for each version, a venv in build/pythons/3.X gets dist/'s wheel for it and
# the test dependencies, and pytest runs tests/ from outside the source tree
# (so the installed wheel is what gets imported, never ./pyredisclient).
#
#   bash scripts/build_wheels.sh && bash scripts/test_pythons.sh     # full suite
#   bash scripts/test_pythons.sh --subset 3.9 3.13                   # the CI subset
#
# --subset: only pytest and pytest-timeout are installed and a representative
# part of the suite runs (pipelines, TLS, the binding, threads and fork: about
# 15 s a version); without it, the package's [test] extra and the whole suite.
# Environment: PYTEST_ARGS="-x -k pool" are passed to pytest; OUT=dist is
# where the wheels are; VENV_ROOT=build/pythons holds the venvs.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
DIST=${OUT:-$ROOT/dist}
SUBSET=0
VERSIONS=()
for arg in "$@"; do
    case "$arg" in
    --subset) SUBSET=1 ;;
    3.*) VERSIONS+=("$arg") ;;
    *)
        echo "usage: $0 [--subset] [3.X ...]" >&2
        exit 2
        ;;
    esac
done
read -r -a PYTEST_EXTRA <<<"${PYTEST_ARGS:-}"
SUBSET_TESTS=(tests/integration/test_pipeline.py tests/integration/test_tls.py
    tests/integration/test_core_binding.py tests/integration/test_threads_fork.py)

say() { printf 'test_pythons: %s\n' "$*"; }
die() {
    printf 'test_pythons: error: %s\n' "$*" >&2
    exit 1
}

if [ "${#VERSIONS[@]}" -eq 0 ]; then
    for whl in "$DIST"/pyredisclient-*-cp3*-manylinux*.whl; do
        [ -e "$whl" ] || die "no wheels in $DIST: run scripts/build_wheels.sh first"
        tag=$(basename "$whl" | cut -d- -f3)
        VERSIONS+=("3.${tag#cp3}")
    done
    mapfile -t VERSIONS < <(printf '%s\n' "${VERSIONS[@]}" | sort -V)
fi

# shellcheck source=find_python.sh
. "$ROOT/scripts/find_python.sh"

RESULTS=()
FAILED=0
for v in "${VERSIONS[@]}"; do
    tag="cp${v/./}"
    whl=$(ls "$DIST"/pyredisclient-*-"$tag"-"$tag"-manylinux*.whl 2>/dev/null | head -n 1)
    [ -n "$whl" ] || die "no wheel for Python $v in $DIST (scripts/build_wheels.sh $v)"
    py=$(find_python "$v")
    [ -n "$py" ] || die "Python $v not found"
    venv=${VENV_ROOT:-$ROOT/build/pythons}/$v
    t0=$SECONDS
    [ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
    if [ "$SUBSET" = 1 ]; then
        deps=("$whl" pytest pytest-timeout)
        tests=("${SUBSET_TESTS[@]}")
    else
        deps=("$whl[test]")
        tests=(tests)
    fi
    say "Python $v: installing $(basename "$whl") and test dependencies"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check --force-reinstall --no-deps \
        "$whl" >/dev/null
    "$venv/bin/python" -m pip install -q --disable-pip-version-check "${deps[@]}" 2>&1 |
        grep -v 'is ignored' || true
    # Run from an empty directory with absolute test paths: the rootdir (and
    # pyproject.toml's pytest settings) is this checkout, sys.path is not.
    where=$(cd /tmp && "$venv/bin/python" -c 'import pyredisclient, os; print(os.path.dirname(pyredisclient.__file__))')
    case "$where" in "$venv"/*) ;; *) die "Python $v imports pyredisclient from $where" ;; esac
    abs=()
    for t in "${tests[@]}"; do abs+=("$ROOT/$t"); done
    log=${VENV_ROOT:-$ROOT/build/pythons}/pytest-$v.log
    rc=0
    (cd "$(mktemp -d)" && "$venv/bin/python" -m pytest -q -p no:cacheprovider \
        --rootdir="$ROOT" -c "$ROOT/pyproject.toml" "${abs[@]}" "${PYTEST_EXTRA[@]}") >"$log" 2>&1 ||
        rc=$?
    line=$(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed)' "$log" | tail -n 1 | tr -d '=')
    if [ "$rc" -ne 0 ]; then
        FAILED=1
        grep -E '^(FAILED|ERROR)' "$log" | head -n 20
    fi
    RESULTS+=("Python $v: ${line:-no summary (exit $rc)} [$((SECONDS - t0))s]")
    say "${RESULTS[-1]}"
done

say "summary ($([ "$SUBSET" = 1 ] && echo subset || echo full suite)):"
printf '  %s\n' "${RESULTS[@]}"
[ "$FAILED" = 0 ] || die "pytest failed on some Python (logs: build/pythons/pytest-*.log)"
