#!/usr/bin/env bash
# Build the hiredis C library from PyPI's `hiredis` sdist (its vendor/hiredis)
# into a prefix, as a static, position-independent libhiredis.a with its
# headers and a hiredis.pc. Nothing of hiredis enters this repository: the
# sources live in a temporary directory that is removed at the end.
#
#   bash scripts/build_hiredis.sh PREFIX [SDIST_VERSION]
#   PKG_CONFIG_PATH=PREFIX/lib/pkgconfig python setup.py build_ext --inplace
#   PKG_CONFIG_PATH=PREFIX/lib/pkgconfig make -C tests/c test
#
# SDIST_VERSION is the version of the Python package `hiredis` (default:
# the newest; 3.x vendors hiredis 1.x). The C library's version is printed,
# and PREFIX/VERSION holds it. An existing prefix with the same sdist
# version is kept (delete it to rebuild).
set -euo pipefail

[ "$#" -ge 1 ] || {
    echo "usage: $0 PREFIX [SDIST_VERSION]" >&2
    exit 2
}
mkdir -p "$1"
PREFIX=$(cd "$1" && pwd)
SDIST_VERSION=${2:-}
PYTHON=${PYTHON:-python3}
CC=${CC:-cc}

want="sdist ${SDIST_VERSION:-newest}"
if [ -f "$PREFIX/lib/libhiredis.a" ] && [ -f "$PREFIX/STAMP" ] &&
    [ "$(cat "$PREFIX/STAMP")" = "$want" ]; then
    echo "build_hiredis: hiredis $(cat "$PREFIX/VERSION") already in $PREFIX"
    exit 0
fi

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

spec=hiredis${SDIST_VERSION:+==$SDIST_VERSION}
echo "build_hiredis: pip download --no-binary :all: $spec"
"$PYTHON" -m pip download -q --no-binary :all: --no-deps -d "$WORK" "$spec" 2>&1 |
    grep -v 'is ignored' >&2 || true
sdist=$(find "$WORK" -maxdepth 1 -name 'hiredis-*.tar.gz' | head -n 1)
[ -n "$sdist" ] || {
    echo "build_hiredis: no hiredis sdist downloaded" >&2
    exit 1
}
tar -xzf "$sdist" -C "$WORK"
SRC=$(find "$WORK" -maxdepth 3 -type d -path '*/vendor/hiredis' | head -n 1)
[ -n "$SRC" ] && [ -f "$SRC/hiredis.h" ] || {
    echo "build_hiredis: $sdist has no vendor/hiredis" >&2
    exit 1
}

version=$(awk '/#define HIREDIS_(MAJOR|MINOR|PATCH)/ { v = v (v ? "." : "") $3 } END { print v }' \
    "$SRC/hiredis.h")

# The library proper, as hiredis's own Makefile lists it (no SSL, no
# adapters: pyredisclient does TLS itself).
objs=()
for f in alloc async hiredis net read sds sockcompat; do
    [ -f "$SRC/$f.c" ] || continue
    "$CC" -std=c99 -O2 -g -fPIC -Wall -D_FILE_OFFSET_BITS=64 -c "$SRC/$f.c" -o "$WORK/$f.o"
    objs+=("$WORK/$f.o")
done

rm -rf "$PREFIX/include/hiredis" "$PREFIX/lib/libhiredis.a" "$PREFIX/lib/pkgconfig/hiredis.pc"
mkdir -p "$PREFIX/include/hiredis" "$PREFIX/lib/pkgconfig"
ar rcs "$PREFIX/lib/libhiredis.a" "${objs[@]}"
for h in "$SRC"/*.h; do
    cp "$h" "$PREFIX/include/hiredis/"
done
# Only the static library is installed, so -lhiredis links it into the
# extension and the C tests whatever else the system has.
cat >"$PREFIX/lib/pkgconfig/hiredis.pc" <<EOF
prefix=$PREFIX
libdir=\${prefix}/lib
includedir=\${prefix}/include

Name: hiredis
Description: hiredis $version built from the hiredis $(basename "$sdist" .tar.gz) sdist
Version: $version
Libs: -L\${libdir} -lhiredis
Cflags: -I\${includedir}/hiredis -D_FILE_OFFSET_BITS=64
EOF
printf '%s\n' "$version" >"$PREFIX/VERSION"
printf '%s\n' "$want" >"$PREFIX/STAMP"
echo "build_hiredis: hiredis $version (from $(basename "$sdist")) in $PREFIX"
