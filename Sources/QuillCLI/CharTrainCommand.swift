import ArgumentParser
import QuillData
import QuillModels
import QuillOptim

/// `quill char train`.
public struct CharTrain: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a char-level language model on text.",
        discussion: """
        The last --val-fraction of the text is held out for validation. DIR receives model.safetensors (best \
        validation loss so far), last.safetensors (the resume point, with optimiser state and carried RNN state) and \
        metrics.jsonl. Architecture options left out on --resume are taken from the checkpoint.

        Give --steps or --minutes, or both: the run stops at whichever comes first, and a run stopped by either (or \
        by Ctrl-C) continues with --resume (with the same --data).

        --clip is a clip of the gradient's global norm, applied before the update; char-rnn's -grad_clip clamps each \
        gradient value instead, which is --clip-value here.
        """
    )
    static let defaults = CharTrainOptions.defaults

    @Option(help: "Text file (UTF-8) to train on, also when resuming; repeat to concatenate several.") var data: [String]
    @OptionGroup var runArgs: RunArguments<CharTrainOptions>
    @OptionGroup var model: CharModelArguments
    @Option(help: .text("Streams per batch (1…10000).", default: defaults.batch)) var batch: Int?
    @Option(help: .text("--optimizer hf: conjugate-gradient iterations per step at most (1…10000).",
                        default: HessianFree<Double>.defaultIterations)) var cgIterations: Int?
    @Option(help: .text("--optimizer hf: initial Levenberg–Marquardt damping λ (more than 0, at most 1000000).",
                        default: HessianFree<Double>.defaultDamping)) var damping: Double?
    @Option(help: .text("--optimizer hf: structural damping μ of the hidden states (0…1000000; 0 turns it off).",
                        default: String(format: "%.4g, Martens and Sutskever's 1/30", HessianFree<Double>.defaultStructuralDamping)))
    var structuralDamping: Double?
    @Option(help: .text("--optimizer hf: the fraction of the batch's streams its curvature products read (more than 0, at most 1).",
                        default: 1)) var curvatureFraction: Double?
    @Option(help: .text("Truncated-BPTT length (1…10000).", default: defaults.seq)) var seq: Int?
    @Option(help: "Clamp each gradient value to ±this (more than 0, at most 1000000): char-rnn's -grad_clip.")
    var clipValue: Double?
    @Option(help: .text("Fraction of the text, at its end, held out (0…0.5).",
                        default: defaults.valFraction)) var valFraction: Double?
    @Option(help: .text("Characters sampled at each validation (0…100000).",
                        default: defaults.sampleLength)) var sampleLength: Int?
    @Option(help: "Temperature of those samples (more than 0, at most 100). (default: 0.8)") var sampleTemperature: Double?
    @Option(help: "Text those samples continue (default: none); its characters must occur in the training text.")
    var samplePrime: String?

    public init() {}

    public func validate() throws {
        if data.isEmpty { throw ValidationError("--data FILE is required") }
        try OptionRange.check("batch", batch, 1...10_000)
        try OptionRange.check("seq", seq, 1...10_000)
        try OptionRange.check("clip-value", clipValue, TrainingRanges.clip, aboveLower: true)
        try OptionRange.check("val-fraction", valFraction, 0...0.5)
        try OptionRange.check("cg-iterations", cgIterations, 1...10_000)
        try OptionRange.check("curvature-fraction", curvatureFraction, 0...1, aboveLower: true)
        if (cgIterations != nil || damping != nil || structuralDamping != nil || curvatureFraction != nil) && !runArgs.resume
            && runArgs.optimizer != .hf {
            throw ValidationError("--cg-iterations, --damping, --structural-damping and --curvature-fraction are settings of --optimizer hf; give --optimizer hf")
        }
        try OptionRange.check("damping", damping, 0...1_000_000, aboveLower: true)
        try OptionRange.check("structural-damping", structuralDamping, 0...1_000_000)
        try OptionRange.check("sample-length", sampleLength, 0...100_000)
        try OptionRange.check("sample-temperature", sampleTemperature, 0...100, aboveLower: true)
        try runArgs.check(data: data)
        _ = try options()
        try refuseNonFiles(data.map { (what: "--data", path: Optional($0)) })
    }

    /// Builds the run's options: defaults for a new run, the checkpoint's for --resume, checked for conflicts.
    func options() throws -> CharTrainOptions {
        try runArgs.options(fresh: {
            var o = CharTrainOptions(dataPaths: data, outDir: runArgs.out, model: try model.config)
            o.batch = batch ?? o.batch
            o.seq = seq ?? o.seq
            o.valFraction = valFraction ?? o.valFraction
            return o
        }, checkResumed: { saved in
            try model.checkResumed(saved.model, runArgs)
            try runArgs.same("batch", batch, saved.batch)
            try runArgs.same("seq", seq, saved.seq)
            try runArgs.same("val-fraction", valFraction, saved.valFraction)
            if (cgIterations != nil || damping != nil || structuralDamping != nil || curvatureFraction != nil)
                && saved.optimizer.kind != .hf {
                throw CLIError("--cg-iterations, --damping, --structural-damping and --curvature-fraction are settings of --optimizer hf; the run in \(runArgs.out) trains with \(saved.optimizer.kind.rawValue)", status: .usage)
            }
            try runArgs.same("curvature-fraction", curvatureFraction, saved.optimizer.curvatureFraction ?? 1)
            try runArgs.same("cg-iterations", cgIterations, saved.optimizer.cgIterations ?? 0)
            try runArgs.same("damping", damping, saved.optimizer.damping ?? 0)
            try runArgs.same("structural-damping", structuralDamping, saved.optimizer.structuralDamping ?? 0)
        }, adjust: { o in
            // Same content under another path is fine on --resume; the fingerprint check in the trainer decides.
            o.dataPaths = data
            if o.optimizer.kind == .hf && !runArgs.resume {
                o.optimizer.cgIterations = cgIterations ?? o.optimizer.cgIterations
                o.optimizer.damping = damping ?? o.optimizer.damping
                o.optimizer.structuralDamping = structuralDamping ?? o.optimizer.structuralDamping
                o.optimizer.curvatureFraction = curvatureFraction.flatMap { $0 < 1 ? $0 : nil }
                // Hessian-free clips nothing: its steps come from the damped model and the line search.
                o.clipNorm = nil
            }
            if let clipValue { o.clipValue = clipValue }
            if let sampleLength { o.sampleLength = sampleLength }
            if let sampleTemperature { o.sampleTemperature = sampleTemperature }
            if let samplePrime { o.samplePrime = samplePrime }
        })
    }

    public func run() throws {
        let o = try options()
        let printer = try runArgs.train(o) { draw in
            TrainingRun(options: o, resume: runArgs.resume, onEvent: { event in
                draw(event)
                // Once the run has started (its data and checkpoints read): what a feed-forward model sees.
                if case .started = event, let architecture = o.model.convolutionArchitecture {
                    let r = architecture.receptiveField
                    note("\(o.model.cell.rawValue): each prediction reads the last \(r) character\(r == 1 ? "" : "s") (its receptive field)")
                }
            })
        }
        printer.line("checkpoints in \(TextPreparation.shown(text: runArgs.out)): \(RunFiles.best) (best), \(RunFiles.last) (resume with --resume)")
    }
}
