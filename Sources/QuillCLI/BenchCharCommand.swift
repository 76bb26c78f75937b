import ArgumentParser
import QuillModels
import QuillNN
import QuillNumerics

/// `quill bench char`: the char-LM training workload of ../shared/bench/pytorch/bench_b_charlm_train.py.
public struct BenchChar: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "char",
        abstract: "Char-LM training throughput: 2×512 LSTM, vocab 65, batch 50 × 50, Adam, clip 5.")

    @Option(help: "Timed iterations after 3 warm-up iterations (1…10000).") var iterations: Int = 30
    @Option(help: "Layers (1…32).") var layers: Int = 2
    @Option(help: "Units per layer (1…8192).") var hidden: Int = 512
    @Option(help: "Recurrent cell.") var cell: CellKind = .lstm
    @Option(help: "Batch (1…4096).") var batch: Int = 50
    @Option(help: "Sequence length (1…4096).") var seq: Int = 50
    @Option(help: ArgumentHelp("Embedding size (0…8192; the PyTorch script learns a 65-wide embedding); "
            + "0 for one-hot.")) var embedding: Int = 65
    @Flag(help: "Also time each phase of a step (forward, loss, backward, clip, optimiser) and split the step into matrix products, fused recurrent steps and other passes.")
    var profile = false
    @OptionGroup var precisionArgs: BenchPrecisionOption
    @OptionGroup var measure: BenchMeasureOptions

    /// The PyTorch script's vocabulary (tinyshakespeare's 65 characters).
    static let vocabulary = 65

    public init() {}

    public func validate() throws { if let m = workload.validate() { throw ValidationError(m) } }

    var workload: CharTrainingBenchmark { workload(profile: nil) }

    func workload(profile: PhaseProfile?) -> CharTrainingBenchmark {
        CharTrainingBenchmark(config: CharModelConfig(cell: cell, layers: layers, hidden: hidden, embedding: embedding,
                                                      vocabularySize: Self.vocabulary),
                              batch: batch, seq: seq, iterations: iterations, profile: profile)
    }

    public func run() throws { report().emit(json: measure.json) }

    /// Trains for the iterations asked and measures.
    func report() -> BenchReport {
        let phases = profile ? PhaseProfile() : nil
        let result = QuillGEMM.withTrainingProducts(precision: precisionArgs.precision) { workload(profile: phases).run() }
        let times = result.times, chars = Double(result.units), rate = chars / times.median
        var r = BenchReport(bench: "char")
        r.line("char LM \(layers)×\(hidden) \(cell.rawValue), vocab \(Self.vocabulary), embedding \(embedding), batch \(batch) × \(seq), Adam, clip 5")
        r.blas()
        precisionArgs.report(&r)
        r.line(String(format: "median %.1f ms/iteration (best %.1f, n=%d)", times.median * 1e3, times.best * 1e3, times.count))
        r.line(String(format: "%.0f chars/s (best %.0f)", rate, chars / times.best))
        r.timings(times, units: "chars", per: result.units)
        let peak = measure.peak(training: true)
        r.throughput(gflops: rate * result.flopsPerUnit / 1e9, flopsPerUnit: result.flopsPerUnit, unit: "char",
                     peak: peak)
        if let phases { r.phases(phases, iterations: iterations, peak: peak) }
        return r
    }
}
