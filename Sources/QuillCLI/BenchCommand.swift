import ArgumentParser
import Foundation
import QuillModels
import QuillNN
import QuillNumerics
import QuillOptim

/// `quill bench …`: throughput benchmarks against the PyTorch baselines.
public struct BenchCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training and sampling throughput (build with -c release).",
        subcommands: [BenchChar.self, BenchHandwriting.self, BenchSampling.self, BenchKernels.self, BenchImportCommand.self, BenchRenderCommand.self]
    )
    public init() {}
}

/// Machine facts the figures are reported against (../shared/bench/pytorch/README.md).
enum Machine {
    /// 2 cores × 2.0 GHz × 64 FP32 FLOP/cycle (AVX-512 FMA).
    static let peakGFLOPS = 256.0
}

/// `quill bench char`: the char-LM training workload of ../shared/bench/pytorch/bench_b_charlm_train.py.
public struct BenchChar: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "char",
        abstract: "Char-LM training throughput: 2×512 LSTM, vocab 65, batch 50 × 50, Adam, clip 5 (PyTorch: 5,270 chars/s).")

    @Option(help: "Timed iterations after 3 warm-up iterations (1…10000).") var iterations: Int = 30
    @Option(help: "Recurrent cell.") var cell: CellKind = .lstm
    @Option(help: "Layers (1…32).") var layers: Int = 2
    @Option(help: "Units per layer (1…8192).") var hidden: Int = 512
    @Option(help: "Batch (1…4096).") var batch: Int = 50
    @Option(help: "Sequence length (1…4096).") var seq: Int = 50
    @Option(help: "Embedding size (0…8192; the PyTorch script learns a 65-wide embedding); 0 for one-hot.") var embedding: Int = 65

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

    public func run() throws {
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
        func iteration() {
            model.parameters.zeroGradients()
            _ = model.trainStep(inputs: inputs, targets: targets, ws, dropout: 0, rng: &rng)
            GradientClipping.clipByGlobalNorm(trainable, maxNorm: 5)
            opt.update(trainable)
            ws.stack.carryState()
        }
        for _ in 0..<3 { iteration() }
        var times = [Double]()
        for _ in 0..<iterations {
            let t0 = DispatchTime.now().uptimeNanoseconds
            iteration()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        times.sort()
        let median = times[times.count / 2], best = times[0]
        let chars = Double(seq * batch)
        // Forward FLOPs per character: every product counted as 2 FLOPs; backward costs twice the forward.
        let g = Double(cell.gateCount * hidden)
        var fwd = 0.0
        for l in model.stack.layers { fwd += 2 * Double(l.inputSize + l.hiddenSize) * g }
        fwd += 2 * Double(model.stack.outputSize * V)
        let flopsPerChar = 3 * fwd
        let rate = chars / median
        let gflops = rate * flopsPerChar / 1e9
        print("char LM \(layers)×\(hidden) \(cell.rawValue), vocab \(V), embedding \(embedding), batch \(batch) × \(seq), Adam, clip 5")
        print("BLAS: OpenBLAS \(BLASInfo.coreName) kernels, \(BLASInfo.threads) threads")
        print(String(format: "median %.1f ms/iteration (best %.1f, n=%d)", median * 1e3, best * 1e3, iterations))
        print(String(format: "%.0f chars/s (best %.0f) = %.2f× PyTorch's 5,270 chars/s", rate, chars / best, rate / 5270))
        print(String(format: "%.1f MFLOP/char → %.1f GFLOP/s = %.0f%% of the %.0f GFLOP/s peak",
                     flopsPerChar / 1e6, gflops, 100 * gflops / Machine.peakGFLOPS, Machine.peakGFLOPS))
    }
}
