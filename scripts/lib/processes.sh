# shellcheck shell=bash
# shellcheck disable=SC2154 # $work and $script are the caller's, as said below
# Sourced by the scripts that start background processes (interop.sh). The caller sets $work, a directory for the
# logs, and $script, the name its messages start with.

pids=() # process group leaders, in start order

# start NAME COMMAND...: runs COMMAND in its own session, so its whole process group can be stopped, logging to
# $work/NAME.log. Sets started_pid.
start() {
    local name=$1
    shift
    setsid "$@" >"$work/$name.log" 2>&1 </dev/null &
    pids+=($!)
    # shellcheck disable=SC2034 # read by the scripts that source this file
    started_pid=$!
}

# Stops the process groups newest first, each before the next, so workers shut down while their broker still runs.
stop_all() {
    local i pid deadline
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        pid=${pids[i]}
        kill -TERM -- "-$pid" 2>/dev/null || continue
        deadline=$((SECONDS + 10))
        while kill -0 -- "-$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    pids=()
    wait 2>/dev/null || true
}

# print_logs LINES: the last LINES lines of every log that has any, on stderr.
print_logs() {
    local log
    for log in "$work"/*.log; do
        [ -s "$log" ] || continue
        printf -- '--- %s (last %s lines)\n' "$(basename "$log")" "$1" >&2
        tail -n "$1" "$log" | sed 's/^/    | /' >&2
    done
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_for TIMEOUT WHAT COMMAND...: waits at most TIMEOUT seconds for COMMAND to succeed. Returns 1, with one line on
# stderr, when the time is up or when the process $watch (if set) has exited.
wait_for() {
    local timeout=$1 what=$2
    shift 2
    local deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        if [ -n "${watch:-}" ] && ! kill -0 "$watch" 2>/dev/null; then
            echo "$script: $what: the process exited" >&2
            return 1
        fi
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "$script: $what: not within $timeout s" >&2
            return 1
        fi
        sleep 0.1
    done
}
