import QuillData
import QuillNumerics
import QuillIO
import QuillNN
import QuillOptim

/// Everything that defines a char-model training run. Saved in every checkpoint; `--resume` reads it back.
public struct CharTrainOptions: RunOptions {
    /// Text files, concatenated in order.
    public var dataPaths: [String]
    /// Output directory: model.safetensors (best by validation), last.safetensors (resume point), metrics.jsonl.
    public var outDir: String
    /// Architecture (its vocabularySize is filled from the data).
    public var model: CharModelConfig
    /// Streams per batch.
    public var batch: Int = 50
    /// Truncated-BPTT window length.
    public var seq: Int = 50
    public var optimizer = OptimizerConfig(kind: .adam, learningRate: CharTrainOptions.defaultLearningRate(for: .adam))
    /// Step decay of the learning rate: ×factor every `every` steps after `start`.
    public var lrSchedule = LearningRateSchedule(initial: CharTrainOptions.defaultLearningRate(for: .adam))
    /// Clip the gradient's global norm to this value (nil: no norm clipping).
    public var clipNorm: Double? = 5
    /// Clamp every gradient value to ±this (nil: no value clipping).
    public var clipValue: Double?
    /// Stop after this many steps in all (counting steps before a resume).
    public var steps: Int?
    /// Stop after this many minutes of this invocation.
    public var minutes: Double?
    public var seed: UInt64 = 1
    /// The last fraction of the text held out for validation.
    public var valFraction: Double = 0.1
    /// Validate, print a sample and checkpoint every this many steps.
    public var evalEvery: Int = 500
    /// Write a training line to metrics.jsonl every this many steps.
    public var logEvery: Int = 10
    /// Length of the sample printed at each validation (0: none).
    public var sampleLength: Int = 200
    /// The temperature of those samples (nil: 0.8, as before the option).
    public var sampleTemperature: Double?
    /// The text those samples start from (nil: none); every character must be in the training text.
    public var samplePrime: String?
    /// Fingerprint of the data files, checked on resume.
    public var dataFingerprint: String = ""
    /// bf16 for the large matrix products of the training steps (`--precision bf16`), nil for fp32.
    public var precision: QuillGEMM.Precision?
    /// The run whose best model gave this one its first weights (`--init-from`); nil for weights from the seed.
    public var initFrom: InitSource?
    /// How the weight matrices of a new run are drawn (`--init`); nil for the layers' own initialisation.
    public var weightInit: WeightInit?
    /// Weight noise while training (`--weight-noise`, `--adaptive-weight-noise`); nil for none.
    public var weightNoise: WeightNoiseOption?

    public init(dataPaths: [String], outDir: String, model: CharModelConfig) {
        self.dataPaths = dataPaths; self.outDir = outDir; self.model = model
    }

    /// No data, no directory, `CharModelConfig`'s default architecture (its vocabulary comes from the data).
    public static var defaults: CharTrainOptions {
        CharTrainOptions(dataPaths: [], outDir: "", model: CharModelConfig(vocabularySize: 1))
    }

    /// Where the held-out text starts in a text of `count` characters: its last `valFraction` is held out for
    /// validation (none when the fraction is 0).
    public static func validationStart(count: Int, valFraction: Double) -> Int {
        valFraction > 0 ? Int(Double(count) * (1 - valFraction)) : count
    }

    /// char-rnn's rates: 2e-3 for Adam and RMSProp, 1e-4 for Graves's RMSProp (his handwriting rate), 0.1 for SGD.
    public static func defaultLearningRate(for kind: OptimizerKind) -> Double {
        switch kind {
        case .adam, .rmsprop: 2e-3
        case .gravesRMSProp: 1e-4
        case .sgd: 0.1
        // Hessian-free has no learning rate: the line search sets each step's length.
        case .hf: 1
        }
    }

    /// A message naming the first nonsensical option, or nil. Runs before any work starts.
    public func validate() -> String? {
        if dataPaths.isEmpty { return "--data is required" }
        if let m = model.validate() { return m }
        if !(1...100_000).contains(batch) { return "--batch must be between 1 and 100000, got \(batch)" }
        if !(1...100_000).contains(seq) { return "--seq must be between 1 and 100000, got \(seq)" }
        if optimizer.kind == .hf {
            if let m = GaussNewton.problem(model) { return m }
            if let m = optimizer.validate() { return m }
            if clipNorm != nil || clipValue != nil { return "--optimizer hf takes no --clip or --clip-value: its steps come from the damped quadratic model and a line search" }
            if lrSchedule.factor != 1 { return "--optimizer hf has no learning rate to decay: drop --lr-decay" }
            if weightNoise != nil { return "--optimizer hf needs a deterministic loss: drop --weight-noise and --adaptive-weight-noise" }
            if precision == .bf16 { return "--optimizer hf runs in fp32: drop --precision bf16" }
        }
        if let m = optimizer.validate() { return "--lr/optimizer: \(m)" }
        if !(lrSchedule.factor > 0 && lrSchedule.factor <= 1) { return "--lr-decay must be in (0, 1], got \(lrSchedule.factor)" }
        if let c = clipNorm, !(c > 0 && c.isFinite) { return "--clip must be positive, got \(c)" }
        if let c = clipValue, !(c > 0 && c.isFinite) { return "--clip-value must be positive, got \(c)" }
        if let s = steps, s < 1 { return "--steps must be at least 1, got \(s)" }
        if let m = minutes, !(m > 0 && m.isFinite) { return "--minutes must be positive, got \(m)" }
        if steps == nil && minutes == nil { return "give --steps N or --minutes M (or both) to say when to stop" }
        if !(valFraction >= 0 && valFraction <= 0.5) { return "--val-fraction must be in [0, 0.5], got \(valFraction)" }
        if evalEvery < 1 { return "--eval-every must be at least 1, got \(evalEvery)" }
        if logEvery < 1 { return "--log-every must be at least 1" }
        if sampleLength < 0 { return "--sample-length must not be negative" }
        if let t = sampleTemperature, !(t > 0 && t <= 100) { return "--sample-temperature must be more than 0 and at most 100" }
        if let p = samplePrime, p.unicodeScalars.count > 10_000 { return "--sample-prime is longer than 10000 characters" }
        if let m = precisionProblem { return m }
        if let m = weightNoise?.problem { return m }
        return activationsProblem
    }

    /// A message when the activations a step keeps (about 14 floats per unit, step and row) would pass 16 GB;
    /// nil when they fit.
    public var activationsProblem: String? {
        let bytes = Double(batch) * Double(seq) * Double(model.hidden) * Double(model.layers) * 4 * 14
        if bytes > 16e9 { return "--batch × --seq × --hidden × --layers needs about \(Int(bytes / 1e9)) GB of activations; lower them" }
        return nil
    }
}

/// Resumable trainer state, saved as JSON in last.safetensors.
struct CharTrainerState: TrainerState {
    var step = 0
    var position = 0
    var epoch = 0
    var rng: [String] = []
    var bestValLoss: Double?
    var bestStep: Int?
    var elapsed: Double = 0
    var bestScore: Double? { get { bestValLoss } set { bestValLoss = newValue } }

    func invalidField() -> String? {
        if position < 0 { return "position \(position) is negative" }
        if epoch < 0 { return "epoch \(epoch) is negative" }
        if let b = bestValLoss, !(b.isFinite && b >= 0) { return "best validation loss \(b) is not a non-negative number" }
        if let s = bestStep, !(0...step).contains(s) { return "best step \(s) is not between 0 and the step \(step)" }
        return nil
    }
}

/// The text of a char run: the corpus in the run's alphabet, split into training and validation tokens (the last
/// `valFraction` held out), and the streams the training tokens are read in (`StreamBatcher`).
struct CharTrainingText {
    let train: [Int32], val: [Int32]
    let batcher: StreamBatcher

    /// Throws `CharModelError.dataTooShort` when the training text cannot fill one batch, `TrainingError` when the
    /// validation part holds under 2 characters, and the alphabet's error for a character it lacks.
    init(corpus: CharCorpus, alphabet: Alphabet, options: CharTrainOptions) throws {
        let source = options.dataPaths.joined(separator: ", ")
        let tokens = try alphabet.tokens(corpus.text, source: source)
        let nTrain = CharTrainOptions.validationStart(count: tokens.count, valFraction: options.valFraction)
        (train, val) = (Array(tokens[0..<nTrain]), Array(tokens[nTrain...]))
        batcher = StreamBatcher(tokenCount: train.count, batch: options.batch, steps: options.seq)
        guard batcher.fits else {
            throw CharModelError.dataTooShort(source, chars: train.count, needed: options.batch * (options.seq + 1))
        }
        if options.valFraction > 0 && val.count < 2 {
            throw TrainingError.invalidOption("the validation part (--val-fraction \(options.valFraction)) holds under 2 characters; use more text or a larger fraction")
        }
    }

    /// Checks a resumed stream position (nil: a new run) against the streams; throws `CheckpointError.corrupt`.
    func check(_ position: Int?, path: String) throws {
        if let position, position + batcher.steps + 1 > batcher.streamLength {
            throw CheckpointError.corrupt(path, "trainer state (quill.trainer): position \(position) lies past the end of the training text's streams (\(batcher.streamLength) characters each)")
        }
    }
}
