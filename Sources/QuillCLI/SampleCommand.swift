import ArgumentParser
import Foundation
import QuillData
import QuillModels
import QuillNumerics
import QuillRender

/// `quill sample`: unconditional handwriting from the prediction network.
public struct SampleCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sample", abstract: "Draw unconditional handwriting from a prediction network (Graves §4).")

    @Option(help: DefaultModel.help(.prediction)) var model: String?
    @Option(name: .shortAndLong, help: "Output image: .png, .svg or .pdf.") var output: String
    @Option(help: "Pen steps to sample (1…20000; about 11 a letter).") var length: Int = 700
    @Option(help: "Sampling bias b, 0…20 (0: the model's own distribution).") var bias: Double = 0
    @Option(help: "Random seed (0…18446744073709551615).") var seed: UInt64 = 1

    public init() {}

    public func validate() throws {
        try refuseEmptyOutput("output", output)
        _ = try OutputFormat.forPath(output)
        try OptionRange.check("length", length, 1...20_000)
        try OptionRange.check("bias", bias, 0...20)
        try refuseNonFiles([("the --model file", modelFile(DefaultModel.path(model, .prediction)))])
        try refuseOverwriting(inputs: [("the --model file", modelFile(DefaultModel.path(model, .prediction)))], output: output)
    }

    public func run() throws {
        let loaded = try HandwritingCheckpoint.load(modelFile(DefaultModel.path(model, .prediction)), expecting: .prediction)
        let sampler = HandwritingSampler(model: loaded.model, alphabet: loaded.alphabet, stats: loaded.stats)
        var rng = SeededGenerator(seed: seed)
        let (line, _) = sampler.sample(steps: length, bias: bias, rng: &rng)
        guard line.isFinite else { throw NonFiniteOutputError(model: try modelFile(DefaultModel.path(model, .prediction))) }
        var options = PageOptions()
        options.lineHeight = 90
        options.style = StrokeStyle(width: 2)
        _ = try StrokeRenderer.renderPage(lines: [line.strokes], to: output, options: options)
        print("wrote \(output)")
    }
}

/// `quill plot window "TEXT"`: Graves Fig. 13.
public struct PlotWindowCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "window", abstract: "Write a line and plot the attention window φ(t, u) and w_t (Graves Fig. 13).")

    @Argument(help: "The text to write (one line of at most 120 characters); - reads it from standard input.")
    var text: String
    @Option(help: DefaultModel.help(.synthesis)) var model: String?
    @Option(name: .shortAndLong, help: "Output image: .png, .svg or .pdf.") var output: String
    @Option(help: "Sampling bias b (0…20).") var bias: Double = 1
    @Option(help: "Random seed (0…18446744073709551615).") var seed: UInt64 = 1

    public init() {}

    public func validate() throws {
        try refuseEmptyOutput("output", output)
        _ = try OutputFormat.forPath(output)
        if text != "-" { try Self.checkLine(text) }
        try OptionRange.check("bias", bias, 0...20)
        try refuseNonFiles([("the --model file", modelFile(DefaultModel.path(model, .synthesis)))])
        try refuseOverwriting(inputs: [("the --model file", modelFile(DefaultModel.path(model, .synthesis)))], output: output)
    }

    public func run() throws {
        let text = try lineText()
        let loaded = try HandwritingCheckpoint.load(modelFile(DefaultModel.path(model, .synthesis)), expecting: .synthesis)
        let sampler = HandwritingSampler(model: loaded.model, alphabet: loaded.alphabet, stats: loaded.stats)
        let line = try checkedLine(text, sampler: sampler)
        let g = sampler.write([line], options: WriteOptions(bias: bias, record: true), seed: seed)[0]
        guard g.isFinite else { throw NonFiniteOutputError(model: modelFile(model ?? DefaultModel.synthesis)) }
        try HandwritingFigures.window(g, text: line.unicodeScalars.map(String.init), alphabet: loaded.alphabet.symbols,
                                      to: output)
        print("wrote \(output) (\(g.phi.count) steps\(g.finished ? "" : ", stopped by the step cap"))")
    }
}

extension PlotWindowCommand {
    /// The text argument, or for "-" standard input (as `quill write -` reads it), checked to be one line.
    func lineText() throws -> String {
        guard text == "-" else { return text }
        let line = TextPreparation.normalisingLineBreaks(try TextPreparation.read(path: "-"))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        do { try Self.checkLine(line) } catch let e as ValidationError { throw CLIError("standard input: \(e.message)") }
        if line.contains(where: \.isNewline) {
            throw CLIError("standard input: plot window takes one line; the text has \(line.split(whereSeparator: \.isNewline).count) lines")
        }
        return line
    }

    /// A line plot window can write: not blank, at most 120 characters.
    static func checkLine(_ line: String) throws {
        if line.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("the text is empty; give something to write") }
        if line.count > 120 { throw ValidationError("plot window takes one line of at most 120 characters, got \(line.count)") }
    }
}

/// `quill plot density`: Graves Fig. 10.
public struct PlotDensityCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "density", abstract: "Sample from a prediction network and plot its predicted pen-position density and mixture weights (Graves Fig. 10).")

    @Option(help: DefaultModel.help(.prediction)) var model: String?
    @Option(name: .shortAndLong, help: "Output image: .png, .svg or .pdf.") var output: String
    @Option(help: "Pen steps to sample (10…5000).") var length: Int = 400
    @Option(help: "Sampling bias b (0…20).") var bias: Double = 0
    @Option(help: "Random seed (0…18446744073709551615).") var seed: UInt64 = 1

    public init() {}

    public func validate() throws {
        try refuseEmptyOutput("output", output)
        _ = try OutputFormat.forPath(output)
        try OptionRange.check("length", length, 10...5000)
        try OptionRange.check("bias", bias, 0...20)
        try refuseNonFiles([("the --model file", modelFile(DefaultModel.path(model, .prediction)))])
        try refuseOverwriting(inputs: [("the --model file", modelFile(DefaultModel.path(model, .prediction)))], output: output)
    }

    public func run() throws {
        let loaded = try HandwritingCheckpoint.load(modelFile(DefaultModel.path(model, .prediction)), expecting: .prediction)
        let sampler = HandwritingSampler(model: loaded.model, alphabet: loaded.alphabet, stats: loaded.stats)
        var rng = SeededGenerator(seed: seed)
        let (line, params) = sampler.sample(steps: length, bias: bias, rng: &rng)
        guard line.isFinite else { throw NonFiniteOutputError(model: try modelFile(DefaultModel.path(model, .prediction))) }
        try HandwritingFigures.density(line, params: params, mixture: loaded.model.mixture, stats: loaded.stats, to: output)
        print("wrote \(output)")
    }
}

/// `quill style add`: a named style for a synthesis model, from the model's own seeded sample or your InkML.
public struct StyleCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "style", abstract: "Manage the named handwriting styles shipped with a synthesis model.",
        subcommands: [StyleAdd.self])
    public init() {}
}

public struct StyleAdd: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Save a style: a seeded sample of the model itself, or strokes from an InkML file.")

    @Argument(help: "The style's name (letters, digits, - and _).") var name: String
    @Option(help: DefaultModel.help(.synthesis)) var model: String?
    @Option(help: "The text of the style sample.") var text: String
    @Option(help: "Seed of the model's own sample (0…18446744073709551615).") var seed: UInt64 = 1
    @Option(help: "Bias of the model's own sample (0…20).") var bias: Double = 0.7
    @Option(help: "Take the strokes from this InkML file (your handwriting of --text) instead.") var inkml: String?
    @Flag(help: "Replace a style of the same name.") var force = false

    public init() {}

    public func validate() throws {
        if name.isEmpty || name.count > 64 || !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) {
            throw ValidationError("a style name is 1 to 64 letters, digits, - and _")
        }
        if text.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("--text is empty") }
        if text.count > 200 { throw ValidationError("--text takes at most 200 characters (a style is one line)") }
        try OptionRange.check("bias", bias, 0...20)
        let dir = try DefaultModel.path(model, .synthesis)
        let styleFile = HandwritingStyle.directory(model: dir).appendingPathComponent("\(name).json").path
        try refuseNonFiles([("--inkml", inkml), ("the --model file", modelFile(dir))])
        try refuseOverwriting(inputs: [("--inkml", inkml), ("the --model file", modelFile(dir))], output: styleFile,
                              fix: "choose another style name or input file")
    }

    public func run() throws {
        let dir = try DefaultModel.path(model, .synthesis)
        if !force, HandwritingStyle.names(model: dir).contains(name) {
            throw CLIError("the model in \(dir) already has a style '\(name)'; add --force to replace it")
        }
        let loaded = try HandwritingCheckpoint.load(modelFile(dir), expecting: .synthesis)
        let sampler = HandwritingSampler(model: loaded.model, alphabet: loaded.alphabet, stats: loaded.stats)
        let line = try checkedLine(text, sampler: sampler)
        let prime: Prime, source: String
        if let inkml {
            prime = Prime(raw: try QuillDataBridge.inkmlOffsets(inkml), text: line, stats: loaded.stats, rescale: true)
            source = "InkML \(URL(fileURLWithPath: inkml).lastPathComponent)"
        } else {
            let g = sampler.write([line], options: WriteOptions(bias: bias), seed: seed)[0]
            guard g.isFinite else { throw NonFiniteOutputError(model: modelFile(dir)) }
            guard g.finished else { throw CLIError("the model did not finish writing \"\(line)\" with seed \(seed); try another --seed") }
            prime = g.prime(text: line)
            source = "model sample, seed \(seed), bias \(bias)"
        }
        let style = HandwritingStyle(name: name, prime: prime, source: source)
        // A sample is unfinished when its last pen-up comes before the window has left its text: priming with it
        // would make the network finish the last letter in front of the new text.
        if !sampler.primeIsFinished(style.prime) {
            guard let inkml else {
                throw CLIError("the model's sample of \"\(line)\" with seed \(seed) ends before its last letter is finished; try another --seed")
            }
            note("\(inkml): the model's window had not read all of \"\(line)\" by the last pen-up; check that --text says exactly what the ink says")
        }
        try style.save(model: dir)
        print("saved style '\(name)' (\(prime.rows.count) points) in \(HandwritingStyle.directory(model: dir).path)")
    }
}
