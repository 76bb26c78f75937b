import Foundation
import QuillData
import QuillIO
import QuillNN
import QuillNumerics
import QuillOptim

extension TrainingRun {
    /// A char-model run (`CharTask`); `resume` continues the run in `options.outDir`.
    public convenience init(options: CharTrainOptions, resume: Bool, onEvent: @escaping (TrainingEvent) -> Void = { _ in }) {
        self.init(task: CharTask(options: options), resume: resume, onEvent: onEvent)
    }
}

/// Char-model training as a task of `TrainingRun`: a corpus split into training and validation text
/// (`CharTrainingText`), streams of `batch` × `seq` characters carried across steps (their RNN state saved as
/// `state.rnn.N.h/c` in last.safetensors), and the char divergence rule.
///
/// In a job of R ranks, rank r trains streams `shard.block(of: batch)` of every batch (B/R contiguous streams) and
/// carries their state; the checkpoint holds the state of all B streams, gathered, so any rank count resumes it.
final class CharTask: TrainingTask {
    var options: CharTrainOptions
    var world = DataParallel.single
    var dataFingerprint: String { corpus.fingerprint }
    /// The whole batch's windows, (seq, B), when this rank trains a shard of it.
    private var globalInputs: [Int32] = [], globalTargets: [Int32] = []
    private var corpus: CharCorpus!  // Invariant: loadData sets it, before any other use.
    private var vocab: Alphabet!  // Invariant: startFresh or resume sets it, before any other use.
    private var model: CharModel<Float>!  // Invariant: startFresh or resume sets it, before any other use.
    private var text: CharTrainingText!  // Invariant: prepare sets it, before any other use.
    private var ws: CharWorkspace<Float>!  // Invariant: prepare sets it, before any other use.
    private var inputs: [Int32] = [], targets: [Int32] = []
    /// Hessian-free's curvature products on a fraction of the batch: a workspace of that many streams.
    private var curvatureWorkspace: CharWorkspace<Float>?

    init(options: CharTrainOptions) { self.options = options }
    func loadData(resuming: Bool, budget: MemoryBudget) throws { corpus = try CharCorpus(paths: options.dataPaths) }
    private var memory: MemoryEstimate {
        .charTraining(options.model, batch: options.batch, seq: options.seq, optimizer: options.optimizer.kind,
                      characters: corpus.text.unicodeScalars.count)
    }

    func startFresh(rng: inout SeededGenerator, budget: MemoryBudget) throws {
        vocab = Alphabet(text: corpus.text)
        (options.model.vocabularySize, options.dataFingerprint) = (vocab.count, corpus.fingerprint)
        if let m = options.model.validate() { throw TrainingError.invalidOption(m) }
        try budget.check(memory)
        model = CharModel<Float>(config: options.model, rng: &rng)
    }
    func resume(from path: String, budget: MemoryBudget) throws -> SafeTensors.File {
        try budget.check(memory)
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
    func initialise(from path: String, budget: MemoryBudget) throws -> SafeTensors.File {
        let loaded = try CharCheckpoint.load(path, budget: budget)
        guard loaded.alphabet.symbols == vocab.symbols else {
            let theirs = Set(loaded.alphabet.symbols), ours = Set(vocab.symbols)
            let missing = ours.subtracting(theirs).sorted(), extra = theirs.subtracting(ours).sorted()
            func listed(_ s: [String]) -> String { s.prefix(8).map { "'\(TextPreparation.shown(text: $0))'" }.joined(separator: ", ") + (s.count > 8 ? ", …" : "") }
            let difference = [missing.isEmpty ? nil : "the text has \(listed(missing)), which the model lacks",
                              extra.isEmpty ? nil : "the model has \(listed(extra)), which the text lacks"].compactMap { $0 }
            throw TrainingError.invalidOption("--init-from: the model in \(path) reads another vocabulary (\(loaded.alphabet.count) "
                + "characters) than the text of --data (\(vocab.count)): \(difference.isEmpty ? "the same characters in another order" : difference.joined(separator: "; ")); train on a text with the same characters")
        }
        let theirs = loaded.model.config, ours = model.config
        // Whether a Phased LSTM learns its periods is a training choice, not the network's shape: it may change.
        for (flag, a, b) in [("cell", theirs.cell.rawValue, ours.cell.rawValue),
                             ("layers", "\(theirs.layers)", "\(ours.layers)"),
                             ("hidden", "\(theirs.hidden)", "\(ours.hidden)"),
                             ("embedding", "\(theirs.embedding)", "\(ours.embedding)"),
                             ("factors", "\(theirs.factorCount)", "\(ours.factorCount)"),
                             ("layer-norm", "\(theirs.normalizesLayers)", "\(ours.normalizesLayers)"),
                             ("context", "\(theirs.context ?? 0)", "\(ours.context ?? 0)"),
                             ("dilations", (theirs.dilations ?? []).map(String.init).joined(separator: ","),
                              (ours.dilations ?? []).map(String.init).joined(separator: ","))] where a != b {
            throw TrainingError.invalidOption("--init-from: the model in \(path) has --\(flag) \(a) where this run has \(b); give the options of that run's network")
        }
        try RunFiles.copyWeights(from: loaded.model.parameters, into: model.parameters, path: path)
        return loaded.file
    }
    func prepare(resumed: CharTrainerState?, path: String) throws {
        if let prime = options.samplePrime, case let unknown = vocab.unknownCharacters(in: prime), !unknown.isEmpty {
            throw TrainingError.invalidOption("--sample-prime has characters the training text lacks: "
                + unknown.map { TextPreparation.shown(Character($0)) }.joined(separator: ", "))
        }
        text = try CharTrainingText(corpus: corpus, alphabet: vocab, options: options)
        try text.check(resumed?.position, path: path)
        if let problem = shard.batchProblem(options.batch) { throw TrainingError.invalidOption(problem) }
        let localBatch = shard.block(of: options.batch).count
        inputs = [Int32](repeating: 0, count: options.seq * localBatch); targets = inputs
        if shard.size > 1 { globalInputs = [Int32](repeating: 0, count: options.seq * options.batch); globalTargets = globalInputs }
        ws = model.makeWorkspace(steps: options.seq, batch: localBatch)
    }
    var parameters: [Parameter<Float>] { model.parameters }
    var gradientGroups: [[Parameter<Float>]] { model.gradientGroups }
    var startedData: (parameters: Int, data: TrainingData) {
        (model.trainableScalarCount, .text(trainCharacters: text.train.count, validationCharacters: text.val.count,
                                           vocabulary: vocab.count))
    }
    func extraTensors() -> [(String, SafeTensors.Entry)] {
        ws.carriedStateEntries(rows: shard.block(of: options.batch), batch: options.batch, gather: { world.sum(&$0) })
    }
    func restoreExtras(from file: SafeTensors.File, path: String) throws {
        try ws.restoreCarriedState(from: file, path: path, rows: shard.block(of: options.batch), batch: options.batch)
    }
    func save(to path: String, metadata: [String: String], extraTensors: [(String, SafeTensors.Entry)]) throws {
        try CharCheckpoint.save(model, alphabet: vocab, to: path, metadata: metadata, extraTensors: extraTensors)
    }
    let bestKey = "val_loss"
    var complexityScale: Double { 1 / Double(max(text.train.count, 1)) }
    func dataLossPerComplexityUnit(_ w: LogWindow) -> (loss: Double, unit: String) { (w.loss / Double(max(w.steps, 1)), "nats/char") }
    func divergenceRule() -> DivergenceRule { .char(vocabularySize: vocab.count, charactersPerStep: options.batch * options.seq) }

    func trainStep(_ state: CharTrainerState, rng: inout SeededGenerator, hooks: GradientHooks<Float>?) -> StepLoss {
        let rows = options.seq * options.batch
        guard shard.size > 1 else {
            text.batcher.fill(text.train, position: state.position, inputs: &inputs, targets: &targets)
            let loss = model.trainStep(inputs: inputs, targets: targets, ws, dropout: options.model.dropout, rng: &rng,
                                       hooks: hooks) / Double(rows)
            return StepLoss(loss: loss, perUnit: loss, units: rows, sequences: options.batch)
        }
        // This rank's streams: columns `block` of the (seq, B) windows; the loss and gradient are averaged over
        // the whole batch's characters, so the ranks' sums are the batch's mean.
        text.batcher.fill(text.train, position: state.position, inputs: &globalInputs, targets: &globalTargets)
        let block = shard.block(of: options.batch), B = options.batch, b = block.count
        for t in 0..<options.seq {
            for j in 0..<b {
                inputs[t * b + j] = globalInputs[t * B + block.lowerBound + j]
                targets[t * b + j] = globalTargets[t * B + block.lowerBound + j]
            }
        }
        let loss = model.trainStep(inputs: inputs, targets: targets, ws, dropout: options.model.dropout, rng: &rng,
                                   lossRows: rows, hooks: hooks) / Double(rows)
        return StepLoss(loss: loss, perUnit: loss, units: options.seq * b, sequences: b)
    }
    /// Gauss–Newton products and losses on the last batch, for `--optimizer hf` (one process; `GaussNewton`). With a
    /// curvature fraction below 1, the products read the batch's first ⌈fraction·B⌉ streams (from their states).
    var curvature: CurvatureAccess? {
        guard options.optimizer.kind == .hf, shard.size == 1 else { return nil }
        let rows = options.seq * options.batch, B = options.batch, T = options.seq
        let sub = min(B, max(1, Int((Double(B) * (options.optimizer.curvatureFraction ?? 1)).rounded(.up))))
        // Invariant: prepare set ws before any training step, and curvature is read at training steps only.
        var curvatureInputs = inputs, curvatureWS: CharWorkspace<Float> = ws!
        if sub < B {
            if curvatureWorkspace?.batch != sub { curvatureWorkspace = model.makeWorkspace(steps: T, batch: sub) }
            // Invariant: made just above when missing.
            curvatureWS = curvatureWorkspace!
            curvatureInputs = (0..<(T * sub)).map { inputs[($0 / sub) * B + $0 % sub] }
            if case .recurrent(let states) = ws.state() {
                curvatureWS.setState(.recurrent(states.map { s in
                    let H = s.h.count / B
                    var cut = RecurrentState<Float>(batch: sub, hidden: H, hasCell: s.c != nil, timed: !s.time.isEmpty)
                    cut.h.ptr.update(from: s.h.ptr, count: sub * H)
                    if let c = s.c, let cc = cut.c { cc.ptr.update(from: c.ptr, count: sub * H) }
                    if !s.time.isEmpty { cut.time = Array(s.time.prefix(sub)) }
                    return cut
                }))
            }
        }
        let products = (inputs: curvatureInputs, ws: curvatureWS)
        return CurvatureAccess(gaussNewton: { d, mu in
            var k = 0
            let full = self.model.parameters.map { p -> Tensor<Float> in
                guard p.trainable else { return Tensor(p.shape) }
                defer { k += 1 }
                return d[k]
            }
            GaussNewton.product(self.model, inputs: products.inputs, products.ws, direction: full, structuralDamping: mu)
        }, loss: {
            self.model.evaluate(inputs: self.inputs, targets: self.targets, self.ws) / Double(rows)
        }, refresh: {
            _ = self.model.evaluate(inputs: self.inputs, targets: self.targets, self.ws)
        })
    }
    /// The summed loss is already the batch's mean per character.
    func perUnit(ofSummed loss: StepLoss) -> Double { loss.loss }
    func advance(_ state: inout CharTrainerState) {
        let (next, newEpoch) = text.batcher.advance(state.position)
        state.position = next
        if newEpoch { state.epoch += 1; ws.resetState() } else { ws.carryState() }
    }

    func trainLine(_ w: LogWindow, state: CharTrainerState) -> [String: Any] { ["loss": w.loss / Double(w.steps), "unit": "nats/char"] }
    func validate() -> Validation {
        guard !text.val.isEmpty else { return Validation(score: nil, perUnit: .nan, line: nil) }
        // In a job of several ranks each rank reads its block of the validation streams, and the sums are shared.
        let e = CharEvaluation.evaluate(model, tokens: text.val, streams: shard)
        var sums = [e.nats, Double(e.characters), Double(e.correct)]
        world.sum(&sums)
        let loss = sums[1] > 0 ? sums[0] / sums[1] : .nan
        let error = sums[1] > 0 ? 1 - sums[2] / sums[1] : .nan
        return Validation(score: loss, perUnit: loss, line: ["loss": loss, "unit": "nats/char", "error": error])
    }
    func sample(step: Int, rng: SeededGenerator) -> String {
        guard options.sampleLength > 0 else { return "" }
        var sampleRNG = rng.derived(UInt64(step))
        return (try? CharSampler(model: model, alphabet: vocab)
            .sample(prime: options.samplePrime ?? "", length: options.sampleLength,
                    temperature: options.sampleTemperature ?? 0.8, rng: &sampleRNG)) ?? ""
    }
}
