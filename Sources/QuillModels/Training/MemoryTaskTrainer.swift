import Foundation
import QuillIO
import QuillNN
import QuillNumerics
import QuillOptim

/// A memory task (`MemoryTask`) as a task of `TrainingRun`: no data files, a fresh batch drawn from the run's
/// generator at every step, and a held-out set drawn once from a stream derived from the seed, so the same options
/// give the same numbers, resumed or not.
///
/// Checkpoints (`quill.kind` "memory-task"): the stack's tensors (`rnn.N.*`, as in every model) and the head's
/// (`head.w` (H, output width), `head.b`), with the run's options. The best model is the one with the lowest
/// held-out error (1 − accuracy) or MSE.
final class MemoryTaskTrainer: TrainingTask {
    static let kind = "memory-task"
    var options: MemoryTaskOptions
    var world = DataParallel.single
    var dataFingerprint: String { "\(options.task.rawValue), length \(options.length), generated" }
    /// The scores made so far, in step order.
    private(set) var points: [MemoryTaskPoint] = []
    private let onPoint: (MemoryTaskPoint) -> Void
    private var model: MemoryTaskModel!  // Invariant: startFresh or resume sets it, before any other use.
    private var held: MemoryTaskBatch!  // Invariant: prepare sets it, before any other use.
    private var ws: MemoryTaskWorkspace!  // Invariant: prepare sets it, before any other use.
    private var evalWS: MemoryTaskWorkspace!  // Invariant: prepare sets it, before any other use.
    /// The training losses since the last score, and the step reached.
    private var lossSum = 0.0, lossSteps = 0, stepReached = 0

    init(options: MemoryTaskOptions, onPoint: @escaping (MemoryTaskPoint) -> Void) {
        self.options = options
        self.onPoint = onPoint
    }

    func loadData(resuming: Bool, budget: MemoryBudget) throws {
        // Before anything is allocated: a model or batch the process can't hold is one clear error, not a crash.
        try budget.check(MemoryEstimate.memoryTask(options))
    }
    private func newModel(rng: inout SeededGenerator) -> MemoryTaskModel {
        MemoryTaskModel(task: options.task, cell: options.cell, layers: options.layers, hidden: options.hidden, rng: &rng)
    }
    func startFresh(rng: inout SeededGenerator, budget: MemoryBudget) throws {
        model = newModel(rng: &rng)
    }
    /// Checks the file's kind and copies its weights (shapes, finiteness and magnitude checked) into a model built
    /// from the options.
    private func loadWeights(_ path: String) throws -> SafeTensors.File {
        let file = try SafeTensors.read(path)
        guard let k = file.metadata["quill.kind"] else {
            throw CheckpointError.corrupt(path, "no quill.kind metadata: not a Quill checkpoint")
        }
        guard k == Self.kind else { throw CheckpointError.wrongKind(path, expected: Self.kind, found: k) }
        var unused = SeededGenerator(seed: 0)
        let loaded = model ?? newModel(rng: &unused)
        try file.restore(loaded.parameters, path: path)
        model = loaded
        return file
    }
    func resume(from path: String, budget: MemoryBudget) throws -> SafeTensors.File { try loadWeights(path) }
    func initialise(from path: String, budget: MemoryBudget) throws -> SafeTensors.File { try loadWeights(path) }
    func prepare(resumed: MemoryTaskTrainerState?, path: String) throws {
        if world.size > 1 {
            throw TrainingError.invalidOption("quill task trains in one process; run it without mpirun")
        }
        // The held-out set comes from its own stream, derived from the seed before any draw, so it does not depend
        // on the training batches or on where the run resumed.
        var evalRNG = SeededGenerator(seed: options.seed).derived(0xE7A1)
        held = MemoryTaskData.batch(options.task, length: options.length, batch: options.evalSequences, rng: &evalRNG)
        evalWS = MemoryTaskWorkspace(model: model, length: options.length, batch: options.evalSequences)
        ws = MemoryTaskWorkspace(model: model, length: options.length, batch: options.batch)
        stepReached = resumed?.step ?? 0
    }
    var parameters: [Parameter<Float>] { model.parameters }
    var gradientGroups: [[Parameter<Float>]] { [model.parameters] }
    var startedData: (parameters: Int, data: TrainingData) {
        (model.parameters.scalarCount(), .generated(task: options.task, length: options.length,
                                                    heldOut: options.evalSequences))
    }
    func save(to path: String, metadata: [String: String], extraTensors: [(String, SafeTensors.Entry)]) throws {
        let entries = model.parameters.map { ($0.name, SafeTensors.Entry(shape: $0.shape, values: $0.value.array)) }
        var meta = metadata
        meta["quill.kind"] = Self.kind
        meta["quill.format"] = "1"
        try SafeTensors.write(entries + extraTensors, metadata: meta, to: path)
    }
    var bestKey: String { options.task.isRegression ? "mse" : "error" }
    /// Weight noise is refused (`MemoryTaskOptions.validate`): its complexity term is never formed.
    var complexityScale: Double { 0 }
    var unit: String { options.task.isRegression ? "MSE" : "nats" }
    func dataLossPerComplexityUnit(_ w: LogWindow) -> (loss: Double, unit: String) {
        (w.loss / Double(max(w.steps, 1)), unit)
    }
    /// No divergence rule: a cell that cannot learn a length is a result here, not a failure (NaN still stops it).
    func divergenceRule() -> DivergenceRule {
        DivergenceRule(window: 1, minimumSteps: 1, factor: nil, margin: .infinity, ceiling: .infinity, startMargin: 0,
                       unit: unit)
    }

    func trainStep(_ state: MemoryTaskTrainerState, rng: inout SeededGenerator, hooks: GradientHooks<Float>?) -> StepLoss {
        let data = MemoryTaskData.batch(options.task, length: options.length, batch: options.batch, rng: &rng)
        let r = model.run(data, ws, gradients: true)
        lossSum += r.loss
        lossSteps += 1
        stepReached = state.step + 1
        return StepLoss(loss: r.loss, perUnit: r.loss, units: options.task.scoredSteps(length: options.length) * options.batch,
                        sequences: options.batch)
    }
    func perUnit(ofSummed loss: StepLoss) -> Double { loss.loss }
    func advance(_ state: inout MemoryTaskTrainerState) {}
    func trainLine(_ w: LogWindow, state: MemoryTaskTrainerState) -> [String: Any] {
        ["loss": w.loss / Double(max(w.steps, 1)), "unit": unit]
    }
    func validate() -> Validation {
        let e = model.run(held, evalWS, gradients: false)
        let point = MemoryTaskPoint(step: stepReached, trainLoss: lossSteps > 0 ? lossSum / Double(lossSteps) : .nan,
                                    score: e.score)
        lossSum = 0
        lossSteps = 0
        points.append(point)
        onPoint(point)
        let regression = options.task.isRegression
        var line: [String: Any] = ["loss": e.loss, "unit": unit]
        line[regression ? "mse" : "accuracy"] = e.score
        return Validation(score: regression ? e.score : 1 - e.score, perUnit: e.loss, line: line)
    }
}

/// Resumable trainer state of a memory task: the counters and the generator (the batches come from it).
struct MemoryTaskTrainerState: TrainerState {
    var step = 0
    var rng: [String] = []
    var bestScore: Double?
    var bestStep: Int?
    var elapsed: Double = 0

    func invalidField() -> String? {
        if let b = bestScore, !(b.isFinite && b >= 0) { return "best score \(b) is not a non-negative number" }
        if let s = bestStep, !(0...step).contains(s) { return "best step \(s) is not between 0 and the step \(step)" }
        return nil
    }
}
