#!/usr/bin/env bash
# The dashboard in headless Chromium (docs/dashboard.md): on the embedded SQLite broker, then on Redis with a Python
# Celery worker (-E) beside the Simul worker, it checks what a user would see, the refusals of the security model and
# /metrics with prometheus_client; then the pictures (docs/demos.md): the pages of simul demo --html and simul bench
# --report must render without console messages. Screenshots go to .build/screenshots/, and everything listens on
# 127.0.0.1. The driver is Swift (Tests/SimulBrowserSuite, the product simul-browser-test); this runs it with these
# arguments.
#   Usage: scripts/browser-test.sh [sqlite|redis|pictures ...]     (default: all three)
#   Env:   SIMUL_BIN           the simul binary (default: swift build --show-bin-path)/simul
#          SIMUL_BROWSER_BIN   the driver; unset, it is built here first (debug)
set -euo pipefail
cd "$(dirname "$0")/.."
SIMUL_BIN=${SIMUL_BIN:-$(swift build --show-bin-path)/simul}
if [ -z "${SIMUL_BROWSER_BIN:-}" ]; then
    swift build --product simul-browser-test --quiet >&2
    SIMUL_BROWSER_BIN=$(swift build --show-bin-path)/simul-browser-test
fi
SIMUL_BIN=$SIMUL_BIN exec "$SIMUL_BROWSER_BIN" "$@"
