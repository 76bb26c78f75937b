import ArgumentParser
import Foundation
import QuillModels

/// `quill style add NAME`: a named style for a synthesis model, from the model's own seeded sample or your InkML.
public struct StyleAdd: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Save a style: a seeded sample of the model itself, or strokes from an InkML file.",
        discussion: "--bias and --seed choose the model's own sample; with --inkml the strokes are yours and they do not apply.")

    @Argument(help: "The style's name (letters, digits, '-', '_' and '.', not starting with '.'; at most 100 bytes).") var name: String
    @Option(help: "The text of the style sample.") var text: String
    @OptionGroup var sampling: SamplingOptions<WritingDefaults>
    @Option(help: "Take the strokes from this InkML file (your handwriting of --text) instead.") var inkml: String?
    @Flag(help: "Replace a style of the same name.") var force = false

    public init() {}

    public func validate() throws {
        if name == HandwritingStyle.noStyleName {
            throw ValidationError("'\(name)' is not a style name: --style \(name) (and \"style\": \"\(name)\" in a job or a request) means no style, the page in the hand of its own first line; choose another name")
        }
        if !HandwritingStyle.isValidName(name) {
            throw ValidationError("a style name is \(HandwritingStyle.nameRule)")
        }
        if text.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--text is empty") }
        if text.count > 200 { throw ValidationError("--text takes at most 200 characters (a style is one line)") }
        let styleFile = HandwritingStyle.directory(model: try sampling.directory()).appendingPathComponent("\(name).json").path
        try sampling.refuseInputs([("--inkml", inkml)], output: styleFile, fix: "choose another style name or input file")
    }

    public func run() throws {
        let dir = try sampling.directory()
        if !force, HandwritingStyle.names(model: dir).contains(name) {
            throw CLIError("the model in \(dir) already has a style '\(name)'; add --force to replace it", status: .usage)
        }
        let (loaded, sampler) = try sampling.sampler()
        let line = try checkedLine(text, sampler: sampler)
        let prime: Prime, source: String
        if let inkml {
            prime = Prime(raw: try QuillDataBridge.inkmlOffsets(inkml), text: line, stats: loaded.stats, rescale: true)
            source = "InkML \(URL(fileURLWithPath: inkml).lastPathComponent)"
        } else {
            let seed = sampling.seed, bias = sampling.bias
            let g = sampler.write([line], options: WriteOptions(bias: bias), seed: seed)[0]
            guard g.isFinite else { throw NonFiniteOutputError(model: try sampling.file()) }
            guard g.finished else { throw CLIError("the model did not finish writing \"\(line)\" with seed \(seed); try another --seed") }
            prime = g.prime(text: line)
            source = "model sample, seed \(seed), bias \(bias)"
        }
        let style = HandwritingStyle(name: name, prime: prime, source: source)
        // A sample is unfinished when its last pen-up comes before the window has left its text: priming with it
        // would make the network finish the last letter in front of the new text.
        if !sampler.primeIsFinished(style.prime) {
            guard let inkml else {
                throw CLIError("the model's sample of \"\(line)\" with seed \(sampling.seed) ends before its last letter is finished; try another --seed")
            }
            note("\(inkml): the model's window had not read all of \"\(line)\" by the last pen-up; check that --text says exactly what the ink says")
        }
        try style.save(model: dir)
        print("saved style '\(name)' (\(prime.rows.count) points) in \(HandwritingStyle.directory(model: dir).path)")
    }
}
