import QuillData
import QuillNumerics
import QuillOptim

/// The options every training run has, whatever it trains; saved in every checkpoint (quill.train-options).
public protocol RunOptions: Codable, Equatable, Sendable {
    /// The run directory: model.safetensors, last.safetensors, metrics.jsonl (`RunFiles`).
    var outDir: String { get set }
    /// Stop after this many steps in all (counting steps before a resume).
    var steps: Int? { get set }
    /// Stop after this many minutes of this invocation.
    var minutes: Double? { get set }
    /// Seeds the one generator of a new run (initialisation, dropout, sampling).
    var seed: UInt64 { get set }
    /// Validate and checkpoint every this many steps.
    var evalEvery: Int { get set }
    /// Write a training line to metrics.jsonl every this many steps.
    var logEvery: Int { get }
    var optimizer: OptimizerConfig { get set }
    var lrSchedule: LearningRateSchedule { get set }
    /// Clip the gradient's global norm to this (nil: no norm clipping).
    var clipNorm: Double? { get set }
    /// Clamp every gradient value to ±this (nil: no value clipping).
    var clipValue: Double? { get }
    /// The precision of the large matrix products in training steps (`QuillGEMM.precision`); nil is fp32, as every
    /// run before the option (their checkpoints hold none). Validation always runs in fp32.
    var precision: QuillGEMM.Precision? { get set }
    /// The run whose best model gave this run its first weights (`--init-from`), nil for weights drawn from the seed
    /// (every run before the option: their checkpoints hold none).
    var initFrom: InitSource? { get set }
    /// How a new run draws its weight matrices (`--init`); nil for each layer's own initialisation (every run before
    /// the option).
    var weightInit: WeightInit? { get set }
    /// Weight noise during training (`--weight-noise`, `--adaptive-weight-noise`); nil for none (every run before
    /// the option).
    var weightNoise: WeightNoiseOption? { get set }
    /// A message naming the first nonsensical option, or nil. Runs before any work starts.
    func validate() -> String?
    /// The options of a run that nothing has changed (no data, no directory, the default architecture): the one
    /// place the defaults of a new run are written, read by `quill`'s help and flags.
    static var defaults: Self { get }
    /// The learning rate a new run with optimiser `kind` starts from when none is given.
    static func defaultLearningRate(for kind: OptimizerKind) -> Double
}

extension RunOptions {
    /// A message when the run asks for bf16 products on a CPU without AVX512-BF16 (a resumed run too: its products
    /// would fall back to plain loops, many times slower); nil otherwise.
    public var precisionProblem: String? {
        guard precision == .bf16, let problem = QuillGEMM.bf16Problem else { return nil }
        return problem + "; train in fp32 (the default)"
    }

    /// The options saved in DIR/last.safetensors (for `--resume`). Throws `RunDirectoryError.nothingToResume` when
    /// the directory holds no resume point, `CheckpointError.corrupt` when it holds options of another kind.
    public static func saved(outDir: String) throws -> Self {
        try RunFiles.savedOptions(Self.self, outDir: outDir)
    }
}

/// The weight noise of a run: fixed noise of standard deviation `sigma`, or adaptive noise starting from it
/// (`WeightNoise`).
public struct WeightNoiseOption: Codable, Equatable, Sendable {
    public var sigma: Double
    public var adaptive: Bool

    /// Graves (2013)'s fixed noise, section 3: 0.075.
    public static let defaultSigma = 0.075

    public init(sigma: Double = WeightNoiseOption.defaultSigma, adaptive: Bool = false) {
        self.sigma = sigma
        self.adaptive = adaptive
    }

    /// Why the option is nonsense, or nil.
    public var problem: String? {
        sigma > 0 && sigma <= 1 ? nil : "--weight-noise must be more than 0 and at most 1, got \(sigma)"
    }
}

/// Where a run's first weights came from (`--init-from DIR`): DIR's best model (model.safetensors), at the step
/// that model was saved. Recorded in the run's options, so every checkpoint of the run says it.
public struct InitSource: Codable, Equatable, Sendable {
    /// The run directory given.
    public var dir: String
    /// The step of DIR's best model (its quill.best), once read; nil in a file that has none.
    public var step: Int?
    /// How a synthesis network's alphabet was carried to the data's (`AlphabetTransfer.summary`), when they differ;
    /// nil when they are the same (and for char models), and absent from options saved before the field existed.
    public var alphabetChange: String?

    public init(dir: String, step: Int? = nil, alphabetChange: String? = nil) {
        self.dir = dir
        self.step = step
        self.alphabetChange = alphabetChange
    }
}

/// Trainer state that travels in last.safetensors (quill.trainer): the run's counters and random stream, plus
/// whatever the task needs to continue exactly (its place in the data).
protocol TrainerState: Codable {
    init()
    /// The generator's four state words, in hex (JSON numbers cannot hold 64-bit words exactly).
    var rng: [String] { get set }
    /// Optimiser steps taken.
    var step: Int { get set }
    /// Seconds of training before this invocation.
    var elapsed: Double { get set }
    /// The best validation score so far and its step (nil before the first validation, or with no validation set).
    var bestScore: Double? { get set }
    var bestStep: Int? { get set }
    /// A message naming the first field that is out of range, or nil (checked on resume, beyond step and elapsed).
    func invalidField() -> String?
}

/// One training step's losses, as the run guards and logs them.
struct StepLoss {
    /// The loss the NaN guard checks and the log window sums.
    var loss: Double
    /// The loss per unit (character, point): what the divergence rule and the progress line read.
    var perUnit: Double
    /// Units (characters, points) and sequences in the step's batch.
    var units: Int
    var sequences: Int
}

/// The steps since the last metrics line.
struct LogWindow: Codable, Equatable {
    var loss = 0.0
    var steps = 0
    var units = 0
    var sequences = 0

    mutating func add(_ s: StepLoss) { loss += s.loss; steps += 1; units += s.units; sequences += s.sequences }
}

/// One validation's outcome.
struct Validation {
    /// The loss the best model is chosen by; nil when there is no validation set.
    var score: Double?
    /// The loss per unit, for the report.
    var perUnit: Double
    /// The fields of the metrics line beyond kind, step and elapsed_s; nil for no line.
    var line: [String: Any]?
}

/// What one kind of model brings to a `TrainingRun`: its data, model and checkpoint format, one step's loss, its
/// validation and its divergence rule. The run calls these in order: `loadData`, then `startFresh` or `resume`,
/// then `prepare`, then steps and validations.
protocol TrainingTask: AnyObject {
    associatedtype Options: RunOptions
    associatedtype State: TrainerState
    var options: Options { get set }
    /// The data-parallel job the task computes its share of every batch in (`DataParallel.single` alone); the run
    /// sets it before `prepare`, which sizes the workspace for the shard.
    var world: DataParallel { get set }
    /// What the data files hold, compared between the ranks of a job with the options (set by `loadData`).
    var dataFingerprint: String { get }

    /// Reads the data and checks what depends on it and the options alone; `resuming`: the options are a
    /// checkpoint's.
    func loadData(resuming: Bool, budget: MemoryBudget) throws
    /// Builds a new model from `rng` after checking its memory, completing the options from the data.
    func startFresh(rng: inout SeededGenerator, budget: MemoryBudget) throws
    /// Loads the model of the resume point at `path` and checks it against the options and the data.
    func resume(from path: String, budget: MemoryBudget) throws -> SafeTensors.File
    /// After `startFresh`: replaces the new model's weights by those of the model at `path` (`--init-from`), which
    /// must have the same architecture and read the same alphabet. Returns the loaded file (for its quill.best).
    func initialise(from path: String, budget: MemoryBudget) throws -> SafeTensors.File
    /// Checks a resumed state against the data (nil for a new run) and builds the workspace.
    func prepare(resumed: State?, path: String) throws
    var parameters: [Parameter<Float>] { get }
    /// The model's groups of parameters in the order `trainStep` reports their gradients final to its hooks
    /// (`CharModel.gradientGroups`, `HandwritingModel.gradientGroups`).
    var gradientGroups: [[Parameter<Float>]] { get }
    var startedData: (parameters: Int, data: TrainingData) { get }

    /// Tensors saved in last.safetensors beyond weights and optimiser state, and their restoring (default: none).
    func extraTensors() -> [(String, SafeTensors.Entry)]
    func restoreExtras(from file: SafeTensors.File, path: String) throws
    /// Writes the model with `metadata` (and `extraTensors` after its weights) to `path`.
    func save(to path: String, metadata: [String: String], extraTensors: [(String, SafeTensors.Entry)]) throws
    /// The key of the best score in model.safetensors' quill.best.
    var bestKey: String { get }
    /// 1 / the number of units the step's loss is averaged over in the whole training set (characters, sequences):
    /// the share of adaptive weight noise's complexity loss that one step's gradient carries.
    var complexityScale: Double { get }
    /// The data loss of `window` in the units of `complexityScale` (per character, per sequence), and their name.
    func dataLossPerComplexityUnit(_ window: LogWindow) -> (loss: Double, unit: String)

    func divergenceRule() -> DivergenceRule
    /// Fills the next batch at `state` and runs forward and backward (the gradients are zero when called). In a job
    /// of several ranks: this rank's shard of the global batch, its gradient scaled so that the sum over the ranks
    /// is the gradient of the whole batch, and its loss, units and sequences such that their sums are the batch's.
    /// `hooks` (data-parallel runs with buckets) hears of each of `gradientGroups` as its gradients become final.
    func trainStep(_ state: State, rng: inout SeededGenerator, hooks: GradientHooks<Float>?) -> StepLoss
    /// The loss per unit of a step's loss summed over the ranks (`StepLoss.perUnit` of the whole batch).
    func perUnit(ofSummed loss: StepLoss) -> Double
    /// Moves `state` past the batch of the step just taken.
    func advance(_ state: inout State)
    /// A training line's fields beyond kind, step, elapsed_s, lr and rate.
    func trainLine(_ window: LogWindow, state: State) -> [String: Any]
    /// Scores the validation set; in a job of several ranks, each rank its block (`shard`), summed over the ranks, so
    /// every rank returns the figure of the whole set. Every rank must call it at the same steps.
    func validate() -> Validation
    /// Text sampled at a validation (default: none, empty), from a generator derived from `rng`.
    func sample(step: Int, rng: SeededGenerator) -> String
    /// Handwriting sampled at a validation for TensorBoard's Images tab (default: none), from a generator derived
    /// from `rng`: strokes in the dataset's units (y down) and a caption naming the step.
    func sampleStrokes(step: Int, rng: SeededGenerator) -> (strokes: [Stroke], caption: String)?
    /// Hessian-free's access to the batch of the last `trainStep` (`HessianFree`), nil for tasks without
    /// Gauss–Newton products (the default).
    var curvature: CurvatureAccess? { get }
}

/// What `HessianFree` needs of a task, on the batch of its last `trainStep`, from the state that batch started from.
struct CurvatureAccess {
    /// Writes G·d (with structural damping μ) into the `grad` of every trainable parameter; d per trainable
    /// parameter, in `parameters` order.
    var gaussNewton: ([Tensor<Float>], Double) -> Void
    /// The batch's mean loss at the parameters' current values.
    var loss: () -> Double
    /// Runs the batch forward at the parameters' current values, so that the state carried to the next batch is
    /// the updated network's.
    var refresh: () -> Void
}

extension TrainingTask {
    var curvature: CurvatureAccess? { nil }
    /// This rank's share of every batch.
    var shard: Shard { Shard(rank: world.rank, size: world.size) }
    /// No tensors beyond weights and optimiser state.
    func extraTensors() -> [(String, SafeTensors.Entry)] { [] }
    func restoreExtras(from file: SafeTensors.File, path: String) throws {}
    /// No sample.
    func sample(step: Int, rng: SeededGenerator) -> String { "" }
    func sampleStrokes(step: Int, rng: SeededGenerator) -> (strokes: [Stroke], caption: String)? { nil }
}
