import ArgumentParser
import Foundation
import QuillModels
import QuillNN
import QuillNumerics
import QuillOptim

/// `quill bench handwriting`: training throughput of the handwriting networks
/// (../shared/bench/pytorch/bench_a_handwriting_train.py and bench_a2_synthesis_train.py).
public struct BenchHandwriting: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "handwriting",
        abstract: "Handwriting training throughput: 3×400 LSTM, M = 20, batch 32 × 300, Adam (PyTorch: prediction 5,630, synthesis 3,550 sample-steps/s).")

    @Option(help: "prediction or synthesis.") var network: HandwritingKind = .synthesis
    @Option(help: "Timed iterations after 2 warm-up iterations (1…1000).") var iterations: Int = 10
    @Option(help: "Batch (1…512; --batch × --steps at most 100000).") var batch: Int = 32
    @Option(help: "Steps per sequence (2…10000).") var steps: Int = 300
    @Option(help: "Text length U (synthesis; 1…1000).") var textLength: Int = 40
    @Option(help: "Alphabet size (synthesis; 2…1000).") var alphabet: Int = 80
    @Flag(help: "Also time each phase of a training step (forward, loss, backward per layer group, optimiser).")
    var profile = false

    public init() {}

    public func validate() throws {
        try OptionRange.check("iterations", iterations, 1...1000)
        try OptionRange.check("batch", batch, 1...512)
        try OptionRange.check("steps", steps, 2...10_000)
        try OptionRange.check("text-length", textLength, 1...1000)
        try OptionRange.check("alphabet", alphabet, 2...1000)
        if batch * steps > 100_000 {
            throw ValidationError("--batch × --steps must be at most 100000 (about 10 GB of activations), got \(batch * steps)")
        }
    }

    public func run() throws {
        var rng = SeededGenerator(seed: 0)
        let config = HandwritingConfig(kind: network, alphabetSize: alphabet)
        let model = HandwritingModel<Float>(config: config, rng: &rng)
        model.setPreactivationGradientClip(10)
        let ws = model.makeWorkspace(steps: steps, batch: batch, maxTextLength: textLength)
        for i in 0..<(steps * batch * 3) { ws.inputs[i] = Float(rng.normal()); ws.targets[i] = Float(rng.normal()) }
        for i in 0..<(steps * batch) { ws.inputs[3 * i + 2] = rng.uniform() < 0.05 ? 1 : 0; ws.targets[3 * i + 2] = ws.inputs[3 * i + 2] }
        ws.mask.fill(1)
        for b in 0..<batch { ws.window?.setText(row: b, (0..<textLength).map { _ in Int32(rng.next() % UInt64(alphabet)) }) }
        let opt: AnyOptimizer<Float> = OptimizerConfig(kind: .adam, learningRate: 1e-3).make()
        let params = model.parameters
        let phases = PhaseProfile()
        func iteration() {
            ws.resetState()
            params.zeroGradients()
            _ = model.trainStep(ws, outputClip: 100)
            phases.begin()
            opt.update(params)
            phases.lap("optimiser")
        }
        for _ in 0..<2 { iteration() }
        if profile { model.profile = phases }
        phases.reset()
        var times = [Double]()
        for _ in 0..<iterations {
            let t0 = DispatchTime.now().uptimeNanoseconds
            iteration()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        times.sort()
        let median = times[times.count / 2]
        let rate = Double(batch * steps) / median
        let baseline = network == .synthesis ? 3550.0 : 5630.0
        // Forward FLOPs per sample-step: LSTM input and recurrent products, window, output; backward ×2.
        let H = Double(config.hidden), G = 4 * H, V = Double(network == .synthesis ? alphabet : 0)
        var fwd = 0.0
        for l in model.layers { fwd += 2 * Double(l.inputSize) * G + 2 * H * G }
        fwd += 2 * Double(model.layers.count) * H * Double(config.mixture.outputSize)
        if network == .synthesis { fwd += 2 * H * Double(3 * config.windowComponents) + 4 * Double(config.windowComponents * textLength) }
        _ = V
        let gflops = rate * 3 * fwd / 1e9
        print("\(network.rawValue) network 3×400, M = 20\(network == .synthesis ? ", K = 10, U = \(textLength), alphabet \(alphabet)" : ""), batch \(batch) × \(steps), Adam")
        print("BLAS: OpenBLAS \(BLASInfo.coreName), \(BLASInfo.threads) threads")
        print(String(format: "median %.0f ms/batch (best %.0f, n=%d) → %.0f sample-steps/s = %.2f× PyTorch's %.0f",
                     median * 1e3, times[0] * 1e3, iterations, rate, rate / baseline, baseline))
        print(String(format: "%.1f MFLOP/sample-step → %.1f GFLOP/s = %.0f%% of the %.0f GFLOP/s peak",
                     3 * fwd / 1e6, gflops, 100 * gflops / Machine.peakGFLOPS, Machine.peakGFLOPS))
        if profile {
            print("per phase (mean of \(iterations); timing adds a little overhead):")
            let rows = phases.summary(repetitions: iterations)
            let width = rows.map(\.name.count).max() ?? 0
            for r in rows {
                let pad = String(repeating: " ", count: width - r.name.count)
                print("  " + r.name + pad + String(format: " %8.1f ms  %5.1f%%", r.seconds * 1e3, r.share * 100))
            }
        }
    }
}

/// `quill bench sampling`: batch-1 sampling speed (../shared/bench/pytorch/bench_c_sampling.py).
public struct BenchSampling: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sampling",
        abstract: "Batch-1 sampling: 3×400 LSTM stack with the mixture head and mixture sampling (PyTorch: 0.90 ms/step).")

    @Option(help: "prediction or synthesis.") var network: HandwritingKind = .prediction
    @Option(help: "Steps to sample (20…100000).") var steps: Int = 700
    @Option(help: "Repetitions (1…1000; the median is reported).") var reps: Int = 5

    public init() {}

    public func validate() throws {
        try OptionRange.check("steps", steps, 20...100_000)
        try OptionRange.check("reps", reps, 1...1000)
    }

    public func run() throws {
        var rng = SeededGenerator(seed: 0)
        let config = HandwritingConfig(kind: network, alphabetSize: 80)
        let model = HandwritingModel<Float>(config: config, rng: &rng)
        let sampler = HandwritingSampler(model: model, alphabet: (0..<80).map { String(UnicodeScalar(UInt8(32 + $0))) },
                                         stats: .init(meanDx: 0, meanDy: 0, stdDx: 1, stdDy: 1))
        var times = [Double]()
        for _ in 0..<max(reps, 1) {
            let t0 = DispatchTime.now().uptimeNanoseconds
            if network == .prediction {
                _ = sampler.sample(steps: steps, bias: 0, rng: &rng)
            } else {
                // A text long enough that the cap, not the stopping rule, sets the length.
                // The cap is 20 × (characters + 1) steps.
                var rngs = [rng]
                _ = sampler.write([String(repeating: "a", count: max(1, steps / 20 - 1))],
                                  options: WriteOptions(bias: 0, stepsPerCharacter: 20, finishingSteps: 0), rngs: &rngs)
                rng = rngs[0]
            }
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9 / Double(steps))
        }
        times.sort()
        let m = times[times.count / 2]
        print("\(network.rawValue) sampling, batch 1, 3×400, M = 20, \(steps) steps; BLAS \(BLASInfo.coreName) × \(BLASInfo.threads)")
        print(String(format: "%.3f ms/step (best %.3f) = %.2f× faster than PyTorch's 0.90 ms/step; a 1,000-step line takes %.2f s",
                     m * 1e3, times[0] * 1e3, 0.90 / (m * 1e3), m * 1000))
    }
}

extension HandwritingKind: ExpressibleByArgument {}
