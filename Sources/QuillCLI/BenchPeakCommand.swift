import ArgumentParser
import Foundation
import QuillNN

/// `quill bench peak`: the FMA peak on one thread and on the benches' threads, and whether the second reaches as
/// many times the first as it has threads. On a shared host the threads of a virtual machine can land on one
/// physical core for a while (seen on a 2-vCPU AMD EPYC Zen 4, 2026-12-06: the two-thread peak read 117 GFLOP/s,
/// one core's, in 3 of 18 measurements over two minutes, otherwise 229–232), and every throughput measured then is
/// low; `Tools/bench-compare.py` runs this between its runs and runs a round again when the cores were shared.
public struct BenchPeak: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "peak",
        abstract: "Measure the FMA peak on one thread and on all, and whether the cores are shared right now.",
        discussion: "The scaling is the all-thread peak over the one-thread peak; it reads about the thread count on "
            + "a machine whose cores are its own, and less while other work (another process, or another tenant of "
            + "the host) takes cores from it. Below 75% of the thread count the cores count as shared "
            + "(\"cores_shared\": true with --json, beside \"scaling\", \"one_thread_gflops\" and \"peak_gflops\"), "
            + "and benchmarks measured then are low. Above 110% of it a measurement was disturbed (\"disturbed\": "
            + "true): measure again. On one thread there is nothing to compare.")

    @Option(help: "Seconds for each measurement, after a quarter of that (at least 0.05) to warm up (0.01…10).")
    var seconds: Double = 0.2
    @Option(help: "Threads of the all-thread measurement (1…256, at most the CPUs; default: QUILL_THREADS, else the CPUs).")
    var threads: Int?
    @OptionGroup var output: BenchOutputOptions

    /// Below this share of linear scaling (all-thread peak ≥ 0.75 × threads × one-thread peak), the cores count as
    /// shared.
    static let sharedBelow = 0.75
    /// Above this share of linear scaling a measurement was disturbed (`"disturbed": true`).
    static let disturbedAbove = 1.1

    public init() {}

    public func validate() throws {
        try OptionRange.check("seconds", seconds, 0.01...10)
        if let threads { try OptionRange.check("threads", threads, 1...256) }
    }

    public func run() throws { report().emit(json: output.json) }

    /// Measures both peaks. Figures: `one_thread_gflops`, the all-thread `peak_…` figures, `scaling` (their ratio)
    /// and `cores_shared`.
    func report() -> BenchReport {
        var r = BenchReport(bench: "peak")
        // More threads than CPUs take turns on them and add no FMA units, so the all-thread peak is measured on at
        // most the CPUs.
        let cpus = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)
        let asked = threads ?? BenchMachine.peakThreads(training: true), n = Swift.min(asked, cpus)
        if asked > cpus { r.line("\(asked) threads asked for, \(cpus) CPUs: measured on \(cpus)") }
        guard let one = FMAPeak.measure(threads: 1, seconds: seconds), let all = FMAPeak.measure(threads: n, seconds: seconds) else {
            r.peak(nil)
            return r
        }
        let scaling = all.gflops / one.gflops
        // More than n× one thread's peak on n threads is not possible: one of the two was disturbed.
        let disturbed = scaling > Self.disturbedAbove * Double(n)
        let shared = n > 1 && scaling < Self.sharedBelow * Double(n)
        r.peak(all)
        r.set("one_thread_gflops", one.gflops)
        r.set("scaling", scaling)
        r.set("cores_shared", shared)
        r.set("disturbed", disturbed)
        r.line(BenchReport.column("FMA peak measured, 1 thread", 40) + String(format: "%8.1f GFLOP/s", one.gflops))
        r.line(BenchReport.column("FMA peak measured, \(n) thread\(n == 1 ? "" : "s") (\(all.instructionSet))", 40)
               + String(format: "%8.1f GFLOP/s = %.2f× one thread's", all.gflops, scaling))
        if disturbed {
            r.line(String(format: "%d threads measured %.2f× one thread's peak, more than they can: a measurement was "
                          + "disturbed; measure again (a longer --seconds steadies them)", n, scaling))
        } else if n == 1 {
            r.line("one thread: whether the cores are shared cannot be seen")
        } else if shared {
            r.line(String(format: "the %d threads reached less than %.0f%% of %d× one thread's peak: the cores are shared right now, "
                          + "and throughput measured now is low", n, Self.sharedBelow * 100, n))
        } else {
            r.line(String(format: "the %d threads reached at least %.0f%% of %d× one thread's peak: the cores are the machine's own "
                          + "right now", n, Self.sharedBelow * 100, n))
        }
        return r
    }
}
