#!/usr/bin/env bash
# The project's test command (the README's second command, and what CI runs).
# Builds with warnings as errors, runs every test suite, then runs the CLI the way a user would.
set -euo pipefail
cd "$(dirname "$0")/.."

# Each step's header says how far into the run it starts, so a slow step shows in CI's log.
step() { printf '\n== %s  [%dm%02ds]\n' "$*" $((SECONDS / 60)) $((SECONDS % 60)); }

need_python() {
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
        step "installing python3 and venv (Debian)"
        apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null
    fi
}

need_redis() {
    # The Redis tests start their own redis-server (or use SIMUL_TEST_REDIS_URL).
    if [ -z "${SIMUL_TEST_REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
        step "installing redis-server (Debian)"
        apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
    fi
}

need_shellcheck() {
    if ! command -v shellcheck >/dev/null 2>&1; then
        step "installing shellcheck (Debian)"
        apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null
    fi
}

need_python
need_redis
need_shellcheck

step "lint: swift format lint --strict, and shellcheck on the scripts"
swift format lint --strict --recursive Sources Tests Fuzz Package.swift Examples
shellcheck scripts/*.sh .ci/run

step "build (warnings are errors)"
swift build --build-tests -Xswiftc -warnings-as-errors

step "the example app (Examples/Thumbnails, a package of its own): built in the background, at low priority"
# Its build compiles Simul and its dependencies again, for its own graph: several minutes that would otherwise add to
# the run. At nice 19 it takes the CPU the steps below leave idle, and little of what they use; its smoke test waits
# for it near the end.
nice -n 19 scripts/example-smoke.sh --build-only >.build/example-build.txt 2>&1 &
example_build=$!
watchdog_pid=
# A run that fails stops what it started in the background: the example's build (its script and SwiftPM under it).
stop_background() {
    for pid in $watchdog_pid $example_build; do
        pkill -TERM -P "$pid" 2>/dev/null || true
        kill "$pid" 2>/dev/null || true
    done
}
trap stop_background EXIT

# A test that hangs must fail the run with evidence, not stall it: past the limit, name the tests that never
# finished, print every thread's stack, and kill the test process.
test_watchdog() {
    sleep "$1" >/dev/null 2>&1 &
    local sleeper=$!
    trap 'kill "$sleeper"; exit 0' TERM
    wait "$sleeper"
    echo "== the tests ran past $1 s; these never finished:" >&2
    sed -nE 's/^◇ Test ([^ ]+\)) started\./\1/p' "$2" | sort >.build/tests-started.txt
    sed -nE 's/^[✔✘] Test ([^ ]+\)) .*/\1/p' "$2" | sort -u >.build/tests-finished.txt
    comm -23 .build/tests-started.txt .build/tests-finished.txt >&2
    for pid in $(pgrep -f 'simulPackageTests.xctest'); do
        echo "== threads of the test process $pid" >&2
        gdb -p "$pid" -batch -ex 'thread apply all bt 30' 2>/dev/null | grep -E '^(Thread|#)' >&2 || true
    done
    for pid in $(pgrep -f 'simulPackageTests.xctest'); do pkill -KILL -P "$pid" || true; done
    pkill -KILL -f 'simulPackageTests.xctest' || true
}

step "unit and integration tests"
test_watchdog "${SIMUL_TEST_TIME_LIMIT:-600}" .build/test-output.txt &
watchdog_pid=$!
# Line-buffered, so the log shows every test that started even if the process is killed. At most 24 tests run at
# once: with all of them at once, a 2-core machine spends the first seconds starting hundreds of workers and servers,
# and tests that wait for a result run out of time (the suite is also faster: 76 s instead of 87 to 96 s here).
stdbuf -oL -eL swift test --skip-build --experimental-maximum-parallelization-width 24 2>&1 |
    tee .build/test-output.txt
kill "$watchdog_pid"
watchdog_pid=
grep -Eq "Test run with [0-9]+ tests? .*passed" .build/test-output.txt

step "the Redis client's suites again, over TLS with client certificates"
SIMUL_TEST_REDIS_TLS=1 swift test --skip-build --filter "RedisConnectionTests|RedisPubSubTests" 2>&1 |
    tee .build/test-tls-output.txt | grep -E "^(✘|✔ Test run)"
grep -Eq "Test run with [0-9]+ tests? .*passed" .build/test-tls-output.txt

step "core-only consumer: traits: [] and the Simul product resolve and build no NIO, GRDB, Hummingbird or AHC"
scripts/core-consumer.sh

step "CLI smoke: simul demo --quick"
simul=$(swift build --show-bin-path)/simul
"$simul" demo --quick

step "Celery interop: Python Celery 5.7 and Flower 2.2 with the Simul worker and client on one Redis"
SIMUL_BIN="$simul" scripts/interop.sh
step "Celery interop over TLS: the same scenarios with every process on rediss:// and client certificates"
SIMUL_BIN="$simul" scripts/interop.sh --tls

step "dashboard in headless Chromium: SQLite, then Redis with a Python Celery -E worker"
# Installs chromium when missing; screenshots go to .build/screenshots/ (docs/dashboard.md). About a minute. Its
# driver, simul-browser-test, was built above with the rest.
SIMUL_BIN="$simul" SIMUL_BROWSER_BIN="$(dirname "$simul")/simul-browser-test" timeout 300 scripts/browser-test.sh

step "CLI smoke: simul bench executors cpu io queue --quick --json --compare-python --report"
"$simul" bench executors cpu io queue --quick --json --compare-python --report .build/bench.html >.build/bench.json
python3 - .build/bench.json .build/bench.html <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
rows = report["results"]
pairs = {
    "threadpool-submit": "python-concurrent.futures", "processpool-submit": "python-concurrent.futures",
    "processpool-map": "python-concurrent.futures", "async-gather": "python-asyncio",
    "async-sleep-100k": "python-asyncio", "primes-sequential": "python",
    "primes-threads": "python-concurrent.futures", "primes-processes": "python-concurrent.futures",
    "wikipics-sequential": "python-urllib", "wikipics-threads": "python-urllib", "wikipics-async": "python-aiohttp",
    "queue-redis-enqueue": "python-celery", "queue-redis-drain": "python-celery",
    "queue-redis-latency-p50": "python-celery", "queue-redis-latency-p99": "python-celery",
}
impls = {(r["case"], r["impl"]) for r in rows}
missing = [c for c, peer in pairs.items() if (c, "simul") not in impls or (c, peer) not in impls]
assert not missing, f"cases without both rows: {missing}"
assert (("primes-async", "simul")) in impls
assert ("queue-sqlite-enqueue", "simul") in impls and ("queue-sqlite-drain", "simul") in impls
assert ("queue-redis-tls-enqueue", "simul") in impls and ("queue-redis-tls-drain", "simul") in impls
assert ("queue-redis-wait1-enqueue", "simul") in impls and ("queue-redis-wait1-drain", "simul") in impls
assert all(r["value"] > 0 for r in rows), "a figure is not positive"
page = open(sys.argv[2]).read()
assert "<svg" in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', ""), "report not self-contained"
print(f"bench JSON has {len(rows)} rows, ours and the Python peer's for every case; the HTML report has charts")
PY

step "fuzzing: 20 s each of the RESP parser, the AMQP codec, and the JSON parser and message codec (scripts/fuzz.sh)"
# A short pass from the seed corpora, so a harness that no longer builds or a crash on the seeds fails CI; the long
# runs are in docs/resp.md. Each builds its harness with libFuzzer and AddressSanitizer first, in debug, which
# compiles faster than the long runs' release build (in .build-fuzz-debug/).
SIMUL_FUZZ_CONFIGURATION=debug scripts/fuzz.sh resp 10000000 -max_total_time=20 -max_len=512
SIMUL_FUZZ_CONFIGURATION=debug scripts/fuzz.sh amqp 10000000 -max_total_time=20 -max_len=1024
SIMUL_FUZZ_CONFIGURATION=debug scripts/fuzz.sh json 10000000 -max_total_time=20

step "documentation: the DocC catalogs of Simul and SimulQueue build with warnings as errors"
# Only DocC's own lines: what it warns of, with the place, and where it put the archives.
SIMUL_DOCS=1 swift package generate-documentation --target Simul --target SimulQueue --warnings-as-errors 2>&1 |
    grep -vE '^\[[0-9]+/[0-9]+\]|unhandled; explicitly declare'

step "the example app: its smoke test on SQLite and on Redis, with a Python Celery client calling its tasks"
wait "$example_build" || { tail -40 .build/example-build.txt; exit 1; }
example_build=
scripts/example-smoke.sh

step "fault suite: scripts/faults.sh --quick"
# Kills workers, sends malformed messages and crashing tasks, and counts from the results and the tasks' own records
# that nothing is lost (docs/faults.md), on SQLite and on a Redis it starts itself. About 4 minutes; the timeout
# only stops a hang. Its driver, simul-faults, was built above with the rest; built again with other flags, it would
# recompile its dependencies.
SIMUL_BIN="$simul" SIMUL_FAULTS_BIN="$(dirname "$simul")/simul-faults" timeout 1200 scripts/faults.sh --quick

echo
printf "all checks passed in %dm%02ds\n" $((SECONDS / 60)) $((SECONDS % 60))
