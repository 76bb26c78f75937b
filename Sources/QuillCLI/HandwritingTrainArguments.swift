import ArgumentParser
import QuillModels

/// The flags both handwriting networks train with; defaults are `HandwritingTrainOptions`' and `HandwritingConfig`'s
/// (Graves's network).
struct HandwritingTrainArguments: ParsableArguments {
    static let defaults = HandwritingTrainOptions.defaults

    @Option(help: "Prepared dataset written by `quill data import`.") var data: String
    @OptionGroup var runArgs: RunArguments<HandwritingTrainOptions>
    @Option(help: .text("LSTM layers (1…16).", default: defaults.model.layers)) var layers: Int?
    @Option(help: .text("Units per layer (1…8192).", default: defaults.model.hidden)) var hidden: Int?
    @Option(help: .text("Mixture components M (1…1000).",
                        default: defaults.model.mixture.components)) var mixtures: Int?
    @Option(help: .text("Sequences per batch (1…4096).", default: defaults.batch)) var batch: Int?
    @Flag(help: "Give the LSTM layers Graves's peephole connections (eqs. 7–11; off in most reimplementations).") var peepholes = false
    @Option(help: .text("Clip ∂L/∂ŷ to ±this (0…1000000); 0 for none.",
                        default: defaults.outputClip ?? 0, ", as Graves")) var outputClip: Double?
    @Option(help: .text("Clip LSTM pre-activation derivatives to ±this (0…1000000); 0 for none.",
                        default: defaults.lstmClip ?? 0, ", as Graves")) var lstmClip: Double?
    @Option(help: .text("Validation sequences per validation (0…1000000); 0 for all.",
                        default: defaults.valSamples)) var valSamples: Int?
    @Option(help: .text("Leave out samples with more points (3…100000).",
                        default: defaults.stepLimit + 1)) var maxPoints: Int?

    /// Every numeric option's range and the output directory, checked before anything is read.
    func check(window: Int?) throws {
        try OptionRange.check("layers", layers, 1...16)
        try OptionRange.check("hidden", hidden, 1...8192)
        try OptionRange.check("mixtures", mixtures, 1...1000)
        try OptionRange.check("window", window, 1...100)
        try OptionRange.check("batch", batch, 1...4096)
        try OptionRange.check("output-clip", outputClip, TrainingRanges.clip)
        try OptionRange.check("lstm-clip", lstmClip, TrainingRanges.clip)
        try OptionRange.check("val-samples", valSamples, 0...1_000_000)
        try OptionRange.check("max-points", maxPoints, 3...100_000)
        try runArgs.check(data: [data])
    }

    /// The run's options: defaults for a new run of `kind` (with `window` Gaussians for synthesis), the
    /// checkpoint's for --resume, checked for conflicts.
    func options(kind: HandwritingKind, window: Int?) throws -> HandwritingTrainOptions {
        try runArgs.options(fresh: {
            var config = HandwritingConfig(kind: kind)
            config.layers = layers ?? config.layers
            config.hidden = hidden ?? config.hidden
            config.mixture.components = mixtures ?? config.mixture.components
            config.windowComponents = window ?? config.windowComponents
            config.peepholes = peepholes
            var o = HandwritingTrainOptions(dataPath: data, outDir: runArgs.out, model: config)
            o.batch = batch ?? o.batch
            return o
        }, checkResumed: { saved in
            guard saved.model.kind == kind else {
                throw CLIError("\(runArgs.out) holds a \(saved.model.kind.rawValue) run; resume it with `quill train \(saved.model.kind.rawValue)`", status: .usage)
            }
            try runArgs.same("layers", layers, saved.model.layers)
            try runArgs.same("hidden", hidden, saved.model.hidden)
            try runArgs.same("mixtures", mixtures, saved.model.mixture.components)
            try runArgs.same("window", window, saved.model.windowComponents)
            try runArgs.same("peepholes", given: peepholes, saved: saved.model.peepholes, what: "peepholes")
            try runArgs.same("batch", batch, saved.batch)
            // The validation lines and the sequences' length decide what "best" is compared on and what the
            // batches hold (a resumed epoch's place in them): neither changes in the middle of a run.
            try runArgs.same("val-samples", valSamples, saved.valSamples)
            try runArgs.same("max-points", maxPoints, saved.stepLimit + 1)
        }, adjust: { o in
            o.dataPath = data
            if let outputClip { o.outputClip = outputClip == 0 ? nil : outputClip }
            if let lstmClip { o.lstmClip = lstmClip == 0 ? nil : lstmClip }
            if let valSamples { o.valSamples = valSamples }   // on --resume, the saved value (checkResumed)
            if let maxPoints { o.stepLimit = maxPoints - 1 }
        })
    }

    /// Checks the flags and the options they make (`validate()` of a train command).
    func validate(kind: HandwritingKind, window: Int?) throws {
        try check(window: window)
        _ = try options(kind: kind, window: window)
        try refuseNonFiles([("--data", data)])
    }

    func train(kind: HandwritingKind, window: Int?) throws {
        let o = try options(kind: kind, window: window)
        try runArgs.train(o) { TrainingRun(options: o, resume: runArgs.resume, onEvent: $0) }
    }
}
