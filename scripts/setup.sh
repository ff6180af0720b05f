#!/usr/bin/env bash
# Set up a Debian/Ubuntu machine for pyredisclient, from nothing: system
# packages (apt), the .venv, and an editable install that builds the C
# extension. Safe to run again: it only does what is missing.
#
#   bash scripts/setup.sh
#
# Environment:
#   PYTHON=python3.12    interpreter that creates .venv (default: python3)
#   SETUP_FORCE_PIP=1    reinstall the Python dependencies even if current
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
VENV="$ROOT/.venv"
PYTHON=${PYTHON:-python3}
export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1

# Needed to build and test; set-up fails without them.
REQUIRED_PKGS=(redis-server redis-tools libhiredis-dev pkg-config libssl-dev curl
    gcc make libc6-dev python3-venv openssl)
# Developer tools (lint, syscall counts, callgrind, fuzzers: clang and its
# libFuzzer runtime; wrk for benchmarks/fastapi_bench.py): installed when the
# distribution has them, never fatal here. The test script says what it needs.
OPTIONAL_PKGS=(clang-format strace valgrind clang libclang-rt-14-dev wrk)

say() { printf 'setup: %s\n' "$*"; }
warn() { printf 'setup: warning: %s\n' "$*" >&2; }
die() {
    printf 'setup: error: %s\n' "$*" >&2
    exit 1
}

# Run a command quietly; on failure show its output and fail.
quiet() {
    local log rc=0
    log=$(mktemp)
    "$@" >"$log" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        printf 'setup: command failed (exit %d): %s\n' "$rc" "$*" >&2
        tail -n 60 "$log" >&2
        rm -f "$log"
        return "$rc"
    fi
    rm -f "$log"
}

pkg_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# --- system packages ---------------------------------------------------------

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        SUDO=(no-sudo)
    fi
fi

APT_UPDATED=0
apt_update_once() {
    if [ "$APT_UPDATED" -eq 0 ]; then
        say "apt-get update"
        # A failing extra repository should not stop us: the install says
        # whether what we need could be found.
        quiet "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=300 update -q ||
            warn "apt-get update reported errors; trying to install anyway"
        APT_UPDATED=1
    fi
}

apt_install() {
    quiet "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get -o DPkg::Lock::Timeout=300 install -y -q --no-install-recommends "$@"
}

install_system_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1 || ! command -v apt-get >/dev/null 2>&1; then
        warn "not a Debian/Ubuntu system: install by hand the equivalents of:"
        warn "  ${REQUIRED_PKGS[*]} ${OPTIONAL_PKGS[*]}"
        return 0
    fi
    # The interpreter that will build the extension needs its headers.
    local missing=() optional_missing=() pkg
    if ! "$PYTHON" -c 'import sysconfig, os, sys
sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
        2>/dev/null; then
        REQUIRED_PKGS+=(python3-dev)
    fi
    for pkg in "${REQUIRED_PKGS[@]}"; do
        pkg_installed "$pkg" || missing+=("$pkg")
    done
    for pkg in "${OPTIONAL_PKGS[@]}"; do
        pkg_installed "$pkg" || optional_missing+=("$pkg")
    done
    if [ "${#missing[@]}" -eq 0 ] && [ "${#optional_missing[@]}" -eq 0 ]; then
        return 0
    fi
    if [ "${SUDO[0]:-}" = no-sudo ]; then
        [ "${#missing[@]}" -eq 0 ] || die "not root and no sudo: install these first: ${missing[*]}"
        warn "not root and no sudo: skipping optional ${optional_missing[*]}"
        return 0
    fi
    apt_update_once
    if [ "${#missing[@]}" -gt 0 ]; then
        say "apt-get install ${missing[*]}"
        apt_install "${missing[@]}" || die "could not install ${missing[*]}"
    fi
    for pkg in "${optional_missing[@]}"; do
        say "apt-get install $pkg (optional)"
        apt_install "$pkg" || warn "optional package $pkg is not available; continuing"
    done
}

# --- Python environment --------------------------------------------------------

stamp_value() {
    # Reinstall when the metadata, the build script or the interpreter
    # changes, or when the package stops being a namespace package.
    cat pyproject.toml setup.py 2>/dev/null | sha256sum | cut -d' ' -f1
    "$VENV/bin/python" -c 'import sys; print(sys.version)'
    [ -f pyredisclient/__init__.py ] && echo package || echo namespace
}

setup_venv() {
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (set PYTHON=...)"
    if ! "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        if [ -e "$VENV" ]; then
            warn "$VENV is broken; recreating it"
            rm -rf "$VENV"
        fi
        say "creating .venv with $("$PYTHON" --version 2>&1)"
        quiet "$PYTHON" -m venv "$VENV" || die "python3 -m venv failed (apt-get install python3-venv)"
    fi
    local stamp="$VENV/.pyredisclient-setup" want
    want=$(stamp_value)
    if [ "${SETUP_FORCE_PIP:-0}" = 1 ] || [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ] ||
        ! "$VENV/bin/python" -c 'import importlib.metadata as m; m.distribution("pyredisclient")' \
            >/dev/null 2>&1; then
        say "installing Python dependencies into .venv (pip install -e '.[test,dev]')"
        quiet "$VENV/bin/python" -m pip install -q --upgrade pip 'setuptools>=64' wheel
        # No build isolation: build with the venv's setuptools, not a fresh
        # download on every run.
        quiet "$VENV/bin/python" -m pip install -q --no-build-isolation -e '.[test,dev]'
        printf '%s\n' "$want" >"$stamp"
    fi
    # Rebuild the extension in place when a C file changed (no-op otherwise).
    say "building the C extension"
    quiet "$VENV/bin/python" setup.py -q build_ext --inplace
    "$VENV/bin/python" -c 'import pyredisclient' || die "pyredisclient does not import"
}

install_system_packages
for tool in redis-server pkg-config gcc; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is still missing after installing packages"
done
pkg-config --exists hiredis || die "pkg-config cannot find hiredis (libhiredis-dev)"
setup_venv
say "ready: $("$VENV/bin/python" --version), $(redis-server --version | cut -d' ' -f1-3)"
