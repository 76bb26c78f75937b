import ArgumentParser
import QuillData
import QuillRender

/// `quill data show`: draws one sample of a prepared dataset, with its transcription above it.
public struct DataShowCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Draw one sample of a prepared dataset to PNG, SVG or PDF (by the output's extension)."
    )

    @OptionGroup var dataset: PreparedDatasetArgument
    @Option(help: "The sample's id (for IAM-OnDB, e.g. a01-000u-01).") var id: String?
    @Option(help: "The sample's position in the file, from 0.") var index: Int?
    @OptionGroup var image: ImageOutput
    @Option(help: "Height of the handwriting in points (10…2000).") var height: Double = 120
    @Flag(help: "Give each stroke its own colour.") var colorStrokes = false
    @OptionGroup var pen: PenOptions<SamplePen>

    public init() {}

    public func validate() throws {
        if (id == nil) == (index == nil) { throw ValidationError("give exactly one of --id ID or --index N") }
        try OptionRange.check("index", index, 0...Int(Int32.max))
        try OptionRange.check("height", height, 10...2000)
        try refuseOverwriting(inputs: [("the dataset file", dataset.file)], output: image.output)
    }

    public func run() throws {
        let file = dataset.file
        let ds = try PreparedFormat.load(path: file)
        let sample: PreparedSample
        if let id {
            guard let s = ds.samples.first(where: { $0.id == id }) else {
                throw CLIError("\(file): no sample with id '\(id)' among its \(counted(ds.samples.count, "sample")); draw one by its "
                               + "position with --index N (0…\(max(ds.samples.count - 1, 0)))", status: .usage)
            }
            sample = s
        } else {
            guard let i = index, i < ds.samples.count else {
                throw CLIError("\(file): --index \(index ?? 0) is out of range; the file holds \(counted(ds.samples.count, "sample"))"
                               + (ds.samples.isEmpty ? "" : " (0…\(ds.samples.count - 1))"), status: .usage)
            }
            sample = ds.samples[i]
        }
        try HandwritingFigures.captioned(strokes: ds.strokes(of: sample),
                                         caption: "\(sample.id)" + (sample.text.map { ": \($0)" } ?? ""),
                                         to: image.output, height: height,
                                         style: pen.style(strokeColors: colorStrokes ? Color.categorical : nil),
                                         pixelScale: pen.pixelScale)
        print("wrote \(TextPreparation.shown(text: image.output))")
    }
}

/// The prepared dataset a `data` command reads: its one argument.
struct PreparedDatasetArgument: ParsableArguments {
    @Argument(help: "A prepared dataset file written by `quill data import`.") var file: String

    func validate() throws { try refuseNonFiles([("the dataset file", file)]) }
}
