import ArgumentParser
import Foundation
import QuillModels
import QuillNN
import QuillNumerics
import QuillOptim

/// `quill bench …`: throughput benchmarks. Each reports absolute figures and the fraction of the FMA peak measured on
/// this machine during the run; `make bench-compare` runs them beside the PyTorch scripts for ratios.
public struct BenchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training and sampling throughput (build with -c release).",
        discussion: "Figures are absolute (chars/s, sample-steps/s, GFLOP/s) and fractions of the FMA peak measured at "
            + "run time. For ratios against PyTorch on the same machine, run `make bench-compare`.",
        subcommands: [BenchChar.self, BenchHandwriting.self, BenchSampling.self, BenchKernels.self, BenchImportCommand.self, BenchRenderCommand.self]
    )
    public init() {}
}

/// `quill bench char`: the char-LM training workload of ../shared/bench/pytorch/bench_b_charlm_train.py.
public struct BenchChar: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "char",
        abstract: "Char-LM training throughput: 2×512 LSTM, vocab 65, batch 50 × 50, Adam, clip 5.")

    @Option(help: "Timed iterations after 3 warm-up iterations (1…10000).") var iterations: Int = 30
    @Option(help: "Recurrent cell.") var cell: CellKind = .lstm
    @Option(help: "Layers (1…32).") var layers: Int = 2
    @Option(help: "Units per layer (1…8192).") var hidden: Int = 512
    @Option(help: "Batch (1…4096).") var batch: Int = 50
    @Option(help: "Sequence length (1…4096).") var seq: Int = 50
    @Option(help: "Embedding size (0…8192; the PyTorch script learns a 65-wide embedding); 0 for one-hot.") var embedding: Int = 65
    @OptionGroup var output: BenchOutputOptions
    @OptionGroup var peakOptions: BenchPeakOptions

    public init() {}

    public func validate() throws {
        try OptionRange.check("iterations", iterations, 1...10_000)
        try OptionRange.check("layers", layers, 1...32)
        try OptionRange.check("hidden", hidden, 1...8192)
        try OptionRange.check("batch", batch, 1...4096)
        try OptionRange.check("seq", seq, 1...4096)
        try OptionRange.check("embedding", embedding, 0...8192)
        // About 14 floats of activations per unit, step and row (as `char train` estimates).
        let bytes = Double(batch) * Double(seq) * Double(hidden) * Double(layers) * 4 * 14
        if bytes > 16e9 {
            throw ValidationError("--batch × --seq × --hidden × --layers needs about \(Int(bytes / 1e9)) GB of activations; lower them")
        }
    }

    public func run() throws { report().emit(json: output.json) }

    /// Trains for the iterations asked and measures.
    func report() -> BenchReport {
        let V = 65
        var rng = SeededGenerator(seed: 0)
        let config = CharModelConfig(cell: cell, layers: layers, hidden: hidden, embedding: embedding,
                                     vocabularySize: V)
        let model = CharModel<Float>(config: config, rng: &rng)
        let ws = model.makeWorkspace(steps: seq, batch: batch)
        let opt: AnyOptimizer<Float> = OptimizerConfig(kind: .adam, learningRate: 2e-3).make()
        let trainable = model.parameters.filter(\.trainable)
        let tokens = (0..<((seq + 1) * batch)).map { _ in Int32(rng.next() % UInt64(V)) }
        let inputs = Array(tokens[0..<(seq * batch)]), targets = Array(tokens[batch...])
        let times = BenchTimes.measure(warmUp: 3, repetitions: iterations) {
            model.parameters.zeroGradients()
            _ = model.trainStep(inputs: inputs, targets: targets, ws, dropout: 0, rng: &rng)
            GradientClipping.clipByGlobalNorm(trainable, maxNorm: 5)
            opt.update(trainable)
            ws.stack.carryState()
        }
        let peak = BenchMachine.peak(seconds: peakOptions.peakSeconds)
        let chars = Double(seq * batch)
        // Forward FLOPs per character: every product counted as 2 FLOPs; backward costs twice the forward.
        let g = Double(cell.gateCount * hidden)
        var fwd = 0.0
        for l in model.stack.layers { fwd += 2 * Double(l.inputSize + l.hiddenSize) * g }
        fwd += 2 * Double(model.stack.outputSize * V)
        let flopsPerChar = 3 * fwd
        let rate = chars / times.median
        var r = BenchReport(bench: "char")
        r.line("char LM \(layers)×\(hidden) \(cell.rawValue), vocab \(V), embedding \(embedding), batch \(batch) × \(seq), Adam, clip 5")
        r.blas()
        r.line(String(format: "median %.1f ms/iteration (best %.1f, n=%d)", times.median * 1e3, times.best * 1e3, times.count))
        r.line(String(format: "%.0f chars/s (best %.0f)", rate, chars / times.best))
        r.set("median_seconds", times.median)
        r.set("best_seconds", times.best)
        r.set("iterations", times.count)
        r.set("chars_per_second", rate)
        r.set("best_chars_per_second", chars / times.best)
        r.throughput(gflops: rate * flopsPerChar / 1e9, flopsPerUnit: flopsPerChar, unit: "char", peak: peak)
        return r
    }
}
