import Foundation
import QuillData
import QuillIO
import QuillNN
import QuillNumerics
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
    /// Fingerprint of the data files, checked on resume.
    public var dataFingerprint: String = ""

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
        }
    }

    /// A message naming the first nonsensical option, or nil. Runs before any work starts.
    public func validate() -> String? {
        if dataPaths.isEmpty { return "--data is required" }
        if let m = model.validate() { return m }
        if !(1...100_000).contains(batch) { return "--batch must be between 1 and 100000, got \(batch)" }
        if !(1...100_000).contains(seq) { return "--seq must be between 1 and 100000, got \(seq)" }
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

extension TrainingRun {
    /// A char-model run (`CharTask`); `resume` continues the run in `options.outDir`.
    public convenience init(options: CharTrainOptions, resume: Bool, onEvent: @escaping (TrainingEvent) -> Void = { _ in }) {
        self.init(task: CharTask(options: options), resume: resume, onEvent: onEvent)
    }
}

/// Char-model training as a task of `TrainingRun`: a corpus split into training and validation text, streams of
/// `batch` × `seq` characters carried across steps (their RNN state saved as `state.rnn.N.h/c` in last.safetensors),
/// and the char divergence rule.
final class CharTask: TrainingTask {
    var options: CharTrainOptions
    private var corpus: CharCorpus!  // Invariant: loadData sets it, before any other use.
    private var vocab: Alphabet!  // Invariant: startFresh or resume sets it, before any other use.
    private var model: CharModel<Float>!  // Invariant: startFresh or resume sets it, before any other use.
    private var ws: CharWorkspace<Float>!  // Invariant: prepare sets it, before any other use.
    private var batcher: StreamBatcher!  // Invariant: prepare sets it, before any other use.
    private var train: [Int32] = [], val: [Int32] = []
    private var inputs: [Int32] = [], targets: [Int32] = []

    init(options: CharTrainOptions) { self.options = options }

    func loadData(resuming: Bool, budget: MemoryBudget) throws { corpus = try CharCorpus(paths: options.dataPaths) }

    private func checkMemory(_ budget: MemoryBudget) throws {
        try budget.check(MemoryEstimate.charTraining(options.model, batch: options.batch, seq: options.seq,
                                                     optimizer: options.optimizer.kind,
                                                     characters: corpus.text.unicodeScalars.count))
    }

    func startFresh(rng: inout SeededGenerator, budget: MemoryBudget) throws {
        vocab = Alphabet(text: corpus.text)
        options.model.vocabularySize = vocab.count
        options.dataFingerprint = corpus.fingerprint
        if let m = options.model.validate() { throw TrainingError.invalidOption(m) }
        try checkMemory(budget)
        model = CharModel<Float>(config: options.model, rng: &rng)
    }

    func resume(from path: String, budget: MemoryBudget) throws -> SafeTensors.File {
        try checkMemory(budget)
        let loaded = try CharCheckpoint.load(path, budget: budget)
        // The memory check and the workspace follow the saved options: they must describe the saved model.
        guard loaded.model.config == options.model else {
            throw CheckpointError.corrupt(path, "quill.config and quill.train-options describe different models")
        }
        guard options.dataFingerprint == corpus.fingerprint else {
            throw TrainingError.resumeMismatch("the --data files differ from those \(options.outDir) was trained on; resume with the same text, or train into a new --out")
        }
        (vocab, model) = (loaded.alphabet, loaded.model)
        return loaded.file
    }

    func prepare(resumed: CharTrainerState?, path: String) throws {
        let tokens = try vocab.tokens(corpus.text, source: options.dataPaths.joined(separator: ", "))
        let nTrain = CharTrainOptions.validationStart(count: tokens.count, valFraction: options.valFraction)
        (train, val) = (Array(tokens[0..<nTrain]), Array(tokens[nTrain...]))
        batcher = StreamBatcher(tokenCount: train.count, batch: options.batch, steps: options.seq)
        guard batcher.fits else {
            throw CharModelError.dataTooShort(options.dataPaths.joined(separator: ", "), chars: train.count,
                                              needed: options.batch * (options.seq + 1))
        }
        if let s = resumed, s.position + options.seq + 1 > batcher.streamLength {
            throw CheckpointError.corrupt(path, "trainer state (quill.trainer): position \(s.position) lies past the end of the training text's streams (\(batcher.streamLength) characters each)")
        }
        if options.valFraction > 0 && val.count < 2 {
            throw TrainingError.invalidOption("the validation part (--val-fraction \(options.valFraction)) holds under 2 characters; use more text or a larger fraction")
        }
        inputs = [Int32](repeating: 0, count: options.seq * options.batch); targets = inputs
        ws = model.makeWorkspace(steps: options.seq, batch: options.batch)
    }

    var parameters: [Parameter<Float>] { model.parameters }
    var startedData: (parameters: Int, data: TrainingData) {
        (model.trainableScalarCount, .text(trainCharacters: train.count, validationCharacters: val.count, vocabulary: vocab.count))
    }

    func extraTensors() -> [(String, SafeTensors.Entry)] { ws.stack.carriedStateEntries() }
    func restoreExtras(from file: SafeTensors.File, path: String) throws {
        try ws.stack.restoreCarriedState(from: file, path: path)
    }

    func save(to path: String, metadata: [String: String], extraTensors: [(String, SafeTensors.Entry)]) throws {
        try CharCheckpoint.save(model, alphabet: vocab, to: path, metadata: metadata, extraTensors: extraTensors)
    }
    let bestKey = "val_loss"

    func divergenceRule() -> DivergenceRule {
        .char(vocabularySize: vocab.count, charactersPerStep: options.batch * options.seq)
    }

    func trainStep(_ state: CharTrainerState, rng: inout SeededGenerator) -> StepLoss {
        batcher.fill(train, position: state.position, inputs: &inputs, targets: &targets)
        let rows = options.seq * options.batch
        let loss = model.trainStep(inputs: inputs, targets: targets, ws, dropout: options.model.dropout, rng: &rng)
            / Double(rows)
        return StepLoss(loss: loss, perUnit: loss, units: rows, sequences: options.batch)
    }

    func advance(_ state: inout CharTrainerState) {
        let (next, newEpoch) = batcher.advance(state.position)
        state.position = next
        if newEpoch { state.epoch += 1; ws.stack.resetState() } else { ws.stack.carryState() }
    }

    func trainLine(_ w: LogWindow, state: CharTrainerState) -> [String: Any] {
        ["loss": w.loss / Double(w.steps), "unit": "nats/char"]
    }

    func validate() -> Validation {
        guard !val.isEmpty else { return Validation(score: nil, perUnit: .nan, line: nil) }
        let loss = CharEvaluation.evaluate(model, tokens: val).natsPerChar
        return Validation(score: loss, perUnit: loss, line: ["loss": loss, "unit": "nats/char"])
    }

    func sample(step: Int, rng: SeededGenerator) -> String {
        guard options.sampleLength > 0 else { return "" }
        var sampleRNG = rng.derived(UInt64(step))
        return (try? CharSampler(model: model, alphabet: vocab)
            .sample(prime: "", length: options.sampleLength, temperature: 0.8, rng: &sampleRNG)) ?? ""
    }
}

extension StackWorkspace where T == Float {
    /// The state the next step starts from, per layer: `state.rnn.N.h` and (LSTM) `state.rnn.N.c`, each (B, H).
    fileprivate func carriedStateEntries() -> [(String, SafeTensors.Entry)] {
        var entries: [(String, SafeTensors.Entry)] = []
        for (n, lws) in layers.enumerated() {
            let st = lws.initialState()
            entries.append(("state.rnn.\(n).h", SafeTensors.Entry(shape: st.h.shape, values: st.h.array)))
            if let c = st.c { entries.append(("state.rnn.\(n).c", SafeTensors.Entry(shape: c.shape, values: c.array))) }
        }
        return entries
    }

    /// Restores the carried state saved by `carriedStateEntries`, checking presence, size and finiteness.
    fileprivate func restoreCarriedState(from file: SafeTensors.File, path: String) throws {
        for (n, lws) in layers.enumerated() {
            let count = lws.batch * lws.hidden
            guard let h = file.tensors["state.rnn.\(n).h"], h.values.count == count else {
                throw CheckpointError.corrupt(path, "carried state of layer \(n) missing or of the wrong size")
            }
            let cs = file.tensors["state.rnn.\(n).c"]
            if lws.c != nil {
                guard let cs, cs.values.count == count else {
                    throw CheckpointError.corrupt(path, "carried cell state of layer \(n) missing or of the wrong size")
                }
            }
            guard h.values.allSatisfy(\.isFinite), cs?.values.allSatisfy(\.isFinite) ?? true else {
                throw CheckpointError.corrupt(path, "carried state of layer \(n) holds NaN or Inf")
            }
            for i in 0..<count { lws.h[i] = h.values[i] }
            if let c = lws.c, let cs { for i in 0..<count { c[i] = cs.values[i] } }
        }
    }
}
