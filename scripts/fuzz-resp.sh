#!/usr/bin/env bash
# Fuzzes SimulRedis's RESP parser: scripts/fuzz-resp.sh [executions] [libFuzzer options...]
# Kept for the commands in docs/resp.md; scripts/fuzz.sh does the work.
exec "$(dirname "$0")/fuzz.sh" resp "$@"
