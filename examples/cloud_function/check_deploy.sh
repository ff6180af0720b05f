#!/usr/bin/env bash
# Deploy this example the way Cloud Functions builds it, on this machine:
# a function source directory with main.py, requirements.txt and the
# vendored wheel in wheels/; a fresh venv where `pip install -r
# requirements.txt` is the only install (functions-framework from PyPI,
# pyredisclient from wheels/); functions-framework serving it on loopback;
# curl with Redis up, down and back up. With Redis down every request must
# still answer 200 with the fallback, fast.
#
#   bash scripts/build_wheels.sh 3.12 && bash examples/cloud_function/check_deploy.sh
#
# Environment:
#   PYTHON_VERSION=3.12   the runtime's Python (default: the newest with a wheel)
#   OUT=dist              where the wheels are (scripts/build_wheels.sh)
#   MAX_DOWN_SECONDS=1.5  the most a request may take while Redis is down
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$ROOT/dist}
MAX_DOWN=${MAX_DOWN_SECONDS:-1.5}
T0=$SECONDS

say() { printf 'check_deploy: %s\n' "$*"; }
die() {
    printf 'check_deploy: FAILED: %s\n' "$*" >&2
    [ -f "${WORK:-/nonexistent}/ff.log" ] && tail -n 30 "$WORK/ff.log" >&2
    exit 1
}
for tool in curl redis-server; do
    command -v "$tool" >/dev/null || die "$tool not found"
done

# The wheel: the newest Python's, or PYTHON_VERSION's.
if [ -n "${PYTHON_VERSION:-}" ]; then
    tag="cp${PYTHON_VERSION/./}"
    WHEEL=$(ls "$OUT"/pyredisclient-*-"$tag"-"$tag"-manylinux*.whl 2>/dev/null | head -n 1)
else
    WHEEL=$(ls "$OUT"/pyredisclient-*-manylinux*.whl 2>/dev/null | sort -V | tail -n 1)
fi
[ -n "$WHEEL" ] || die "no wheel in $OUT: run scripts/build_wheels.sh ${PYTHON_VERSION:-} first"
tag=$(basename "$WHEEL" | cut -d- -f3)
PYV="3.${tag#cp3}"
# shellcheck source=../../scripts/find_python.sh
. "$ROOT/scripts/find_python.sh"
PY=$(find_python "$PYV")
[ -n "$PY" ] || die "Python $PYV not found"

WORK=$(mktemp -d)
REDIS_PID=""
FF_PID=""
cleanup() {
    [ -n "$FF_PID" ] && kill -TERM -- "-$FF_PID" 2>/dev/null || true
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null || true
    local i
    for i in $(seq 50); do
        { [ -n "$FF_PID" ] && kill -0 "$FF_PID" 2>/dev/null; } ||
            { [ -n "$REDIS_PID" ] && kill -0 "$REDIS_PID" 2>/dev/null; } || break
        sleep 0.1
    done
    [ -n "$FF_PID" ] && kill -KILL -- "-$FF_PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# 1. The function source, as it would be uploaded.
SRC=$WORK/function
mkdir -p "$SRC/wheels"
cp "$HERE/main.py" "$HERE/requirements.txt" "$SRC/"
cp "$WHEEL" "$SRC/wheels/"
say "function source: main.py requirements.txt wheels/$(basename "$WHEEL")"

# 2. A fresh venv; requirements.txt is the only thing installed, from the
# source directory as the Cloud Functions build runs it.
"$PY" -m venv "$WORK/venv"
(cd "$SRC" && "$WORK/venv/bin/python" -m pip install -q --disable-pip-version-check \
    -r requirements.txt 2>&1 | grep -v 'is ignored' || true)
where=$(cd "$WORK" && "$WORK/venv/bin/python" -c 'import pyredisclient, os; print(os.path.dirname(pyredisclient.__file__))') ||
    die "pyredisclient is not installed from requirements.txt"
case "$where" in "$WORK/venv/"*) ;; *) die "pyredisclient imported from $where" ;; esac
[ -x "$WORK/venv/bin/functions-framework" ] || die "functions-framework is not installed"
say "venv: Python $PYV, pyredisclient and functions-framework from requirements.txt ($((SECONDS - T0))s)"

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
REDIS_PORT=$(free_port)
FF_PORT=$(free_port)

start_redis() {
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$WORK" >"$WORK/redis.log" 2>&1 &
    REDIS_PID=$!
    local i
    for i in $(seq 50); do
        redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "redis-server did not start"
}
stop_redis() {
    kill "$REDIS_PID"
    wait "$REDIS_PID" 2>/dev/null || true
    REDIS_PID=""
}

# GET $1: sets STATUS, BODY and TOOK (seconds); a request never waits > 10 s.
get() {
    local out
    out=$(curl -s -m 10 -o "$WORK/body" -w '%{http_code} %{time_total}' \
        "http://127.0.0.1:$FF_PORT$1") || true
    STATUS=${out%% *}
    TOOK=${out##* }
    BODY=$(cat "$WORK/body" 2>/dev/null || true)
}
expect() { # expect PATH STATUS FRAGMENT
    get "$1"
    [ "$STATUS" = "$2" ] || die "GET $1: status $STATUS, wanted $2 ($BODY)"
    case "$BODY" in *"$3"*) ;; *) die "GET $1: '$BODY' lacks '$3'" ;; esac
}
fast() { # the last request took at most MAX_DOWN seconds
    awk -v t="$TOOK" -v m="$MAX_DOWN" 'BEGIN { exit !(t + 0 <= m + 0) }' ||
        die "GET took ${TOOK}s with Redis down (limit ${MAX_DOWN}s)"
}

# 3. Serve the function (its own process group: gunicorn and its workers).
start_redis
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0?socket_timeout=1&socket_connect_timeout=1&recovery_timeout=1"
(cd "$SRC" && REDIS_URL=$REDIS_URL exec setsid "$WORK/venv/bin/functions-framework" \
    --source=main.py --target=handle --host=127.0.0.1 --port="$FF_PORT") \
    >"$WORK/ff.log" 2>&1 </dev/null &
FF_PID=$!
for i in $(seq 150); do
    get /__ready__
    [ "$STATUS" != 000 ] && break
    kill -0 "$FF_PID" 2>/dev/null || die "functions-framework exited"
    sleep 0.2
done
[ "$STATUS" != 000 ] || die "functions-framework did not answer within 30 s"
say "functions-framework on port $FF_PORT, Redis on $REDIS_PORT"

# 4. Redis up: counts, caches, healthy.
expect "/?page=home" 200 '"visits": 1, "cached": true'
expect "/?page=home" 200 '"visits": 2, "cached": true'
expect "/greeting?name=ada" 200 '"cache_hit": false'
expect "/greeting?name=ada" 200 '"cache_hit": true'
expect /redis-health 200 '"status": "healthy"'
say "Redis up: counts visits, caches greetings, /redis-health 200"

# 5. Redis down: every request answers 200 with the fallback, fast.
stop_redis
worst=0
for i in $(seq 8); do
    expect "/?page=home" 200 '"visits": null, "cached": false'
    fast
    worst=$(awk -v a="$worst" -v b="$TOOK" 'BEGIN { print (b > a ? b : a) }')
done
expect "/greeting?name=bo" 200 '"cache_hit": false'
fast
expect /redis-health 503 '"status": "unhealthy"'
fast
say "Redis down: 10 requests answered with the fallback, slowest ${worst}s; /redis-health 503"

# 6. Redis back (same port): the function recovers by itself.
start_redis
recovered=0
for i in $(seq 50); do
    get "/?page=home"
    case "$BODY" in *'"visits": 1'*) recovered=1 && break ;; esac
    sleep 0.2
done
[ "$recovered" = 1 ] || die "no recovery within 10 s after Redis came back ($BODY)"
expect /redis-health 200 '"status": "healthy"'
say "Redis back: counting again, /redis-health 200"
say "PASSED (Python $PYV, $(basename "$WHEEL"), $((SECONDS - T0))s)"
