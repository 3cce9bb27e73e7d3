#!/usr/bin/env bash
# The fault suite (docs/faults.md): breaks workers and messages on purpose and counts, from the result backend and
# from the tasks' own execution records, that nothing is lost.
#
#   scripts/faults.sh [--quick | --full] [--brokers sqlite,redis] [--only NAME[,NAME...]] [--keep]
#
#   --quick    scenarios 1-6 and 8 (the default; at most a few minutes; scripts/test.sh runs it)
#   --full     adds the soak: 1,000,000 tasks (FAULTS_SOAK_TASKS), memory and throughput checked
#   --brokers  the broker columns, sqlite,redis by default; for redis the suite starts its own redis-server
#              (append-only, fsync always) on a free 127.0.0.1 port, and stops it at exit
#   --only     run only these scenarios: kill9-threads, kill9-processes, kill9-async, repeated-kills,
#              redis-restart, poison, crash, graceful, soak, disk-full
#   --keep     keep the working directory (logs, ids, execution records) and print where it is
#
# Prints one table: scenario, broker, sent, completed, lost, duplicates, seconds, notes. Exits non-zero if any
# scenario lost a message or failed a check. SIMUL_BIN picks the simul binary (default: this package's debug build).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=quick
brokers=sqlite,redis
only=""
keep=false
while [ $# -gt 0 ]; do
    case $1 in
        --quick) mode=quick ;;
        --full) mode=full ;;
        --brokers) brokers=$2; shift ;;
        --brokers=*) brokers=${1#*=} ;;
        --only) only=$2; shift ;;
        --only=*) only=${1#*=} ;;
        --keep) keep=true ;;
        -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "faults.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ -z "${SIMUL_BIN:-}" ]; then
    swift build --product simul >&2
    SIMUL_BIN=$(swift build --show-bin-path)/simul
fi
simul=$SIMUL_BIN
tool="python3 scripts/faults.py"
work=$(mktemp -d "${TMPDIR:-/tmp}/simul-faults.XXXXXX")
table=$work/table.jsonl
: >"$table"
: >"$work/groups"

# Every worker runs in its own process group (setsid), listed in $work/groups, so that on exit this script kills
# exactly what it started, process-pool children included, and nothing else.
kill_started() {
    local group
    while read -r group; do kill -KILL -- "-$group" 2>/dev/null || true; done <"$work/groups"
    : >"$work/groups"
}
# The Redis column's server: started by this script with append-only on (every write fsynced before its reply), on a
# free 127.0.0.1 port, in its own directory under $work; daemonized, so its pid file says which process to stop,
# also after redis-restart has restarted it from inside a scenario.
redis_dir=$work/redis
redis_port=
redis_cli() { redis-cli -h 127.0.0.1 -p "$redis_port" "$@"; }
redis_pid() { cat "$redis_dir/redis.pid" 2>/dev/null || true; }
start_redis() {
    mkdir -p "$redis_dir"
    redis-server --bind 127.0.0.1 --port "$redis_port" --protected-mode yes --dir "$redis_dir" --save '' \
        --appendonly yes --appendfsync always --daemonize yes --pidfile "$redis_dir/redis.pid" \
        --logfile "$redis_dir/redis.log" --databases 16 >/dev/null
    wait_until 20 "redis-server on 127.0.0.1:$redis_port" redis_answers
}
redis_answers() { [ "$(redis_cli ping 2>/dev/null)" = PONG ]; }
# stop_redis [KILL|TERM]: stops the server this script started, and waits until its port is free.
stop_redis() {
    local pid
    pid=$(redis_pid)
    [ -n "$pid" ] || return 0
    kill "-${1:-KILL}" "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    rm -f "$redis_dir/redis.pid"
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
need_redis() {
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "faults.sh: installing redis-server (Debian)" >&2
        apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
    fi
    redis_port=$(free_port)
    start_redis
    printf '\n== redis-server %s on 127.0.0.1:%s (append-only, fsync always), in %s\n' \
        "$(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p')" "$redis_port" "$redis_dir" >&2
}

# unmount_all: unmounts the file systems a scenario mounted under $work (disk-full's tmpfs), lazily if still busy.
unmount_all() {
    local target
    while read -r target; do umount "$target" 2>/dev/null || umount -l "$target" 2>/dev/null || true; done \
        < <(awk -v work="$work/" 'index($2, work) == 1 { print $2 }' /proc/mounts)
}

scenario_pid=
finish() {
    set +e
    if [ -n "$scenario_pid" ]; then
        kill -TERM "$scenario_pid" 2>/dev/null
        wait "$scenario_pid" 2>/dev/null
    fi
    kill_started
    unmount_all
    stop_redis
    if $keep; then echo "faults.sh: kept $work" >&2; else rm -rf "$work"; fi
}
trap finish EXIT
trap 'exit 130' INT TERM

# --- helpers -----------------------------------------------------------------------------------------------------

now() { date +%s.%N; }
since() { awk -v start="$1" -v end="$(now)" 'BEGIN { printf "%.1f", end - start }'; }
lines() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
distinct() { if [ -f "$1" ]; then sort -u "$1" | wc -l; else echo 0; fi; }
say() { printf '   %s\n' "$*" >&2; }

# start_worker URL LOG [simul worker options...]: starts a worker in its own process group; sets $worker_pid.
start_worker() {
    local url=$1 log=$2
    shift 2
    setsid "$simul" worker --broker "$url" "$@" >>"$log" 2>&1 &
    worker_pid=$!
    echo "$worker_pid" >>"$work/groups"
}

# kill_now PID: kill -9, and reap it without the shell's "Killed" notice.
kill_now() {
    kill -KILL "$1"
    wait "$1" 2>/dev/null || true
}

# stop_worker PID [SECONDS]: SIGTERM, then wait for it; fails if it does not exit 0 in time.
stop_worker() {
    local pid=$1 limit=${2:-30} start
    start=$(now)
    kill -TERM "$pid"
    while kill -0 "$pid" 2>/dev/null; do
        if awk -v s="$(since "$start")" -v l="$limit" 'BEGIN { exit !(s > l) }'; then
            echo "worker $pid did not stop within $limit s of SIGTERM" >&2
            return 1
        fi
        sleep 0.1
    done
    wait "$pid"
}

# wait_until SECONDS WHAT COMMAND...: polls COMMAND until it succeeds; fails after SECONDS.
wait_until() {
    local limit=$1 what=$2 start
    shift 2
    start=$(now)
    until "$@"; do
        if awk -v s="$(since "$start")" -v l="$limit" 'BEGIN { exit !(s > l) }'; then
            echo "timed out after $limit s waiting for: $what" >&2
            return 1
        fi
        sleep 0.2
    done
}

at_least() { [ "$("$1" "$2")" -ge "$3" ]; }
success_count() {
    "$simul" result --json --ids-from "$2" --broker "$1" | grep -c '"status":"SUCCESS"' || true
}
all_succeeded() { [ "$(success_count "$1" "$2")" -eq "$(lines "$2")" ]; }
waiting() { "$simul" inspect queues --json --broker "$1" | python3 -c 'import json,sys; print(sum(json.load(sys.stdin).values()))'; }
active_ids() { "$simul" inspect active --json --broker "$1" | python3 -c 'import json,sys; [print(t["id"]) for t in json.load(sys.stdin)]'; }

# wait_done URL DIR SECONDS: until every id in DIR/ids has recorded an execution and has a SUCCESS stored.
wait_done() {
    wait_until "$3" "every task recorded" at_least distinct "$2/records" "$(lines "$2/ids")"
    wait_until 60 "every result stored" all_succeeded "$1" "$2/ids"
}

# collect URL DIR: the results of every id sent, and the dead letters, for counting.
collect() {
    cat "$2"/ids "$2"/bad-ids 2>/dev/null >"$2/all-ids" || true
    "$simul" result --json --ids-from "$2/all-ids" --broker "$1" >"$2/results.jsonl"
    "$simul" dead-letters list --json --limit 100000 --broker "$1" >"$2/dead-letters.json"
}

# settled URL DIR MANIFEST: whether every good task succeeded and every message in MANIFEST reached its end.
settled() {
    collect "$1" "$2"
    $tool tally --scenario check --broker - --table /dev/null --check-only --good "$2/ids" --bad "$3" \
        --results "$2/results.jsonl" --dead-letters "$2/dead-letters.json"
}

# loaded URL FILE BROKER HELD RECORDS: whether 50 tasks run and none waits (the graceful scenario's worker holds them
# all); FILE gets the ids running. On Redis, `inspect active` learns from 2.5 s of events, by which time the first
# two-second tasks are done, so there it asks Redis itself: the queue is empty, HELD messages are in `unacked`, and
# the records file still has RECORDS lines (no task finished since), so the worker runs 50 and holds the rest; the
# ids in flight are the ones recorded after the signal.
loaded() {
    if [ "$3" = redis ]; then
        local db=${1##*/}
        : >"$2"
        [ "$(redis_cli -n "$db" llen celery)" -eq 0 ] && [ "$(redis_cli -n "$db" hlen unacked)" -eq "$4" ] \
            && [ "$(lines "$dir/records")" -eq "$5" ]
        return
    fi
    active_ids "$1" >"$2" && [ "$(wc -l <"$2")" -eq 50 ] && [ "$(waiting "$1")" -eq 0 ]
}

# tally SCENARIO BROKER DIR START [faults.py tally options...]: counts and appends the row.
tally() {
    local scenario=$1 broker=$2 dir=$3 start=$4
    shift 4
    $tool tally --scenario "$scenario" --broker "$broker" --table "$table" --seconds "$(since "$start")" \
        --good "$dir/ids" --results "$dir/results.jsonl" --dead-letters "$dir/dead-letters.json" \
        --records "$dir/records" "$@"
}

check() { if "${@:2}"; then echo "$1=ok"; else echo "$1=FAIL"; fi; }

# lease_for BROKER: the workers' lease in the kill scenarios. Redis restores a dead worker's messages when their lease
# is older than this; 5 s leaves a loaded 2-core machine room to renew (every third of it) before that.
lease_for() { if [ "$1" = redis ]; then echo 5; else echo 3; fi; }

# send_raw URL BROKER FILE...: each file's bytes as one message on the queue `celery`, as they are. On Redis it is
# what any kombu producer does, an LPUSH of the envelope onto the queue's list (redis-cli, not simul); on SQLite,
# `simul send --raw`.
send_raw() {
    local url=$1 broker=$2 file
    shift 2
    if [ "$broker" = redis ]; then
        for file in "$@"; do redis_cli -n "${url##*/}" -x lpush celery <"$file" >/dev/null; done
    else
        # shellcheck disable=SC2046
        "$simul" send $(printf -- '--raw %s ' "$@") --broker "$url" >/dev/null
    fi
}

# --- scenarios ---------------------------------------------------------------------------------------------------
# Each runs as scenario_NAME URL DIR BROKER in a subshell, with its own broker (a fresh SQLite file, or a fresh Redis
# database), and ends with `tally`. A scenario that fails before its tally gets a FAILED row.

# 1. kill -9 a worker a quarter of the way through 10,000 tasks; a second worker finishes the rest.
scenario_kill9() {
    local url=$1 dir=$2 broker=$3 pool=$4 count=10000 concurrency=4 start killed_at lease
    lease=$(lease_for "$broker")
    start=$(now)
    "$simul" send simul.record --args "[\"$dir/records\", 0.001]" --count $count --broker "$url" >"$dir/ids"
    start_worker "$url" "$dir/first.log" --pool "$pool" -c $concurrency --lease "$lease" -n first@faults
    local first=$worker_pid
    wait_until 120 "a quarter of the tasks recorded" at_least lines "$dir/records" $((count / 4))
    kill_now "$first"
    killed_at=$(lines "$dir/records")
    start_worker "$url" "$dir/second.log" --pool "$pool" -c $concurrency --lease "$lease" -n second@faults
    local second=$worker_pid
    wait_done "$url" "$dir" 300
    stop_worker "$second"
    collect "$url" "$dir"
    # At most prefetch (4 x concurrency) + concurrency messages were held by the killed worker.
    tally "kill9-$pool" "$broker" "$dir" "$start" --max-duplicates $((concurrency * 4 + concurrency)) \
        --note "killed at $killed_at of $count executions"
}
scenario_kill9-threads() { scenario_kill9 "$@" threads; }
scenario_kill9-processes() { scenario_kill9 "$@" processes; }
scenario_kill9-async() { scenario_kill9 "$@" async; }

# 2. Three workers; every second for 10 s, kill -9 one of them and start another in its place.
scenario_repeated-kills() {
    local url=$1 dir=$2 broker=$3 count=20000 concurrency=4 kills=10 start i last_kill_at lease
    lease=$(lease_for "$broker")
    start=$(now)
    "$simul" send simul.record --args "[\"$dir/records\", 0.01]" --count $count --broker "$url" >"$dir/ids"
    local workers=()
    for i in 0 1 2; do
        start_worker "$url" "$dir/workers.log" -c $concurrency --lease "$lease" -n "w$i@faults"
        workers[i]=$worker_pid
    done
    for i in $(seq 1 $kills); do
        sleep 1
        kill_now "${workers[i % 3]}"
        start_worker "$url" "$dir/workers.log" -c $concurrency --lease "$lease" -n "w$((i + 2))@faults"
        workers[i % 3]=$worker_pid
    done
    last_kill_at=$(distinct "$dir/records")
    wait_done "$url" "$dir" 300
    for i in 0 1 2; do stop_worker "${workers[i]}"; done
    collect "$url" "$dir"
    tally repeated-kills "$broker" "$dir" "$start" --max-duplicates $((kills * (concurrency * 4 + concurrency))) \
        --check "$(check "still running at the last kill ($last_kill_at of $count done)" [ "$last_kill_at" -lt $count ])" \
        --note "$kills kills"
}

# 3. Redis only: kill -9 Redis (append-only, fsync always) mid-run of 10,000 tasks while a client is still sending
# them and others wait for results, keep it down 2 s, start it again on the same port and files. Nothing is restarted
# but Redis: the workers, the sender and the waiters must reconnect by themselves.
scenario_redis-restart() {
    local url=$1 dir=$2 broker=$3 count=10000 concurrency=4 start producer i
    start=$(now)
    local workers=()
    start_worker "$url" "$dir/threads.log" --pool threads -c $concurrency --lease 5 -n threads@faults
    workers+=("$worker_pid")
    start_worker "$url" "$dir/async.log" --pool async -c $concurrency --lease 5 -n async@faults
    workers+=("$worker_pid")
    setsid stdbuf -oL "$simul" send simul.record --args "[\"$dir/records\", 0.001]" --count $count --broker "$url" \
        >"$dir/ids" 2>"$dir/sender.log" &
    producer=$!
    echo "$producer" >>"$work/groups"
    # shellcheck disable=SC2016 # expanded by eval at each check, not now
    wait_until 120 "a quarter of the tasks sent and 500 run" \
        eval '[ "$(lines "$dir/ids")" -ge $((count / 4)) ] && [ "$(lines "$dir/records")" -ge 500 ]'
    # Waiters across the restart: `simul result --wait` on the newest ids sent, and a `simul send --wait`.
    local waiters=()
    tail -n 3 "$dir/ids" >"$dir/waited-ids"
    while read -r id; do
        setsid "$simul" result "$id" --wait --timeout 240 --broker "$url" >"$dir/waiter-$id.out" 2>&1 &
        waiters+=($!)
        echo "$!" >>"$work/groups"
    done <"$dir/waited-ids"
    setsid stdbuf -oL "$simul" send simul.record --args "[\"$dir/records\"]" --wait --timeout 240 --broker "$url" \
        >"$dir/send-wait.out" 2>&1 &
    waiters+=($!)
    echo "$!" >>"$work/groups"
    wait_until 30 "the send --wait sent" at_least lines "$dir/send-wait.out" 1
    # First Redis drops every client's connection (CLIENT KILL): they must reconnect and work must go on.
    local killed_at
    killed_at=$(distinct "$dir/records")
    redis_cli client kill type normal >/dev/null
    redis_cli client kill type pubsub >/dev/null
    wait_until 120 "500 more tasks run after CLIENT KILL" at_least distinct "$dir/records" $((killed_at + 500))
    # Then Redis itself dies.
    local sent_at done_at
    sent_at=$(lines "$dir/ids")
    done_at=$(distinct "$dir/records")
    stop_redis KILL
    sleep 2
    start_redis
    say "restarted redis with $sent_at of $count sent and $done_at run"
    local checks=() rc=0
    wait "$producer" || rc=$?
    local printed
    printed=$(lines "$dir/ids")
    checks+=("$(check "the sender finished by itself (exit $rc, $printed ids)" [ $((rc == 0 && printed == count)) -eq 1 ])")
    for i in "${!waiters[@]}"; do
        rc=0
        wait "${waiters[i]}" || rc=$?
        checks+=("$(check "waiter $((i + 1)) got its result (exit $rc)" [ $rc -eq 0 ])")
    done
    head -n 1 "$dir/send-wait.out" >>"$dir/ids"
    wait_done "$url" "$dir" 300
    for i in "${!workers[@]}"; do
        checks+=("$(check "worker ${workers[i]} was never restarted" kill -0 "${workers[i]}")")
    done
    for i in "${!workers[@]}"; do stop_worker "${workers[i]}"; done
    collect "$url" "$dir"
    local args=()
    for c in "${checks[@]}"; do args+=(--check "$c"); done
    # What a restart may run twice: messages whose lease ran out while Redis was down (what the two workers held),
    # and a batch of sends the client repeated because their replies were lost.
    tally redis-restart "$broker" "$dir" "$start" --max-duplicates $((2 * (concurrency * 4 + concurrency) + 64)) \
        "${args[@]}" --note "clients killed at $killed_at run; redis killed and restarted at $sent_at sent, $done_at run"
}

# 4. 1,000 good tasks interleaved with 100 bad messages of ten kinds, to one worker that must never restart.
scenario_poison() {
    local url=$1 dir=$2 broker=$3 start round
    start=$(now)
    $tool poison "$dir/bad" 10
    python3 -c 'import json,sys; [print(m["id"]) for m in map(json.loads, open(sys.argv[1])) if m["id"]]' \
        "$dir/bad/manifest.jsonl" >"$dir/bad-ids"
    start_worker "$url" "$dir/worker.log" -c 4 --lease 10 -n poison@faults
    local worker=$worker_pid
    for round in $(seq -f '%03g' 0 9); do
        "$simul" send simul.record --args "[\"$dir/records\"]" --count 100 --broker "$url" >>"$dir/ids"
        send_raw "$url" "$broker" "$dir/bad/$round"-*.json
    done
    wait_done "$url" "$dir" 120
    wait_until 120 "every bad message failed or dead-lettered" settled "$url" "$dir" "$dir/bad/manifest.jsonl" || true
    local alive
    alive=$(check "worker $worker never restarted" kill -0 "$worker")
    stop_worker "$worker"
    collect "$url" "$dir"
    tally poison "$broker" "$dir" "$start" --bad "$dir/bad/manifest.jsonl" --max-duplicates 0 --check "$alive"
}

# 5. Tasks that crash their process in the processes pool, each followed by good tasks.
scenario_crash() {
    local url=$1 dir=$2 broker=$3 start kind id expect
    start=$(now)
    start_worker "$url" "$dir/worker.log" --pool processes -c 2 --lease 30 -n crash@faults
    local worker=$worker_pid
    : >"$dir/bad.jsonl"
    for kind in trap segfault exit alloc loop; do
        case $kind in
            trap) expect='["WorkerLostError", "was killed by signal"]' ;;
            segfault) expect='["WorkerLostError", "(SIGSEGV, a segmentation fault) while running '"'simul.crash'"'"]' ;;
            exit) expect='["WorkerLostError", "exited with code 3 while running '"'simul.crash'"'"]' ;;
            alloc) expect='["WorkerLostError", "was killed by signal"]' ;;
            loop) expect='["TimeLimitExceeded", ""]' ;;
        esac
        id=$("$simul" send simul.crash --args "[\"$kind\"]" --time-limit 2 --broker "$url")
        echo "$id" >>"$dir/bad-ids"
        echo "{\"kind\": \"$kind\", \"id\": \"$id\", \"failure\": $expect}" >>"$dir/bad.jsonl"
        "$simul" send simul.record --args "[\"$dir/records\"]" --count 10 --broker "$url" >>"$dir/ids"
    done
    wait_done "$url" "$dir" 120
    wait_until 60 "every crash stored as a failure" settled "$url" "$dir" "$dir/bad.jsonl" || true
    local alive
    alive=$(check "worker $worker kept serving" kill -0 "$worker")
    stop_worker "$worker"
    collect "$url" "$dir"
    tally crash "$broker" "$dir" "$start" --bad "$dir/bad.jsonl" --max-duplicates 0 --check "$alive" --show-failures
}

# 6. SIGTERM with 50 two-second tasks running and 500 prefetched; then SIGTERM twice (cold) on the next worker.
scenario_graceful() {
    local url=$1 dir=$2 broker=$3 count=550 start timeout=10 options
    options=(-c 50 --prefetch-multiplier 11 --lease 60 --shutdown-timeout "$timeout")
    start=$(now)
    "$simul" send simul.record --args "[\"$dir/records\", 2]" --count $count --broker "$url" >"$dir/ids"

    start_worker "$url" "$dir/warm.log" "${options[@]}" -n warm@faults
    local warm=$worker_pid signalled rc=0
    wait_until 60 "50 tasks running and 500 prefetched" loaded "$url" "$dir/in-flight" "$broker" $count 0
    signalled=$(now)
    kill -TERM "$warm"
    wait "$warm" || rc=$?
    if [ "$broker" = redis ]; then cp "$dir/records" "$dir/in-flight"; fi
    local warm_exit warm_done warm_waiting
    warm_exit=$(since "$signalled")
    warm_done=$(success_count "$url" "$dir/ids")
    warm_waiting=$(waiting "$url")
    local checks=()
    checks+=("$(check "warm: exit 0 in ${warm_exit} s (timeout $timeout s)" \
        awk -v rc=$rc -v s="$warm_exit" -v l=$timeout 'BEGIN { exit !(rc == 0 && s <= l) }')")
    checks+=("$(check "warm: the $(lines "$dir/in-flight") in flight finished" all_succeeded "$url" "$dir/in-flight")")
    checks+=("$(check "warm: $warm_waiting back in the queue, $warm_done done" [ $((warm_waiting + warm_done)) -eq $count ])")

    start_worker "$url" "$dir/cold.log" "${options[@]}" -n cold@faults
    local cold=$worker_pid
    wait_until 60 "50 tasks running again" loaded "$url" "$dir/cold-in-flight" "$broker" "$warm_waiting" \
        "$(lines "$dir/records")"
    signalled=$(now)
    kill -TERM "$cold"
    sleep 0.5
    kill -TERM "$cold"
    rc=0
    wait "$cold" || rc=$?
    local cold_exit cold_done cold_waiting
    cold_exit=$(since "$signalled")
    cold_done=$(success_count "$url" "$dir/ids")
    cold_waiting=$(waiting "$url")
    checks+=("$(check "cold: exit 0 in ${cold_exit} s" awk -v rc=$rc -v s="$cold_exit" -v l=$timeout 'BEGIN { exit !(rc == 0 && s <= l) }')")
    checks+=("$(check "cold: $cold_waiting back in the queue, $cold_done done" [ $((cold_waiting + cold_done)) -eq $count ])")

    start_worker "$url" "$dir/drain.log" -c 250 --prefetch-multiplier 1 --lease 60 -n drain@faults
    local drain=$worker_pid
    wait_done "$url" "$dir" 120
    stop_worker "$drain"
    collect "$url" "$dir"
    local args=()
    for c in "${checks[@]}"; do args+=(--check "$c"); done
    # Only the cold shutdown may leave work to run twice: the 50 tasks it stopped waiting for.
    tally graceful "$broker" "$dir" "$start" --max-duplicates 50 "${args[@]}"
}

# 7. Soak (--full): 1,000,000 tasks from one client while one worker runs them, results expiring after 60 s.
scenario_soak() {
    local url=$1 dir=$2 broker=$3 count=${FAULTS_SOAK_TASKS:-1000000} start client worker t
    start=$(now)
    start_worker "$url" "$dir/worker.log" -c 4 --lease 30 --result-expires 60 -n soak@faults
    worker=$worker_pid
    setsid "$simul" send simul.record --args "[\"$dir/records\"]" --count "$count" --broker "$url" >"$dir/ids" &
    client=$!
    echo "$client" >>"$work/groups"
    rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
    : >"$dir/samples"
    # Sample every 5 s until every task has run; give up if the worker dies, the client stops short, or nothing
    # runs for two minutes.
    local done_now last_done=-1 last_progress=$start
    while done_now=$(lines "$dir/records") && [ "$done_now" -lt "$count" ]; do
        t=$(since "$start")
        echo "$t $done_now $(rss "$worker") $(rss "$client")" >>"$dir/samples"
        if [ "$done_now" -gt "$last_done" ]; then last_done=$done_now last_progress=$(now); fi
        if ! kill -0 "$worker" 2>/dev/null; then echo "the worker died" >&2; break; fi
        if ! kill -0 "$client" 2>/dev/null && [ "$(lines "$dir/ids")" -lt "$count" ]; then
            echo "the client stopped after sending $(lines "$dir/ids") of $count" >&2
            break
        fi
        if awk -v s="$(since "$last_progress")" 'BEGIN { exit !(s > 120) }'; then
            echo "no task ran for 120 s" >&2
            break
        fi
        sleep 5
    done
    wait "$client"
    local sent finished executions soak_checks=()
    sent=$(lines "$dir/ids")
    executions=$(lines "$dir/records")
    finished=$(distinct "$dir/records")
    while IFS= read -r line; do soak_checks+=(--check "$line"); done < <($tool soak "$dir/samples" "$count" || true)
    stop_worker "$worker" 60
    # Results expire during the soak, so the task's own records count what completed; the SUCCESS results are
    # checked for the last 1,000 tasks, sent less than a minute before the end.
    tail -n 1000 "$dir/ids" >"$dir/last-ids"
    soak_checks+=(--check "$(check "the last 1000 tasks have SUCCESS stored" all_succeeded "$url" "$dir/last-ids")")
    soak_checks+=(--check "$(check "the queue is empty" [ "$(waiting "$url")" -eq 0 ])")
    $tool tally --scenario soak --broker "$broker" --table "$table" --seconds "$(since "$start")" \
        --sent "$sent" --completed "$finished" --records "$dir/records" --good "$dir/ids" "${soak_checks[@]}" \
        --note "$executions executions"
}

# 8. SQLite only, as root: the broker's file on a 2 MiB tmpfs, filled by sends until the disk is full. A worker that
# cannot write its results stops within its shutdown timeout on SIGTERM, and at once on a second SIGTERM (cold); its
# messages stay leased. Then the tmpfs grows to 64 MiB, and a worker runs every task sent. Each of the first two
# workers gets 256 KiB freed just before it starts, so that it can start, and fills it.
scenario_disk-full() {
    local dir=$2 broker=$3 start timeout=5 disk url signalled rc exit_time
    disk=$dir/disk
    url="sqlite://$disk/queue.sqlite"
    start=$(now)
    mkdir -p "$disk"
    mount -t tmpfs -o size=2m tmpfs "$disk"
    trap 'kill_started; umount "$disk" 2>/dev/null || umount -l "$disk"' EXIT
    # Room for each worker to start (its first write is its worker-online event) and run a little, freed just
    # before it starts: 256 KiB of ballast each.
    head -c 262144 /dev/zero >"$disk/ballast-warm"
    head -c 262144 /dev/zero >"$disk/ballast-cold"
    rc=0
    "$simul" send simul.record --args "[\"$dir/records\"]" --count 20000 --broker "$url" >"$dir/ids" \
        2>"$dir/send.err" || rc=$?
    local checks=()
    checks+=("$(check "the sends stopped on a full disk after $(lines "$dir/ids") (exit $rc)" \
        grep -q 'database or disk is full' "$dir/send.err")")
    # SIGTERM once (warm), then twice (cold), each to a worker retrying its writes; both with a short lease, so the
    # messages they hold come back soon after.
    local kind
    for kind in warm cold; do
        rm "$disk/ballast-$kind"
        start_worker "$url" "$dir/$kind.log" -c 2 --lease 3 --shutdown-timeout $timeout -n "$kind@faults"
        local worker=$worker_pid
        wait_until 60 "the $kind worker failing to write results" grep -q 'cannot write results' "$dir/$kind.log"
        signalled=$(now)
        kill -TERM "$worker"
        if [ $kind = cold ]; then
            sleep 0.2
            kill -TERM "$worker"
        fi
        rc=0
        wait "$worker" || rc=$?
        exit_time=$(since "$signalled")
        local limit=2
        if [ $kind = warm ]; then limit=$((timeout + 2)); fi
        checks+=("$(check "$kind: exit 0 in $exit_time s (limit $limit s)" \
            awk -v rc=$rc -v s="$exit_time" -v l=$limit 'BEGIN { exit !(rc == 0 && s <= l) }')")
    done
    mount -o remount,size=64m "$disk"
    start_worker "$url" "$dir/drain.log" -c 4 --lease 30 -n drain@faults
    local drain=$worker_pid
    wait_done "$url" "$dir" 120
    stop_worker "$drain"
    collect "$url" "$dir"
    local args=()
    for c in "${checks[@]}"; do args+=(--check "$c"); done
    # The two stopped workers' tasks that ran but could not store results run again: at most what each held,
    # prefetch (4 x 2) + concurrency (2).
    tally disk-full "$broker" "$dir" "$start" --max-duplicates 20 "${args[@]}" --note "$(lines "$dir/ids") sent"
}

# --- the run -----------------------------------------------------------------------------------------------------

# broker_url BROKER DIR NAME: a fresh SQLite file in DIR, or the scenario's own database on the suite's Redis (its
# position in $scenarios), flushed first.
broker_url() {
    case $1 in
        sqlite) echo "sqlite://$2/queue.sqlite" ;;
        redis) echo "redis://127.0.0.1:$redis_port/$(redis_database "$3")" ;;
    esac
}
redis_database() {
    local index=1 each
    for each in $scenarios; do
        if [ "$each" = "$1" ]; then echo "$index"; return; fi
        index=$((index + 1))
    done
    echo 15
}

# why_not SCENARIO BROKER: prints why the scenario does not run in this column, if it does not.
why_not() {
    case $1 in
        redis-restart) [ "$2" = redis ] || echo "n/a: Redis only" ;;
        disk-full)
            if [ "$2" != sqlite ]; then echo "n/a: SQLite only"
            elif [ "$(id -u)" -ne 0 ]; then echo "skipped: needs root to mount a tmpfs"
            fi ;;
        soak) [ "$mode" = full ] || echo "skipped: --full only" ;;
    esac
}

run_scenario() {
    local name=$1 broker=$2 dir start rc
    dir=$work/$name-$broker
    mkdir -p "$dir"
    start=$(now)
    printf '\n== %s [%s]\n' "$name" "$broker" >&2
    # In the background and waited for, so that a signal to this script interrupts the wait and its trap runs.
    set +e
    if [ "$broker" = redis ]; then redis_cli -n "$(redis_database "$name")" flushdb >/dev/null; fi
    (
        set -e
        trap kill_started EXIT
        "scenario_$name" "$(broker_url "$broker" "$dir" "$name")" "$dir" "$broker"
    ) &
    scenario_pid=$!
    wait "$scenario_pid"
    rc=$?
    scenario_pid=
    set -e
    if [ $rc -ne 0 ] && ! grep -q "\"scenario\": \"$name\", \"broker\": \"$broker\"" "$table"; then
        $tool tally --scenario "$name" --broker "$broker" --table "$table" --seconds "$(since "$start")" \
            --check "the scenario did not finish (exit $rc; see the log above)=FAIL" >/dev/null || true
    fi
}

scenarios="kill9-threads kill9-processes kill9-async repeated-kills redis-restart poison crash graceful soak disk-full"
suite_start=$(now)
for broker in ${brokers//,/ }; do
    case $broker in
        sqlite) ;;
        redis) need_redis ;;
        *) echo "faults.sh: unknown broker '$broker' (use sqlite or redis)" >&2; exit 2 ;;
    esac
    for name in $scenarios; do
        if [ -n "$only" ] && [[ ",$only," != *",$name,"* ]]; then continue; fi
        reason=$(why_not "$name" "$broker")
        if [ -n "$reason" ]; then
            $tool skip --scenario "$name" --broker "$broker" --table "$table" --note "$reason"
        else
            run_scenario "$name" "$broker"
        fi
    done
done

printf '\n== fault suite (%s), %s s\n' "$mode" "$(since "$suite_start")"
$tool table "$table"
