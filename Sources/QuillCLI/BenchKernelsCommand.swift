import ArgumentParser
import Foundation
import QuillNN

/// `quill bench kernels`: the pieces of a recurrent step, timed apart (GEMM shapes and fused pointwise maths).
public struct BenchKernels: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "kernels", abstract: "Time LSTM-shaped GEMMs and the fused pointwise kernels.")

    @Option(help: "Batch rows of the per-step products and the fused steps (1…4096); the whole-sequence products (X·Wx, Xᵀ·dG, dG·Wxᵀ) take 2,500 rows, the char benchmark's 50 steps × 50.") var batch: Int = 50
    @Option(help: "Hidden units (1…4096).") var hidden: Int = 512
    @Option(help: "Repetitions per measurement (1…100000).") var reps: Int = 200
    @OptionGroup var measure: BenchMeasureOptions

    public init() {}

    public func validate() throws { if let m = workload.validate() { throw ValidationError(m) } }

    var workload: KernelBenchmark { KernelBenchmark(batch: batch, hidden: hidden, repetitions: reps) }

    public func run() throws { report().emit(json: measure.json) }

    /// Times each kernel; the figures go under `kernels` (name, seconds and GFLOP/s with the fraction of the measured
    /// fp32 FMA peak, or ns per element). Without AVX512-BF16 the bf16 rows are missing and `bf16_skipped` says why;
    /// where present they carry `"precision": "bf16"`, and their fraction of the fp32 peak may pass 1 (VDPBF16PS does
    /// two multiply-adds a lane) without the line that calls the machine busy.
    func report() -> BenchReport {
        var r = BenchReport(bench: "kernels")
        r.blas()
        // The peak before and after the products, the larger kept: a busy host only ever lowers a measurement, and
        // a low one made the products' fractions read above 100%.
        let before = measure.peak()
        let products = workload.products()
        let after = measure.peak()
        let peak = [before, after].compactMap { $0 }.max { $0.gflops < $1.gflops }
        let one = FMAPeak.measure(threads: 1, seconds: measure.peakSeconds)
        r.peak(peak)
        var rows = [[String: Any]]()
        var abovePeak = false
        for t in products {
            let rate = (t.flops ?? 0) / t.seconds / 1e9
            // A kernel that ran on one thread against the one-thread peak.
            let yardstick = t.threads == 1 && one != nil ? one : peak
            if let yardstick, t.exceedsFP32Peak(yardstick.gflops) { abovePeak = true }
            let of = t.bf16 ? "of fp32 peak" : "of peak"
            let share = yardstick.map { String(format: "  %3.0f%% ", 100 * $0.fraction(of: rate)) + of } ?? ""
            r.line(BenchReport.column(t.name, 56) + String(format: "%8.1f µs  %6.1f GFLOP/s", t.seconds * 1e6, rate) + share)
            var row: [String: Any] = ["name": t.name, "seconds": t.seconds, "gflops": rate]
            if let yardstick { row["peak_fraction"] = yardstick.fraction(of: rate) }
            if let threads = t.threads { row["threads"] = threads }
            if t.bf16 { row["precision"] = "bf16" }
            rows.append(row)
        }
        if !FusedKernels.available {
            r.line("fused steps not timed: " + (FusedKernels.cpuLevel == .none
                ? "this CPU has neither AVX-512 nor AVX2 with FMA"
                : "QUILL_KERNELS=\(ProcessInfo.processInfo.environment["QUILL_KERNELS"] ?? "") turns Quill's kernels off"))
        }
        if let skipped = KernelBenchmark.bf16Skipped {
            r.line(skipped)
            r.set("bf16_skipped", skipped)
        }
        if let one {
            r.line(BenchReport.column("FMA peak measured, 1 thread", 56) + String(format: "%8.1f GFLOP/s", one.gflops))
            r.set("peak_gflops_one_thread", one.gflops)
        }
        if let peak {
            var both = ""
            if let before, let after {
                both = String(format: ", the larger of %.0f before and %.0f after the products (a busy host lowers it)",
                              before.gflops, after.gflops)
            }
            r.line(peak.description + both)
            if abovePeak {
                r.line("an fp32 product ran above the measured peak: the machine was busy while the peak was measured, "
                    + "so the fractions above are too high; run it again on a quiet machine")
            }
        }
        for t in workload.pointwise() {
            let nanoseconds = t.seconds * 1e9 / Double(t.elements)
            r.line(BenchReport.column(t.name, 56) + String(format: "%8.2f ns/", nanoseconds) + t.unit)
            rows.append(["name": t.name, "seconds": t.seconds, "nanoseconds_per_\(t.unit)": nanoseconds])
        }
        r.set("kernels", rows)
        return r
    }
}
