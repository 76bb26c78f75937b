#!/bin/bash
# Checks that a change to CQuillKernels keeps every vector kernel's bits: builds digests.c against the kernels of a
# git revision (default HEAD) and of the working tree, runs both at every kernel level this CPU runs (3 = AVX-512,
# 2 = AVX2), and compares the digests of the recurrent steps, the soft window and the elementwise activations.
#   Tools/kernel-digests/run.sh [REV]
# Prints the digests and "same bits" (exit 0) or the lines that differ (exit 1); exit 2 for bad arguments or a tree
# whose kernels do not build with the harness (revisions from before the GRU and RNN steps, c669502 and older, lack
# functions it calls; 193eea5~1, the last before the width-generic fold, works). Needs clang (the Swift toolchain's).
set -uo pipefail
usage() { echo "usage: Tools/kernel-digests/run.sh [REV]   (compares REV's kernels, default HEAD, with the working tree's)" >&2; exit 2; }
[ $# -le 1 ] || usage
case "${1:-}" in -*) usage ;; esac
rev=${1:-HEAD}
root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel) || exit 2
if ! git -C "$root" rev-parse --quiet --verify "$rev^{commit}" > /dev/null; then
    echo "run.sh: '$rev' is not a revision of $root" >&2
    exit 2
fi
if ! git -C "$root" cat-file -e "$rev:Sources/CQuillKernels" 2> /dev/null; then
    echo "run.sh: revision '$rev' has no Sources/CQuillKernels" >&2
    exit 2
fi
work=$(mktemp -d) || exit 2
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/old"
git -C "$root" archive "$rev" Sources/CQuillKernels | tar -x -C "$work/old" || exit 2
build() { # $1: tree root, $2: output, $3: what it is
    if ! clang -O2 -std=gnu11 -I "$1/Sources/CQuillKernels/include" -I "$1/Sources/CQuillKernels" \
        "$root/Tools/kernel-digests/digests.c" "$1"/Sources/CQuillKernels/*.c -lpthread -lm -o "$2"; then
        echo "run.sh: the harness does not build against the kernels of $3" >&2
        exit 2
    fi
}
build "$work/old" "$work/digests-old" "$rev"
build "$root" "$work/digests-new" "the working tree"
"$work/digests-old" > "$work/old.txt"
"$work/digests-new" > "$work/new.txt"
cat "$work/new.txt"
if diff "$work/old.txt" "$work/new.txt"; then echo "same bits as $rev"; else echo "bits differ from $rev"; exit 1; fi
