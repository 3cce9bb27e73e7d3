#!/usr/bin/env bash
# The project's test command (the README's second command, and what CI runs).
# Builds with warnings as errors, runs every test suite, then runs the CLI the way a user would.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

need_python() {
    if ! command -v python3 >/dev/null 2>&1; then
        step "installing python3 (Debian)"
        apt-get update -qq && apt-get install -y -qq python3 >/dev/null
    fi
}

need_python

step "build (warnings are errors)"
swift build --build-tests -Xswiftc -warnings-as-errors

step "unit and integration tests"
swift test --skip-build --parallel 2>&1 | tee .build/test-output.txt
grep -Eq "Test run with [0-9]+ tests? .*passed" .build/test-output.txt

step "CLI smoke: simul demo --quick"
simul=$(swift build --show-bin-path)/simul
"$simul" demo --quick

step "CLI smoke: bad input gets one clear line and a non-zero exit"
if "$simul" demo no-such-demo 2>.build/bad-input.txt; then
    echo "expected 'simul demo no-such-demo' to fail" >&2
    exit 1
fi
grep -q "^Error: unknown demo 'no-such-demo' (available: " .build/bad-input.txt
[ "$(wc -l <.build/bad-input.txt)" -eq 1 ]

step "CLI smoke: simul bench executors --quick --json --compare-python"
"$simul" bench executors --quick --json --compare-python >.build/bench.json
python3 - .build/bench.json <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
cases = {"threadpool-submit", "processpool-submit", "processpool-map", "async-gather", "async-sleep-100k"}
impls = {(r["case"], r["impl"]) for r in report["results"]}
missing = [c for c in cases if (c, "simul") not in impls or not any(k == c and i.startswith("python") for k, i in impls)]
assert not missing, f"cases without both rows: {missing}"
assert all(r["value"] > 0 for r in report["results"]), "a figure is not positive"
print(f"bench JSON has {len(report['results'])} rows, ours and Python's for every case")
PY

echo
echo "all checks passed"
