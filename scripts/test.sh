#!/usr/bin/env bash
# The whole check suite, in order, stopping at the first failure:
#   lint   ruff check + ruff format --check; mypy; import layers (lint-imports);
#          stubs and command table current;
#          no call cycle among the core's files (scripts/check_layers.py);
#          clang-format --dry-run --Werror
#   c      C unit tests (make -C tests/c test)
#   py     pytest with Python and C line coverage (both must reach COV_MIN)
#   asan   pytest on an ASan+UBSan extension; C tests under ASan and TSan
#   fuzz   libFuzzer targets (tests/fuzz) under ASan+UBSan, FUZZ_SECONDS each
#   wheels manylinux wheels for every Python found (scripts/build_wheels.sh),
#          each smoke-tested in a fresh venv with the system's hiredis and
#          OpenSSL hidden; a pytest subset on the oldest and newest Python;
#          the Cloud Function example served from a venv with only the wheel
#   hiredis1  hiredis 1.x from PyPI's hiredis sdist (scripts/build_hiredis.sh):
#          C tests and the whole pytest suite against it
# The in-place extension is rebuilt normally (-O2) at the end, even on failure.
#
#   bash scripts/test.sh            # everything (run scripts/setup.sh first)
#   bash scripts/test.sh lint py    # only some steps, in the order given
#
# Environment:
#   COV_MIN=90           minimum line coverage in percent, Python and C (0: off)
#   FUZZ_SECONDS=30      how long each fuzzer runs in the fuzz step
#   PYTEST_ARGS="-x -k pool"   extra pytest arguments for every pytest run
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
PY="$ROOT/.venv/bin/python"
COV_MIN=${COV_MIN:-90}
read -r -a PYTEST_EXTRA <<<"${PYTEST_ARGS:-}"
REPORTS="$ROOT/build/test-reports"

ALL_STEPS=(lint c py asan fuzz wheels hiredis1)
if [ "$#" -gt 0 ]; then STEPS=("$@"); else STEPS=("${ALL_STEPS[@]}"); fi
for step in "${STEPS[@]}"; do
    case " ${ALL_STEPS[*]} " in
    *" $step "*) ;;
    *)
        echo "usage: $0 [${ALL_STEPS[*]}]..." >&2
        exit 2
        ;;
    esac
done

[ -x "$PY" ] || {
    echo "test: $PY not found: run 'bash scripts/setup.sh' first" >&2
    exit 1
}

SUMMARY=()
CURRENT="start-up"
INPLACE=normal # which build of the extension sits in pyredisclient/
T0=$SECONDS

heading() {
    CURRENT="$*"
    printf '\n======== %s ========\n' "$*"
}
fail() {
    printf '\nFAILED: %s\n' "$*" >&2
    exit 1
}

# Build the extension in place. $1: normal | coverage | sanitize.
build_ext() {
    local variant=$1 log rc=0
    local -a env_vars=() temp=()
    case "$variant" in
    normal) ;;
    coverage)
        # Atomic counters: the tests call the extension from many threads,
        # and racing plain counters give gcov negative hit counts.
        env_vars=(PYREDISCLIENT_COVERAGE=1 "CFLAGS=${CFLAGS:-} -fprofile-update=atomic")
        temp=(--build-temp build/cov-ext)
        rm -rf build/cov-ext # stale .gcda would mix with the new build
        ;;
    sanitize)
        env_vars=(PYREDISCLIENT_SANITIZE=1)
        temp=(--build-temp build/asan-ext)
        ;;
    hiredis1)
        env_vars=("PKG_CONFIG_PATH=$HIREDIS1/lib/pkgconfig")
        temp=(--build-temp build/hiredis1-ext)
        ;;
    esac
    echo "building the extension in place ($variant)"
    INPLACE=$variant
    log=$(mktemp)
    env "${env_vars[@]}" "$PY" setup.py build_ext --inplace --force "${temp[@]}" >"$log" 2>&1 ||
        rc=$?
    if [ "$rc" -ne 0 ]; then
        tail -n 80 "$log" >&2
        rm -f "$log"
        fail "building the extension ($variant)"
    fi
    rm -f "$log"
}

on_exit() {
    local rc=$?
    if [ "$INPLACE" != normal ]; then
        # A sanitizer build cannot even be imported without LD_PRELOAD:
        # never leave one behind.
        echo "restoring the normal in-place build"
        INPLACE=normal
        "$PY" setup.py -q build_ext --inplace --force >/dev/null 2>&1 ||
            echo "warning: could not rebuild the extension; run scripts/setup.sh" >&2
    fi
    if [ "$rc" -ne 0 ]; then
        printf '\nTEST SUITE FAILED in step: %s (exit %d, %ds)\n' "$CURRENT" "$rc" \
            "$((SECONDS - T0))" >&2
    fi
    exit "$rc"
}
trap on_exit EXIT

# pytest with a report; exit 5 (no tests collected) is a failure too.
run_pytest() {
    local name=$1 rc=0
    shift
    mkdir -p "$REPORTS"
    "$@" -p no:cacheprovider --junitxml="$REPORTS/$name.xml" "${PYTEST_EXTRA[@]}" || rc=$?
    case "$rc" in
    0) ;;
    5) fail "pytest ($name) collected no tests" ;;
    *) fail "pytest ($name) exited with $rc" ;;
    esac
}

# "P F S" (passed, failed, skipped) from a JUnit XML report.
junit_counts() {
    "$PY" - "$1" <<'EOF'
import sys
import xml.etree.ElementTree as ET

root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
total = {k: sum(int(s.get(k, 0)) for s in suites) for k in ("tests", "failures", "errors", "skipped")}
failed = total["failures"] + total["errors"]
print(total["tests"] - failed - total["skipped"], failed, total["skipped"])
EOF
}

# Compare a percentage with COV_MIN; print the figure either way.
check_coverage() {
    local label=$1 value=$2
    printf '%s COVERAGE: %s%%\n' "$label" "$value"
    if ! awk -v v="$value" -v m="$COV_MIN" 'BEGIN { exit !(v + 0 >= m + 0) }'; then
        fail "$label coverage ${value}% is below COV_MIN=${COV_MIN}%"
    fi
}

step_lint() {
    heading "lint: ruff"
    local -a pydirs=()
    local d
    for d in pyredisclient tests benchmarks examples scripts setup.py; do
        [ -e "$d" ] && pydirs+=("$d")
    done
    "$ROOT/.venv/bin/ruff" check "${pydirs[@]}" || fail "ruff check"
    "$ROOT/.venv/bin/ruff" format --check "${pydirs[@]}" || fail "ruff format --check (run: ruff format ${pydirs[*]})"

    heading "lint: mypy --strict (package, examples, stub generator), import layers, stubs and command table"
    "$ROOT/.venv/bin/mypy" pyredisclient || fail "mypy pyredisclient"
    # The stub generator types what users see: it is held to the same bar.
    "$ROOT/.venv/bin/mypy" --strict scripts/gen_stubs.py || fail "mypy --strict scripts/gen_stubs.py"
    [ -x "$ROOT/.venv/bin/lint-imports" ] ||
        fail "lint-imports not found: run 'bash scripts/setup.sh' (import-linter, dev extras)"
    "$ROOT/.venv/bin/lint-imports" ||
        fail "import contracts ([tool.importlinter] in pyproject.toml; docs/ARCHITECTURE.md)"
    "$ROOT/.venv/bin/python" scripts/gen_stubs.py --check || fail "generated stubs out of date"
    "$ROOT/.venv/bin/python" scripts/gen_commands.py --check ||
        fail "generated command table out of date (python scripts/gen_commands.py --offline)"

    heading "lint: the core's files call each other without cycles"
    "$ROOT/.venv/bin/python" scripts/check_layers.py || fail "call cycle among csrc/core files"

    heading "lint: clang-format"
    command -v clang-format >/dev/null 2>&1 ||
        fail "clang-format not found (apt-get install clang-format)"
    local -a cfiles=()
    mapfile -t cfiles < <(find csrc tests/c tests/fuzz -maxdepth 2 -type f \( -name '*.c' -o -name '*.h' \) \
        -not -path 'tests/c/build/*' 2>/dev/null | sort)
    if [ "${#cfiles[@]}" -eq 0 ]; then
        echo "no C files yet"
    else
        local out
        if ! out=$(clang-format --dry-run --Werror "${cfiles[@]}" 2>&1); then
            printf '%s\n' "$out" | head -n 40
            echo "files that need formatting:"
            printf '%s\n' "$out" | grep -o '^[^ :]*\.[ch]:' | tr -d : | sort -u | sed 's/^/  /'
            fail "clang-format (fix: clang-format -i \$(git ls-files 'csrc/*.[ch]' 'tests/c/*.[ch]' 'tests/fuzz/*.c'))"
        fi
        echo "${#cfiles[@]} C files formatted"
    fi
    SUMMARY+=("lint ok")
}

step_c() {
    heading "C unit tests"
    compgen -G 'tests/c/*.c' >/dev/null ||
        fail "no C unit test sources in tests/c/ (tests/c/main.c and friends)"
    make -s -C tests/c test || fail "C unit tests"
    SUMMARY+=("C tests ok")
}

PY_COUNTS=""
# Tests sit in one folder per kind (tests/README.md); a kind that collects nothing,
# or a test module outside them, is a mistake.
check_test_layout() {
    local kind
    for kind in unit integration faults typing; do
        compgen -G "tests/$kind/test_*.py" >/dev/null || fail "no tests in tests/$kind/"
    done
    if compgen -G 'tests/test_*.py' >/dev/null; then
        fail "test modules directly in tests/: move them to a kind folder (tests/README.md)"
    fi
}

step_py() {
    heading "pytest with Python and C coverage"
    check_test_layout
    build_ext coverage
    "$PY" -m coverage erase
    run_pytest pytest-coverage "$PY" -m coverage run -m pytest -q
    PY_COUNTS=$(junit_counts "$REPORTS/pytest-coverage.xml")

    if compgen -G 'tests/c/*.c' >/dev/null; then
        echo "C unit tests with coverage (merged into the C figure)"
        rm -rf tests/c/build/cov
        make -s -C tests/c coverage || fail "C unit tests (coverage build)"
    fi

    heading "coverage report: Python"
    "$PY" -m coverage report || true
    local pytotal
    pytotal=$("$PY" -m coverage report --format=total) || fail "coverage report"

    heading "coverage report: C (csrc/)"
    local -a gcda_dirs=(build/cov-ext)
    [ -d tests/c/build/cov ] && gcda_dirs+=(tests/c/build/cov)
    local summary ctotal
    summary=$("$ROOT/.venv/bin/gcovr" -r . --filter 'csrc/' --print-summary \
        --gcov-ignore-parse-errors=negative_hits.warn_once_per_file \
        "${gcda_dirs[@]}") || fail "gcovr"
    printf '%s\n' "$summary"
    ctotal=$(printf '%s\n' "$summary" | awk '/^lines:/ { sub("%", "", $2); print $2 }')
    [ -n "$ctotal" ] || fail "could not read the C line coverage from gcovr"

    printf '\n'
    check_coverage PYTHON "$pytotal"
    check_coverage C "$ctotal"
    SUMMARY+=("pytest ok" "Python coverage ${pytotal}%" "C coverage ${ctotal}%")
}

step_asan() {
    heading "AddressSanitizer + UBSan: pytest"
    build_ext sanitize
    local preload
    preload=$(gcc -print-file-name=libasan.so)
    [ -e "$preload" ] || fail "libasan.so not found (gcc -print-file-name=libasan.so)"
    # Python itself is not instrumented, so its leaks would be noise.
    # --capture=sys: a sanitizer writes its report to fd 2 and then ends the
    # process, so fd-level capture would swallow the report.
    run_pytest pytest-asan env LD_PRELOAD="$preload" \
        ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
        UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
        PYTHONMALLOC=malloc \
        "$PY" -m pytest -q --capture=sys

    heading "AddressSanitizer + UBSan: C unit tests"
    make -s -C tests/c asan || fail "C unit tests under ASan+UBSan"

    heading "ThreadSanitizer: C unit tests"
    make -s -C tests/c tsan || fail "C unit tests under TSan"

    heading "rebuilding the normal extension"
    build_ext normal
    SUMMARY+=("sanitizers ok")
}

step_fuzz() {
    heading "fuzzers (libFuzzer, ASan+UBSan), ${FUZZ_SECONDS:-30} s each"
    # A crash, leak, sanitizer report or hang fails the run (and the step);
    # the input is left in build/fuzz/crash-* (replay: build/fuzz/NAME FILE).
    make -s -C tests/fuzz run FUZZ_SECONDS="${FUZZ_SECONDS:-30}" ||
        fail "fuzzers (needs clang and libFuzzer: apt-get install clang libclang-rt-14-dev)"
    SUMMARY+=("fuzzers ok")
}

step_wheels() {
    local t0=$SECONDS
    heading "wheels: build, auditwheel, smoke test with the system libraries hidden"
    OUT="$ROOT/build/wheelhouse" bash scripts/build_wheels.sh --check || fail "wheels"
    heading "wheels: pytest subset on the oldest and newest Python"
    local -a ends
    mapfile -t ends < <(ls "$ROOT"/build/wheelhouse/pyredisclient-*-manylinux*.whl |
        sed 's/.*-cp3\([0-9]*\)-cp3.*/3.\1/' | sort -V | sed -n '1p;$p' | uniq)
    OUT="$ROOT/build/wheelhouse" VENV_ROOT="$ROOT/build/wheelhouse/venvs" \
        bash scripts/test_pythons.sh --subset "${ends[@]}" ||
        fail "pytest subset on the wheels"
    heading "wheels: the Cloud Function example deployed from its requirements.txt"
    OUT="$ROOT/build/wheelhouse" bash examples/cloud_function/check_deploy.sh ||
        fail "examples/cloud_function/check_deploy.sh"
    SUMMARY+=("wheels ok ($((SECONDS - t0))s)")
}

HIREDIS1="$ROOT/build/hiredis1"
step_hiredis1() {
    local t0=$SECONDS
    heading "hiredis 1.x: build it from PyPI's hiredis sdist"
    bash scripts/build_hiredis.sh "$HIREDIS1" || fail "building hiredis 1.x"
    heading "hiredis $(cat "$HIREDIS1/VERSION"): C unit tests"
    PKG_CONFIG_PATH="$HIREDIS1/lib/pkgconfig" make -s -C tests/c test \
        BUILD_ROOT="$HIREDIS1/ctests" || fail "C unit tests against hiredis 1.x"
    heading "hiredis $(cat "$HIREDIS1/VERSION"): pytest"
    build_ext hiredis1
    "$PY" -c 'import pyredisclient._core as c, sys; sys.exit(not c.hiredis_version.startswith("1."))' ||
        fail "the extension was not built against hiredis 1.x"
    run_pytest pytest-hiredis1 "$PY" -m pytest -q
    build_ext normal
    SUMMARY+=("hiredis $(cat "$HIREDIS1/VERSION") ok ($((SECONDS - t0))s)")
}

for step in "${STEPS[@]}"; do
    "step_$step"
done

CURRENT="summary"
printf '\n======== summary (%ds) ========\n' "$((SECONDS - T0))"
line=$(printf '%s, ' "${SUMMARY[@]}")
echo "${line%, }"
if [ -n "$PY_COUNTS" ]; then
    read -r passed failed skipped <<<"$PY_COUNTS"
    if [ "${CI:-}" = true ] && [ "$passed" -eq 0 ]; then
        fail "no test passed (all skipped?)"
    fi
    echo "ALL CHECKS PASSED"
    echo "pytest: $passed passed, $failed failed, $skipped skipped"
else
    echo "ALL CHECKS PASSED"
fi
