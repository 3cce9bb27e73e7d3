#!/usr/bin/env bash
# The project's test command (the README's second command, and what CI runs).
# Builds with warnings as errors, runs every test suite, then runs the CLI the way a user would.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }

need_python() {
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
        step "installing python3 and venv (Debian)"
        apt-get update -qq && apt-get install -y -qq python3 python3-venv >/dev/null
    fi
}

need_redis() {
    # The SimulRedis integration tests start their own redis-server (or use SIMUL_TEST_REDIS_URL).
    if [ -z "${SIMUL_TEST_REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
        step "installing redis-server (Debian)"
        apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
    fi
}

need_python
need_redis

step "build (warnings are errors)"
swift build --build-tests -Xswiftc -warnings-as-errors

# A test that hangs must fail the run with evidence, not stall it: past the limit, name the tests that never
# finished, print every thread's stack, and kill the test process.
test_watchdog() {
    sleep "$1" </dev/null >/dev/null 2>&1 &
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
trap 'kill "$watchdog_pid" 2>/dev/null || true' EXIT
# Line-buffered, so the log shows every test that started even if the process is killed.
stdbuf -oL -eL swift test --skip-build 2>&1 | tee .build/test-output.txt
kill "$watchdog_pid"
grep -Eq "Test run with [0-9]+ tests? .*passed" .build/test-output.txt

step "CLI smoke: simul demo --quick"
simul=$(swift build --show-bin-path)/simul
"$simul" demo --quick

step "CLI smoke: bad input gets one clear line and a non-zero exit"
expect_one_line_error() {
    local expected=$1
    shift
    if "$simul" "$@" >/dev/null 2>.build/bad-input.txt; then
        echo "expected 'simul $*' to fail" >&2
        exit 1
    fi
    if ! grep -q "^Error: $expected" .build/bad-input.txt || [ "$(wc -l <.build/bad-input.txt)" -ne 1 ]; then
        echo "'simul $*' should print one line 'Error: $expected...', it printed:" >&2
        cat .build/bad-input.txt >&2
        exit 1
    fi
    echo "ok: simul $* -> $(cat .build/bad-input.txt)"
}
expect_one_line_error "unknown demo 'no-such-demo' (available: " demo no-such-demo
expect_one_line_error "--images must be at least 1, got 0" demo wikipics --images 0
expect_one_line_error "--rate must be at least 1 byte per second, got -1" demo wikipics --rate -1
expect_one_line_error "cannot read the URL list '/no/such/file'" demo wikipics --urls /no/such/file
expect_one_line_error "unknown language 'xx'" demo cakes --lang xx
expect_one_line_error "unknown suite 'nope'" bench nope
expect_one_line_error "--args must be a JSON array, such as '\[2, 3\]', got '{bad'" send simul.add --args '{bad'
expect_one_line_error "bad broker URL 'foo://x': unknown scheme 'foo'" send simul.add --broker foo://x
expect_one_line_error "cannot create the directory '/proc/simul-no-such-dir' for the SQLite broker" \
    send simul.add --broker sqlite:///proc/simul-no-such-dir/queue.sqlite
expect_one_line_error "'not-a-uuid' is not a task id (expected a UUID)" result not-a-uuid
expect_one_line_error "cannot connect to redis at 127.0.0.1:1: connection refused" \
    send simul.add --broker redis://127.0.0.1:1/0
expect_one_line_error "a route is TASK=QUEUE, such as 'simul.\*=simul', got 'nope'" send simul.add --route nope
expect_one_line_error "a chain step needs a task name, got ':\[1\]'" chain ':[1]'
expect_one_line_error "cannot read the id file '/no/such/file'" result --ids-from /no/such/file
expect_one_line_error "cannot read the envelope file '/no/such/file'" send --raw /no/such/file
expect_one_line_error "--count must be at least 1, got 0" send simul.noop --count 0
expect_one_line_error "--max-message-size must be at least 1, got 0" worker --max-message-size 0
expect_one_line_error "binding 0.0.0.0 exposes the dashboard beyond this machine" \
    dashboard --host 0.0.0.0 --token ''

step "CLI smoke: bad input on Redis (a wrong password, Redis unreachable, Redis gone mid-wait)"
expect_one_line_error "cannot connect to redis at 127.0.0.1:1: connection refused" \
    worker --broker redis://127.0.0.1:1/0
redis_dir=$(mktemp -d)
redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_test_redis() {
    redis-server --bind 127.0.0.1 --port "$redis_port" --requirepass secret --save '' --appendonly yes \
        --appendfsync always --dir "$redis_dir" --daemonize yes --pidfile "$redis_dir/redis.pid" \
        --logfile "$redis_dir/redis.log" >/dev/null
    for _ in $(seq 1 100); do
        redis-cli -h 127.0.0.1 -p "$redis_port" -a secret --no-auth-warning ping >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "redis-server did not start on 127.0.0.1:$redis_port" >&2
    return 1
}
stop_test_redis() {
    local pid
    pid=$(cat "$redis_dir/redis.pid" 2>/dev/null) || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$redis_dir/redis.pid"
}
trap 'stop_test_redis; rm -rf "$redis_dir"' EXIT
start_test_redis
expect_one_line_error "authentication to redis at 127.0.0.1:$redis_port failed: WRONGPASS" \
    send simul.add --args '[1,2]' --broker "redis://:wrong@127.0.0.1:$redis_port/0"
expect_one_line_error "authentication to redis at 127.0.0.1:$redis_port failed: WRONGPASS" \
    worker --broker "redis://:wrong@127.0.0.1:$redis_port/0"
expect_one_line_error "authentication to redis at 127.0.0.1:$redis_port failed: NOAUTH" \
    send simul.add --args '[1,2]' --broker "redis://127.0.0.1:$redis_port/0"
# A client waiting for a result whose Redis goes away for good: one line once Redis has been gone 20 s, and the task
# it sent is still queued when Redis comes back (nothing acknowledged, nothing lost).
redis_url="redis://:secret@127.0.0.1:$redis_port/0"
stdbuf -oL "$simul" send simul.add --args '[1,2]' --wait --broker "$redis_url" >"$redis_dir/wait.out" \
    2>"$redis_dir/wait.err" &
waiting_pid=$!
for _ in $(seq 1 100); do [ -s "$redis_dir/wait.out" ] && break; sleep 0.1; done
stop_test_redis
if wait "$waiting_pid"; then echo "send --wait succeeded with redis gone" >&2; exit 1; fi
if ! grep -q "^Error: lost redis at 127.0.0.1:$redis_port while waiting for task $(head -1 "$redis_dir/wait.out")" \
    "$redis_dir/wait.err" || [ "$(wc -l <"$redis_dir/wait.err")" -ne 1 ]; then
    echo "send --wait with redis gone should print one line 'Error: lost redis at ...', it printed:" >&2
    cat "$redis_dir/wait.err" >&2
    exit 1
fi
echo "ok: simul send --wait, redis stopped -> $(cat "$redis_dir/wait.err")"
start_test_redis
queued=$(redis-cli -h 127.0.0.1 -p "$redis_port" -a secret --no-auth-warning llen celery)
[ "$queued" = 1 ] || { echo "the task sent before redis stopped is not queued after its restart ($queued)" >&2; exit 1; }
echo "ok: the task is still queued after redis restarts"
stop_test_redis
trap - EXIT
rm -rf "$redis_dir"

step "CLI smoke: a worker process on the embedded SQLite broker"
queue_dir=$(mktemp -d)
broker="sqlite://$queue_dir/queue.sqlite"
"$simul" worker --broker "$broker" -c 2 2>"$queue_dir/worker.log" &
worker_pid=$!
sum=$("$simul" send simul.add --args '[2, 3]' --broker "$broker" --wait --timeout 60 | tail -1)
[ "$sum" = "5" ] || { echo "simul.add(2, 3) returned '$sum'" >&2; exit 1; }
echo "ok: simul send simul.add --args '[2, 3]' --wait -> $sum"
expect_one_line_error "NotRegistered: nosuch.task" send nosuch.task --broker "$broker" --wait --timeout 60
expect_one_line_error "ValueError: boom" send simul.fail --args '["boom"]' --broker "$broker" --wait --timeout 60
"$simul" inspect workers --broker "$broker"
kill -TERM "$worker_pid"
wait "$worker_pid" || { echo "the worker did not stop cleanly on SIGTERM" >&2; cat "$queue_dir/worker.log" >&2; exit 1; }
echo "ok: the worker stopped on SIGTERM"
rm -rf "$queue_dir"

step "Celery interop: Python Celery 5.7 and Flower 2.2 with the Simul worker and client on one Redis"
SIMUL_BIN="$simul" scripts/interop.sh

step "dashboard in headless Chromium: SQLite, then Redis with a Python Celery -E worker"
# Installs chromium when missing; screenshots go to .build/screenshots/ (docs/dashboard.md). About a minute.
SIMUL_BIN="$simul" timeout 300 scripts/browser-test.sh

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
assert all(r["value"] > 0 for r in rows), "a figure is not positive"
page = open(sys.argv[2]).read()
assert "<svg" in page and "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', ""), "report not self-contained"
print(f"bench JSON has {len(rows)} rows, ours and the Python peer's for every case; the HTML report has charts")
PY

step "fuzzing: 25 s each of the RESP parser, and of the JSON parser and message codec (scripts/fuzz.sh)"
# A short pass from the seed corpora, so a harness that no longer builds or a crash on the seeds fails CI; the long
# runs are in docs/resp.md. Each builds its harness with libFuzzer and AddressSanitizer first (in .build-fuzz/).
scripts/fuzz.sh resp 10000000 -max_total_time=25 -max_len=512
scripts/fuzz.sh json 10000000 -max_total_time=25

step "fault suite: scripts/faults.sh --quick"
# Kills workers, sends malformed messages and crashing tasks, and counts from the results and the tasks' own records
# that nothing is lost (docs/faults.md), on SQLite and on a Redis it starts itself. About 4 minutes; the timeout
# only stops a hang.
SIMUL_BIN="$simul" timeout 600 scripts/faults.sh --quick

echo
echo "all checks passed"
