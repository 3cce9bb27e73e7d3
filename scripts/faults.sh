#!/usr/bin/env bash
# The fault suite (docs/faults.md): breaks workers and messages on purpose and counts, from the result backend and
# from the tasks' own execution records, that nothing is lost. The driver is Swift (Tests/SimulFaultSuite, the product
# simul-faults); this runs it with these arguments (--help lists them). SIMUL_BIN names the simul binary it tests and
# SIMUL_FAULTS_BIN the driver; each one unset is built here first (debug).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${SIMUL_BIN:-}" ]; then
    swift build --product simul >&2
    SIMUL_BIN=$(swift build --show-bin-path)/simul
fi
if [ -z "${SIMUL_FAULTS_BIN:-}" ]; then
    swift build --product simul-faults --quiet >&2
    SIMUL_FAULTS_BIN=$(swift build --show-bin-path)/simul-faults
fi
SIMUL_BIN=$SIMUL_BIN exec "$SIMUL_FAULTS_BIN" "$@"
