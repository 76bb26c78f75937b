import ArgumentParser
import Foundation
import QuillModels
import QuillNN
import QuillNumerics
import QuillOptim

/// `quill char …`: character-level language models.
public struct CharCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "char",
        abstract: "Train, sample and evaluate character-level language models.",
        subcommands: [CharTrain.self, CharSample.self, CharEval.self]
    )
    public init() {}
}

/// `quill char train`.
public struct CharTrain: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a char-level language model on text.",
        discussion: """
        The last --val-fraction of the text is held out for validation. DIR receives model.safetensors (best \
        validation loss so far), last.safetensors (the resume point, with optimiser state and carried RNN state) and \
        metrics.jsonl. Architecture options left out on --resume are taken from the checkpoint.
        """
    )

    @Option(name: .customLong("data"), help: "Text file (UTF-8) to train on; repeat to concatenate several.")
    var data: [String] = []
    @Option(help: "Recurrent cell: lstm, gru, rnn, rnn-relu. (default: lstm)")
    var cell: CellKind?
    @Option(help: "Number of recurrent layers (1…32). (default: 2)")
    var layers: Int?
    @Option(help: "Units per layer (1…16384). (default: 512)")
    var hidden: Int?
    @Option(help: "Embedding size (0…16384); 0 for one-hot input. (default: 0)")
    var embedding: Int?
    @Option(help: "Dropout between layers and before the output, at least 0 and less than 1. (default: 0)")
    var dropout: Double?
    @Flag(name: .customLong("skip"), help: "Graves's skip connections (input to every layer, every layer to the output).")
    var skip = false
    @Flag(help: "Graves's peephole connections in the LSTM cells (eqs. 7–11).")
    var peepholes = false
    @Option(help: "Streams per batch (1…10000). (default: 50)")
    var batch: Int?
    @Option(help: "Truncated-BPTT length (1…10000). (default: 50)")
    var seq: Int?
    @Option(help: "Optimiser: adam, rmsprop, graves-rmsprop, sgd. (default: adam)")
    var optimizer: OptimizerKind?
    @Option(help: "Learning rate, more than 0 and at most 1000. (default: 2e-3 for adam and rmsprop, 1e-4 for graves-rmsprop, 0.1 for sgd)")
    var lr: Double?
    @Option(name: .customLong("lr-decay"), help: "Multiply the learning rate by this (more than 0, at most 1) every --lr-decay-every steps. (default: 1)")
    var lrDecay: Double?
    @Option(name: .customLong("lr-decay-every"), help: "Steps between learning-rate decays (1…1000000). (default: 1000)")
    var lrDecayEvery: Int?
    @Option(name: .customLong("lr-decay-start"), help: "Step after which decay begins (0…100000000). (default: 0)")
    var lrDecayStart: Int?
    @Option(help: "Clip the gradient's global norm to this (0…1000000); 0 for no norm clipping. (default: 5)")
    var clip: Double?
    @Option(name: .customLong("clip-value"), help: "Clamp each gradient value to ±this (more than 0, at most 1000000).")
    var clipValue: Double?
    @Option(name: .customLong("val-fraction"), help: "Fraction of the text, at its end, held out (0…0.5). (default: 0.1)")
    var valFraction: Double?
    @Option(name: .customLong("eval-every"), help: "Validate, sample and checkpoint every N steps (1…1000000). (default: 500)")
    var evalEvery: Int?
    @Option(name: .customLong("sample-length"), help: "Characters sampled at each validation (0…100000). (default: 200)")
    var sampleLength: Int?
    @OptionGroup var runArgs: RunArguments

    public init() {}

    public func validate() throws {
        if data.isEmpty { throw ValidationError("--data FILE is required") }
        try checkRanges()
        try runArgs.check(data: data)
        _ = try options()
        try refuseNonFiles(data.map { (what: "--data", path: Optional($0)) })
    }

    /// Every numeric option's range, checked before anything is read (also on --resume, where the checkpoint's
    /// values are compared with the given ones).
    func checkRanges() throws {
        try OptionRange.check("layers", layers, 1...32)
        try OptionRange.check("hidden", hidden, 1...16384)
        try OptionRange.check("embedding", embedding, 0...16384)
        try OptionRange.check("dropout", dropout, 0...1, belowUpper: true)
        try OptionRange.check("batch", batch, 1...10_000)
        try OptionRange.check("seq", seq, 1...10_000)
        try TrainingRanges.check(lr: lr, lrDecay: lrDecay, lrDecayEvery: lrDecayEvery, clip: clip, evalEvery: evalEvery)
        try OptionRange.check("lr-decay-start", lrDecayStart, 0...TrainingRanges.steps.upperBound)
        try OptionRange.check("clip-value", clipValue, TrainingRanges.clip, aboveLower: true)
        try OptionRange.check("val-fraction", valFraction, 0...0.5)
        try OptionRange.check("sample-length", sampleLength, 0...100_000)
    }

    /// Builds the run's options: defaults for a new run, the checkpoint's for --resume, checked for conflicts.
    func options() throws -> CharTrainOptions {
        var o: CharTrainOptions
        if runArgs.resume {
            o = try runArgs.saved(CharTrainOptions.self)
            try runArgs.same("cell", cell, o.model.cell)
            try runArgs.same("layers", layers, o.model.layers)
            try runArgs.same("hidden", hidden, o.model.hidden)
            try runArgs.same("embedding", embedding, o.model.embedding)
            try runArgs.same("dropout", dropout, o.model.dropout)
            try runArgs.same("batch", batch, o.batch)
            try runArgs.same("seq", seq, o.seq)
            try runArgs.same("optimizer", optimizer, o.optimizer.kind)
            try runArgs.same("val-fraction", valFraction, o.valFraction)
            try runArgs.same("skip", given: skip, saved: o.model.skipConnections, what: "skip connections")
            try runArgs.same("peepholes", given: peepholes, saved: o.model.peepholes, what: "peepholes")
            // Same content under another path is fine; the fingerprint check in the trainer decides.
            o.dataPaths = data
            if let lr { o.optimizer.learningRate = lr; o.lrSchedule.initial = lr }
        } else {
            o = CharTrainOptions(dataPaths: data, outDir: runArgs.out, model: CharModelConfig(
                cell: cell ?? .lstm, layers: layers ?? 2, hidden: hidden ?? 512, embedding: embedding ?? 0,
                dropout: dropout ?? 0, skipConnections: skip, vocabularySize: 1, peepholes: peepholes))
            o.batch = batch ?? 50
            o.seq = seq ?? 50
            let kind = optimizer ?? .adam
            let defaultLR: Double = switch kind {
            case .adam, .rmsprop: 2e-3
            case .gravesRMSProp: 1e-4
            case .sgd: 0.1
            }
            o.optimizer = OptimizerConfig(kind: kind, learningRate: lr ?? defaultLR)
            o.lrSchedule = LearningRateSchedule(initial: lr ?? defaultLR)
            o.seed = runArgs.seed ?? 1
            o.valFraction = valFraction ?? 0.1
        }
        if let lrDecay { o.lrSchedule.factor = lrDecay }
        if let lrDecayEvery { o.lrSchedule.every = lrDecayEvery }
        if let lrDecayStart { o.lrSchedule.start = lrDecayStart }
        if let clip { o.clipNorm = clip == 0 ? nil : clip }
        if let clipValue { o.clipValue = clipValue }
        runArgs.apply(to: &o)
        if let evalEvery { o.evalEvery = evalEvery }
        if let sampleLength { o.sampleLength = sampleLength }
        if let m = o.validate() { throw ValidationError(m) }
        return o
    }

    public func run() throws {
        let o = try options()
        let printer = try runArgs.train { TrainingRun(options: o, resume: runArgs.resume, onEvent: $0) }
        printer.line("checkpoints in \(runArgs.out): \(RunFiles.best) (best), \(RunFiles.last) (resume with --resume)")
    }
}

/// `quill char sample`.
public struct CharSample: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sample", abstract: "Generate text from a trained char model.")

    @Option(help: "Model directory (or a .safetensors file).")
    var model: String
    @Option(help: "Text to start from.")
    var prime: String = ""
    @Option(help: "Characters to generate (1…1000000).")
    var length: Int = 500
    @Option(help: "Softmax temperature, more than 0 and at most 100; lower is more conservative.")
    var temperature: Double = 1
    @Flag(help: "Always take the most likely character.")
    var greedy = false
    @Option(help: "Beam search with this many beams (1…256; deterministic; --length × --beam at most 200000).")
    var beam: Int?
    @Option(help: "Random seed (0…18446744073709551615).")
    var seed: UInt64 = 1

    public init() {}

    public func validate() throws {
        try OptionRange.check("length", length, 1...1_000_000)
        try OptionRange.check("temperature", temperature, 0...100, aboveLower: true)
        try OptionRange.check("beam", beam, 1...256)
        if let b = beam, length > 10_000 || length * b > 200_000 {
            // Beam search keeps, and copies at every step, each beam's text so far.
            throw ValidationError("--length with --beam must be at most 10000, and --length × --beam at most 200000, got \(length) × \(b)")
        }
        if greedy && beam != nil { throw ValidationError("--greedy and --beam are alternatives; pick one") }
        try refuseNonFiles([("--model", modelFile(model))])
    }

    public func run() throws {
        let file = modelFile(model)
        let loaded = try CharCheckpoint.load(file)
        let sampler = CharSampler(model: loaded.model, alphabet: loaded.alphabet)
        let text: String
        do {
            if let b = beam {
                text = try sampler.beam(prime: prime, length: length, width: b)
            } else {
                var rng = SeededGenerator(seed: seed)
                text = try sampler.sample(prime: prime, length: length, temperature: temperature, greedy: greedy, rng: &rng)
            }
        } catch let e as NonFiniteOutputError {
            throw e.naming(file)
        }
        print(prime + text)
    }
}

/// `quill char eval`.
public struct CharEval: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Measure a char model's loss on text: nats and bits per character, perplexity.")

    @Option(help: "Model directory (or a .safetensors file).")
    var model: String
    @Option(help: "UTF-8 text to evaluate on.")
    var data: String
    @Option(help: "Which part of the file: all, or val (the last --val-fraction, as held out in training), or train.")
    var part: String = "all"
    @Option(name: .customLong("val-fraction"), help: "Held-out fraction for --part val/train, more than 0 and less than 1 (default: the model's own).")
    var valFraction: Double?

    public init() {}

    public func validate() throws {
        if !["all", "val", "train"].contains(part) { throw ValidationError("--part must be all, val or train") }
        try OptionRange.check("val-fraction", valFraction, 0...1, aboveLower: true, belowUpper: true)
        try refuseNonFiles([("--model", modelFile(model)), ("--data", data)])
    }

    public func run() throws {
        let file = modelFile(model)
        let loaded = try CharCheckpoint.load(file)
        let corpus = try CharCorpus(paths: [data])
        let tokens = try loaded.alphabet.tokens(corpus.text, source: data)
        var fraction = valFraction ?? 0.1
        if valFraction == nil, let j = loaded.file.metadata["quill.train-options"],
           let o = try? JSONDecoder().decode(CharTrainOptions.self, from: Data(j.utf8)), o.valFraction > 0 {
            fraction = o.valFraction
        }
        let split = Int(Double(tokens.count) * (1 - fraction))
        let slice: [Int32] = part == "all" ? tokens : part == "val" ? Array(tokens[split...]) : Array(tokens[..<split])
        guard slice.count >= 2 else { throw CLIError("\(data): the \(part) part holds under 2 characters; nothing to evaluate") }
        let r = CharEvaluation.evaluate(loaded.model, tokens: slice)
        guard r.natsPerChar.isFinite else { throw NonFiniteOutputError(model: file) }
        print(String(format: "%@ (%@, %d characters predicted)", data, part, r.characters))
        print(String(format: "  %.4f nats/char   %.4f bits/char   perplexity %.3f", r.natsPerChar, r.bitsPerChar, r.perplexity))
    }
}

/// A model argument may name the directory or the file itself.
func modelFile(_ path: String) -> String {
    var isDir: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
        return URL(fileURLWithPath: path).appendingPathComponent(RunFiles.best).path
    }
    return path
}
