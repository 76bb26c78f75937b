import ArgumentParser
import Foundation
import QuillData
import QuillModels
import QuillRender

/// The model directory a style command works on: `--model`, or the default synthesis model.
struct StyleModelOption: ParsableArguments {
    @Option(help: DefaultModel.help(.synthesis)) var model: String?

    /// The model directory; throws `CheckpointError.missing` when it holds no model (a mistyped --model).
    func directory() throws -> String {
        let dir = try DefaultModel.path(model, .synthesis)
        guard FileManager.default.fileExists(atPath: modelFile(dir)) else { throw CheckpointError.missing(modelFile(dir)) }
        return dir
    }
}

/// `quill style list`: the styles of a model, with their texts and where they came from.
public struct StyleList: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List a model's styles: name, text, and where the strokes came from.")
    @OptionGroup var model: StyleModelOption
    public init() {}

    public func run() throws {
        let dir = try model.directory()
        let names = HandwritingStyle.names(model: dir)
        guard !names.isEmpty else { print("the model in \(dir) has no styles"); return }
        let width = names.map(\.count).max() ?? 0
        for name in names {
            let pad = String(repeating: " ", count: width - name.count)
            do {
                let style = try HandwritingStyle.load(name: name, model: dir)
                print("\(name)\(pad)  \"\(style.text)\" (\(style.source); \(style.prime.rows.count) points)")
            } catch {
                print("\(name)\(pad)  unreadable: \(Quill.errorLine(for: error).replacingOccurrences(of: "quill: error: ", with: ""))")
            }
        }
    }
}

/// `quill style show NAME -o FILE`: draws a style's strokes under its name and text.
public struct StyleShow: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Draw a style's strokes (PNG, SVG or PDF by the output's extension).")
    @Argument(help: "The style's name (see `quill style list`).") var name: String
    @OptionGroup var model: StyleModelOption
    @OptionGroup var image: ImageOutput
    @Option(help: "Height of the drawing's ink in points (10…2000).") var height: Double = 80
    @OptionGroup var pen: PenOptions<SamplePen>
    public init() {}

    public func validate() throws { try OptionRange.check("height", height, 10...2000) }

    public func run() throws {
        let dir = try model.directory()
        let style = try HandwritingStyle.load(name: name, model: dir)
        let stats = try HandwritingCheckpoint.load(modelFile(dir), expecting: .synthesis).stats
        try HandwritingFigures.captioned(strokes: style.prime.strokes(stats: stats), caption: "\(name): \(style.text)",
                                         to: image.output, height: height, style: pen.style(), pixelScale: pen.pixelScale)
        print("wrote \(TextPreparation.shown(text: image.output))")
    }
}

/// `quill style remove NAME`: deletes a style.
public struct StyleRemove: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "remove", abstract: "Delete a style from a model.",
        discussion: "Removing the style named default makes `quill write` write lines 2…n in line 1's hand.")
    @Argument(help: "The style's name (see `quill style list`).") var name: String
    @OptionGroup var model: StyleModelOption
    public init() {}

    public func run() throws {
        let dir = try model.directory()
        try HandwritingStyle.remove(name: name, model: dir)
        print("removed style '\(name)' from \(dir)")
    }
}
