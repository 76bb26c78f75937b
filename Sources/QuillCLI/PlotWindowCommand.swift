import ArgumentParser
import Foundation
import QuillData
import QuillModels
import QuillRender

/// `quill plot window "TEXT"`: Graves Fig. 13.
public struct PlotWindowCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "window", abstract: "Write a line and plot the attention window φ(t, u) and w_t (Graves Fig. 13).")

    @Argument(help: "The text to write (one line of at most 120 characters); - reads it from standard input.")
    var text: String
    @OptionGroup var sampling: SamplingOptions<WritingDefaults>
    @OptionGroup var image: ImageOutput

    public init() {}

    public func validate() throws {
        if text != "-" { try Self.checkLine(text) }
        try sampling.refuseInputs(output: image.output)
    }

    public func run() throws {
        let text = try lineText()
        let (loaded, sampler) = try sampling.sampler()
        let line = try checkedLine(text, sampler: sampler)
        let g = sampler.write([line], options: WriteOptions(bias: sampling.bias, record: true), seed: sampling.seed)[0]
        guard g.isFinite else { throw NonFiniteOutputError(model: try sampling.file()) }
        guard let figure = WindowFigureData(line: g, text: line.unicodeScalars.map(String.init),
                                              alphabet: loaded.alphabet.symbols) else {
            throw CLIError("\(image.output): nothing was written, so there is no window to plot")
        }
        try HandwritingFigures.window(strokes: g.strokes, phi: try Matrix(figure.phi), characters: figure.phi.rowLabels,
                                      weights: try Matrix(figure.windowWeights),
                                      symbols: figure.windowWeights.rowLabels.isEmpty ? nil : figure.windowWeights.rowLabels,
                                      to: image.output)
        print("wrote \(TextPreparation.shown(text: image.output)) (\(g.phi.count) steps\(g.finished ? "" : ", stopped by the step cap"))")
    }

    /// The text argument, or for "-" standard input (as `quill write -` reads it), checked to be one line.
    func lineText() throws -> String {
        guard text == "-" else { return text }
        let line = TextPreparation.normalisingLineBreaks(try TextPreparation.read(path: "-"))
            .trimmingCharacters(in: .whitespacesAndNewlines)
        if line.contains(where: \.isNewline) {
            throw CLIError("standard input: plot window takes one line; the text has \(line.split(whereSeparator: \.isNewline).count) lines")
        }
        do { try Self.checkLine(line) } catch let e as ValidationError { throw CLIError("standard input: \(e.message)") }
        return line
    }

    /// A line plot window can write: not blank, at most 120 characters.
    static func checkLine(_ line: String) throws {
        if line.trimmingCharacters(in: .whitespaces).isEmpty { throw ValidationError("the text is empty; give something to write") }
        if line.count > 120 { throw ValidationError("plot window takes one line of at most 120 characters, got \(line.count)") }
        // `quill write` breaks lines at newlines and at a literal \n: here both are refused, not written as symbols.
        if line.contains(where: \.isNewline) || line.contains("\\n") {
            let found = line.first(where: \.isNewline).map { TextPreparation.shown($0) } ?? "a literal \\n"
            throw ValidationError("plot window takes one line; the text has a line break (\(found)): give one line")
        }
    }
}
