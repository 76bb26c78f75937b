#!/bin/bash
# Checks that a change to CQuillKernels keeps every vector kernel's bits: builds digests.c against the kernels of a
# git revision (default HEAD) and of the working tree, runs both at every kernel level this CPU runs (3 = AVX-512,
# 2 = AVX2), and compares the digests of the recurrent steps, the soft window and the elementwise activations.
#   Tools/kernel-digests/run.sh [REV]
# Prints the digests and "same bits" or the lines that differ (exit 1). Needs clang (the Swift toolchain's).
set -euo pipefail
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
rev=${1:-HEAD}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/old"
git -C "$root" archive "$rev" Sources/CQuillKernels | tar -x -C "$work/old"
build() { # $1: tree root, $2: output
    clang -O2 -std=gnu11 -I "$1/Sources/CQuillKernels/include" -I "$1/Sources/CQuillKernels" \
        "$root/Tools/kernel-digests/digests.c" "$1"/Sources/CQuillKernels/*.c -lpthread -lm -o "$2"
}
build "$work/old" "$work/digests-old"
build "$root" "$work/digests-new"
"$work/digests-old" > "$work/old.txt"
"$work/digests-new" > "$work/new.txt"
cat "$work/new.txt"
if diff "$work/old.txt" "$work/new.txt"; then echo "same bits as $rev"; else echo "bits differ from $rev"; exit 1; fi
