import ArgumentParser
import Foundation
import QuillNN
import QuillNumerics

/// The output option every bench shares.
struct BenchOutputOptions: ParsableArguments {
    @Flag(help: "Print the figures as one JSON object on stdout instead of text (for Tools/bench-compare.py).")
    var json = false
}

/// The options of the benches that count FLOPs: the output, and how they measure the machine's FMA peak.
struct BenchMeasureOptions: ParsableArguments {
    @OptionGroup var output: BenchOutputOptions
    @Option(help: "Seconds to measure the machine's FMA peak for, after a quarter of that to warm up (0.01…10).")
    var peakSeconds: Double = 0.5

    func validate() throws {
        try OptionRange.check("peak-seconds", peakSeconds, 0.01...10)
    }

    var json: Bool { output.json }

    /// The FMA peak of the machine on the benches' threads (a training step's, for `training`), measured for
    /// --peak-seconds.
    func peak(training: Bool = false) -> FMAPeak? { BenchMachine.peak(seconds: peakSeconds, training: training) }
}

/// `--precision` of the training benches: the precision of the large products, as `quill train --precision` sets it.
struct BenchPrecisionOption: ParsableArguments {
    @Option(help: "Precision of the large matrix products: fp32 or bf16 (needs AVX512-BF16).")
    var precision: QuillGEMM.Precision = .fp32

    func validate() throws {
        if precision == .bf16, let problem = QuillGEMM.bf16Problem { throw ValidationError(problem) }
    }

    /// Says the precision in the text (when not fp32) and always in the JSON.
    func report(_ r: inout BenchReport) {
        r.set("precision", precision.rawValue)
        if precision != .fp32 { r.line("large products in \(precision.rawValue) (fp32 sums); the rest in fp32") }
    }
}

/// The machine the benches run on, measured rather than assumed.
enum BenchMachine {
    /// Threads the benches compute on: OpenBLAS's (inside a training step for `training`,
    /// `QuillGEMM.trainingBLASThreads`), or the fused kernels' where those use more.
    static func threads(training: Bool = false) -> Int {
        Swift.max(training ? QuillGEMM.trainingBLASThreads : BLASInfo.threads,
                  FusedKernels.available ? FusedKernels.threads(hidden: 1 << 20) : 1)
    }

    /// `threads(training:)`, at most the online CPUs: more threads than cores take turns on them and add no FMA
    /// units (with QUILL_THREADS=99 on 2 cores the peak read 154 to 222 GFLOP/s against 190 on the 2 threads).
    static func peakThreads(training: Bool = false) -> Int {
        Swift.min(threads(training: training), Swift.max(1, ProcessInfo.processInfo.activeProcessorCount))
    }

    /// The FMA peak on `peakThreads(training:)` threads, measured for `seconds`.
    static func peak(seconds: Double, training: Bool = false) -> FMAPeak? {
        FMAPeak.measure(threads: peakThreads(training: training), seconds: seconds)
    }
}

/// What one bench measured: lines for a person, and the same figures as one JSON object for scripts (`--json`).
/// Figures are absolute (per second, GFLOP/s) or fractions of the FMA peak measured on this machine during the run.
struct BenchReport {
    /// The text, line by line.
    private(set) var lines: [String] = []
    /// The figures, keyed by snake_case names with their unit (`median_seconds`, `chars_per_second`).
    private(set) var figures: [String: Any]

    /// A report for the bench named `bench` ("char", "handwriting", …).
    init(bench: String) { figures = ["bench": bench] }

    /// Adds a line of text.
    mutating func line(_ text: String) { lines.append(text) }

    /// Adds a figure: a number, string or Bool (non-finite numbers become JSON null).
    mutating func set(_ key: String, _ value: Any) { figures[key] = value }

    /// The `--profile` table: each phase's milliseconds per iteration and share, then the step split three ways
    /// (matrix products, fused recurrent steps, other passes), then the products by shape against `peak`; the same
    /// figures under "phases", "products_seconds", "recurrent_steps_seconds" and "product_shapes" in JSON.
    mutating func phases(_ phases: PhaseProfile, iterations: Int, peak: FMAPeak?) {
        line("per phase (mean of \(iterations); timing adds a little overhead):")
        let rows = phases.summary(repetitions: iterations)
        let width = rows.map(\.name.count).max() ?? 0
        for row in rows {
            let pad = String(repeating: " ", count: width - row.name.count)
            line("  " + row.name + pad + String(format: " %8.1f ms  %5.1f%%", row.seconds * 1e3, row.share * 100))
        }
        let total = phases.total(repetitions: iterations), n = Double(iterations)
        let split = [("matrix products (GEMM, GEMV)", phases.productSeconds / n),
                     ("fused recurrent steps (W_h product + gates)", phases.recurrentStepSeconds / n),
                     ("other passes", max(0, total - (phases.productSeconds + phases.recurrentStepSeconds) / n))]
        line("of which:")
        let splitWidth = split.map(\.0.count).max() ?? 0
        for (name, seconds) in split {
            let pad = String(repeating: " ", count: splitWidth - name.count)
            line("  " + name + pad + String(format: " %8.1f ms  %5.1f%%", seconds * 1e3, seconds / max(total, 1e-12) * 100))
        }
        set("products_seconds", phases.productSeconds / n)
        set("recurrent_steps_seconds", phases.recurrentStepSeconds / n)
        productShapes(phases.productShapes, iterations: iterations, peak: peak)
        set("phases", rows.map { ["name": $0.name, "seconds": $0.seconds, "share": $0.share] as [String: Any] })
    }

    /// The matrix products of a profiled step by shape, most time first (at most 12 lines, the rest summed): calls
    /// and milliseconds per iteration, GFLOP/s and the fraction of `peak` (the fp32 FMA peak: bf16 products can pass
    /// 100%); all shapes under "product_shapes" in JSON, with "gflops" and "peak_fraction".
    private mutating func productShapes(_ shapes: [(shape: ProductShape, time: ProductShapeTime)], iterations: Int,
                                        peak: FMAPeak?) {
        guard !shapes.isEmpty else { return }
        let n = Double(max(iterations, 1))
        line("matrix products by shape (m×n×k, N/T: A and B as stored or transposed), per iteration:")
        func row(_ name: String, calls: Int, seconds: Double, flops: Double) {
            let gflops = flops / max(seconds, 1e-12) / 1e9
            let fraction = peak.map { String(format: "  %3.0f%% of peak", gflops / $0.gflops * 100) } ?? ""
            line("  " + name.padding(toLength: max(name.count, 22), withPad: " ", startingAt: 0)
                 + String(format: " %5.1f calls %8.2f ms %7.1f GFLOP/s", Double(calls) / n, seconds / n * 1e3, gflops)
                 + fraction)
        }
        for (shape, time) in shapes.prefix(12) {
            row(shape.description, calls: time.calls, seconds: time.seconds, flops: shape.flops * Double(time.calls))
        }
        let rest = shapes.dropFirst(12)
        if !rest.isEmpty {
            row("\(rest.count) more shapes", calls: rest.reduce(0) { $0 + $1.time.calls },
                seconds: rest.reduce(0) { $0 + $1.time.seconds },
                flops: rest.reduce(0) { $0 + $1.shape.flops * Double($1.time.calls) })
        }
        set("product_shapes", shapes.map { s -> [String: Any] in
            let gflops = s.shape.flops * Double(s.time.calls) / max(s.time.seconds, 1e-12) / 1e9
            var figures: [String: Any] = ["m": s.shape.m, "n": s.shape.n, "k": s.shape.k, "trans_a": s.shape.transA,
                                          "trans_b": s.shape.transB, "calls_per_iteration": Double(s.time.calls) / n,
                                          "seconds_per_iteration": s.time.seconds / n, "gflops": gflops]
            if let peak { figures["peak_fraction"] = gflops / peak.gflops }
            return figures
        })
    }

    /// `name` padded with spaces to `width` characters: the first column of a table (`%-44@` does not pad on Linux).
    static func column(_ name: String, _ width: Int = 44) -> String {
        name.count >= width ? name + " " : name + String(repeating: " ", count: width - name.count)
    }

    /// The BLAS library and its threads, as a line and as figures.
    mutating func blas() {
        let threads = BLASInfo.threads, training = QuillGEMM.trainingBLASThreads
        line("BLAS: OpenBLAS \(BLASInfo.coreName) kernels, \(threads) thread\(threads == 1 ? "" : "s")"
             + (training == threads ? "" : "; 1 in training steps, where Quill's GEMM takes the large products"))
        set("blas_core", BLASInfo.coreName)
        set("blas_threads", threads)
        set("blas_threads_training", training)
    }

    /// The median and best of `times` as figures (`median_seconds`, `best_seconds`, `iterations`), and the rates
    /// of `units` (a snake_case name: `chars`) at `per` units an iteration (`chars_per_second`,
    /// `best_chars_per_second`).
    mutating func timings(_ times: BenchTimes, units: String, per: Int) {
        set("median_seconds", times.median)
        set("best_seconds", times.best)
        set("iterations", times.count)
        set("\(units)_per_second", Double(per) / times.median)
        set("best_\(units)_per_second", Double(per) / times.best)
    }

    /// The work rate `gflops` (GFLOP/s, from `flopsPerUnit` FLOPs per `unit`) against the measured `peak`: one line,
    /// and the figures `gflops`, `peak_gflops`, `peak_threads`, `peak_vector_bits` and `peak_fraction`.
    mutating func throughput(gflops: Double, flopsPerUnit: Double, unit: String, peak: FMAPeak?) {
        set("gflops", gflops)
        set("mflop_per_" + unit.replacingOccurrences(of: "-", with: "_"), flopsPerUnit / 1e6)
        let rate = String(format: "%.1f MFLOP/%@ → %.1f GFLOP/s", flopsPerUnit / 1e6, unit, gflops)
        self.peak(peak)
        guard let peak else {
            line(rate)
            return
        }
        set("peak_fraction", peak.fraction(of: gflops))
        line(rate + String(format: " = %.0f%% of the measured FMA peak", 100 * peak.fraction(of: gflops)))
        line(peak.description)
    }

    /// The measured peak as figures (and a line saying so when it could not be measured).
    mutating func peak(_ peak: FMAPeak?) {
        guard let peak else {
            line("FMA peak: not measured (a measuring thread could not be started)")
            return
        }
        set("peak_gflops", peak.gflops)
        set("peak_threads", peak.threads)
        set("peak_vector_bits", peak.vectorBits)
        set("peak_instruction_set", peak.instructionSet)
    }

    /// The figures as one line of JSON with sorted keys.
    func json() -> String {
        func clean(_ v: Any) -> Any {
            if let d = v as? Double { return d.isFinite ? d : NSNull() }
            if let a = v as? [Any] { return a.map(clean) }
            if let o = v as? [String: Any] { return o.mapValues(clean) }
            return v
        }
        let object = figures.mapValues(clean)
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]),
              let text = String(data: data, encoding: .utf8) else { return "{}" }
        return text
    }

    /// Prints the JSON object or the text.
    func emit(json asJSON: Bool) {
        if asJSON {
            print(json())
        } else {
            for l in lines { print(l) }
        }
    }
}
