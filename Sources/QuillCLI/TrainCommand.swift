import ArgumentParser
import Foundation
import QuillModels
import QuillNN
import QuillOptim

/// `quill train prediction|synthesis`: Graves's handwriting networks.
public struct TrainCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a handwriting network on a prepared dataset (see `quill data import`).",
        subcommands: [TrainPrediction.self, TrainSynthesis.self]
    )
    public init() {}
}

/// Options shared by both handwriting networks.
struct HandwritingTrainArguments: ParsableArguments {
    @Option(help: "Prepared dataset written by `quill data import`.")
    var data: String
    @Option(help: "LSTM layers (1…16). (default: 3)") var layers: Int?
    @Option(help: "Units per layer (1…8192). (default: 400)") var hidden: Int?
    @Option(help: "Mixture components M (1…1000). (default: 20)") var mixtures: Int?
    @Flag(help: "Give the LSTM layers Graves's peephole connections (eqs. 7–11; off in most reimplementations).")
    var peepholes = false
    @Option(help: "Sequences per batch (1…4096). (default: 32)") var batch: Int?
    @Option(help: "Optimiser: adam or graves-rmsprop (Graves: lr 1e-4, decay 0.95, momentum 0.9, ε 1e-4). (default: adam)")
    var optimizer: OptimizerKind?
    @Option(help: "Learning rate, more than 0 and at most 1000. (default: 1e-3 for adam, 1e-4 for graves-rmsprop)") var lr: Double?
    @Option(name: .customLong("lr-decay"), help: "Multiply the learning rate by this (more than 0, at most 1) every --lr-decay-every steps. (default: 1)")
    var lrDecay: Double?
    @Option(name: .customLong("lr-decay-every"), help: "Steps between decays (1…1000000). (default: 1000)") var lrDecayEvery: Int?
    @Option(name: .customLong("output-clip"), help: "Clip ∂L/∂ŷ to ±this (0…1000000); 0 for none. (default: 100, as Graves)")
    var outputClip: Double?
    @Option(name: .customLong("lstm-clip"), help: "Clip LSTM pre-activation derivatives to ±this (0…1000000); 0 for none. (default: 10, as Graves)")
    var lstmClip: Double?
    @Option(help: "Clip the gradient's global norm to this instead (or as well) (0…1000000); 0 for none (the default).") var clip: Double?
    @Option(name: .customLong("eval-every"), help: "Validate and checkpoint every N steps (1…1000000). (default: 200)") var evalEvery: Int?
    @Option(name: .customLong("val-samples"), help: "Validation sequences per validation (0…1000000); 0 for all. (default: 256)")
    var valSamples: Int?
    @Option(name: .customLong("max-points"), help: "Leave out samples with more points (3…100000). (default: 2001)") var maxPoints: Int?
    @OptionGroup var runArgs: RunArguments

    /// Every numeric option's range and the output directory, checked before anything is read.
    func check(window: Int?) throws {
        try OptionRange.check("layers", layers, 1...16)
        try OptionRange.check("hidden", hidden, 1...8192)
        try OptionRange.check("mixtures", mixtures, 1...1000)
        try OptionRange.check("window", window, 1...100)
        try OptionRange.check("batch", batch, 1...4096)
        try TrainingRanges.check(lr: lr, lrDecay: lrDecay, lrDecayEvery: lrDecayEvery, clip: clip, evalEvery: evalEvery)
        try OptionRange.check("output-clip", outputClip, TrainingRanges.clip)
        try OptionRange.check("lstm-clip", lstmClip, TrainingRanges.clip)
        try OptionRange.check("val-samples", valSamples, 0...1_000_000)
        try OptionRange.check("max-points", maxPoints, 3...100_000)
        try runArgs.check(data: [data])
    }

    func options(kind: HandwritingKind, window: Int?) throws -> HandwritingTrainOptions {
        var o: HandwritingTrainOptions
        if runArgs.resume {
            o = try runArgs.saved(HandwritingTrainOptions.self)
            guard o.model.kind == kind else {
                throw CLIError("\(runArgs.out) holds a \(o.model.kind.rawValue) run; resume it with `quill train \(o.model.kind.rawValue)`")
            }
            try runArgs.same("layers", layers, o.model.layers)
            try runArgs.same("hidden", hidden, o.model.hidden)
            try runArgs.same("mixtures", mixtures, o.model.mixture.components)
            try runArgs.same("window", window, o.model.windowComponents)
            try runArgs.same("peepholes", given: peepholes, saved: o.model.peepholes, what: "peepholes")
            try runArgs.same("batch", batch, o.batch)
            try runArgs.same("optimizer", optimizer, o.optimizer.kind)
            o.dataPath = data
            if let lr { o.optimizer.learningRate = lr; o.lrSchedule.initial = lr }
        } else {
            var config = HandwritingConfig(kind: kind)
            if let layers { config.layers = layers }
            if let hidden { config.hidden = hidden }
            if let mixtures { config.mixture.components = mixtures }
            if let window { config.windowComponents = window }
            config.peepholes = peepholes
            o = HandwritingTrainOptions(dataPath: data, outDir: runArgs.out, model: config)
            o.batch = batch ?? 32
            let k = optimizer ?? .adam
            let rate = lr ?? (k == .gravesRMSProp ? 1e-4 : 1e-3)
            o.optimizer = OptimizerConfig(kind: k, learningRate: rate)
            o.lrSchedule = LearningRateSchedule(initial: rate)
            o.seed = runArgs.seed ?? 1
        }
        if let lrDecay { o.lrSchedule.factor = lrDecay }
        if let lrDecayEvery { o.lrSchedule.every = lrDecayEvery }
        if let outputClip { o.outputClip = outputClip == 0 ? nil : outputClip }
        if let lstmClip { o.lstmClip = lstmClip == 0 ? nil : lstmClip }
        if let clip { o.clipNorm = clip == 0 ? nil : clip }
        runArgs.apply(to: &o)
        if let evalEvery { o.evalEvery = evalEvery }
        if let valSamples { o.valSamples = valSamples }
        if let maxPoints { o.stepLimit = maxPoints - 1 }
        if let m = o.validate() { throw ValidationError(m) }
        return o
    }

    func train(kind: HandwritingKind, window: Int?) throws {
        let o = try options(kind: kind, window: window)
        try runArgs.train { TrainingRun(options: o, resume: runArgs.resume, onEvent: $0) }
    }
}

/// `quill train prediction`.
public struct TrainPrediction: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "prediction", abstract: "Train the unconditional handwriting prediction network (Graves §4).")
    @OptionGroup var args: HandwritingTrainArguments
    public init() {}
    public func validate() throws {
        try args.check(window: nil)
        _ = try args.options(kind: .prediction, window: nil)
        try refuseNonFiles([("--data", args.data)])
    }
    public func run() throws { try args.train(kind: .prediction, window: nil) }
}

/// `quill train synthesis`.
public struct TrainSynthesis: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "synthesis", abstract: "Train the text-conditioned handwriting synthesis network (Graves §5).")
    @OptionGroup var args: HandwritingTrainArguments
    @Option(help: "Gaussians in the soft window K (1…100). (default: 10)") var window: Int?
    public init() {}
    public func validate() throws {
        try args.check(window: window)
        _ = try args.options(kind: .synthesis, window: window)
        try refuseNonFiles([("--data", args.data)])
    }
    public func run() throws { try args.train(kind: .synthesis, window: window) }
}
