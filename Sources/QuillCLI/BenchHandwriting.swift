import ArgumentParser
import Foundation
import QuillData
import QuillModels
import QuillNN
import QuillNumerics
import QuillOptim

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
    @OptionGroup var output: BenchOutputOptions
    @OptionGroup var peakOptions: BenchPeakOptions

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

    public func run() throws { report().emit(json: output.json) }

    /// Trains for the iterations asked and measures.
    func report() -> BenchReport {
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
        let times = BenchTimes.measure(warmUp: 0, repetitions: iterations, iteration)
        let peak = BenchMachine.peak(seconds: peakOptions.peakSeconds)
        let rate = Double(batch * steps) / times.median
        // Forward and backward (twice the forward) FLOPs per sample-step.
        let flops = 3 * HandwritingFLOPs.forwardPerStep(model, textLength: textLength)
        var r = BenchReport(bench: "handwriting")
        r.line("\(network.rawValue) network 3×400, M = 20\(network == .synthesis ? ", K = 10, U = \(textLength), alphabet \(alphabet)" : ""), batch \(batch) × \(steps), Adam")
        r.blas()
        r.line(String(format: "median %.0f ms/batch (best %.0f, n=%d) → %.0f sample-steps/s (best %.0f)",
                      times.median * 1e3, times.best * 1e3, times.count, rate, Double(batch * steps) / times.best))
        r.set("network", network.rawValue)
        r.set("median_seconds", times.median)
        r.set("best_seconds", times.best)
        r.set("iterations", times.count)
        r.set("sample_steps_per_second", rate)
        r.set("best_sample_steps_per_second", Double(batch * steps) / times.best)
        r.throughput(gflops: rate * flops / 1e9, flopsPerUnit: flops, unit: "sample-step", peak: peak)
        if profile {
            r.line("per phase (mean of \(iterations); timing adds a little overhead):")
            let rows = phases.summary(repetitions: iterations)
            let width = rows.map(\.name.count).max() ?? 0
            for row in rows {
                let pad = String(repeating: " ", count: width - row.name.count)
                r.line("  " + row.name + pad + String(format: " %8.1f ms  %5.1f%%", row.seconds * 1e3, row.share * 100))
            }
            r.set("phases", rows.map { ["name": $0.name, "seconds": $0.seconds, "share": $0.share] as [String: Any] })
        }
        return r
    }
}

/// Counted FLOPs of the handwriting networks (every product counted as 2 FLOPs).
enum HandwritingFLOPs {
    /// Forward FLOPs per sample-step: each LSTM layer's input and recurrent products, the mixture head over every
    /// layer's output and, in the synthesis network, the window's parameters and its sum over `textLength`
    /// characters.
    static func forwardPerStep(_ model: HandwritingModel<Float>, textLength: Int) -> Double {
        let config = model.config
        let H = Double(config.hidden), G = 4 * H
        var fwd = 0.0
        for l in model.layers { fwd += 2 * Double(l.inputSize) * G + 2 * H * G }
        fwd += 2 * Double(model.layers.count) * H * Double(config.mixture.outputSize)
        if config.kind == .synthesis {
            fwd += 2 * H * Double(3 * config.windowComponents) + 4 * Double(config.windowComponents * textLength)
        }
        return fwd
    }
}

/// `quill bench sampling`: batch-1 sampling speed (../shared/bench/pytorch/bench_c_sampling.py).
public struct BenchSampling: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sampling",
        abstract: "Batch-1 sampling: 3×400 LSTM stack with the mixture head and mixture sampling.")

    @Option(help: "prediction or synthesis.") var network: HandwritingKind = .prediction
    @Option(help: "Steps to sample (20…100000).") var steps: Int = 700
    @Option(help: "Repetitions (1…1000; the median is reported).") var reps: Int = 5
    @OptionGroup var output: BenchOutputOptions
    @OptionGroup var peakOptions: BenchPeakOptions

    public init() {}

    public func validate() throws {
        try OptionRange.check("steps", steps, 20...100_000)
        try OptionRange.check("reps", reps, 1...1000)
    }

    public func run() throws { report().emit(json: output.json) }

    /// Samples for the repetitions asked and measures.
    func report() -> BenchReport {
        var rng = SeededGenerator(seed: 0)
        let config = HandwritingConfig(kind: network, alphabetSize: 80)
        let model = HandwritingModel<Float>(config: config, rng: &rng)
        // The unknown symbol and 79 ASCII characters from "!" ('a' is index 65, as in the 80 ASCII symbols from " ").
        let alphabet = Alphabet(policy: .frequency(minCount: 1), symbols: (33..<112).compactMap(Unicode.Scalar.init))
        let sampler = HandwritingSampler(model: model, alphabet: alphabet,
                                         stats: .init(meanDx: 0, meanDy: 0, stdDx: 1, stdDy: 1))
        // A text long enough that the cap, not the stopping rule, sets the length: 20 × (characters + 1) steps.
        let characters = max(1, steps / 20 - 1)
        let times = BenchTimes.measure(warmUp: 0, repetitions: reps) {
            if network == .prediction {
                _ = sampler.sample(steps: steps, bias: 0, rng: &rng)
            } else {
                var rngs = [rng]
                _ = sampler.write([String(repeating: "a", count: characters)],
                                  options: WriteOptions(bias: 0, stepsPerCharacter: 20, finishingSteps: 0), rngs: &rngs)
                rng = rngs[0]
            }
        }
        let peak = BenchMachine.peak(seconds: peakOptions.peakSeconds)
        let perStep = times.median / Double(steps), bestPerStep = times.best / Double(steps)
        let flops = HandwritingFLOPs.forwardPerStep(model, textLength: network == .synthesis ? characters : 0)
        var r = BenchReport(bench: "sampling")
        r.line("\(network.rawValue) sampling, batch 1, 3×400, M = 20, \(steps) steps")
        r.blas()
        r.line(String(format: "%.3f ms/step (best %.3f, n=%d) → %.0f steps/s; a 1,000-step line takes %.2f s",
                      perStep * 1e3, bestPerStep * 1e3, times.count, 1 / perStep, perStep * 1000))
        r.set("network", network.rawValue)
        r.set("steps", steps)
        r.set("repetitions", times.count)
        r.set("median_seconds_per_step", perStep)
        r.set("best_seconds_per_step", bestPerStep)
        r.set("steps_per_second", 1 / perStep)
        r.throughput(gflops: flops / perStep / 1e9, flopsPerUnit: flops, unit: "step", peak: peak)
        return r
    }
}

extension HandwritingKind: ExpressibleByArgument {}
