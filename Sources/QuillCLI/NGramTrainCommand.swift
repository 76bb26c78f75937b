import ArgumentParser
import Foundation
import QuillData
import QuillIO
import QuillModels

/// `quill ngram train`.
public struct NGramTrain: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Count a character n-gram model from text.",
        discussion: """
        The vocabulary is every character of the text; the counts come from all but its last --val-fraction, the \
        part `quill char train` holds out, so `quill ngram eval --part val` and `quill char eval --part val` \
        measure the same held-out text (char eval reads it in parallel streams and so predicts a few fewer of its \
        characters). DIR receives model.ngram; a DIR that already holds one is refused unless --force.
        """
    )
    static let defaults = NGramOptions(order: 1)

    @Option(help: "Text file (UTF-8) to count; repeat to concatenate several.") var data: [String]
    @Option(help: "n: each character is predicted from the n − 1 before it (1…64).") var order: Int
    @Option(help: "kn (interpolated modified Kneser–Ney) or add-k.") var smoothing: String = NGramSmoothing.kneserNey.rawValue
    @Option(help: .text("Add-k's k, more than 0 and at most 100.", default: defaults.k)) var k: Double?
    @Option(help: .text("Fraction of the text, at its end, held out (0…0.5).",
                        default: defaults.valFraction)) var valFraction: Double?
    @Option(help: "Directory for model.ngram (created if missing).") var out: String
    @Flag(help: "Replace the model.ngram --out already holds.") var force = false

    public init() {}

    public func validate() throws {
        if data.isEmpty { throw ValidationError("--data FILE is required") }
        if NGramSmoothing(rawValue: smoothing) == nil { throw ValidationError("--smoothing must be kn or add-k, got \(smoothing)") }
        try OptionRange.check("order", order, 1...NGramOptions.maxOrder)
        try OptionRange.check("k", k, 0...100, aboveLower: true)
        try OptionRange.check("val-fraction", valFraction, 0...0.5)
        if k != nil && smoothing != NGramSmoothing.addK.rawValue {
            throw ValidationError("--k applies to --smoothing add-k only")
        }
        try refuseEmptyOutput("out", out, directory: true)
        try refuseNonFiles(data.map { (what: "--data", path: Optional($0)) })
        if FileManager.default.fileExists(atPath: out), !isDirectory(out) {
            throw CLIError("\(out): is a file, not a directory; give --out a directory for model.ngram", status: .usage)
        }
        try refuseOverwriting(inputs: data.map { (what: "--data", path: Optional($0)) }, output: target)
        if !force && FileManager.default.fileExists(atPath: target) {
            throw CLIError("\(out) already holds an n-gram model (\(NGramFile.fileName)); pass --force to replace it, or train into a new --out", status: .usage)
        }
    }

    /// DIR/model.ngram.
    var target: String { (out as NSString).appendingPathComponent(NGramFile.fileName) }

    public func run() throws {
        var options = NGramOptions(order: order, smoothing: NGramSmoothing(rawValue: smoothing) ?? .kneserNey)
        options.k = k ?? options.k
        options.valFraction = valFraction ?? options.valFraction
        let start = Date()
        let model = try NGramModel.train(paths: data, options: options, budget: .current())
        let seconds = Date().timeIntervalSince(start)
        try FileSystemError.createDirectory(out)
        try NGramFile.save(model, to: target)
        print(String(format: "order %d %@: %d n-grams from %d characters, %d in the vocabulary (%.1f s)", order,
                     smoothing, model.ngramCount, model.trainingCharacters, model.alphabet.count, seconds))
        print("wrote \(TextPreparation.shown(text: target))")
    }
}
