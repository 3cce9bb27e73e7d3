#!/usr/bin/env bash
# Loads the dashboard's pages in headless Chromium, once on the embedded SQLite broker and once on Redis with a
# Python Celery worker (-E) beside the Simul worker, and checks what a user would see: the workers, the tasks, a
# failure's traceback, and a task whose argument is a script tag shown as text. It also checks that an action without
# the token is refused, that `simul dashboard --host 0.0.0.0` without a token refuses with one line, and that /metrics
# parses with prometheus_client. Screenshots go to .build/screenshots/. Everything listens on 127.0.0.1.
#   Usage: scripts/browser-test.sh [sqlite|redis ...]     (default: both)
#   Env:   SIMUL_BIN   the simul binary (default: swift build --show-bin-path)/simul
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

say() { printf '== %s\n' "$*"; }
fail() {
    printf 'browser-test: FAIL: %s\n' "$*" >&2
    exit 1
}

brokers=("$@")
[ ${#brokers[@]} -gt 0 ] || brokers=(sqlite redis)
for broker_kind in "${brokers[@]}"; do
    case $broker_kind in sqlite | redis) ;; *) fail "unknown broker '$broker_kind' (use sqlite or redis)" ;; esac
done

simul=${SIMUL_BIN:-$(swift build --show-bin-path)/simul}
[ -x "$simul" ] || fail "no simul binary at $simul: run 'swift build' or set SIMUL_BIN"

if ! command -v chromium >/dev/null 2>&1; then
    say "installing chromium (Debian)"
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
fi
python=$(scripts/python-celery-env.sh)
if ! "$python" -c 'import prometheus_client' 2>/dev/null; then
    say "installing prometheus_client into the Celery virtualenv"
    "$python" -m pip install --quiet --disable-pip-version-check prometheus_client
fi
if [[ " ${brokers[*]} " == *" redis "* ]] && ! command -v redis-server >/dev/null 2>&1; then
    say "installing redis-server (Debian)"
    apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/simul-browser.XXXXXX")
shots=$root/.build/screenshots
mkdir -p "$shots"
token=browser-test-$RANDOM$RANDOM

script=browser-test
# shellcheck source=scripts/lib/processes.sh
. scripts/lib/processes.sh

on_exit() {
    local status=$?
    trap - EXIT INT TERM
    stop_all
    if [ "$status" -ne 0 ]; then
        print_logs 20
        echo "logs: $work" >&2
    else
        rm -rf "$work"
    fi
    exit "$status"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Asks the JSON API and checks it with a Python expression over `data`.
api_has() {
    local path=$1 expression=$2
    curl -fsS "$dashboard$path" | "$python" -c "import json, sys; data = json.load(sys.stdin); sys.exit(0 if ($expression) else 1)"
}

# The page's DOM after its scripts ran, as headless Chromium sees it.
dump() {
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
        --user-data-dir="$work/chromium" --dump-dom "$dashboard$1" 2>>"$work/chromium.log"
}

screenshot() {
    local name=$1 path=$2
    timeout 60 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run \
        --user-data-dir="$work/chromium" --hide-scrollbars --window-size=1400,1000 \
        --screenshot="$shots/$name.png" "$dashboard$path" >>"$work/chromium.log" 2>&1
    [ -s "$shots/$name.png" ] || fail "no screenshot $shots/$name.png"
    echo "screenshot: $shots/$name.png"
}

expect_in() {
    local file=$1 text=$2 what=$3
    grep -qF -- "$text" "$file" || fail "$what: '$text' is not on the page (DOM in $file)"
    echo "ok: $what"
}

expect_not_in() {
    local file=$1 text=$2 what=$3
    ! grep -qF -- "$text" "$file" || fail "$what: '$text' is on the page (DOM in $file)"
    echo "ok: $what"
}

say "simul dashboard --host 0.0.0.0 without a token refuses with one line"
if env -u SIMUL_DASHBOARD_TOKEN "$simul" dashboard --host 0.0.0.0 --port 0 \
    >"$work/refuse.out" 2>"$work/refuse.err"; then
    fail "the dashboard started on 0.0.0.0 without a token"
fi
if [ "$(wc -l <"$work/refuse.err")" -ne 1 ] || ! grep -q '^Error: binding 0.0.0.0 ' "$work/refuse.err"; then
    fail "expected one 'Error: binding 0.0.0.0 ...' line, got: $(cat "$work/refuse.err")"
fi
echo "ok: $(cat "$work/refuse.err")"

xss='<script>alert(1)</script>'
xss_escaped='&lt;script&gt;alert(1)&lt;/script&gt;'

run_broker() {
    local kind=$1 broker redis_port
    say "$kind: broker, workers, dashboard"
    if [ "$kind" = sqlite ]; then
        broker="sqlite://$work/queue.sqlite"
        start simul-worker "$simul" worker --broker "$broker" -c 2 -n "swift@%h"
    else
        redis_port=$(free_port)
        mkdir -p "$work/redis"
        start redis redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$work/redis"
        wait_for 10 "redis-server on $redis_port" redis-cli -h 127.0.0.1 -p "$redis_port" ping
        broker="redis://127.0.0.1:$redis_port/0"
        start simul-worker "$simul" worker --broker "$broker" -Q simul -c 2 -n "swift@%h" \
            --route 'pytasks.*=celery' --route 'simul.*=simul'
        start python-worker env BROKER="$broker" BACKEND="$broker" PYTHONPATH="$root/interop" \
            PYTHONDONTWRITEBYTECODE=1 "$python" -m celery -A pytasks worker -E -Q celery -c 1 -P solo -n 'py@%h' \
            --loglevel=INFO
    fi
    local port
    port=$(free_port)
    dashboard="http://127.0.0.1:$port"
    start dashboard "$simul" dashboard --broker "$broker" --port "$port" --token "$token"
    wait_for 30 "the dashboard on $dashboard" curl -fsS "$dashboard/healthz"

    local routes=()
    [ "$kind" = redis ] && routes=(--route 'pytasks.*=celery' --route 'simul.*=simul')
    # The workers first, so that on Redis the dashboard is listening before the tasks' events are published.
    wait_for 30 "the Simul worker on /api/workers" api_has /api/workers \
        "any(w['hostname'].startswith('swift@') and w['online'] for w in data)"
    if [ "$kind" = redis ]; then
        wait_for 60 "the Python Celery worker on /api/workers" api_has /api/workers \
            "any(w['hostname'].startswith('py@') and w['online'] for w in data)"
    fi

    say "$kind: tasks"
    local added failed hostile python_task=""
    added=$("$simul" send simul.add --args '[2, 3]' --broker "$broker" "${routes[@]}" | head -1)
    failed=$("$simul" send simul.fail --args '["boom"]' --broker "$broker" "${routes[@]}" | head -1)
    hostile=$("$simul" send simul.fail --args "[\"$xss\"]" --broker "$broker" "${routes[@]}" | head -1)
    "$simul" result "$added" --wait --timeout 60 --broker "$broker" >/dev/null
    "$simul" result "$hostile" --wait --timeout 60 --broker "$broker" >/dev/null 2>&1 || true
    if [ "$kind" = redis ]; then
        python_task=$("$simul" send pytasks.add --args '[20, 22]' --broker "$broker" "${routes[@]}" | head -1)
        "$simul" result "$python_task" --wait --timeout 60 --broker "$broker" >/dev/null
    fi
    # A message no worker takes, for the queues page, and one no worker can read, for the dead letters.
    local worker_queue=celery
    [ "$kind" = redis ] && worker_queue=simul
    "$simul" send simul.noop -Q parked --broker "$broker" >/dev/null
    printf '{"body": "cut short' >"$work/broken.json"
    "$simul" send --raw "$work/broken.json" -Q "$worker_queue" --broker "$broker" >/dev/null
    wait_for 30 "the parked message on /api/queues" api_has /api/queues \
        "any(q['name'] == 'parked' and q['waiting'] == 1 for q in data)"
    wait_for 30 "the broken message on /api/dead-letters" api_has /api/dead-letters "len(data) >= 1"
    for id in "$added" "$failed" "$hostile" $python_task; do
        wait_for 30 "task $id finished on /api/tasks/$id" api_has "/api/tasks/$id" \
            "data['task']['state'] in ('SUCCESS', 'FAILURE')"
    done
    wait_for 10 "task events for $failed" api_has "/api/tasks/$failed" "data['traceback'] and data['task']['name']"

    say "$kind: pages in headless Chromium"
    dump /workers >"$work/workers.html"
    expect_in "$work/workers.html" "swift@" "$kind: the workers page shows the Simul worker"
    expect_in "$work/workers.html" "simul 0.1" "$kind: the workers page names Simul's software"
    if [ "$kind" = redis ]; then
        expect_in "$work/workers.html" "py@" "$kind: the workers page shows the Python Celery worker"
        expect_in "$work/workers.html" "py-celery" "$kind: the workers page names Celery's software"
    fi
    dump /tasks >"$work/tasks.html"
    for id in "$added" "$failed" "$hostile" $python_task; do
        expect_in "$work/tasks.html" "$id" "$kind: the task list shows $id"
    done
    expect_in "$work/tasks.html" "[\"$xss_escaped\"]" "$kind: the task list shows the script argument as text"
    expect_not_in "$work/tasks.html" "$xss" "$kind: the task list has no script element from the argument"
    dump "/tasks?state=FAILURE" >"$work/failures.html"
    expect_in "$work/failures.html" "$failed" "$kind: the FAILURE filter shows the failure"
    expect_not_in "$work/failures.html" "$added" "$kind: the FAILURE filter hides the success"
    dump "/tasks/$failed" >"$work/failed.html"
    expect_in "$work/failed.html" "Traceback" "$kind: the failure's page shows its traceback"
    expect_in "$work/failed.html" "ValueError" "$kind: the failure's page names the exception"
    expect_in "$work/failed.html" "RECEIVED" "$kind: the failure's page shows its timeline"
    dump "/tasks/$hostile" >"$work/hostile.html"
    expect_in "$work/hostile.html" "$xss_escaped" "$kind: the detail page shows the script argument as text"
    expect_not_in "$work/hostile.html" "$xss" "$kind: the detail page has no script element from the argument"
    dump /queues >"$work/queues.html"
    expect_in "$work/queues.html" '<td>parked</td><td class="num">1</td>' "$kind: the queues page shows the parked message"
    expect_in "$work/queues.html" 'action="/actions/purge"' "$kind: the queues page offers a purge"
    dump /dead-letters >"$work/dead-letters.html"
    expect_in "$work/dead-letters.html" "invalid JSON" "$kind: the dead letters page gives the reason"
    expect_in "$work/dead-letters.html" 'action="/actions/replay"' "$kind: the dead letters page offers a replay"
    dump "/" >"$work/overview.html"
    expect_in "$work/overview.html" '<svg class="chart"' "$kind: the overview draws the throughput chart"
    # Headless Chromium dumps the DOM at the load event, before the page's EventSource has spoken, so the live feed
    # is checked on the wire: one update with the folded state.
    curl -fsS -N --max-time 10 "$dashboard/events?max=1" >"$work/events.txt"
    if ! grep -q '^event: update$' "$work/events.txt" ||
        ! grep -q '^data: {.*"workers_online":[1-9]' "$work/events.txt"; then
        fail "/events did not send an update with a worker online: $(cat "$work/events.txt")"
    fi
    echo "ok: $kind: /events streams live updates: $(grep '^data:' "$work/events.txt" | head -c 160)"

    screenshot "$kind-overview" /
    screenshot "$kind-workers" /workers
    screenshot "$kind-tasks" /tasks
    screenshot "$kind-task-failure" "/tasks/$failed"
    screenshot "$kind-task-script-args" "/tasks/$hostile"
    screenshot "$kind-queues" /queues
    screenshot "$kind-dead-letters" /dead-letters

    say "$kind: an action without the token is refused"
    local status
    status=$(curl -s -o "$work/action.out" -w '%{http_code}' -X POST -d 'queue=celery' "$dashboard/actions/purge")
    [ "$status" = 401 ] || [ "$status" = 403 ] || fail "a purge without the token answered $status"
    echo "ok: POST /actions/purge without the token -> $status"
    status=$(curl -s -o "$work/action.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $token" \
        -d 'queue=parked' "$dashboard/actions/purge")
    if [ "$status" != 200 ] || ! grep -qF '"purged":1' "$work/action.out"; then
        fail "a purge with the token answered $status: $(cat "$work/action.out")"
    fi
    echo "ok: POST /actions/purge with the token -> $status $(cat "$work/action.out")"

    status=$(curl -s -o /dev/null -w '%{http_code}' -H "Host: rebound.example:$port" "$dashboard/api/workers")
    [ "$status" = 421 ] || fail "a request naming a foreign host answered $status"
    echo "ok: a request naming a foreign host (DNS rebinding) -> $status"

    say "$kind: terminate a running task the way the page does: log in, then post the form with its CSRF token"
    local sleeper csrf
    sleeper=$("$simul" send simul.sleep --args '[60]' --broker "$broker" "${routes[@]}" | head -1)
    wait_for 30 "task $sleeper started" api_has "/api/tasks/$sleeper" "data['task']['state'] == 'STARTED'"
    csrf=$(curl -fsS "$dashboard/login" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//; s/"$//')
    status=$(curl -s -o /dev/null -w '%{http_code}' -c "$work/cookies" -H "Origin: $dashboard" \
        --data-urlencode "token=$token" -d "csrf=$csrf" "$dashboard/login")
    [ "$status" = 303 ] || fail "logging in answered $status"
    status=$(curl -s -o /dev/null -w '%{http_code}' -b "$work/cookies" -H "Origin: http://evil.example" \
        -d "task_id=$sleeper&terminate=1&csrf=$csrf" "$dashboard/actions/revoke")
    [ "$status" = 403 ] || fail "a terminate from a foreign origin answered $status"
    echo "ok: a terminate posted from a foreign origin, with the cookie and the CSRF token -> $status"
    status=$(curl -s -o /dev/null -w '%{http_code}' -b "$work/cookies" -H "Origin: $dashboard" \
        -d "task_id=$sleeper&terminate=1&csrf=$csrf" "$dashboard/actions/revoke")
    [ "$status" = 303 ] || fail "a terminate with the cookie and the CSRF token answered $status"
    wait_for 30 "task $sleeper revoked" api_has "/api/tasks/$sleeper" "data['task']['state'] == 'REVOKED'"
    echo "ok: a terminate from the task's page -> $status, and the running task is REVOKED"
    ! grep -qF "$token" "$work/cookies" || fail "the login cookie holds the dashboard token"
    echo "ok: the login cookie holds a session id, not the token"
    status=$(curl -s -o /dev/null -w '%{http_code}' -b "$work/cookies" -H "Origin: $dashboard" \
        -d "csrf=$csrf" "$dashboard/logout")
    [ "$status" = 303 ] || fail "logging out answered $status"
    status=$(curl -s -o /dev/null -w '%{http_code}' -b "$work/cookies" -H "Origin: $dashboard" \
        -d "queue=parked&csrf=$csrf" "$dashboard/actions/purge")
    [ "$status" = 401 ] || fail "a purge with the session cookie after logging out answered $status"
    echo "ok: after POST /logout the old session cookie is refused -> $status"

    say "$kind: HEAD answers like GET, and an overflowing page is a 400 that leaves the dashboard up"
    status=$(curl -s -o /dev/null -w '%{http_code}' -I "$dashboard/healthz")
    [ "$status" = 200 ] || fail "HEAD /healthz answered $status"
    status=$(curl -s -o /dev/null -w '%{http_code}' "$dashboard/tasks?page=184467440737095518")
    [ "$status" = 400 ] || fail "/tasks?page=184467440737095518 answered $status"
    curl -fsS "$dashboard/healthz" >/dev/null || fail "the dashboard stopped answering after an overflowing page"
    echo "ok: HEAD /healthz -> 200; /tasks?page=184467440737095518 -> 400, and the dashboard still answers"

    say "$kind: /metrics parses with prometheus_client"
    curl -fsS "$dashboard/metrics" >"$work/metrics.txt"
    "$python" - "$work/metrics.txt" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families

families = {family.name: family for family in text_string_to_metric_families(open(sys.argv[1]).read())}
for name in ("simul_tasks", "simul_task_runtime_seconds", "simul_queue_length", "simul_workers_online"):
    assert name in families, f"{name} missing from /metrics: {sorted(families)}"
states = {sample.labels["state"] for sample in families["simul_tasks"].samples}
assert {"SUCCESS", "FAILURE"} <= states, f"task states in /metrics: {states}"
assert families["simul_task_runtime_seconds"].type == "histogram"
online = families["simul_workers_online"].samples[0].value
assert online >= 1, f"simul_workers_online is {online}"
print(f"ok: /metrics parses: {len(families)} families, states {sorted(states)}, {online:g} workers online")
PY
    stop_all
}

for kind in "${brokers[@]}"; do run_broker "$kind"; done
echo "browser test passed: ${brokers[*]}"
