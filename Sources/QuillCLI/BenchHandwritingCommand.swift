import ArgumentParser
import QuillModels
import QuillNumerics

/// `quill bench handwriting`: training throughput of the handwriting networks
/// (../shared/bench/pytorch/bench_a_handwriting_train.py and bench_a2_synthesis_train.py).
public struct BenchHandwriting: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "handwriting",
        abstract: "Handwriting training throughput: 3×400 LSTM, M = 20, batch 32 × 300, Adam.")

    @Option(help: "prediction or synthesis.") var network: HandwritingKind = .synthesis
    @Option(help: "Timed iterations after 2 warm-up iterations (1…1000).") var iterations: Int = 10
    @Option(help: "Batch (1…512; --batch × --steps at most 100000).") var batch: Int = 32
    @Option(help: "Steps per sequence (2…10000).") var steps: Int = 300
    @Option(help: "Text length U (synthesis; 1…1000).") var textLength: Int = 40
    @Option(help: "Alphabet size (synthesis; 2…1000).") var alphabet: Int = 80
    @Flag(help: "Also time each phase of a training step (forward, loss, backward per layer group, optimiser).")
    var profile = false
    @OptionGroup var precisionArgs: BenchPrecisionOption
    @OptionGroup var measure: BenchMeasureOptions

    public init() {}

    public func validate() throws { if let m = workload(profile: nil).validate() { throw ValidationError(m) } }

    func workload(profile: PhaseProfile?) -> HandwritingTrainingBenchmark {
        HandwritingTrainingBenchmark(config: HandwritingConfig(kind: network, alphabetSize: alphabet), batch: batch,
                                     steps: steps, textLength: textLength, iterations: iterations, profile: profile)
    }

    public func run() throws { report().emit(json: measure.json) }

    /// Trains for the iterations asked and measures.
    func report() -> BenchReport {
        let phases = profile ? PhaseProfile() : nil
        let result = QuillGEMM.withTrainingProducts(precision: precisionArgs.precision) { workload(profile: phases).run() }
        let times = result.times, rate = Double(result.units) / times.median
        var r = BenchReport(bench: "handwriting")
        r.line("\(network.rawValue) network 3×400, M = 20\(network == .synthesis ? ", K = 10, U = \(textLength), alphabet \(alphabet)" : ""), batch \(batch) × \(steps), Adam")
        r.blas()
        precisionArgs.report(&r)
        r.line(String(format: "median %.0f ms/batch (best %.0f, n=%d) → %.0f sample-steps/s (best %.0f)",
                      times.median * 1e3, times.best * 1e3, times.count, rate, Double(result.units) / times.best))
        r.set("network", network.rawValue)
        r.timings(times, units: "sample_steps", per: result.units)
        let peak = measure.peak(training: true)
        r.throughput(gflops: rate * result.flopsPerUnit / 1e9, flopsPerUnit: result.flopsPerUnit, unit: "sample-step",
                     peak: peak)
        if let phases { r.phases(phases, iterations: iterations, peak: peak) }
        return r
    }
}

extension HandwritingKind: ExpressibleByArgument {}
