#!/usr/bin/env bash
# Proves that Simul's Swift worker and client interoperate with real Python Celery 5.7 and Flower 2.2 over one Redis.
# A thin entry point: makes the Python Celery virtualenv once and runs interop/run.py with its python, which starts
# Redis, a Python Celery worker, the Swift worker (SIMUL_BIN, else `swift build --show-bin-path`/simul) and Flower on
# 127.0.0.1, runs interop/scenarios.py, and stops all it started. Exits 0 if every scenario passed, 1 if one failed,
# 2 if the setup failed. docs/interop.md describes the scenarios, --reference and the environment variables.
#   Usage: scripts/interop.sh [--reference] [--tls]
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python=$(scripts/python-celery-env.sh); then
    echo "interop: could not make the Python Celery virtualenv" >&2
    exit 2
fi
exec "$python" interop/run.py "$@"
