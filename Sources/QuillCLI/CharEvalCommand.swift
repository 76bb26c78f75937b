import ArgumentParser
import Foundation
import QuillModels

/// `quill char eval`.
public struct CharEval: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Measure a char model's loss on text: nats and bits per character, perplexity.")

    @OptionGroup var model: CharModelFile
    @Option(help: "UTF-8 text to evaluate on.") var data: String
    @Option(help: "Which part of the file: all, or val (the last --val-fraction, as held out in training), or train.")
    var part: String = CharTextPart.all.rawValue
    @Option(name: .customLong("val-fraction"), help: "Held-out fraction for --part val/train, more than 0 and less than 1 (default: the model's own, or 0.1 for a model trained with none).")
    var valFraction: Double?
    @Flag(help: "Also evaluate dynamically (Graves 2013, §3): after each window of --window characters is scored, one SGD step on it, so the model adapts to the text as it reads it; prints the static and the dynamic figures.")
    var dynamic = false
    @Option(help: .text("SGD learning rate of --dynamic, on the mean loss per character (more than 0, at most 10).", default: Self.defaultRate))
    var lr: Double?
    @Option(help: "Characters per window, the unit the state carries over and, with --dynamic, the text of each SGD step (1…100000; default: \(Self.defaultWindow), or \(Self.defaultDynamicWindow) with --dynamic).")
    var window: Int?
    @Option(help: .text("Contiguous streams the text is cut into and read side by side, each from a fresh state (its first character is not predicted); 1 reads it as one sequence, as Graves's dynamic evaluation does (1…1024; short texts get fewer, at least 64 characters each).", default: Self.defaultStreams))
    var streams: Int?

    /// --streams' default: a batch wide enough for the products to run at speed.
    static let defaultStreams = 32

    /// --lr and --window with --dynamic: measured on the tiny-Shakespeare model of the README (2×512 LSTM, 2,000
    /// steps, validation 1.4617 nats/char), where of rates 0.003…3 and windows 16, 32 and 128 they gave the lowest
    /// dynamic loss (1.3413 nats/char) on the held-out part. Tuned on the text it is then measured on, as a reader
    /// comparing with other figures should know.
    static let defaultRate = 1.0
    static let defaultDynamicWindow = 16
    /// --window's default without --dynamic: the windows static evaluation has always used (the figure does not
    /// depend on it beyond rounding: the state carries across windows).
    static let defaultWindow = 128

    public init() {}

    public func validate() throws {
        if CharTextPart(rawValue: part) == nil { throw ValidationError("--part must be all, val or train") }
        try OptionRange.check("val-fraction", valFraction, 0...1, aboveLower: true, belowUpper: true)
        try OptionRange.check("lr", lr, 0...10, aboveLower: true)
        try OptionRange.check("window", window, 1...100_000)
        try OptionRange.check("streams", streams, 1...1024)
        if lr != nil && !dynamic { throw ValidationError("--lr sets the rate of --dynamic; give --dynamic too") }
        try refuseNonFiles([("--data", data)])
    }

    public func run() throws {
        let loaded = try model.load()
        let corpus = try CharCorpus(paths: [data])
        let tokens = try loaded.alphabet.tokens(corpus.text, source: data)
        // The model's own held-out fraction, as in training, unless it trained with none.
        let saved = loaded.trainOptions.map(\.valFraction) ?? 0
        let fraction = valFraction ?? (saved > 0 ? saved : CharTrainOptions.defaults.valFraction)
        let textPart = CharTextPart(rawValue: part) ?? .all
        if valFraction == nil, saved == 0, textPart != .all {
            note("\(model.file) held out none of its training text (--val-fraction 0): --part \(part) splits at the "
                + "default \(CharTrainOptions.defaults.valFraction); if this is that text, the model has seen all of it")
        }
        let slice = textPart.of(tokens, valFraction: fraction)
        guard slice.count >= 2 else { throw CLIError("\(data): the \(part) part holds under 2 characters; nothing to evaluate") }
        let steps = window ?? (dynamic ? Self.defaultDynamicWindow : Self.defaultWindow)
        let bar = WorkProgress()
        let batch = streams ?? Self.defaultStreams
        try MemoryBudget.current().check(CharEvaluation.memoryEstimate(loaded.model.config, characters: slice.count,
                                                                       batch: batch, steps: steps))
        let r = CharEvaluation.evaluate(loaded.model, tokens: slice, batch: batch, steps: steps) {
            bar.update($0, $1, unit: "windows")
        }
        bar.finish()
        guard r.natsPerChar.isFinite else { throw NonFiniteOutputError(model: model.file) }
        // Characters a word of the part evaluated, for the perplexity per word (Graves 2013, Table 1).
        let text = loaded.alphabet.decode(slice)
        let perWord = CharEvaluation.charactersPerWord(text)
        print(String(format: "%@ (%@, %d character%@ predicted)", data, part, r.characters, r.characters == 1 ? "" : "s"))
        func line(_ label: String, _ e: CharEvaluation) -> String {
            var s = String(format: "%@%.4f nats/char   %.4f bits/char   perplexity %.3f   next-step error %.1f%%",
                           label, e.natsPerChar, e.bitsPerChar, e.perplexity, 100 * e.error)
            if let w = perWord {
                let p = e.perplexityPerWord(charactersPerWord: w)
                s += String(format: p < 1e7 ? "   perplexity per word %.1f" : "   perplexity per word %.3g", p)
            }
            return s
        }
        guard dynamic else {
            print(line("  ", r))
            if let w = perWord { print(String(format: "  (%.2f characters a word)", w)) }
            return
        }
        let rate = lr ?? Self.defaultRate
        let dynamicBar = WorkProgress()
        let d = CharEvaluation.evaluate(loaded.model, tokens: slice, batch: batch, steps: steps, dynamicLearningRate: rate) {
            dynamicBar.update($0, $1, unit: "windows, dynamic")
        }
        dynamicBar.finish()
        guard d.natsPerChar.isFinite else {
            throw CLIError("dynamic evaluation diverged at --lr \(rate) (static: " + String(format: "%.4f", r.natsPerChar) + " nats/char); try a smaller --lr", status: .failure)
        }
        print(line("  static:  ", r))
        print(line("  dynamic: ", d))
        print(String(format: "  dynamic: SGD at --lr %g after each window of %d character%@%@", rate, steps, steps == 1 ? "" : "s",
                     perWord.map { String(format: "; %.2f characters a word", $0) } ?? ""))
        if slice.count - 1 <= steps {
            note("the text fits in one window of \(steps) characters, scored before any update: the dynamic figures are the static ones; use a smaller --window or more text")
        } else if d.natsPerChar > 1.5 * r.natsPerChar {
            note(String(format: "dynamic evaluation overshot: %.4f nats/char against %.4f static; the SGD steps at --lr %g are too large, try a smaller --lr", d.natsPerChar, r.natsPerChar, rate))
        }
    }
}
