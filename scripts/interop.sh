#!/usr/bin/env bash
# Proves that Simul's Swift worker and client interoperate with real Python Celery 5.7 and Flower 2.2 over one Redis.
# Starts its own redis-server, a Python Celery worker, the Swift worker and Flower, all on 127.0.0.1 and free ports,
# runs interop/scenarios.py, and stops everything it started, on success, failure or Ctrl-C. Exits non-zero if a
# scenario failed. docs/interop.md describes the scenarios and the environment variables.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

say() { printf '== %s\n' "$*"; }
die() {
    printf 'interop: %s\n' "$*" >&2
    exit 2
}

# --reference: the reference worker from the protocol research stands in for the Swift worker (docs/interop.md).
if [ "${1:-}" = "--reference" ]; then
    reference=${INTEROP_REFERENCE_WORKER:-$root/../shared/research/celery-interop/foreign_worker.py}
    [ -f "$reference" ] || die "no reference worker at $reference (set INTEROP_REFERENCE_WORKER)"
    export SWIFT_WORKER_CMD="\$PYTHON '$reference' \$BROKER \$BACKEND simul" SWIFT_TASK_PREFIX=swift
    export INTEROP_SKIP=${INTEROP_SKIP-expiry,crash-recovery,malformed-input,t11-exact-integers}
elif [ $# -gt 0 ]; then
    die "usage: scripts/interop.sh [--reference]"
fi

python=$(scripts/python-celery-env.sh) || die "could not make the Python Celery virtualenv"
if ! command -v redis-server >/dev/null 2>&1; then
    say "installing redis-server (Debian)"
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
fi

# The Swift side: the simul binary, or SWIFT_WORKER_CMD (for example the reference worker, see docs/interop.md).
simul_bin=${SIMUL_BIN:-}
if [ -z "${SWIFT_WORKER_CMD:-}" ] && [ -z "$simul_bin" ]; then
    simul_bin=$(swift build --show-bin-path)/simul || die "swift build --show-bin-path failed: set SIMUL_BIN"
fi
if [ -n "$simul_bin" ] && [ ! -x "$simul_bin" ]; then
    die "no simul binary at $simul_bin: run 'swift build' or set SIMUL_BIN"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/simul-interop.XXXXXX")
script=interop
status=0
# shellcheck source=scripts/lib/processes.sh
. scripts/lib/processes.sh

on_exit() {
    status=$?
    trap - EXIT INT TERM
    stop_all
    if [ "$status" -eq 2 ]; then
        print_logs 30
    fi
    if [ "$status" -eq 0 ] && [ -z "${INTEROP_KEEP_LOGS:-}" ]; then
        rm -rf "$work"
    else
        echo "logs: $work"
    fi
    exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

say "redis-server"
mkdir -p "$work/redis"
for attempt in 1 2 3; do
    port=$(free_port)
    start redis redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
        --dir "$work/redis" --protected-mode yes
    watch=$started_pid
    if wait_for 10 "redis-server on port $port" redis-cli -h 127.0.0.1 -p "$port" ping; then
        break
    fi
    [ "$attempt" -lt 3 ] || die "redis-server did not start"
done
watch=
export BROKER="redis://127.0.0.1:$port/0" BACKEND="redis://127.0.0.1:$port/1"
export SWIFT_TASK_PREFIX=${SWIFT_TASK_PREFIX:-simul} PYTHON=$python
export PYTHONPATH="$root/interop${PYTHONPATH:+:$PYTHONPATH}" PYTHONDONTWRITEBYTECODE=1 INTEROP_LOG_DIR=$work
echo "redis on 127.0.0.1:$port, logs in $work"

say "Python Celery worker py@$(hostname)"
start python-worker "$python" -m celery -A pytasks worker -Q celery -c 2 -P prefork -n 'py@%h' --loglevel=INFO

if [ -n "${SWIFT_WORKER_CMD:-}" ]; then
    say "Swift worker stand-in: $SWIFT_WORKER_CMD"
    # A shell command: the inner shell expands $BROKER, $BACKEND and $PYTHON, exported above.
    start swift-worker bash -c "exec $SWIFT_WORKER_CMD"
else
    say "Swift worker: $simul_bin worker"
    start swift-worker "$simul_bin" worker --broker "$BROKER" --backend "$BACKEND" -Q simul -n 'swift@%h' -c 4 \
        --lease 5 --route 'pytasks.*=celery' --route "$SWIFT_TASK_PREFIX.*=simul"
fi
export SWIFT_WORKER_PID=$started_pid

flower_port=$(free_port)
say "Flower on 127.0.0.1:$flower_port"
start flower env FLOWER_UNAUTHENTICATED_API=true "$python" -m celery -A pytasks flower \
    --address=127.0.0.1 --port="$flower_port"
export FLOWER_URL="http://127.0.0.1:$flower_port"

# The Swift-client scenarios need the simul binary; with a stand-in worker they run only if SIMUL_BIN is given.
export SIMUL_BIN=$simul_bin

say "scenarios"
# In the background, so that a signal to this script runs the cleanup at once; it is stopped with the rest.
setsid "$python" interop/scenarios.py &
pids+=($!)
wait $!
