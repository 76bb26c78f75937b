import QuillData
import QuillNumerics
import QuillNN
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
    /// bf16 for the large matrix products of the training steps (`--precision bf16`), nil for fp32.
    public var precision: QuillGEMM.Precision?
    /// The run whose best model gave this one its first weights (`--init-from`); nil for weights from the seed.
    public var initFrom: InitSource?
    /// How the weight matrices of a new run are drawn (`--init`); nil for the layers' own initialisation.
    public var weightInit: WeightInit?
    /// Weight noise while training (`--weight-noise`, `--adaptive-weight-noise`); nil for none.
    public var weightNoise: WeightNoiseOption?

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
        if optimizer.kind == .hf {
            return "--optimizer hf trains char models (rnn, rnn-relu, mrnn, lstm): its Gauss–Newton products are not written for the handwriting networks"
        }
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
        if let m = weightNoise?.problem { return m }
        return precisionProblem
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
