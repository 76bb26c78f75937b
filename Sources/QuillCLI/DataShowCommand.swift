import ArgumentParser
import Foundation
import QuillData
import QuillRender

/// `quill data show`: draws one sample of a prepared dataset, with its transcription above it.
public struct DataShowCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Draw one sample of a prepared dataset to PNG, SVG or PDF (by the output's extension)."
    )

    @Argument(help: "A prepared dataset file written by `quill data import`.")
    var file: String
    @Option(help: "The sample's id (for IAM-OnDB, e.g. a01-000u-01).")
    var id: String?
    @Option(help: "The sample's position in the file, from 0.")
    var index: Int?
    @Option(name: .shortAndLong, help: "Output image: .png, .svg or .pdf.")
    var output: String
    @Option(help: "Height of the handwriting in points (10…2000).")
    var height: Double = 120
    @Option(help: "Pen width in points (more than 0, at most 50).")
    var penWidth: Double = 1.6
    @Flag(help: "Give each stroke its own colour.")
    var colorStrokes = false
    @Flag(help: "Draw straight segments between points instead of smoothed curves.")
    var noSmooth = false

    public init() {}

    public func validate() throws {
        try refuseEmptyOutput("output", output)
        if (id == nil) == (index == nil) { throw ValidationError("give exactly one of --id ID or --index N") }
        try OptionRange.check("index", index, 0...Int(Int32.max))
        try OptionRange.check("height", height, 10...2000)
        try OptionRange.check("pen-width", penWidth, 0...50, aboveLower: true)
        _ = try OutputFormat.forPath(output)
        try refuseNonFiles([("the dataset file", file)])
        try refuseOverwriting(inputs: [("the dataset file", file)], output: output)
    }

    public func run() throws {
        let ds = try PreparedFormat.load(path: file)
        let sample: PreparedSample
        if let id {
            guard let s = ds.samples.first(where: { $0.id == id }) else {
                throw CLIError("\(file): no sample with id '\(id)'; `quill data stats \(file)` lists the samples, or use --index")
            }
            sample = s
        } else {
            guard let i = index, i < ds.samples.count else {
                throw CLIError("\(file): --index \(index ?? 0) is out of range; the file holds \(ds.samples.count) samples (0…\(ds.samples.count - 1))")
            }
            sample = ds.samples[i]
        }
        try SampleFigure.draw(strokes: ds.strokes(of: sample),
                              caption: "\(sample.id)" + (sample.text.map { ": \($0)" } ?? ""),
                              to: output, height: height,
                              style: StrokeStyle(width: penWidth, strokeColors: colorStrokes ? Color.categorical : nil,
                                                 smooth: !noSmooth))
        print("wrote \(output)")
    }
}

/// A handwriting sample with a caption line above it.
enum SampleFigure {
    static func draw(strokes: [Stroke], caption: String, to path: String, height: Double, style: StrokeStyle) throws {
        guard let bounds = Rect.bounding(strokes: strokes) else {
            throw CLIError("\(path): the sample has no points to draw")
        }
        let margin = 16.0, captionHeight = 24.0
        let fit = StrokeLayout.fitToHeight(bounds, height: height, margin: margin)
        let width = max(fit.size.width, 200)
        let canvas = try Canvas(path: path, width: width, height: fit.size.height + captionHeight, background: .white)
        canvas.text(caption, at: Point(margin, 18), Font(size: 12), color: .axis, anchor: .leftBaseline)
        let area = Rect(x: 0, y: captionHeight, width: width, height: fit.size.height)
        try canvas.drawStrokes(strokes, in: area, margin: margin, style: style)
        try canvas.finish()
    }
}
