import QuillData
import QuillNN
import QuillNumerics
import QuillOptim

/// What a benchmark workload measured.
public struct BenchResult {
    /// Seconds per timed iteration (a training step, or a whole sampled line).
    public var times: BenchTimes
    /// Units of work per iteration: characters, sample-steps or pen steps.
    public var units: Int
    /// FLOPs per unit of work (every product counted as 2 FLOPs; a backward pass as twice its forward pass).
    public var flopsPerUnit: Double
    /// Bytes of weights read per unit of work, where that bounds the speed (batch-1 sampling: every parameter once a
    /// step); nil elsewhere.
    public var weightBytesPerUnit: Int? = nil
}

/// Char-LM training as `quill bench char` times it (../shared/bench/pytorch/bench_b_charlm_train.py): a model of
/// `config` trained on random tokens, `batch` streams of `seq` characters a step, with a new char run's optimiser
/// and norm clipping (`CharTrainOptions`: Adam, 2e-3, clip 5) and the recurrent state carried between steps; 3
/// untimed steps, then `iterations` timed ones. Units: characters.
public struct CharTrainingBenchmark {
    public var config: CharModelConfig
    public var batch: Int, seq: Int, iterations: Int
    public var profile: PhaseProfile?

    public init(config: CharModelConfig, batch: Int, seq: Int, iterations: Int, profile: PhaseProfile? = nil) {
        self.config = config; self.batch = batch; self.seq = seq; self.iterations = iterations; self.profile = profile
    }

    /// The first size out of range, or activations that would not fit (as training checks them); nil when it can run.
    public func validate() -> String? {
        var training = CharTrainOptions.defaults
        training.model = config
        training.batch = batch
        training.seq = seq
        return BenchLimits.problem([("iterations", iterations, 1...10_000), ("layers", config.layers, 1...32),
                                    ("hidden", config.hidden, 1...8192), ("batch", batch, 1...4096),
                                    ("seq", seq, 1...4096), ("embedding", config.embedding, 0...8192)])
            ?? training.activationsProblem
    }

    public func run() -> BenchResult {
        var rng = SeededGenerator(seed: 0)
        let model = CharModel<Float>(config: config, rng: &rng)
        let ws = model.makeWorkspace(steps: seq, batch: batch)
        let defaults = CharTrainOptions.defaults
        let opt: AnyOptimizer<Float> = defaults.optimizer.make()
        let trainable = model.parameters.filter(\.trainable)
        let tokens = (0..<((seq + 1) * batch)).map { _ in Int32(rng.next() % UInt64(config.vocabularySize)) }
        let inputs = Array(tokens[0..<(seq * batch)]), targets = Array(tokens[batch...])
        let phases = profile ?? PhaseProfile()
        func iteration() {
            model.parameters.zeroGradients()
            _ = model.trainStep(inputs: inputs, targets: targets, ws, dropout: 0, rng: &rng)
            phases.begin()
            if let clip = defaults.clipNorm { GradientClipping.clipByGlobalNorm(trainable, maxNorm: clip) }
            phases.lap("gradient clip")
            opt.update(trainable)
            ws.carryState()
            phases.lap("optimiser")
        }
        for _ in 0..<3 { iteration() }
        let times = ProductClock.profiling(phases, enabled: profile != nil, attach: { model.profile = $0 }) {
            BenchTimes.measure(warmUp: 0, repetitions: iterations, iteration)
        }
        return BenchResult(times: times, units: seq * batch, flopsPerUnit: 3 * model.forwardFLOPsPerCharacter)
    }
}

/// Handwriting training as `quill bench handwriting` times it (bench_a_handwriting_train.py,
/// bench_a2_synthesis_train.py): a network of `config` trained on random offsets (5% pen-ups) and, for synthesis,
/// random texts of `textLength` characters, `batch` sequences of `steps` points a step, with a new handwriting run's
/// optimiser and Graves's clips (`HandwritingTrainOptions`: Adam 1e-3, ∂L/∂ŷ to ±100, LSTM pre-activations to
/// ±10); 2 untimed steps, then `iterations` timed ones. With `profile`, the timed steps add each phase's time to it.
/// Units: sample-steps.
public struct HandwritingTrainingBenchmark {
    public var config: HandwritingConfig
    public var batch: Int, steps: Int, textLength: Int, iterations: Int
    public var profile: PhaseProfile?

    public init(config: HandwritingConfig, batch: Int, steps: Int, textLength: Int, iterations: Int,
                profile: PhaseProfile? = nil) {
        self.config = config; self.batch = batch; self.steps = steps; self.textLength = textLength
        self.iterations = iterations; self.profile = profile
    }

    /// The first size out of range, or a batch too large (about 10 GB of activations); nil when it can run.
    public func validate() -> String? {
        BenchLimits.problem([("iterations", iterations, 1...1000), ("batch", batch, 1...512), ("steps", steps, 2...10_000),
                             ("text-length", textLength, 1...1000), ("alphabet", config.alphabetSize, 2...1000)])
            ?? (batch * steps > 100_000
                ? "--batch × --steps must be at most 100000 (about 10 GB of activations), got \(batch * steps)" : nil)
    }

    public func run() -> BenchResult {
        var rng = SeededGenerator(seed: 0)
        let model = HandwritingModel<Float>(config: config, rng: &rng)
        let defaults = HandwritingTrainOptions.defaults
        model.setPreactivationGradientClip(defaults.lstmClip.map { Float($0) })
        let ws = model.makeWorkspace(steps: steps, batch: batch, maxTextLength: textLength)
        for i in 0..<(steps * batch * 3) { ws.inputs[i] = Float(rng.normal()); ws.targets[i] = Float(rng.normal()) }
        for i in 0..<(steps * batch) { ws.inputs[3 * i + 2] = rng.uniform() < 0.05 ? 1 : 0; ws.targets[3 * i + 2] = ws.inputs[3 * i + 2] }
        ws.mask.fill(1)
        for b in 0..<batch {
            ws.window?.setText(row: b, (0..<textLength).map { _ in Int32(rng.next() % UInt64(config.alphabetSize)) })
        }
        let opt: AnyOptimizer<Float> = defaults.optimizer.make()
        let params = model.parameters
        let phases = profile ?? PhaseProfile()
        func iteration() {
            ws.resetState()
            params.zeroGradients()
            _ = model.trainStep(ws, outputClip: defaults.outputClip.map { Float($0) })
            phases.begin()
            opt.update(params)
            phases.lap("optimiser")
        }
        for _ in 0..<2 { iteration() }
        let times = ProductClock.profiling(phases, enabled: profile != nil, attach: { model.profile = $0 }) {
            BenchTimes.measure(warmUp: 0, repetitions: iterations, iteration)
        }
        return BenchResult(times: times, units: batch * steps,
                           flopsPerUnit: 3 * model.forwardFLOPsPerStep(textLength: config.kind == .synthesis ? textLength : 0))
    }
}

/// Batch-1 sampling as `quill bench sampling` times it (bench_c_sampling.py), from an untrained network of
/// `config` with an alphabet of ASCII characters (at least 66, so it has 'a'), `repetitions` times: `steps` steps of the prediction network, or
/// for synthesis a text of a's long enough that the step cap (20 steps a character, no finishing steps), not the
/// stopping rule, sets the length. Units: pen steps (an iteration is a whole line).
public struct SamplingBenchmark {
    public var config: HandwritingConfig
    public var steps: Int, repetitions: Int

    public init(config: HandwritingConfig, steps: Int, repetitions: Int) {
        self.config = config; self.steps = steps; self.repetitions = repetitions
    }

    /// The first size out of range; nil when it can run.
    public func validate() -> String? {
        BenchLimits.problem([("steps", steps, 20...100_000), ("reps", repetitions, 1...1000)])
    }

    public func run() -> BenchResult {
        var rng = SeededGenerator(seed: 0)
        let model = HandwritingModel<Float>(config: config, rng: &rng)
        // The unknown symbol and ASCII characters from "!" (with IAM-OnDB's 80 symbols, 'a' is index 65, as in the 80
        // ASCII symbols from " ").
        let symbols = (33..<(32 + config.alphabetSize)).compactMap(Unicode.Scalar.init)
        let sampler = HandwritingSampler(model: model, alphabet: Alphabet(policy: .frequency(minCount: 1), symbols: symbols),
                                         stats: .init(meanDx: 0, meanDy: 0, stdDx: 1, stdDy: 1))
        let characters = max(1, steps / 20 - 1)
        let times = BenchTimes.measure(warmUp: 0, repetitions: repetitions) {
            if config.kind == .prediction {
                _ = sampler.sample(steps: steps, bias: 0, rng: &rng)
            } else {
                var rngs = [rng]
                _ = sampler.write([String(repeating: "a", count: characters)],
                                  options: WriteOptions(bias: 0, stepsPerCharacter: 20, finishingSteps: 0), rngs: &rngs)
                rng = rngs[0]
            }
        }
        return BenchResult(times: times, units: steps,
                           flopsPerUnit: model.forwardFLOPsPerStep(textLength: config.kind == .synthesis ? characters : 0),
                           weightBytesPerUnit: model.parameters.reduce(0) { $0 + $1.count } * MemoryLayout<Float>.size)
    }
}

extension CharModel {
    /// Forward FLOPs per character: each recurrent layer's input and recurrent products (an MRNN's three: x·[W_hx |
    /// W_fx], h·W_fh and f·W_hf) or each convolution's k products, and the output layer (2 FLOPs a product; the
    /// one-hot or embedding lookup costs none).
    public var forwardFLOPsPerCharacter: Double {
        var fwd = 0.0
        for l in stack?.layers ?? [] {
            let G = Double(l.gateWidth), H = Double(l.hiddenSize)
            fwd += 2 * Double(l.inputSize) * G + (l.kind == .mrnn ? 4 * H * Double(l.factors) : 2 * H * G)
        }
        for c in convolution?.convolutions ?? [] { fwd += 2 * Double(c.kernel * c.inputSize * c.outputSize) }
        return fwd + 2 * Double(bodyOutputSize * config.vocabularySize)
    }
}

extension HandwritingModel {
    /// Forward FLOPs per sample-step: each LSTM layer's input and recurrent products, the mixture head over every
    /// layer's output and, in the synthesis network, the window's parameters and its sum over `textLength`
    /// characters (2 FLOPs a product).
    public func forwardFLOPsPerStep(textLength: Int) -> Double {
        let H = Double(config.hidden), G = 4 * H
        var fwd = 0.0
        for l in stack.layers { fwd += 2 * Double(l.inputSize) * G + 2 * H * G }
        fwd += 2 * Double(stack.layers.count) * H * Double(config.mixture.outputSize)
        if config.kind == .synthesis {
            fwd += 2 * H * Double(3 * config.windowComponents) + 4 * Double(config.windowComponents * textLength)
        }
        return fwd
    }
}
