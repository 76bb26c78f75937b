import ArgumentParser
import Foundation
import QuillModels

/// `quill ngram eval`.
public struct NGramEval: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "eval", abstract: "Measure an n-gram model's loss on text: nats and bits per character, perplexity.")

    @OptionGroup var model: NGramModelFile
    @Option(help: "UTF-8 text to evaluate on.") var data: String
    @Option(help: "Which part of the file: all, or val (the last --val-fraction, as held out in training), or train.")
    var part: String = CharTextPart.val.rawValue
    @Option(name: .customLong("val-fraction"), help: "Held-out fraction for --part val/train, more than 0 and less than 1 (default: the model's own).")
    var valFraction: Double?

    public init() {}

    public func validate() throws {
        if CharTextPart(rawValue: part) == nil { throw ValidationError("--part must be all, val or train") }
        try OptionRange.check("val-fraction", valFraction, 0...1, aboveLower: true, belowUpper: true)
        try refuseNonFiles([("--data", data)])
    }

    public func run() throws {
        let loaded = try model.load()
        let corpus = try CharCorpus(paths: [data])
        let tokens = try loaded.alphabet.tokens(corpus.text, source: data)
        // The model's own held-out fraction, as in training, unless it trained with none.
        let saved = loaded.options.valFraction
        let fraction = valFraction ?? (saved > 0 ? saved : CharTrainOptions.defaults.valFraction)
        let slice = (CharTextPart(rawValue: part) ?? .val).of(tokens, valFraction: fraction)
        guard slice.count >= 2 else { throw CLIError("\(data): the \(part) part holds under 2 characters; nothing to evaluate") }
        let r = loaded.evaluate(slice)
        print(String(format: "%@ (%@, %d character%@ predicted)", data, part, r.characters, r.characters == 1 ? "" : "s"))
        print(String(format: "  %.4f nats/char   %.4f bits/char   perplexity %.3f", r.natsPerChar, r.bitsPerChar, r.perplexity))
    }
}
