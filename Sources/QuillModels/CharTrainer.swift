import Foundation
import QuillIO
import QuillNN
import QuillNumerics
import QuillOptim

/// Everything that defines a char-model training run. Saved in every checkpoint; `--resume` reads it back.
public struct CharTrainOptions: Codable, Equatable, Sendable {
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
    public var optimizer: OptimizerConfig = OptimizerConfig(kind: .adam, learningRate: 2e-3)
    /// Step decay of the learning rate: ×factor every `every` steps after `start`.
    public var lrSchedule: LearningRateSchedule = LearningRateSchedule(initial: 2e-3)
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
        let ws = Double(batch) * Double(seq) * Double(model.hidden) * Double(model.layers) * 4 * 14
        if ws > 16e9 { return "--batch × --seq × --hidden × --layers needs about \(Int(ws / 1e9)) GB of activations; lower them" }
        return nil
    }
}

/// What the trainer reports as it goes; the CLI draws it.
public enum CharTrainEvent {
    case started(parameters: Int, trainChars: Int, valChars: Int, vocabulary: Int, resumedAt: Int?)
    case progress(step: Int, totalSteps: Int?, loss: Double, charsPerSecond: Double, elapsed: Double, eta: Double?)
    case validation(step: Int, loss: Double, best: Bool, sample: String)
    case finished(step: Int, reason: String, bestLoss: Double?)
}

/// Resumable trainer state, saved as JSON in last.safetensors.
struct CharTrainerState: ResumableTrainerState {
    var step = 0
    var position = 0
    var epoch = 0
    var rng: [String] = []
    var bestValLoss: Double?
    var bestStep: Int?
    var elapsed: Double = 0

    func invalidField() -> String? {
        if position < 0 { return "position \(position) is negative" }
        if epoch < 0 { return "epoch \(epoch) is negative" }
        if let b = bestValLoss, !(b.isFinite && b >= 0) { return "best validation loss \(b) is not a non-negative number" }
        if let s = bestStep, !(0...step).contains(s) { return "best step \(s) is not between 0 and the step \(step)" }
        return nil
    }
}

/// Set by SIGINT: the trainer checkpoints and stops at the end of the current step.
nonisolated(unsafe) public var quillInterruptRequested: Int32 = 0

/// Trains a char model, checkpointing atomically and resumably.
///
/// Before anything is built, the memory the run needs (`MemoryEstimate.charTraining`) is compared with the
/// process's limits (`MemoryBudget`). Training stops with an error, saving nothing more, when the loss or the
/// gradient norm becomes NaN or infinite, or when the run diverges (`DivergenceRule`: the mean loss of the last
/// K ≥ 20 steps rises above twice its best, or one nat above it, or above 3 · ln V nats/char, three times the loss
/// of uniform guessing; or the validation loss does); model.safetensors and last.safetensors keep the last good
/// checkpoint. On resume, metrics.jsonl loses the lines logged after that checkpoint, so no step appears twice.
///
/// The run directory is always resumable or cleanly restartable. Every file is complete or absent (`QuillIO`), and
/// each checkpoint writes in one order: the validation line of metrics.jsonl, then last.safetensors (the resume
/// point, which records the best step), then model.safetensors when the model improved. So no checkpoint claims a
/// step whose metrics failed to write, and a failed write at any point (a full disk) or a kill leaves
/// last.safetensors at the previous checkpoint or this one, and model.safetensors the best model up to the step of
/// last.safetensors, or one checkpoint behind it when only its own write failed: a resume then rewrites it from
/// last.safetensors' weights (`RunDirectory.bestRepair`). A failed write stops the run with
/// `RunDirectoryError.writeFailed`, naming the last good checkpoint. Every run first removes the temporary files
/// of dead processes from the directory; a new run accepts a directory that holds no checkpoint yet.
public final class CharTrainer {
    public var options: CharTrainOptions
    public let resume: Bool
    /// The limits the run is checked against; nil for the process's own (`MemoryBudget.current()`).
    public var budget: MemoryBudget?
    let onEvent: (CharTrainEvent) -> Void
    /// The step reached and the step of the last good checkpoint, for the message of a failed write.
    private var reachedStep = 0
    private var savedCheckpoint: Int?

    public static let bestFile = "model.safetensors"
    public static let lastFile = "last.safetensors"
    public static let metricsFile = "metrics.jsonl"

    public init(options: CharTrainOptions, resume: Bool, onEvent: @escaping (CharTrainEvent) -> Void = { _ in }) {
        self.options = options
        self.resume = resume
        self.onEvent = onEvent
    }

    var dir: URL { URL(fileURLWithPath: options.outDir) }
    func path(_ f: String) -> String { dir.appendingPathComponent(f).path }

    /// Reads the options saved in DIR/last.safetensors (for `--resume`).
    public static func savedOptions(outDir: String) throws -> CharTrainOptions {
        try RunDirectory.savedOptions(CharTrainOptions.self, outDir: outDir)
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
        let corpus = try CharCorpus(paths: options.dataPaths)
        let fm = FileManager.default

        // Vocabulary and model: from the checkpoint when resuming, else from the data.
        var state = CharTrainerState()
        let vocab: CharVocabulary
        let model: CharModel<Float>
        var resumedFile: SafeTensors.File?
        var rng: SeededGenerator
        let budget = self.budget ?? MemoryBudget.current()
        func checkMemory(_ config: CharModelConfig) throws {
            try budget.check(MemoryEstimate.charTraining(config, batch: options.batch, seq: options.seq,
                                                         optimizer: options.optimizer.kind,
                                                         characters: corpus.text.unicodeScalars.count))
        }
        if resume {
            try RunDirectory.ensureResumable(options.outDir)
            try checkMemory(options.model)
            let loaded = try CharCheckpoint.load(path(Self.lastFile), budget: budget)
            // The memory check and the workspace follow the saved options: they must describe the saved model.
            guard loaded.model.config == options.model else {
                throw CheckpointError.corrupt(path(Self.lastFile), "quill.config and quill.train-options describe different models")
            }
            guard options.dataFingerprint == corpus.fingerprint else {
                throw CharModelError.resumeMismatch("the --data files differ from those \(options.outDir) was trained on; resume with the same text, or train into a new --out")
            }
            vocab = loaded.vocabulary
            model = loaded.model
            resumedFile = loaded.file
            (state, rng) = try RunDirectory.trainerState(CharTrainerState.self, from: loaded.file, path: path(Self.lastFile))
            reachedStep = state.step
            savedCheckpoint = state.step
        } else {
            try RunDirectory.ensureFresh(options.outDir)
            vocab = CharVocabulary(text: corpus.text)
            options.model.vocabularySize = vocab.count
            options.dataFingerprint = corpus.fingerprint
            if let m = options.model.validate() { throw CharModelError.invalidOption(m) }
            try checkMemory(options.model)
            rng = SeededGenerator(seed: options.seed)
            model = CharModel<Float>(config: options.model, rng: &rng)
        }
        let tokens = try vocab.encode(corpus.text, source: options.dataPaths.joined(separator: ", "))
        let nTrain = options.valFraction > 0 ? Int(Double(tokens.count) * (1 - options.valFraction)) : tokens.count
        let train = Array(tokens[0..<nTrain]), val = Array(tokens[nTrain...])
        let batcher = StreamBatcher(tokenCount: train.count, batch: options.batch, steps: options.seq)
        guard batcher.fits else {
            throw CharModelError.dataTooShort(options.dataPaths.joined(separator: ", "), chars: train.count,
                                              needed: options.batch * (options.seq + 1))
        }
        if resume && state.position + options.seq + 1 > batcher.streamLength {
            throw CheckpointError.corrupt(path(Self.lastFile), "trainer state (quill.trainer): position \(state.position) lies past the end of the training text's streams (\(batcher.streamLength) characters each)")
        }
        if options.valFraction > 0 && val.count < 2 {
            throw CharModelError.invalidOption("the validation part (--val-fraction \(options.valFraction)) holds under 2 characters; use more text or a larger fraction")
        }
        try fm.createDirectory(at: dir, withIntermediateDirectories: true)

        let optimizer: AnyOptimizer<Float> = options.optimizer.make()
        let params = model.parameters
        let trainable = params.filter(\.trainable)
        let ws = model.makeWorkspace(steps: options.seq, batch: options.batch)
        if let file = resumedFile {
            try RunDirectory.restore(optimizer, parameters: params, step: state.step, from: file, path: path(Self.lastFile))
            for (n, lws) in ws.stack.layers.enumerated() {
                let count = lws.batch * lws.hidden
                guard let h = file.tensors["state.rnn.\(n).h"], h.values.count == count else {
                    throw CheckpointError.corrupt(path(Self.lastFile), "carried state of layer \(n) missing or of the wrong size")
                }
                let cs = file.tensors["state.rnn.\(n).c"]
                if lws.c != nil {
                    guard let cs, cs.values.count == count else {
                        throw CheckpointError.corrupt(path(Self.lastFile), "carried cell state of layer \(n) missing or of the wrong size")
                    }
                }
                guard h.values.allSatisfy(\.isFinite), cs?.values.allSatisfy(\.isFinite) ?? true else {
                    throw CheckpointError.corrupt(path(Self.lastFile), "carried state of layer \(n) holds NaN or Inf")
                }
                for i in 0..<count { lws.h[i] = h.values[i] }
                if let c = lws.c, let cs { for i in 0..<count { c[i] = cs.values[i] } }
            }
        }

        onEvent(.started(parameters: model.trainableScalarCount, trainChars: train.count, valChars: val.count,
                         vocabulary: vocab.count, resumedAt: resume ? state.step : nil))

        if resume { try RunDirectory.dropMetrics(after: state.step, in: path(Self.metricsFile)) }
        if let file = resumedFile {
            switch RunDirectory.bestRepair(outDir: options.outDir, bestStep: state.bestStep, step: state.step) {
            case .keep: break
            case .forget: state.bestValLoss = nil; state.bestStep = nil
            case .rewriteFromLast:
                try saveBest(model, vocab, trainOptions: file.metadata["quill.train-options"], step: state.step,
                             loss: state.bestValLoss ?? .nan)
            }
        }
        let metrics = try MetricsLog(path: path(Self.metricsFile), truncate: !resume)
        var inputs = [Int32](repeating: 0, count: options.seq * options.batch), targets = inputs
        let rows = Double(options.seq * options.batch)
        let start = Date()
        let elapsedBefore = state.elapsed
        var logLoss = 0.0, logCount = 0, logStart = Date()
        var lastCheckpointStep = state.step
        // The step of the checkpoint in last.safetensors, nil until this run (if fresh) writes one.
        var checkpoint: Int? = resume ? state.step : nil
        var divergence = DivergenceRule.char(vocabularySize: vocab.count, charactersPerStep: options.batch * options.seq)
        var reason = "reached the step limit"

        func saveLast() throws {
            RunDirectory.record(rng, in: &state)
            state.elapsed = elapsedBefore + Date().timeIntervalSince(start)
            var extra = RunDirectory.entries(optimizer, parameters: params)
            for (n, lws) in ws.stack.layers.enumerated() {
                let st = lws.initialState()
                extra.append(("state.rnn.\(n).h", SafeTensors.Entry(shape: st.h.shape, values: st.h.array)))
                if let c = st.c { extra.append(("state.rnn.\(n).c", SafeTensors.Entry(shape: c.shape, values: c.array))) }
            }
            try CharCheckpoint.save(model, vocabulary: vocab, to: path(Self.lastFile), metadata: [
                "quill.train-options": String(decoding: try JSONEncoder.sorted.encode(options), as: UTF8.self),
                "quill.trainer": String(decoding: try JSONEncoder.sorted.encode(state), as: UTF8.self),
            ], extraTensors: extra)
            lastCheckpointStep = state.step
            checkpoint = state.step
            savedCheckpoint = state.step
        }

        func validateAndCheckpoint() throws {
            let elapsed = elapsedBefore + Date().timeIntervalSince(start)
            var improved = true
            var loss = Double.nan
            if !val.isEmpty {
                loss = CharEvaluation.evaluate(model, tokens: val).natsPerChar
                // The weights were updated after the last loss the divergence rule saw: judge them before saving.
                guard loss.isFinite else {
                    throw CharModelError.nonFinite(step: state.step, what: "the validation loss", dir: options.outDir,
                                                   checkpoint: checkpoint)
                }
                if let c = divergence.ceiling, loss > c {
                    throw CharModelError.diverged(step: state.step, why: String(format: "the validation loss, %.4g nats/char, is above the ceiling of %.4g", loss, c),
                                                  dir: options.outDir, checkpoint: checkpoint)
                }
                improved = loss < (state.bestValLoss ?? .infinity)
                try metrics.append(["kind": "val", "step": state.step, "elapsed_s": elapsed, "loss": loss,
                                    "unit": "nats/char"])
            }
            if improved {
                state.bestValLoss = val.isEmpty ? nil : loss
                state.bestStep = state.step
            }
            // The resume point first: it records the best step, and a resume rewrites a best model whose write failed.
            try saveLast()
            if improved { try saveBest(model, vocab, trainOptions: nil, step: state.step, loss: loss) }
            var sample = ""
            if options.sampleLength > 0 {
                var sampleRNG = rng.derived(UInt64(state.step))
                let sampler = CharSampler(model: model, vocabulary: vocab)
                sample = (try? sampler.sample(prime: "", length: options.sampleLength, temperature: 0.8,
                                              rng: &sampleRNG)) ?? ""
            }
            if !val.isEmpty { onEvent(.validation(step: state.step, loss: loss, best: improved, sample: sample)) }
        }

        quillInterruptRequested = 0
        let limits = RunLimits(steps: options.steps, minutes: options.minutes, stepAtStart: state.step)
        while true {
            let elapsedRun = Date().timeIntervalSince(start)
            if let s = options.steps, state.step >= s { break }
            if let m = options.minutes, elapsedRun >= m * 60 { reason = "reached the time limit"; break }
            if quillInterruptRequested != 0 { reason = "interrupted"; break }

            batcher.fill(train, position: state.position, inputs: &inputs, targets: &targets)
            params.zeroGradients()
            let loss = model.trainStep(inputs: inputs, targets: targets, ws, dropout: options.model.dropout,
                                       rng: &rng) / rows
            try GuardedUpdate.apply(loss: loss, parameters: trainable, optimizer: optimizer, schedule: options.lrSchedule,
                                    clipNorm: options.clipNorm, clipValue: options.clipValue, step: state.step,
                                    outDir: options.outDir, checkpoint: checkpoint, divergence: &divergence)
            state.step += 1
            reachedStep = state.step
            let (next, newEpoch) = batcher.advance(state.position)
            state.position = next
            if newEpoch { state.epoch += 1; ws.stack.resetState() } else { ws.stack.carryState() }

            logLoss += loss; logCount += 1
            let now = Date()
            let elapsed = now.timeIntervalSince(start)
            let rate = rows * Double(logCount) / max(now.timeIntervalSince(logStart), 1e-9)
            let eta = limits.eta(step: state.step, elapsed: elapsed)
            onEvent(.progress(step: state.step, totalSteps: options.steps, loss: loss, charsPerSecond: rate,
                              elapsed: elapsedBefore + elapsed, eta: eta))
            if state.step % options.logEvery == 0 {
                try metrics.append(["kind": "train", "step": state.step, "elapsed_s": elapsedBefore + elapsed,
                                    "loss": logLoss / Double(logCount), "lr": optimizer.learningRate,
                                    "rate": rate, "unit": "nats/char"])
                logLoss = 0; logCount = 0; logStart = now
            }
            if state.step % options.evalEvery == 0 { try validateAndCheckpoint() }
        }
        if lastCheckpointStep != state.step || state.bestStep == nil { try validateAndCheckpoint() }
        onEvent(.finished(step: state.step, reason: reason, bestLoss: state.bestValLoss))
        return state.step
    }

    /// Writes model.safetensors, the best model (at `step`, validation loss `loss`, NaN without a validation split).
    /// `trainOptions`: the options JSON to record, nil for the current options.
    private func saveBest(_ model: CharModel<Float>, _ vocab: CharVocabulary, trainOptions: String?, step: Int,
                          loss: Double) throws {
        try CharCheckpoint.save(model, vocabulary: vocab, to: path(Self.bestFile), metadata: [
            "quill.train-options": try trainOptions ?? String(decoding: JSONEncoder.sorted.encode(options), as: UTF8.self),
            "quill.best": "{\"step\":\(step),\"val_loss\":\(loss.isFinite ? "\(loss)" : "null")}",
        ])
    }
}

/// Appends JSON lines to metrics.jsonl, one whole object per call (`QuillIO.AppendFile`: a failed write, a full disk
/// say, throws `FileSystemError` and leaves no half line).
final class MetricsLog {
    let file: AppendFile

    init(path: String, truncate: Bool) throws {
        file = try AppendFile(path: path, truncate: truncate)
    }

    func append(_ object: [String: Any]) throws {
        var clean = object
        for (k, v) in object { if let d = v as? Double, !d.isFinite { clean[k] = NSNull() } }
        var data = try JSONSerialization.data(withJSONObject: clean, options: [.sortedKeys])
        data.append(0x0a)
        try file.append(data)
    }
}
