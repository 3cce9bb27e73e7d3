#!/usr/bin/env bash
# Creates, once, a virtualenv with the real Python Celery, Flower and OpenTelemetry (the SDK and the Celery
# instrumentation, for the cross-language trace scenario) from PyPI, and prints its python's path.
# The interop harness and the benchmarks use it. A second run is a fast no-op.
#   Usage: PY=$(scripts/python-celery-env.sh)
#   Env:   SIMUL_PYTHON_CELERY_VENV  where the venv lives (default: .build/python-celery in the package)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${SIMUL_PYTHON_CELERY_VENV:-$root/.build/python-celery}
requirements="celery[redis]==5.7.0 flower==2.2.0 opentelemetry-sdk==1.45.2 opentelemetry-instrumentation-celery==0.66b2"
stamp=$venv/.simul-requirements

if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$requirements" ]; then
    echo "$venv/bin/python"
    exit 0
fi

# Everything but the path goes to stderr, so `PY=$(...)` captures the path alone.
{
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
        echo "installing python3 and venv (Debian)"
        apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null
    fi
    echo "creating $venv with $requirements"
    rm -rf "$venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086 # the requirements are separate words on purpose
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check $requirements
    echo "$requirements" >"$stamp"
} >&2
echo "$venv/bin/python"
