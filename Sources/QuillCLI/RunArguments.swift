import ArgumentParser
import Foundation
import QuillModels
import QuillNumerics
import QuillOptim

/// The flags every training command shares (`char train`, `train prediction`, `train synthesis`): where the run
/// lives, when it stops, its seed, the optimiser and its schedule, gradient clipping, the validation cadence, and
/// whether it continues or replaces what --out holds. Defaults are those of `Options` (`RunOptions.defaults`).
/// Also the steps every training command takes with them: the conflict check of --resume against the saved
/// options, the --force deletion, and running with Ctrl-C and the event printer.
struct RunArguments<Options: RunOptions>: ParsableArguments {
    @Option(help: "Output directory for checkpoints and metrics.") var out: String
    @Option(help: "Stop after N steps in all (1…100000000). Give --steps, --minutes or both.") var steps: Int?
    @Option(help: "Stop after M minutes of this invocation (more than 0, at most 1000000).") var minutes: Double?
    @Option(help: .text("Random seed, 0…18446744073709551615.", default: Options.defaults.seed)) var seed: UInt64?
    @Option(help: .text("Validate and checkpoint every N steps (1…1000000).",
                        default: Options.defaults.evalEvery)) var evalEvery: Int?
    @Flag(help: "Continue the run in --out exactly where it stopped.") var resume = false
    @Flag(help: "Start a new run even if --out holds a model (replaces it once the new run has written its first checkpoint; a run that fails before then leaves the old one).") var force = false
    @Option(help: .text("Optimiser: adam, rmsprop, graves-rmsprop (Graves's RMSProp, eqs. 38–45: \(Self.gravesRMSProp)), sgd, or hf (Martens's Hessian-free with structural damping; char train with rnn, rnn-relu, mrnn or lstm cells).",
                        default: Options.defaults.optimizer.kind.rawValue)) var optimizer: OptimizerKind?
    @Option(help: .text("Learning rate, more than 0 and at most 1000.", default: Self.learningRates)) var lr: Double?
    @Option(help: .text("Multiply the learning rate by this (more than 0, at most 1) every --lr-decay-every steps.",
                        default: Options.defaults.lrSchedule.factor)) var lrDecay: Double?
    @Option(help: .text("Steps between learning-rate decays (1…1000000).",
                        default: Options.defaults.lrSchedule.every)) var lrDecayEvery: Int?
    @Option(help: .text("Step after which decay begins (0…100000000).",
                        default: Options.defaults.lrSchedule.start)) var lrDecayStart: Int?
    @Option(help: .text("Clip the gradient's global norm to this (0…1000000); 0 for no norm clipping.",
                        default: Options.defaults.clipNorm ?? 0)) var clip: Double?
    @Option(help: "Precision of the large matrix products in training steps: fp32 (the default) or bf16 (bfloat16 inputs, fp32 sums and master weights; needs AVX512-BF16). Validation stays fp32.")
    var precision: QuillGEMM.Precision?
    @Option(name: .customLong("init-from"), help: ArgumentHelp("Start from the best model of the run in this directory "
            + "(or from this checkpoint file) instead of weights drawn from --seed (same network; data, optimiser and "
            + "other options may change; a synthesis network moves to data with another alphabet by symbol, new "
            + "symbols starting from the unknown symbol's weights).", valueName: "dir|file"))
    var initFrom: String?
    @Option(name: .customLong("init"), help: ArgumentHelp("Draw the weight matrices of a new run from uniform:A "
            + "(U(−A, A)), normal:SIGMA (N(0, SIGMA²)) or xavier (Glorot's uniform) instead of each layer's own "
            + "U(±1/√fan-in); biases keep theirs (A, SIGMA: more than 0, at most 10).", valueName: "scheme"))
    var weightInit: String?
    @Option(name: .customLong("weight-noise"), help: ArgumentHelp("Train with Gaussian weight noise of this standard "
            + "deviation (more than 0, at most 1; Graves 2013 uses 0.075), drawn once per batch; with "
            + "--adaptive-weight-noise, the σ each weight's noise starts from.", valueName: "sigma"))
    var weightNoise: Double?
    @Flag(name: .customLong("adaptive-weight-noise"),
          help: "Learn each weight's noise (Graves 2011's variational inference): the loss adds the complexity (MDL) term.")
    var adaptiveWeightNoise = false
    @OptionGroup var diagnostics: DiagnosticsArguments

    /// Graves's RMSProp hyperparameters as `OptimizerConfig` sets them: "decay 0.95, momentum 0.9, ε 0.0001".
    static var gravesRMSProp: String {
        let c = OptimizerConfig(kind: .gravesRMSProp, learningRate: Options.defaultLearningRate(for: .gravesRMSProp))
        return String(format: "decay %g, momentum %g, ε %g", c.decay, c.momentum, c.epsilon)
    }

    /// The default learning rate of each optimiser, as the help says it: "0.001 for adam, rmsprop and sgd, …".
    static var learningRates: String {
        var rates: [(rate: Double, kinds: [String])] = []
        for kind in OptimizerKind.allCases where kind != .hf {
            let rate = Options.defaultLearningRate(for: kind)
            if let i = rates.firstIndex(where: { $0.rate == rate }) {
                rates[i].kinds.append(kind.rawValue)
            } else {
                rates.append((rate, [kind.rawValue]))
            }
        }
        return rates.map { r in
            let kinds = r.kinds.dropLast().joined(separator: ", ") + (r.kinds.count > 1 ? " and " : "") + (r.kinds.last ?? "")
            return String(format: "%g for ", r.rate) + kinds
        }.joined(separator: ", ")
    }

    /// The ranges of the numeric flags, --resume against --force, and an --out that would write over (or with
    /// --force delete) one of the `data` files.
    func check(data: [String]) throws {
        try OptionRange.check("steps", steps, TrainingRanges.steps)
        try OptionRange.check("minutes", minutes, TrainingRanges.minutes, aboveLower: true)
        try OptionRange.check("lr", lr, TrainingRanges.learningRate, aboveLower: true)
        try OptionRange.check("lr-decay", lrDecay, 0...1, aboveLower: true)
        try OptionRange.check("lr-decay-every", lrDecayEvery, TrainingRanges.lrDecayEvery)
        try OptionRange.check("lr-decay-start", lrDecayStart, 0...TrainingRanges.steps.upperBound)
        try OptionRange.check("clip", clip, TrainingRanges.clip)
        try OptionRange.check("eval-every", evalEvery, TrainingRanges.evalEvery)
        try OptionRange.check("weight-noise", weightNoise, 0...1, aboveLower: true)
        try diagnostics.check()
        if resume && force { throw ValidationError("--resume and --force contradict each other") }
        if optimizer == .hf {
            if lr != nil { throw ValidationError("--optimizer hf has no learning rate (a line search sets each step's length): drop --lr") }
            if lrDecay != nil || lrDecayEvery != nil || lrDecayStart != nil {
                throw ValidationError("--optimizer hf has no learning rate to decay: drop --lr-decay, --lr-decay-every and --lr-decay-start")
            }
            if clip != nil { throw ValidationError("--optimizer hf takes no --clip: its steps come from the damped quadratic model and a line search") }
        }
        if resume && initFrom != nil {
            throw ValidationError("--init-from starts a new run from another run's weights; --resume continues this one. Choose one")
        }
        try refuseEmptyOutput("init-from", initFrom, directory: true)
        if let initFrom, sameFile(initFrom, out) || sameFile((initFrom as NSString).deletingLastPathComponent, out) {
            throw ValidationError("--init-from \(initFrom) is --out: a new run there would replace the run it starts from; give another --out")
        }
        if let weightInit, WeightInit(parsing: weightInit) == nil {
            throw ValidationError("--init \(weightInit): give uniform:A, normal:SIGMA (A, SIGMA more than 0, at most 10) or xavier")
        }
        if weightInit != nil && (resume || initFrom != nil) {
            throw ValidationError("--init draws the weights of a new run; it does not go with \(resume ? "--resume" : "--init-from")")
        }
        try refuseEmptyOutput("out", out, directory: true)
        try refuseRunDirectoryOverInputs(data: data, out: out)
    }

    /// The run's options. On --resume, those saved in --out, after `checkResumed` has refused the flags that would
    /// change them (and --seed and --optimizer have been compared here); a new --lr applies. Otherwise `fresh`, with
    /// the optimiser, learning rate and seed given or the defaults. Then, either way, the learning-rate schedule,
    /// clipping, validation cadence, directory and limits given, and `adjust` for the command's own flags. Checked
    /// with `RunOptions.validate`.
    /// - Throws: `ValidationError` for nonsensical options, `CLIError` for a flag that conflicts with the saved run,
    ///   and what reading the saved options throws.
    func options(fresh: () throws -> Options, checkResumed: (Options) throws -> Void,
                 adjust: (inout Options) -> Void = { _ in }) throws -> Options {
        var o: Options
        if resume {
            o = try Options.saved(outDir: out)
            try same("seed", seed, o.seed)
            try same("optimizer", optimizer, o.optimizer.kind)
            try same("precision", precision, o.precision ?? .fp32)
            try same("weight-noise", weightNoise, o.weightNoise?.sigma ?? 0)
            try same("adaptive-weight-noise", given: adaptiveWeightNoise, saved: o.weightNoise?.adaptive == true,
                     what: "adaptive weight noise")
            try checkResumed(o)
            if o.optimizer.kind == .hf && lr != nil {
                throw CLIError("the run in \(out) trains with --optimizer hf, which has no learning rate: drop --lr", status: .usage)
            }
            if let lr { o.optimizer.learningRate = lr; o.lrSchedule.initial = lr }
        } else {
            o = try fresh()
            let kind = optimizer ?? o.optimizer.kind
            let rate = lr ?? Options.defaultLearningRate(for: kind)
            o.optimizer = OptimizerConfig(kind: kind, learningRate: rate)
            o.lrSchedule = LearningRateSchedule(initial: rate)
            if let seed { o.seed = seed }
            // fp32 stays unset, so the options of an fp32 run read as they did before the flag.
            o.precision = precision == .bf16 ? .bf16 : nil
            o.initFrom = initFrom.map { InitSource(dir: $0) }
            o.weightInit = weightInit.flatMap(WeightInit.init(parsing:))
            if weightNoise != nil || adaptiveWeightNoise {
                o.weightNoise = WeightNoiseOption(sigma: weightNoise ?? WeightNoiseOption.defaultSigma,
                                                  adaptive: adaptiveWeightNoise)
            }
        }
        if let lrDecay { o.lrSchedule.factor = lrDecay }
        if let lrDecayEvery { o.lrSchedule.every = lrDecayEvery }
        if let lrDecayStart { o.lrSchedule.start = lrDecayStart }
        if let clip { o.clipNorm = clip == 0 ? nil : clip }
        if let evalEvery { o.evalEvery = evalEvery }
        o.outDir = out
        o.steps = steps
        o.minutes = minutes
        adjust(&o)
        if let m = o.validate() { throw ValidationError(m) }
        return o
    }

    /// Refuses a flag given on --resume whose value differs from the saved run's.
    func same<V: Equatable>(_ flag: String, _ given: V?, _ saved: V) throws {
        if let g = given, g != saved {
            throw CLIError("--\(flag) \(g) differs from the checkpoint's \(saved); a resumed run keeps the architecture, weight noise, batching, training and validation data and precision it started with. Drop --\(flag), or train into a new --out", status: .usage)
        }
    }

    /// Refuses an on/off flag given on --resume that the saved run lacks (`what`: the saved run's feature).
    func same(_ flag: String, given: Bool, saved: Bool, what: String) throws {
        if given && !saved { throw CLIError("--\(flag) differs from the checkpoint, which has no \(what)", status: .usage) }
    }

    /// Runs training on `options` (said first when they ask for bf16 products): the run `makeRun` builds, around the
    /// event printer, with Ctrl-C checkpointing and stopping it; with --force it replaces the run in --out (never an
    /// input: `check` refused that) once its own data and model are ready (`TrainingRun.replacing`).
    @discardableResult
    func train(_ options: Options, _ makeRun: (@escaping (TrainingEvent) -> Void) -> TrainingRun) throws -> TrainingEventPrinter {
        let printer = TrainingEventPrinter()
        if options.precision == .bf16 {
            printer.line("precision: the large matrix products of the training steps in bf16 (fp32 sums and weights); validation in fp32")
        }
        let run = makeRun(printer.draw)
        run.replacing = force && !resume
        run.diagnostics = diagnostics.diagnostics(evalEvery: options.evalEvery)
        run.shouldStop = installInterruptHandler()
        try run.run()
        return printer
    }
}
