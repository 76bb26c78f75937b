#!/usr/bin/env python3
"""Quill beside PyTorch on this machine: `make bench-compare`.

Runs the PyTorch scripts of ../shared/bench/pytorch and Quill's matching benches alternately (PyTorch, Quill,
PyTorch, Quill, ... for --rounds rounds per workload) with the same number of threads, and prints for each
workload the median of each side's figures, their ratio in this one run, and the FMA peak measured during it.
Nothing is compared with a figure from another machine.

Quill's benches are read through their --json output. The PyTorch scripts print one line each; this script runs
them with the same Python (it needs torch). OPENBLAS_CORETYPE is passed through as the environment has it (the
Makefile presets SkylakeX unless it is already set); this script never sets it.

    python3 Tools/bench-compare.py --quill .build/release/quill [--rounds 3] [--threads N] [--workloads char,...]
    python3 Tools/bench-compare.py --quick ...   # plumbing check: fewest iterations, noisy figures

Before, between and after the two runs of a round it checks that the cores are the machine's own (`quill bench
peak`: the all-thread FMA peak against the one-thread peak). On a shared host the threads of a virtual machine can
land on one physical core for a while, and both sides' figures taken then are low by up to half; such a round is
run again (at most --retries times; then kept, and counted in the summary). --no-core-check skips the checks.
"""
import argparse
import importlib.util
import json
import os
import re
import runpy
import statistics
import subprocess
import sys

INSTALL_HINT = ("python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch "
                "--index-url https://download.pytorch.org/whl/cpu")

# Each workload: the PyTorch script, the line of its output to read and how to turn it into the figure, Quill's
# bench arguments (normal and --quick) and the JSON field holding the same figure. Figures are rates: higher is faster.
WORKLOADS = {
    "char": dict(
        title="char LM 2x512 LSTM, batch 50 x 50, Adam",
        unit="chars/s",
        script="bench_b_charlm_train.py",
        pattern=r"\[b:charlm\].* -> (?P<rate>[0-9.]+) chars/s",
        quill=["bench", "char"], quick=["--iterations", "2"],
        field="chars_per_second"),
    "prediction": dict(
        title="handwriting prediction 3x400, batch 32 x 300, Adam",
        unit="sample-steps/s",
        script="bench_a_handwriting_train.py",
        pattern=r"\[a:skip\] params=.* (?P<rate>[0-9.]+) sample-timesteps/s",
        quill=["bench", "handwriting", "--network", "prediction"], quick=["--iterations", "1"],
        field="sample_steps_per_second"),
    "synthesis": dict(
        title="handwriting synthesis 3x400, U = 40, batch 32 x 300, Adam",
        unit="sample-steps/s",
        script="bench_a2_synthesis_train.py",
        pattern=r"\[a2:synthesis\].* (?P<rate>[0-9.]+) sample-timesteps/s",
        quill=["bench", "handwriting", "--network", "synthesis"], quick=["--iterations", "1"],
        field="sample_steps_per_second"),
    "sampling": dict(
        title="sampling, batch 1, 3x400 + mixture head, 700 steps",
        unit="steps/s",
        script="bench_c_sampling.py",
        pattern=r"\[c:sampling\] head=True: (?P<ms>[0-9.]+) ms/step median",
        quill=["bench", "sampling", "--network", "prediction", "--steps", "700"], quick=["--reps", "1"],
        field="steps_per_second"),
}


def run_pytorch_script(script, cap):
    """Runs one PyTorch script in this process (the child side of `--run-pytorch`), capping its timed iterations
    at `cap` when cap > 0: the scripts take no arguments, so common.time_iters is wrapped before a script imports it."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))
    import common  # the scripts' shared helpers, from their directory
    if cap > 0:
        original = common.time_iters

        def time_iters(step, warmup=2, budget_s=60.0, max_iters=50):
            return original(step, warmup=min(warmup, 1), budget_s=min(budget_s, 5.0), max_iters=min(max_iters, cap))
        common.time_iters = time_iters
    sys.argv = [script]
    runpy.run_path(script, run_name="__main__")


class Failure(Exception):
    pass


def run(cmd, env, label):
    try:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    except OSError as e:
        raise Failure(f"{label} could not be started: {e}")
    if p.returncode != 0:
        tail = "\n".join((p.stderr or p.stdout).strip().splitlines()[-5:]) or "(no output)"
        raise Failure(f"{label} exited with status {p.returncode}:\n{tail}")
    return p.stdout


def pytorch_rate(workload, args, env):
    w = WORKLOADS[workload]
    script = os.path.join(args.pytorch_dir, w["script"])
    cmd = [sys.executable, os.path.abspath(__file__), "--run-pytorch", script,
           "--max-iters", str(2 if args.quick else 0)]
    out = run(cmd, env, f"PyTorch {w['script']}")
    m = re.search(w["pattern"], out)
    if not m:
        raise Failure(f"PyTorch {w['script']}: no line matching {w['pattern']!r} in its output:\n{out.strip()}")
    return 1000.0 / float(m.group("ms")) if "ms" in m.groupdict() else float(m.group("rate"))


def quill_figures(workload, args, env):
    w = WORKLOADS[workload]
    cmd = [args.quill] + w["quill"] + (w["quick"] if args.quick else []) + ["--json"]
    out = run(cmd, env, "quill " + " ".join(w["quill"]))
    try:
        figures = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise Failure(f"quill {' '.join(w['quill'])}: expected one JSON object, got:\n{out.strip()}")
    if not isinstance(figures.get(w["field"]), (int, float)):
        raise Failure(f"quill {' '.join(w['quill'])}: no number in the field {w['field']!r} of its JSON output")
    return figures


def cores_shared(args, env):
    """The scaling of the FMA peak (all threads over one) when a check finds the cores shared, else None
    (`quill bench peak`, 0.1 s a measurement)."""
    if args.no_core_check or args.threads < 2:
        return None
    out = run([args.quill, "bench", "peak", "--json", "--seconds", "0.1", "--threads", str(args.threads)], env,
              "quill bench peak")
    try:
        figures = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise Failure(f"quill bench peak: expected one JSON object, got:\n{out.strip()}")
    return figures.get("scaling") if figures.get("cores_shared") is True else None


def check_torch():
    if importlib.util.find_spec("torch") is None:
        print(f"bench-compare: {sys.executable} has no torch. Install it with\n  {INSTALL_HINT}\n"
              "(or plain `pip install torch` where that index is not reachable), or pass PYTHON=/path/to/python "
              "with torch to make.", file=sys.stderr)
        return False
    return True


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quill", default=os.path.join(here, "..", ".build", "release", "quill"),
                        help="the quill binary (a release build)")
    parser.add_argument("--pytorch-dir", default=os.path.join(here, "..", "..", "shared", "bench", "pytorch"),
                        help="directory of the PyTorch scripts")
    parser.add_argument("--rounds", type=int, default=3, help="PyTorch-then-Quill rounds per workload (1-20)")
    parser.add_argument("--threads", type=int, default=len(os.sched_getaffinity(0)),
                        help="threads for both sides (TORCH_THREADS; OPENBLAS_NUM_THREADS and QUILL_THREADS)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help="comma-separated, from: " + ", ".join(WORKLOADS))
    parser.add_argument("--quick", action="store_true",
                        help="fewest iterations on both sides: checks the plumbing, figures are noisy")
    parser.add_argument("--retries", type=int, default=3,
                        help="times a round is run again when a check beside it finds the cores shared (0-20)")
    parser.add_argument("--no-core-check", action="store_true",
                        help="do not check between runs that the cores are the machine's own")
    parser.add_argument("--check", action="store_true", help="only check that this Python has torch")
    parser.add_argument("--run-pytorch", metavar="SCRIPT", help=argparse.SUPPRESS)
    parser.add_argument("--max-iters", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.run_pytorch:
        run_pytorch_script(args.run_pytorch, args.max_iters)
        return 0
    if not check_torch():
        return 2
    if args.check:
        return 0
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in workloads if w not in WORKLOADS]
    if unknown or not workloads:
        parser.error(f"--workloads: unknown {', '.join(unknown) or '(none given)'}; choose from {', '.join(WORKLOADS)}")
    if not 1 <= args.rounds <= 20:
        parser.error(f"--rounds must be between 1 and 20, got {args.rounds}")
    if not 0 <= args.retries <= 20:
        parser.error(f"--retries must be between 0 and 20, got {args.retries}")
    if not 1 <= args.threads <= 256:
        parser.error(f"--threads must be between 1 and 256, got {args.threads}")
    if not (os.path.isfile(args.quill) and os.access(args.quill, os.X_OK)):
        print(f"bench-compare: {args.quill}: no quill binary there; build one with `make release`.", file=sys.stderr)
        return 2
    try:
        subprocess.run([args.quill, "--version"], capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as e:
        print(f"bench-compare: {args.quill} --version did not run ({e}); build quill with `make release`.",
              file=sys.stderr)
        return 2
    missing = [WORKLOADS[w]["script"] for w in workloads
               if not os.path.isfile(os.path.join(args.pytorch_dir, WORKLOADS[w]["script"]))]
    if missing:
        print(f"bench-compare: {args.pytorch_dir}: missing {', '.join(missing)}; pass --pytorch-dir DIR.",
              file=sys.stderr)
        return 2

    env = dict(os.environ)
    n = str(args.threads)
    env.update(TORCH_THREADS=n, OPENBLAS_NUM_THREADS=n, QUILL_THREADS=n, OMP_NUM_THREADS=n)
    coretype = os.environ.get("OPENBLAS_CORETYPE")
    print(f"Quill and PyTorch alternated, {args.rounds} round(s) per workload, {args.threads} threads, "
          f"OPENBLAS_CORETYPE={coretype if coretype else '(not set)'}{', --quick: noisy' if args.quick else ''}",
          flush=True)

    failed = False
    peaks, peak_names, rows = [], set(), []
    rerun, kept_shared = 0, 0
    for workload in workloads:
        w = WORKLOADS[workload]
        torch_rates, quill_rates, quill_gflops, flops = [], [], [], None
        try:
            for r in range(args.rounds):
                for attempt in range(args.retries + 1):
                    shared = [cores_shared(args, env)]
                    t = pytorch_rate(workload, args, env)
                    shared.append(cores_shared(args, env))
                    q = quill_figures(workload, args, env)
                    shared.append(cores_shared(args, env))
                    low = [s for s in shared if s is not None]
                    if not low:
                        break
                    note = (f"  {workload} round {r + 1}: PyTorch {t:,.0f}, Quill {q[w['field']]:,.0f} {w['unit']}; "
                            f"a check beside it found the cores shared ({args.threads} threads at {min(low):.2f}x one "
                            "thread's FMA peak)")
                    if attempt < args.retries:
                        rerun += 1
                        print(note + ": run again", flush=True)
                    else:
                        kept_shared += 1
                        print(note + f": kept after {args.retries} retries", flush=True)
                torch_rates.append(t)
                quill_rates.append(q[w["field"]])
                if isinstance(q.get("gflops"), (int, float)):
                    quill_gflops.append(q["gflops"])
                    flops = q["gflops"] * 1e9 / q[w["field"]]
                if isinstance(q.get("peak_gflops"), (int, float)):
                    peaks.append(q["peak_gflops"])
                    peak_names.add(f"{q.get('peak_threads')} threads, {q.get('peak_instruction_set')}")
                if not low:
                    print(f"  {workload} round {r + 1}: PyTorch {t:,.0f}, Quill {q[w['field']]:,.0f} {w['unit']}",
                          flush=True)
        except Failure as e:
            print(f"bench-compare: {workload}: {e}", file=sys.stderr)
            failed = True
            continue
        rows.append((workload, w, statistics.median(torch_rates), statistics.median(quill_rates), flops))

    peak = statistics.median(peaks) if peaks else None
    print()
    if peak:
        print(f"FMA peak measured: {peak:,.0f} GFLOP/s ({'; '.join(sorted(peak_names))}), median of {len(peaks)} "
              "measurements during this run")
    print(f"{'workload':<58} {'unit':<15} {'PyTorch':>9} {'Quill':>9} {'Quill/PyTorch':>14}")
    for workload, w, t, q, f in rows:
        print(f"{w['title']:<58} {w['unit']:<15} {t:>9,.0f} {q:>9,.0f} {q / t:>13.2f}x")
        if peak and f:
            print(f"{'':<58} {'% of FMA peak':<15} {100 * t * f / 1e9 / peak:>8.0f}% {100 * q * f / 1e9 / peak:>8.0f}%")
    print("(medians of the rounds; Quill/PyTorch above 1 means Quill is faster; % of peak counts the same FLOPs for both)")
    if not args.no_core_check and args.threads >= 2:
        print(f"cores shared beside a round: {rerun} round(s) run again"
              + (f", {kept_shared} kept after {args.retries} retries (their figures are low)" if kept_shared else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
