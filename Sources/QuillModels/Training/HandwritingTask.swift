import Foundation
import QuillData
import QuillIO
import QuillNumerics
import QuillOptim

extension TrainingRun {
    /// A handwriting run (`HandwritingTask`); `resume` continues the run in `options.outDir`.
    public convenience init(options: HandwritingTrainOptions, resume: Bool,
                            onEvent: @escaping (TrainingEvent) -> Void = { _ in }) {
        self.init(task: HandwritingTask(options: options), resume: resume, onEvent: onEvent)
    }
}

/// Handwriting training as a task of `TrainingRun`: a prepared dataset in shuffled batches of whole sequences and a
/// fixed validation subset (`HandwritingTrainingData`), Graves's output and LSTM clips, and the handwriting
/// divergence rule (per point).
///
/// In a job of R ranks, rank r trains sequences `shard.block(of: n)` of every batch of n sequences, its gradient
/// averaged over all n.
final class HandwritingTask: TrainingTask {
    var options: HandwritingTrainOptions
    var world = DataParallel.single
    /// The data's counts (samples, points, alphabet) and a hash of every sample's offsets, pen lifts, text and
    /// split, "COUNTS:fnv1a64:HASH": saved in a fresh run's options, so that `--resume` on other data with the same
    /// counts (the same lines imported with other options, say) is refused, and compared between the ranks of a job.
    /// Hashed once, after `loadData`.
    lazy var dataFingerprint: String = {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        func mix(_ bytes: UnsafeRawBufferPointer) { for b in bytes { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 } }
        for s in data.dataset.samples {
            s.dx.withUnsafeBytes(mix); s.dy.withUnsafeBytes(mix); s.eos.withUnsafeBytes(mix)
            s.characters.withUnsafeBytes(mix)
            withUnsafeBytes(of: s.split == .train) { mix($0) }
        }
        return data.fingerprint + ":fnv1a64:" + String(h, radix: 16)
    }()
    private var data: HandwritingTrainingData!  // Invariant: loadData sets it, before any other use.
    private var model: HandwritingModel<Float>!  // Invariant: startFresh or resume sets it, before any other use.
    private var ws: HandwritingWorkspace<Float>!  // Invariant: prepare sets it, before any other use.

    init(options: HandwritingTrainOptions) { self.options = options }

    func loadData(resuming: Bool, budget: MemoryBudget) throws {
        data = try HandwritingTrainingData(options: options)
        if !resuming && options.model.kind == .synthesis { options.model.alphabetSize = data.dataset.alphabet.count }
        if let m = options.model.validate() { throw TrainingError.invalidOption(m) }
        try budget.check(MemoryEstimate.handwritingTraining(options.model, batch: options.batch, steps: data.batches.maxSteps,
                                                            maxTextLength: data.batches.maxTextLength,
                                                            optimizer: options.optimizer.kind))
    }

    func startFresh(rng: inout SeededGenerator, budget: MemoryBudget) throws {
        options.dataFingerprint = dataFingerprint
        model = HandwritingModel<Float>(config: options.model, rng: &rng)
    }

    func resume(from path: String, budget: MemoryBudget) throws -> SafeTensors.File {
        let loaded = try HandwritingCheckpoint.load(path, expecting: options.model.kind, budget: budget)
        guard loaded.model.config == options.model else {
            throw CheckpointError.corrupt(path, "quill.config and quill.train-options describe different models")
        }
        // Runs saved before the hash (their fingerprint is the counts alone) are checked by the counts.
        let saved = options.dataFingerprint
        guard saved.contains(":fnv1a64:") ? saved == dataFingerprint : saved == data.fingerprint else {
            throw TrainingError.resumeMismatch("\(options.dataPath) differs from the dataset \(options.outDir) was trained on; resume with the same prepared file, or train into a new --out")
        }
        model = loaded.model
        return loaded.file
    }

    func initialise(from path: String, budget: MemoryBudget) throws -> SafeTensors.File {
        let loaded: HandwritingCheckpoint.Loaded
        do {
            loaded = try HandwritingCheckpoint.load(path, budget: budget)
        } catch CheckpointError.wrongKind(_, _, let found) {
            // A char language model or another kind of Quill file: the same usage error as a prediction source.
            throw TrainingError.invalidOption("--init-from: the model in \(path) is a \(found) model; "
                                              + "this run trains a \(options.model.kind) network")
        }
        guard loaded.model.config.kind == options.model.kind else {
            throw TrainingError.invalidOption("--init-from: the model in \(path) is a \(loaded.model.config.kind) network; "
                                              + "this run trains a \(options.model.kind) network")
        }
        if options.model.kind == .synthesis, loaded.alphabet.symbols != data.dataset.alphabet.symbols {
            // Another alphabet (data that adds characters): the window's input rows are carried over by symbol.
            let transfer = try AlphabetTransfer(from: loaded.alphabet, to: data.dataset.alphabet)
            try transfer.copy(from: loaded.model.parameters, into: model.parameters, oldSize: loaded.alphabet.count,
                              path: path)
            options.initFrom?.alphabetChange = transfer.summary
            return loaded.file
        }
        try RunFiles.copyWeights(from: loaded.model.parameters, into: model.parameters, path: path)
        return loaded.file
    }
    func prepare(resumed: HandwritingTrainerState?, path: String) throws {
        if let s = resumed, s.batchInEpoch >= data.batches.batches.count {
            throw CheckpointError.corrupt(path, "trainer state (quill.trainer): batch \(s.batchInEpoch) of the epoch is past the \(data.batches.batches.count) batches")
        }
        if let problem = shard.batchProblem(options.batch) { throw TrainingError.invalidOption(problem) }
        model.setPreactivationGradientClip(options.lstmClip.map { Float($0) })
        ws = model.makeWorkspace(steps: data.batches.maxSteps, batch: options.batch / shard.size,
                                 maxTextLength: data.batches.maxTextLength)
    }

    var parameters: [Parameter<Float>] { model.parameters }
    var gradientGroups: [[Parameter<Float>]] { model.gradientGroups }
    var startedData: (parameters: Int, data: TrainingData) {
        (model.parameters.scalarCount(), .strokes(kind: options.model.kind, trainSequences: data.batches.batches.reduce(0) { $0 + $1.count },
                                                  validationSequences: data.val.count, batches: data.batches.batches.count))
    }
    func save(to path: String, metadata: [String: String], extraTensors: [(String, SafeTensors.Entry)]) throws {
        try HandwritingCheckpoint.save(model, alphabet: data.dataset.alphabet, stats: data.dataset.stats, to: path,
                                       metadata: metadata, extraTensors: extraTensors)
    }
    let bestKey = "val_nats_per_sequence"
    var complexityScale: Double { 1 / Double(max(data.train.count, 1)) }
    func dataLossPerComplexityUnit(_ w: LogWindow) -> (loss: Double, unit: String) {
        (w.loss / Double(max(w.sequences, 1)), "nats/sequence")
    }
    func divergenceRule() -> DivergenceRule { .handwriting() }

    func trainStep(_ state: HandwritingTrainerState, rng: inout SeededGenerator, hooks: GradientHooks<Float>?) -> StepLoss {
        let order = data.batches.order(epoch: state.epoch, seed: options.seed)
        let batch = data.batches.batches[order[state.batchInEpoch]]
        guard shard.size > 1 else {
            let points = StrokeBatches.fill(ws, samples: data.train, indices: batch)
            let loss = model.trainStep(ws, outputClip: options.outputClip.map { Float($0) }, hooks: hooks).total
            return StepLoss(loss: loss, perUnit: loss / Double(max(points, 1)), units: points, sequences: ws.sequenceCount)
        }
        // This rank's block of the batch's sequences (none, in a short last batch with fewer sequences than ranks).
        let mine = Array(batch[shard.block(of: batch.count)])
        guard !mine.isEmpty else { return StepLoss(loss: 0, perUnit: 0, units: 0, sequences: 0) }
        let points = StrokeBatches.fill(ws, samples: data.train, indices: mine)
        let loss = model.trainStep(ws, outputClip: options.outputClip.map { Float($0) }, sequencesInBatch: batch.count,
                                   hooks: hooks).total
        // The divergence rule reads the loss per point, which does not depend on the batch's lengths.
        return StepLoss(loss: loss, perUnit: loss / Double(max(points, 1)), units: points, sequences: ws.sequenceCount)
    }

    func perUnit(ofSummed loss: StepLoss) -> Double { loss.loss / Double(max(loss.units, 1)) }

    func advance(_ state: inout HandwritingTrainerState) {
        state.batchInEpoch += 1
        if state.batchInEpoch >= data.batches.batches.count { state.epoch += 1; state.batchInEpoch = 0 }
    }

    func trainLine(_ w: LogWindow, state: HandwritingTrainerState) -> [String: Any] {
        ["loss": w.loss / Double(max(w.units, 1)), "nats_per_sequence": w.loss / Double(max(w.sequences, 1)),
         "epoch": state.epoch, "unit": "nats/point"]
    }

    func validate() -> Validation {
        // No validation lines (a dataset imported with --valid-fraction 0): no score and no line, as a char run
        // without them, rather than a NaN at every validation.
        guard !data.val.isEmpty else { return Validation(score: nil, perUnit: .nan, line: nil) }
        // The same code as `quill eval`, so a run's full validation (--val-samples 0) is what it prints.
        // In a job of several ranks each rank scores its block of the validation lines; the sums are shared.
        let mine = Array(data.val[shard.block(of: data.val.count)])
        // Alone: `quill eval`'s batches, so the figure is exactly what it prints for the checkpoint. In a job: a batch
        // no wider than this rank's lines (the workspace computes every column of its batch), equal to float rounding.
        let batch = shard.size > 1 ? max(1, min(options.batch, mine.count)) : options.batch
        let scores = HandwritingEvaluation.evaluate(model, samples: mine, batch: batch)
        var sums = [scores.nats, Double(scores.points), Double(scores.sequences)]
        world.sum(&sums)
        let perPoint = sums[1] > 0 ? sums[0] / sums[1] : .nan, perSequence = sums[2] > 0 ? sums[0] / sums[2] : .nan
        return Validation(score: data.val.isEmpty ? nil : perSequence, perUnit: perPoint,
                          line: ["loss": perPoint, "nats_per_sequence": perSequence, "unit": "nats/point"])
    }

    /// The points of an unconditional sample (a prediction model's): about a line of handwriting.
    static let samplePoints = 400
    /// The most characters of the text a synthesis model writes at a validation.
    static let sampleCharacters = 40

    /// A line written at a validation, at `WriteOptions`' default bias: a synthesis model writes the text of the
    /// first validation sample (the first training sample's without a validation set), at most
    /// `sampleCharacters` of it; a prediction model writes `samplePoints` points.
    func sampleStrokes(step: Int, rng: SeededGenerator) -> (strokes: [Stroke], caption: String)? {
        let sampler = HandwritingSampler(model: model, alphabet: data.dataset.alphabet, stats: data.dataset.stats)
        var sampleRNG = rng.derived(UInt64(step))
        let write = WriteOptions()
        let line: GeneratedLine, caption: String
        if options.model.kind == .synthesis {
            let source = data.val.first { !($0.text ?? "").isEmpty } ?? data.train.first { !($0.text ?? "").isEmpty }
            guard let full = source?.text else { return nil }
            let text = String(String.UnicodeScalarView(full.unicodeScalars.prefix(Self.sampleCharacters)))
            var rngs = [sampleRNG]
            guard let written = sampler.write([text], options: write, rngs: &rngs).first else { return nil }
            line = written
            caption = "step \(step): \(text) (bias \(write.bias))"
        } else {
            line = sampler.sample(steps: Self.samplePoints, bias: write.bias, rng: &sampleRNG).line
            caption = "step \(step): \(line.dx.count) points (bias \(write.bias))"
        }
        // Offsets to absolute points, a stroke ending at each pen lift.
        var strokes: [Stroke] = [], current: Stroke = [], pen = Point(x: 0, y: 0)
        for i in line.dx.indices {
            pen = Point(x: pen.x + line.dx[i], y: pen.y + line.dy[i])
            current.append(pen)
            if line.eos[i] { strokes.append(current); current = [] }
        }
        if !current.isEmpty { strokes.append(current) }
        return (strokes, caption)
    }
}

/// The data of a handwriting run: a prepared dataset's training split in batches of whole sequences
/// (`StrokeBatches`), and an evenly spread, fixed subset of its validation split.
struct HandwritingTrainingData {
    let dataset: PreparedDataset
    let train: [PreparedSample], val: [PreparedSample]
    let batches: StrokeBatches
    /// Samples, points and alphabet size, checked on resume.
    let fingerprint: String

    /// Throws what reading the file throws, and `TrainingError.invalidOption` for unusable statistics or no
    /// training samples within the options' point limit.
    init(options: HandwritingTrainOptions) throws {
        dataset = try PreparedFormat.load(path: options.dataPath)
        fingerprint = "\(dataset.samples.count):\(dataset.samples.reduce(0) { $0 + $1.count }):\(dataset.alphabet.symbols.count)"
        let synthesis = options.model.kind == .synthesis, stats = dataset.stats
        guard [stats.meanDx, stats.meanDy, stats.stdDx, stats.stdDy].allSatisfy(\.isFinite), stats.stdDx > 0, stats.stdDy > 0 else {
            throw TrainingError.invalidOption("\(options.dataPath): its normalisation statistics must be finite with positive standard deviations; import the data again")
        }
        train = dataset.samples(in: .train)
        batches = StrokeBatches(train, batchSize: options.batch, stepLimit: options.stepLimit, needText: synthesis)
        guard !batches.batches.isEmpty else {
            // Say which rule left nothing: the split, the text, the two points a sample needs, or --max-points.
            let why: String
            if train.isEmpty {
                why = "none of its \(dataset.samples.count) samples is in the training split (\(dataset.samples(in: .validation).count) validation, the rest unassigned); import it again with --split seeded or other --train-list/--valid-list"
            } else if synthesis && train.allSatisfy({ $0.characters.isEmpty }) {
                why = "none of its \(train.count) training samples has a transcription, which synthesis needs"
            } else if train.allSatisfy({ $0.count < 2 }) {
                why = "every one of its \(train.count) training samples has fewer than 2 points"
            } else {
                why = "no training sample\(synthesis ? " with text" : "") has at most \(options.stepLimit + 1) points; raise --max-points"
            }
            throw TrainingError.invalidOption("\(options.dataPath): nothing to train on: \(why)")
        }
        // An evenly spread, fixed subset, so successive validations are comparable.
        let all = dataset.samples(in: .validation)
        let stride = Double(all.count) / Double(max(options.valSamples, 1))
        val = options.valSamples > 0 && all.count > options.valSamples
            ? (0..<options.valSamples).map { all[Int(Double($0) * stride)] } : all
    }
}
