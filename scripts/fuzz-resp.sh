#!/usr/bin/env bash
# Fuzzes SimulRedis's RESP parser with libFuzzer and AddressSanitizer:
#   scripts/fuzz-resp.sh [executions] [libFuzzer options...]
# 10,000,000 executions by default; options such as -max_len=512 override the defaults below.
# The harness, Fuzz/RESPFuzz, is a target only when SIMUL_FUZZ=1, so nobody else builds it.
#
# SwiftPM turns `--sanitize fuzzer --sanitize address` into two -sanitize= flags, and swiftc keeps only the last,
# so Swift code would get AddressSanitizer but no coverage. `--sanitize fuzzer` makes SwiftPM link the binary with
# libFuzzer's main; `-Xswiftc -sanitize=fuzzer,address`, which comes last, instruments the Swift code with both.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=${1:-10000000}
shift || true
scratch=.build-fuzz
build=(swift build -c release --product RESPFuzz --scratch-path "$scratch" --sanitize fuzzer
    -Xswiftc -sanitize=fuzzer,address)

SIMUL_FUZZ=1 "${build[@]}"
binary="$(SIMUL_FUZZ=1 "${build[@]}" --show-bin-path)/RESPFuzz"

# libFuzzer adds what it finds to the first corpus folder: work on a copy, so the seeds in git stay as they are.
corpus="$scratch/resp-corpus"
mkdir -p "$corpus"
cp Fuzz/RESPFuzz/corpus/* "$corpus/"

set +e
"$binary" -runs="$runs" -max_len=4096 -dict=Fuzz/RESPFuzz/resp.dict -print_final_stats=1 \
    -artifact_prefix="$scratch/" "$@" "$corpus" 2>&1 | tee "$scratch/fuzz-resp.log" |
    grep -E '^(#[0-9]+ +(pulse|DONE)|Done|INFO: (Seed|Loaded)|stat::|==|SUMMARY|artifact)'
status=${PIPESTATUS[0]}
set -e
echo "full log: $scratch/fuzz-resp.log"
exit "$status"
