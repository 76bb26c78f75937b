import Foundation
import QuillData
import QuillIO
import QuillNumerics
import QuillOptim

/// Everything that defines a handwriting training run; saved in every checkpoint.
public struct HandwritingTrainOptions: Codable, Equatable, Sendable {
    /// A prepared dataset (`quill data import`).
    public var dataPath: String
    /// Output directory: model.safetensors (best by validation), last.safetensors (resume point), metrics.jsonl.
    public var outDir: String
    public var model: HandwritingConfig
    /// Sequences per batch.
    public var batch: Int = 32
    public var optimizer: OptimizerConfig = OptimizerConfig(kind: .adam, learningRate: 1e-3)
    public var lrSchedule: LearningRateSchedule = LearningRateSchedule(initial: 1e-3)
    /// Graves's clip of ∂L/∂ŷ (100); nil for none.
    public var outputClip: Double? = 100
    /// Graves's clip of the LSTM pre-activation derivatives (10); nil for none.
    public var lstmClip: Double? = 10
    /// Clip the gradient's global norm (nil for none).
    public var clipNorm: Double?
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

/// What the handwriting trainer reports as it goes.
public enum HandwritingTrainEvent {
    case started(parameters: Int, trainSequences: Int, valSequences: Int, batches: Int, resumedAt: Int?)
    case progress(step: Int, totalSteps: Int?, loss: Double, stepsPerSecond: Double, elapsed: Double, eta: Double?)
    case validation(step: Int, perSequence: Double, perPoint: Double, best: Bool)
    case finished(step: Int, reason: String, best: Double?)
}

struct HandwritingTrainerState: ResumableTrainerState {
    var step = 0
    var epoch = 0
    var batchInEpoch = 0
    var rng: [String] = []
    var bestVal: Double?
    var bestStep: Int?
    var elapsed: Double = 0

    func invalidField() -> String? {
        if epoch < 0 { return "epoch \(epoch) is negative" }
        if batchInEpoch < 0 { return "batch \(batchInEpoch) of the epoch is negative" }
        if let b = bestVal, !b.isFinite { return "best validation loss \(b) is not a number" }
        if let s = bestStep, !(0...step).contains(s) { return "best step \(s) is not between 0 and the step \(step)" }
        return nil
    }
}

/// Trains a prediction or synthesis network on a prepared dataset, checkpointing atomically and resumably.
///
/// Before anything is built, the memory the run needs (`MemoryEstimate.handwritingTraining`) is compared with the
/// process's limits (`MemoryBudget`). Training stops with an error, saving nothing more, when the loss or the
/// gradient norm becomes NaN or infinite, or when the run diverges (`DivergenceRule`: the mean loss per point of the
/// last 20 steps rises 5 nats above its best, or 20 nats above the session's first step); model.safetensors and
/// last.safetensors keep the last good checkpoint. On resume, metrics.jsonl loses the lines logged after that
/// checkpoint.
///
/// Files and failures follow `CharTrainer`'s invariant: every file complete or absent; each checkpoint writes the
/// validation line of metrics.jsonl, then last.safetensors (recording the best step), then model.safetensors when
/// the model improved; a failed write stops the run with `RunDirectoryError.writeFailed` and leaves the directory
/// resumable (a resume rewrites a best model whose own write failed from last.safetensors); stale temporary files
/// are removed when a run starts; a new run accepts a directory that holds no checkpoint yet.
public final class HandwritingTrainer {
    public var options: HandwritingTrainOptions
    public let resume: Bool
    /// The limits the run is checked against; nil for the process's own (`MemoryBudget.current()`).
    public var budget: MemoryBudget?
    let onEvent: (HandwritingTrainEvent) -> Void
    /// The step reached and the step of the last good checkpoint, for the message of a failed write.
    private var reachedStep = 0
    private var savedCheckpoint: Int?

    public init(options: HandwritingTrainOptions, resume: Bool, onEvent: @escaping (HandwritingTrainEvent) -> Void = { _ in }) {
        self.options = options
        self.resume = resume
        self.onEvent = onEvent
    }

    func path(_ f: String) -> String { URL(fileURLWithPath: options.outDir).appendingPathComponent(f).path }

    public static func savedOptions(outDir: String) throws -> HandwritingTrainOptions {
        try RunDirectory.savedOptions(HandwritingTrainOptions.self, outDir: outDir)
    }

    /// Runs training to the step or time limit. Returns the final trainer step. A failed write (say, a full disk)
    /// throws `RunDirectoryError.writeFailed`.
    @discardableResult
    public func run() throws -> Int {
        do { return try train() } catch let error as FileSystemError where error.operation != .read {
            throw RunDirectoryError.writeFailed(error, step: reachedStep, dir: options.outDir, checkpoint: savedCheckpoint)
        }
    }

    private func train() throws -> Int {
        if let m = options.validate() { throw CharModelError.invalidOption(m) }
        RunDirectory.removeStaleTemporaries(options.outDir)
        let fm = FileManager.default
        let dataset = try PreparedFormat.load(path: options.dataPath)
        let fingerprint = "\(dataset.samples.count):\(dataset.samples.reduce(0) { $0 + $1.count }):\(dataset.alphabet.symbols.count)"
        let synthesis = options.model.kind == .synthesis
        let stats = dataset.stats
        guard [stats.meanDx, stats.meanDy, stats.stdDx, stats.stdDy].allSatisfy(\.isFinite), stats.stdDx > 0, stats.stdDy > 0 else {
            throw CharModelError.invalidOption("\(options.dataPath): its normalisation statistics must be finite with positive standard deviations; import the data again")
        }
        let train = dataset.samples(in: .train)
        let batches = StrokeBatches(train, batchSize: options.batch, stepLimit: options.stepLimit, needText: synthesis)
        guard !batches.batches.isEmpty else {
            throw CharModelError.invalidOption("\(options.dataPath): no training samples\(synthesis ? " with text" : "") of at most \(options.stepLimit + 1) points")
        }
        if !resume && synthesis { options.model.alphabetSize = dataset.alphabet.count }
        if let m = options.model.validate() { throw CharModelError.invalidOption(m) }
        let budget = self.budget ?? MemoryBudget.current()
        try budget.check(MemoryEstimate.handwritingTraining(options.model, batch: options.batch, steps: batches.maxSteps,
                                                            maxTextLength: batches.maxTextLength,
                                                            optimizer: options.optimizer.kind))
        var state = HandwritingTrainerState()
        var rng: SeededGenerator
        let model: HandwritingModel<Float>
        var resumedFile: SafeTensors.File?
        if resume {
            try RunDirectory.ensureResumable(options.outDir)
            let loaded = try HandwritingCheckpoint.load(path(CharTrainer.lastFile), expecting: options.model.kind,
                                                        budget: budget)
            guard loaded.model.config == options.model else {
                throw CheckpointError.corrupt(path(CharTrainer.lastFile), "quill.config and quill.train-options describe different models")
            }
            guard options.dataFingerprint == fingerprint else {
                throw CharModelError.resumeMismatch("\(options.dataPath) differs from the dataset \(options.outDir) was trained on; resume with the same prepared file, or train into a new --out")
            }
            model = loaded.model
            resumedFile = loaded.file
            (state, rng) = try RunDirectory.trainerState(HandwritingTrainerState.self, from: loaded.file,
                                                         path: path(CharTrainer.lastFile))
            guard state.batchInEpoch < batches.batches.count else {
                throw CheckpointError.corrupt(path(CharTrainer.lastFile), "trainer state (quill.trainer): batch \(state.batchInEpoch) of the epoch is past the \(batches.batches.count) batches")
            }
            reachedStep = state.step
            savedCheckpoint = state.step
        } else {
            try RunDirectory.ensureFresh(options.outDir)
            options.dataFingerprint = fingerprint
            rng = SeededGenerator(seed: options.seed)
            model = HandwritingModel<Float>(config: options.model, rng: &rng)
        }
        model.setPreactivationGradientClip(options.lstmClip.map { Float($0) })
        var val = dataset.samples(in: .validation)
        if options.valSamples > 0 && val.count > options.valSamples {
            // An evenly spread, fixed subset, so successive validations are comparable.
            let stride = Double(val.count) / Double(options.valSamples)
            val = (0..<options.valSamples).map { val[Int(Double($0) * stride)] }
        }
        try fm.createDirectory(atPath: options.outDir, withIntermediateDirectories: true)
        let ws = model.makeWorkspace(steps: batches.maxSteps, batch: options.batch, maxTextLength: batches.maxTextLength)
        let optimizer: AnyOptimizer<Float> = options.optimizer.make()
        let params = model.parameters
        if let file = resumedFile {
            try RunDirectory.restore(optimizer, parameters: params, step: state.step, from: file,
                                     path: path(CharTrainer.lastFile))
        }
        onEvent(.started(parameters: params.scalarCount(), trainSequences: batches.batches.reduce(0) { $0 + $1.count },
                         valSequences: val.count, batches: batches.batches.count, resumedAt: resume ? state.step : nil))

        if resume { try RunDirectory.dropMetrics(after: state.step, in: path(CharTrainer.metricsFile)) }
        let metrics = try MetricsLog(path: path(CharTrainer.metricsFile), truncate: !resume)
        let alphabet = dataset.alphabet.symbols
        let encoder = JSONEncoder.sorted
        /// Writes model.safetensors; `trainOptions`: the options JSON to record, nil for the current options.
        func saveBest(trainOptions: String?, perSequence: Double) throws {
            try HandwritingCheckpoint.save(model, alphabet: alphabet, stats: stats, to: path(CharTrainer.bestFile), metadata: [
                "quill.train-options": try trainOptions ?? String(decoding: encoder.encode(options), as: UTF8.self),
                "quill.best": "{\"step\":\(state.step),\"val_nats_per_sequence\":\(perSequence.isFinite ? "\(perSequence)" : "null")}",
            ])
        }
        if let file = resumedFile {
            switch RunDirectory.bestRepair(outDir: options.outDir, bestStep: state.bestStep, step: state.step) {
            case .keep: break
            case .forget: state.bestVal = nil; state.bestStep = nil
            case .rewriteFromLast:
                try saveBest(trainOptions: file.metadata["quill.train-options"], perSequence: state.bestVal ?? .nan)
            }
        }
        let start = Date(), elapsedBefore = state.elapsed
        let limits = RunLimits(steps: options.steps, minutes: options.minutes, stepAtStart: state.step)
        var lastSaved = state.step, reason = "reached the step limit"
        // The step of the checkpoint in last.safetensors, nil until this run (if fresh) writes one.
        var checkpoint: Int? = resume ? state.step : nil
        var divergence = DivergenceRule.handwriting()
        var logLoss = 0.0, logPoints = 0, logCount = 0, logStart = Date()

        func saveLast() throws {
            RunDirectory.record(rng, in: &state)
            state.elapsed = elapsedBefore + Date().timeIntervalSince(start)
            let extra = RunDirectory.entries(optimizer, parameters: params)
            try HandwritingCheckpoint.save(model, alphabet: alphabet, stats: stats, to: path(CharTrainer.lastFile), metadata: [
                "quill.train-options": String(decoding: try encoder.encode(options), as: UTF8.self),
                "quill.trainer": String(decoding: try encoder.encode(state), as: UTF8.self),
            ], extraTensors: extra)
            lastSaved = state.step
            checkpoint = state.step
            savedCheckpoint = state.step
        }

        func validate() throws {
            // The same code as `quill eval`, so a run's full validation (--val-samples 0) is what it prints.
            let scores = HandwritingEvaluation.evaluate(model, samples: val, batch: options.batch)
            let perSeq = scores.natsPerSequence, perPoint = scores.natsPerPoint
            // The weights were updated after the last loss the divergence rule saw: judge them before saving.
            if !val.isEmpty && !perSeq.isFinite {
                throw CharModelError.nonFinite(step: state.step, what: "the validation loss", dir: options.outDir,
                                               checkpoint: checkpoint)
            }
            let improved = perSeq.isFinite && perSeq < (state.bestVal ?? .infinity)
            try metrics.append(["kind": "val", "step": state.step, "elapsed_s": elapsedBefore + Date().timeIntervalSince(start),
                                "loss": perPoint, "nats_per_sequence": perSeq, "unit": "nats/point"])
            if improved || val.isEmpty {
                state.bestVal = perSeq.isFinite ? perSeq : nil
                state.bestStep = state.step
            }
            // The resume point first: it records the best step, and a resume rewrites a best model whose write failed.
            try saveLast()
            if improved || val.isEmpty { try saveBest(trainOptions: nil, perSequence: perSeq) }
            onEvent(.validation(step: state.step, perSequence: perSeq, perPoint: perPoint, best: improved))
        }

        quillInterruptRequested = 0
        let trainable = params.filter(\.trainable)
        while true {
            if let s = options.steps, state.step >= s { break }
            if let m = options.minutes, Date().timeIntervalSince(start) >= m * 60 { reason = "reached the time limit"; break }
            if quillInterruptRequested != 0 { reason = "interrupted"; break }
            let order = batches.order(epoch: state.epoch, seed: options.seed)
            let points = StrokeBatches.fill(ws, samples: train, indices: batches.batches[order[state.batchInEpoch]])
            params.zeroGradients()
            let loss = model.trainStep(ws, outputClip: options.outputClip.map { Float($0) }).total
            // The divergence rule reads the loss per point, which does not depend on the batch's lengths.
            try GuardedUpdate.apply(loss: loss, parameters: trainable, optimizer: optimizer, schedule: options.lrSchedule,
                                    clipNorm: options.clipNorm, step: state.step, outDir: options.outDir,
                                    checkpoint: checkpoint, divergence: &divergence,
                                    divergenceLoss: loss / Double(max(points, 1)))
            state.step += 1
            reachedStep = state.step
            state.batchInEpoch += 1
            if state.batchInEpoch >= batches.batches.count { state.epoch += 1; state.batchInEpoch = 0 }

            logLoss += loss; logPoints += points; logCount += ws.sequenceCount
            let now = Date(), elapsed = now.timeIntervalSince(start)
            let rate = Double(logPoints) / max(now.timeIntervalSince(logStart), 1e-9)
            let eta = limits.eta(step: state.step, elapsed: elapsed)
            onEvent(.progress(step: state.step, totalSteps: options.steps, loss: loss / Double(max(points, 1)),
                              stepsPerSecond: rate, elapsed: elapsedBefore + elapsed, eta: eta))
            if state.step % options.logEvery == 0 {
                try metrics.append(["kind": "train", "step": state.step, "elapsed_s": elapsedBefore + elapsed,
                                    "loss": logLoss / Double(max(logPoints, 1)),
                                    "nats_per_sequence": logLoss / Double(max(logCount, 1)),
                                    "lr": optimizer.learningRate, "rate": rate, "epoch": state.epoch, "unit": "nats/point"])
                logLoss = 0; logPoints = 0; logCount = 0; logStart = now
            }
            if state.step % options.evalEvery == 0 { try validate() }
        }
        if lastSaved != state.step || state.bestStep == nil { try validate() }
        onEvent(.finished(step: state.step, reason: reason, best: state.bestVal))
        return state.step
    }
}
