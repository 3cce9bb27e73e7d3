#!/usr/bin/env bash
# A throwaway package that depends on this one with `traits: []` and uses only the `Simul` product, as a team that
# wants the core library (futures, pools, async helpers, timing) would. Checks that it resolves at most 4 packages
# and builds no SwiftNIO, GRDB, Hummingbird or AsyncHTTPClient module, and prints its pins, modules and build time
# (docs/packaging.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/simul-core-consumer.XXXXXX")
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/Sources/CoreConsumer"
cat >"$work/Package.swift" <<EOF
// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "core-consumer",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "simul", path: "$root", traits: [])],
    targets: [.executableTarget(name: "CoreConsumer", dependencies: [.product(name: "Simul", package: "simul")])]
)
EOF
cat >"$work/Sources/CoreConsumer/main.swift" <<'EOF'
import Simul

let pool = ThreadPool(maxWorkers: 2)
let squares = try await pool.run { (1...3).map { $0 * $0 } }
await pool.shutdown()
print("squares \(squares)")
EOF

cd "$work"
swift package resolve >"$work/resolve.txt" 2>&1 || { cat "$work/resolve.txt"; exit 1; }
pins=$(python3 -c 'import json; print("\n".join(p["identity"] + " " + p["state"].get("version", p["state"].get("revision", "")) for p in json.load(open("Package.resolved"))["pins"]))' 2>/dev/null || true)
echo "Package.resolved pins: $(echo "${pins:-none}" | paste -sd, - | sed 's/,/, /g')"
count=$(printf '%s' "$pins" | grep -c . || true)
started=$(date +%s.%N)
swift build --product CoreConsumer >"$work/build.txt" 2>&1 || { cat "$work/build.txt"; exit 1; }
finished=$(date +%s.%N)
modules=$(find .build/debug/Modules .build/debug -maxdepth 1 -name '*.swiftmodule' -printf '%f\n' 2>/dev/null |
    sed 's/\.swiftmodule$//' | sort -u)
echo "modules built: $(echo "$modules" | tr '\n' ' ')"
printf 'build time: %.1f s\n' "$(echo "$finished - $started" | bc)"
"$(swift build --show-bin-path)/CoreConsumer"

status=0
if [ "$count" -gt 4 ]; then
    echo "error: the core consumer resolved $count packages, more than 4" >&2
    status=1
fi
if forbidden=$(echo "$pins" | grep -Ei '^(swift-nio|grdb|hummingbird|async-http-client)' | tr '\n' ' ') &&
    [ -n "$forbidden" ]; then
    echo "error: the core consumer resolved $forbidden" >&2
    status=1
fi
if heavy=$(echo "$modules" | grep -E '^(NIO|GRDB|Hummingbird|AsyncHTTPClient)' | tr '\n' ' ') && [ -n "$heavy" ]; then
    echo "error: the core consumer built $heavy" >&2
    status=1
fi
exit $status
