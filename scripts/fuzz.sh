#!/usr/bin/env bash
# Fuzzes one of Simul's parsers with libFuzzer and AddressSanitizer:
#   scripts/fuzz.sh resp|amqp|json [executions] [libFuzzer options...]
# resp: SimulRESP's parser and encoder (Fuzz/RESPFuzz). amqp: SimulAMQPWire's frames, methods, content headers and
# field tables (Fuzz/AMQPFuzz). json: JSONValue(parsing:) and MessageCodec.decode (Fuzz/JSONFuzz).
# 10,000,000 executions by default; options such as -max_len=512 or -max_total_time=30 override the defaults below.
# SIMUL_FUZZ_CONFIGURATION=debug builds the harness in debug, for a short pass (CI's).
# The harnesses are targets only when SIMUL_FUZZ=1, so nobody else builds them.
#
# SwiftPM turns `--sanitize fuzzer --sanitize address` into two -sanitize= flags, and swiftc keeps only the last,
# so Swift code would get AddressSanitizer but no coverage. `--sanitize fuzzer` makes SwiftPM link the binary with
# libFuzzer's main; `-Xswiftc -sanitize=fuzzer,address`, which comes last, instruments the Swift code with both.
set -euo pipefail
cd "$(dirname "$0")/.."

case "${1:-}" in
resp) product=RESPFuzz dict=Fuzz/RESPFuzz/resp.dict ;;
amqp) product=AMQPFuzz dict=Fuzz/AMQPFuzz/amqp.dict ;;
json) product=JSONFuzz dict=Fuzz/JSONFuzz/json.dict ;;
*) echo "usage: scripts/fuzz.sh resp|amqp|json [executions] [libFuzzer options...]" >&2; exit 64 ;;
esac
name=$1
shift
runs=${1:-10000000}
shift || true
# CI's short pass builds the harness in debug (SIMUL_FUZZ_CONFIGURATION=debug): it compiles in about half the time
# of a release build, which only the long runs need for their speed.
configuration=${SIMUL_FUZZ_CONFIGURATION:-release}
case "$configuration" in
release) scratch=.build-fuzz ;;
debug) scratch=.build-fuzz-debug ;;
*) echo "SIMUL_FUZZ_CONFIGURATION must be release or debug, not '$configuration'" >&2; exit 64 ;;
esac
# shellcheck disable=SC2054 # the comma belongs to swiftc's -sanitize= value
build=(swift build -c "$configuration" --product "$product" --scratch-path "$scratch" --sanitize fuzzer
    -Xswiftc -sanitize=fuzzer,address)

SIMUL_FUZZ=1 "${build[@]}"
binary="$(SIMUL_FUZZ=1 "${build[@]}" --show-bin-path)/$product"

# libFuzzer adds what it finds to the first corpus folder: work on a copy, so the seeds in git stay as they are.
corpus="$scratch/$name-corpus"
mkdir -p "$corpus"
cp "Fuzz/$product/corpus/"* "$corpus/"

set +e
"$binary" -runs="$runs" -max_len=4096 -dict="$dict" -print_final_stats=1 \
    -artifact_prefix="$scratch/" "$@" "$corpus" 2>&1 | tee "$scratch/fuzz-$name.log" |
    grep -E '^(#[0-9]+ +(pulse|DONE)|Done|INFO: (Seed|Loaded)|stat::|==|SUMMARY|artifact)'
status=${PIPESTATUS[0]}
set -e
echo "full log: $scratch/fuzz-$name.log"
exit "$status"
