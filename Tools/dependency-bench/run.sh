#!/usr/bin/env bash
# Issue 18 item 11: Quill's speed as a package dependency. Builds one small program (main.swift: the library's own
# benchmark workloads, as `quill bench` runs them) twice against this checkout's HEAD: once depending on Quill by
# version (a local tag, resolved into .build/checkouts, where SwiftPM refuses unsafe flags, so Quill's libraries build
# without -Ounchecked, -cross-module-optimization and -target-cpu) and once by path (the flags kept). Then runs both
# alternately for ROUNDS rounds and prints each workload's medians and the ratio portable / flagged.
# Usage: Tools/dependency-bench/run.sh [ROUNDS]   (default 5; about 1.5 minutes a round plus two release builds)
set -euo pipefail
rounds="${1:-5}"
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
work="$(mktemp -d /tmp/quill-dependency-bench.XXXXXX)"
git clone -q "$repo" "$work/quill"
git -C "$work/quill" tag 99.0.0
for kind in version path; do
    mkdir -p "$work/client-$kind/Sources/qbench"
    cp "$here/main.swift" "$work/client-$kind/Sources/qbench/main.swift"
    if [ "$kind" = version ]; then dep=".package(url: \"file://$work/quill\", from: \"99.0.0\")"
    else dep=".package(path: \"$work/quill\")"; fi
    cat > "$work/client-$kind/Package.swift" <<MANIFEST
// swift-tools-version:6.0
import PackageDescription
let package = Package(name: "qbench", platforms: [.macOS(.v14)],
    dependencies: [$dep],
    targets: [.executableTarget(name: "qbench", dependencies: [.product(name: "QuillModels", package: "quill")])])
MANIFEST
    (cd "$work/client-$kind" && env -u QUILL_PORTABLE_LIBRARIES swift build -c release 2>&1 | tail -1)
done
for r in $(seq 1 "$rounds"); do
    for kind in version path; do
        "$work/client-$kind/.build/release/qbench" all | sed "s/^/$kind /"
    done
done > "$work/results.txt"
python3 - "$work/results.txt" <<'PY'
import statistics, sys
data = {}
for line in open(sys.argv[1]):
    kind, workload, rate = line.split()
    data.setdefault(workload, {}).setdefault(kind, []).append(float(rate))
print(f"{'workload':22s} {'by version':>12s} {'by path':>12s}  ratio  (units/s, medians of {len(next(iter(data.values()))['path'])} rounds)")
for workload, runs in data.items():
    v, p = statistics.median(runs["version"]), statistics.median(runs["path"])
    print(f"{workload:22s} {v:12.0f} {p:12.0f}  {v / p:.3f}")
PY
echo "(builds and raw figures in $work)"
