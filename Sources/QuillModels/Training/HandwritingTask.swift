import Foundation
import QuillData
import QuillIO
import QuillNumerics
import QuillOptim

/// Everything that defines a handwriting training run; saved in every checkpoint.
public struct HandwritingTrainOptions: RunOptions {
    /// A prepared dataset (`quill data import`).
    public var dataPath: String
    /// Output directory: model.safetensors (best by validation), last.safetensors (resume point), metrics.jsonl.
    public var outDir: String
    public var model: HandwritingConfig
    /// Sequences per batch.
    public var batch: Int = 32
    public var optimizer = OptimizerConfig(kind: .adam, learningRate: HandwritingTrainOptions.defaultLearningRate(for: .adam))
    public var lrSchedule = LearningRateSchedule(initial: HandwritingTrainOptions.defaultLearningRate(for: .adam))
    /// Graves's clip of ∂L/∂ŷ (100); nil for none.
    public var outputClip: Double? = 100
    /// Graves's clip of the LSTM pre-activation derivatives (10); nil for none.
    public var lstmClip: Double? = 10
    /// Clip the gradient's global norm (nil for none).
    public var clipNorm: Double?
    /// No value clipping: Graves's clips take its place.
    public var clipValue: Double? { nil }
    public var steps: Int?
    public var minutes: Double?
    public var seed: UInt64 = 1
    /// Validate and checkpoint every this many steps.
    public var evalEvery: Int = 200
    /// Validation sequences used at each validation (0: the whole validation split).
    public var valSamples: Int = 256
    public var logEvery: Int = 10
    /// Samples with more points than this + 1 are left out.
    public var stepLimit: Int = 2000
    public var dataFingerprint: String = ""

    public init(dataPath: String, outDir: String, model: HandwritingConfig) {
        self.dataPath = dataPath; self.outDir = outDir; self.model = model
    }

    /// No data, no directory, Graves's synthesis network (`HandwritingConfig`'s defaults).
    public static var defaults: HandwritingTrainOptions {
        HandwritingTrainOptions(dataPath: "", outDir: "", model: HandwritingConfig(kind: .synthesis))
    }

    /// 1e-4 for Graves's RMSProp (his rate, section 4.2), 1e-3 for the others.
    public static func defaultLearningRate(for kind: OptimizerKind) -> Double {
        kind == .gravesRMSProp ? 1e-4 : 1e-3
    }

    public func validate() -> String? {
        if let m = model.validate() { return m }
        if !(1...4096).contains(batch) { return "--batch must be between 1 and 4096, got \(batch)" }
        if let m = optimizer.validate() { return "--lr/optimizer: \(m)" }
        if let c = outputClip, !(c > 0) { return "--output-clip must be positive" }
        if let c = lstmClip, !(c > 0) { return "--lstm-clip must be positive" }
        if let c = clipNorm, !(c > 0) { return "--clip must be positive" }
        if let s = steps, s < 1 { return "--steps must be at least 1" }
        if let m = minutes, !(m > 0 && m.isFinite) { return "--minutes must be positive" }
        if steps == nil && minutes == nil { return "give --steps N or --minutes M (or both) to say when to stop" }
        if evalEvery < 1 { return "--eval-every must be at least 1" }
        if valSamples < 0 { return "--val-samples must not be negative" }
        if !(2...100_000).contains(stepLimit) { return "--max-points must be between 2 and 100000" }
        return nil
    }
}

/// Resumable trainer state, saved as JSON in last.safetensors.
struct HandwritingTrainerState: TrainerState {
    var step = 0
    var epoch = 0
    var batchInEpoch = 0
    var rng: [String] = []
    var bestVal: Double?
    var bestStep: Int?
    var elapsed: Double = 0
    var bestScore: Double? { get { bestVal } set { bestVal = newValue } }

    func invalidField() -> String? {
        if epoch < 0 { return "epoch \(epoch) is negative" }
        if batchInEpoch < 0 { return "batch \(batchInEpoch) of the epoch is negative" }
        if let b = bestVal, !b.isFinite { return "best validation loss \(b) is not a number" }
        if let s = bestStep, !(0...step).contains(s) { return "best step \(s) is not between 0 and the step \(step)" }
        return nil
    }
}

extension TrainingRun {
    /// A handwriting run (`HandwritingTask`); `resume` continues the run in `options.outDir`.
    public convenience init(options: HandwritingTrainOptions, resume: Bool,
                            onEvent: @escaping (TrainingEvent) -> Void = { _ in }) {
        self.init(task: HandwritingTask(options: options), resume: resume, onEvent: onEvent)
    }
}

/// Handwriting training as a task of `TrainingRun`: a prepared dataset in shuffled batches of whole sequences, a
/// fixed validation subset, Graves's output and LSTM clips, and the handwriting divergence rule (per point).
final class HandwritingTask: TrainingTask {
    var options: HandwritingTrainOptions
    private var dataset: PreparedDataset!  // Invariant: loadData sets it, before any other use.
    private var batches: StrokeBatches!  // Invariant: loadData sets it, before any other use.
    private var model: HandwritingModel<Float>!  // Invariant: startFresh or resume sets it, before any other use.
    private var ws: HandwritingWorkspace<Float>!  // Invariant: prepare sets it, before any other use.
    private var train: [PreparedSample] = [], val: [PreparedSample] = []
    private var fingerprint = ""

    init(options: HandwritingTrainOptions) { self.options = options }

    func loadData(resuming: Bool, budget: MemoryBudget) throws {
        dataset = try PreparedFormat.load(path: options.dataPath)
        fingerprint = "\(dataset.samples.count):\(dataset.samples.reduce(0) { $0 + $1.count }):\(dataset.alphabet.symbols.count)"
        let synthesis = options.model.kind == .synthesis, stats = dataset.stats
        guard [stats.meanDx, stats.meanDy, stats.stdDx, stats.stdDy].allSatisfy(\.isFinite), stats.stdDx > 0, stats.stdDy > 0 else {
            throw TrainingError.invalidOption("\(options.dataPath): its normalisation statistics must be finite with positive standard deviations; import the data again")
        }
        train = dataset.samples(in: .train)
        batches = StrokeBatches(train, batchSize: options.batch, stepLimit: options.stepLimit, needText: synthesis)
        guard !batches.batches.isEmpty else {
            throw TrainingError.invalidOption("\(options.dataPath): no training samples\(synthesis ? " with text" : "") of at most \(options.stepLimit + 1) points")
        }
        if !resuming && synthesis { options.model.alphabetSize = dataset.alphabet.count }
        if let m = options.model.validate() { throw TrainingError.invalidOption(m) }
        try budget.check(MemoryEstimate.handwritingTraining(options.model, batch: options.batch, steps: batches.maxSteps,
                                                            maxTextLength: batches.maxTextLength,
                                                            optimizer: options.optimizer.kind))
    }

    func startFresh(rng: inout SeededGenerator, budget: MemoryBudget) throws {
        options.dataFingerprint = fingerprint
        model = HandwritingModel<Float>(config: options.model, rng: &rng)
    }

    func resume(from path: String, budget: MemoryBudget) throws -> SafeTensors.File {
        let loaded = try HandwritingCheckpoint.load(path, expecting: options.model.kind, budget: budget)
        guard loaded.model.config == options.model else {
            throw CheckpointError.corrupt(path, "quill.config and quill.train-options describe different models")
        }
        guard options.dataFingerprint == fingerprint else {
            throw TrainingError.resumeMismatch("\(options.dataPath) differs from the dataset \(options.outDir) was trained on; resume with the same prepared file, or train into a new --out")
        }
        model = loaded.model
        return loaded.file
    }

    func prepare(resumed: HandwritingTrainerState?, path: String) throws {
        if let s = resumed, s.batchInEpoch >= batches.batches.count {
            throw CheckpointError.corrupt(path, "trainer state (quill.trainer): batch \(s.batchInEpoch) of the epoch is past the \(batches.batches.count) batches")
        }
        model.setPreactivationGradientClip(options.lstmClip.map { Float($0) })
        val = dataset.samples(in: .validation)
        if options.valSamples > 0 && val.count > options.valSamples {
            // An evenly spread, fixed subset, so successive validations are comparable.
            let stride = Double(val.count) / Double(options.valSamples)
            val = (0..<options.valSamples).map { val[Int(Double($0) * stride)] }
        }
        ws = model.makeWorkspace(steps: batches.maxSteps, batch: options.batch, maxTextLength: batches.maxTextLength)
    }

    var parameters: [Parameter<Float>] { model.parameters }
    var startedData: (parameters: Int, data: TrainingData) {
        (model.parameters.scalarCount(), .strokes(kind: options.model.kind, trainSequences: batches.batches.reduce(0) { $0 + $1.count },
                                                  validationSequences: val.count, batches: batches.batches.count))
    }

    func save(to path: String, metadata: [String: String], extraTensors: [(String, SafeTensors.Entry)]) throws {
        try HandwritingCheckpoint.save(model, alphabet: dataset.alphabet, stats: dataset.stats, to: path,
                                       metadata: metadata, extraTensors: extraTensors)
    }
    let bestKey = "val_nats_per_sequence"

    func divergenceRule() -> DivergenceRule { .handwriting() }

    func trainStep(_ state: HandwritingTrainerState, rng: inout SeededGenerator) -> StepLoss {
        let order = batches.order(epoch: state.epoch, seed: options.seed)
        let points = StrokeBatches.fill(ws, samples: train, indices: batches.batches[order[state.batchInEpoch]])
        let loss = model.trainStep(ws, outputClip: options.outputClip.map { Float($0) }).total
        // The divergence rule reads the loss per point, which does not depend on the batch's lengths.
        return StepLoss(loss: loss, perUnit: loss / Double(max(points, 1)), units: points, sequences: ws.sequenceCount)
    }

    func advance(_ state: inout HandwritingTrainerState) {
        state.batchInEpoch += 1
        if state.batchInEpoch >= batches.batches.count { state.epoch += 1; state.batchInEpoch = 0 }
    }

    func trainLine(_ w: LogWindow, state: HandwritingTrainerState) -> [String: Any] {
        ["loss": w.loss / Double(max(w.units, 1)), "nats_per_sequence": w.loss / Double(max(w.sequences, 1)),
         "epoch": state.epoch, "unit": "nats/point"]
    }

    func validate() -> Validation {
        // The same code as `quill eval`, so a run's full validation (--val-samples 0) is what it prints.
        let scores = HandwritingEvaluation.evaluate(model, samples: val, batch: options.batch)
        return Validation(score: val.isEmpty ? nil : scores.natsPerSequence, perUnit: scores.natsPerPoint,
                          line: ["loss": scores.natsPerPoint, "nats_per_sequence": scores.natsPerSequence,
                                 "unit": "nats/point"])
    }
}
