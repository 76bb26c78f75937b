import ArgumentParser
import QuillData
import QuillModels
import QuillRender

/// `quill sample`: unconditional handwriting from the prediction network.
public struct SampleCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "sample", abstract: "Draw unconditional handwriting from a prediction network (Graves §4).",
        discussion: "The network predicts each pen offset from those before it, with no text to follow: it writes "
            + "letter-like shapes and words of its own, drawn as one line.")

    @OptionGroup var sampling: SamplingOptions<PredictionDefaults>
    @OptionGroup var image: ImageOutput
    @Option(help: "Pen steps to sample (1…20000; about 11 a letter).") var length: Int = 700

    /// The height of the sampled line on the page, in points.
    static let lineHeight = 90.0

    public init() {}

    public func validate() throws {
        try OptionRange.check("length", length, 1...20_000)
        try sampling.refuseInputs(output: image.output)
    }

    public func run() throws {
        let line = try sampling.predictionSample(length: length).line
        var options = PageOptions()
        options.lineHeight = Self.lineHeight
        options.style = StrokeStyle(width: PagePen.width)
        _ = try StrokeRenderer.renderPage(lines: [line.strokes], to: image.output, options: options)
        print("wrote \(TextPreparation.shown(text: image.output))")
    }
}
