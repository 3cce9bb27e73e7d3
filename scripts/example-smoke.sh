#!/usr/bin/env bash
# Builds the example app (Examples/Thumbnails: a package of its own that depends on Simul by path, as a team's app
# would) with warnings as errors, and runs its smoke test: `thumbnails serve` on SQLite and on Redis, the HTTP API,
# the app's own `thumbnails send`, bad input, and a Python Celery client calling the app's tasks by name.
#   Usage: scripts/example-smoke.sh [--build-only]
set -euo pipefail
cd "$(dirname "$0")/.."
case "${1:-}" in
"" | --build-only) ;;
*)
    echo "usage: scripts/example-smoke.sh [--build-only]" >&2
    exit 2
    ;;
esac
swift build --package-path Examples/Thumbnails -Xswiftc -warnings-as-errors
[ "${1:-}" = --build-only ] && exit 0
if ! python=$(scripts/python-celery-env.sh); then
    echo "example-smoke: could not make the Python Celery virtualenv" >&2
    exit 2
fi
exec "$python" Examples/Thumbnails/smoke.py "$(swift build --package-path Examples/Thumbnails --show-bin-path)/thumbnails"
