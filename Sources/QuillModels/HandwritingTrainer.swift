import Foundation
import QuillData
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
}

/// Trains a prediction or synthesis network on a prepared dataset, checkpointing atomically and resumably.
public final class HandwritingTrainer {
    public var options: HandwritingTrainOptions
    public let resume: Bool
    let onEvent: (HandwritingTrainEvent) -> Void

    public init(options: HandwritingTrainOptions, resume: Bool, onEvent: @escaping (HandwritingTrainEvent) -> Void = { _ in }) {
        self.options = options
        self.resume = resume
        self.onEvent = onEvent
    }

    func path(_ f: String) -> String { URL(fileURLWithPath: options.outDir).appendingPathComponent(f).path }

    public static func savedOptions(outDir: String) throws -> HandwritingTrainOptions {
        try RunDirectory.savedOptions(HandwritingTrainOptions.self, outDir: outDir)
    }

    @discardableResult
    public func run() throws -> Int {
        if let m = options.validate() { throw CharModelError.invalidOption(m) }
        let fm = FileManager.default
        let dataset = try PreparedFormat.load(path: options.dataPath)
        let fingerprint = "\(dataset.samples.count):\(dataset.samples.reduce(0) { $0 + $1.count }):\(dataset.alphabet.symbols.count)"
        let synthesis = options.model.kind == .synthesis
        var state = HandwritingTrainerState()
        var rng: SeededGenerator
        let model: HandwritingModel<Float>
        var resumedFile: SafeTensors.File?
        if resume {
            let loaded = try HandwritingCheckpoint.load(path(CharTrainer.lastFile), expecting: options.model.kind)
            guard options.dataFingerprint == fingerprint else {
                throw CharModelError.resumeMismatch("\(options.dataPath) differs from the dataset \(options.outDir) was trained on; resume with the same prepared file, or train into a new --out")
            }
            model = loaded.model
            resumedFile = loaded.file
            (state, rng) = try RunDirectory.trainerState(HandwritingTrainerState.self, from: loaded.file,
                                                         path: path(CharTrainer.lastFile))
        } else {
            try RunDirectory.ensureFresh(options.outDir)
            if synthesis { options.model.alphabetSize = dataset.alphabet.count }
            options.dataFingerprint = fingerprint
            rng = SeededGenerator(seed: options.seed)
            model = HandwritingModel<Float>(config: options.model, rng: &rng)
        }
        model.setPreactivationGradientClip(options.lstmClip.map { Float($0) })
        let train = dataset.samples(in: .train)
        var val = dataset.samples(in: .validation)
        if options.valSamples > 0 && val.count > options.valSamples {
            // An evenly spread, fixed subset, so successive validations are comparable.
            let stride = Double(val.count) / Double(options.valSamples)
            val = (0..<options.valSamples).map { val[Int(Double($0) * stride)] }
        }
        let batches = StrokeBatches(train, batchSize: options.batch, stepLimit: options.stepLimit, needText: synthesis)
        guard !batches.batches.isEmpty else {
            throw CharModelError.invalidOption("\(options.dataPath): no training samples\(synthesis ? " with text" : "") of at most \(options.stepLimit + 1) points")
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

        let metrics = try MetricsLog(path: path(CharTrainer.metricsFile), truncate: !resume)
        let alphabet = dataset.alphabet.symbols
        let stats = dataset.stats
        let start = Date(), elapsedBefore = state.elapsed
        let limits = RunLimits(steps: options.steps, minutes: options.minutes, stepAtStart: state.step)
        var lastSaved = state.step, reason = "reached the step limit"
        var logLoss = 0.0, logPoints = 0, logCount = 0, logStart = Date()
        let encoder = JSONEncoder.sorted

        func saveLast() throws {
            RunDirectory.record(rng, in: &state)
            state.elapsed = elapsedBefore + Date().timeIntervalSince(start)
            let extra = RunDirectory.entries(optimizer, parameters: params)
            try HandwritingCheckpoint.save(model, alphabet: alphabet, stats: stats, to: path(CharTrainer.lastFile), metadata: [
                "quill.train-options": String(decoding: try encoder.encode(options), as: UTF8.self),
                "quill.trainer": String(decoding: try encoder.encode(state), as: UTF8.self),
            ], extraTensors: extra)
            lastSaved = state.step
        }

        func validate() throws {
            // The same code as `quill eval`, so a run's full validation (--val-samples 0) is what it prints.
            let scores = HandwritingEvaluation.evaluate(model, samples: val, batch: options.batch)
            let perSeq = scores.natsPerSequence, perPoint = scores.natsPerPoint
            let improved = perSeq.isFinite && perSeq < (state.bestVal ?? .infinity)
            try metrics.append(["kind": "val", "step": state.step, "elapsed_s": elapsedBefore + Date().timeIntervalSince(start),
                                "loss": perPoint, "nats_per_sequence": perSeq, "unit": "nats/point"])
            if improved || val.isEmpty {
                state.bestVal = perSeq.isFinite ? perSeq : nil
                state.bestStep = state.step
                try HandwritingCheckpoint.save(model, alphabet: alphabet, stats: stats, to: path(CharTrainer.bestFile), metadata: [
                    "quill.train-options": String(decoding: try encoder.encode(options), as: UTF8.self),
                    "quill.best": "{\"step\":\(state.step),\"val_nats_per_sequence\":\(perSeq.isFinite ? "\(perSeq)" : "null")}",
                ])
            }
            try saveLast()
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
            try GuardedUpdate.apply(loss: loss, parameters: trainable, optimizer: optimizer, schedule: options.lrSchedule,
                                    clipNorm: options.clipNorm, step: state.step, outDir: options.outDir)
            state.step += 1
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
