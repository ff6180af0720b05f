#!/usr/bin/env bash
# Entry point for people and CI. Each command first runs scripts/setup.sh,
# which installs whatever is missing (apt packages, .venv, the extension).
#
#   bash scripts/run.sh demo [ARGS]    python -m pyredisclient demo
#                                      (a throwaway redis-server unless REDIS_URL is set)
#   bash scripts/run.sh test [STEPS]   lint, C tests, pytest + coverage, sanitizers
#                                      (scripts/test.sh; STEPS: lint c py asan)
#   bash scripts/run.sh setup          only the set-up
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

usage() {
    sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

[ "$#" -ge 1 ] || usage
command=$1
shift
case "$command" in
demo)
    bash scripts/setup.sh
    exec .venv/bin/python -m pyredisclient demo "$@"
    ;;
test)
    bash scripts/setup.sh
    exec bash scripts/test.sh "$@"
    ;;
setup)
    exec bash scripts/setup.sh "$@"
    ;;
-h | --help | help) usage ;;
*)
    echo "run.sh: unknown command '$command'" >&2
    usage
    ;;
esac
