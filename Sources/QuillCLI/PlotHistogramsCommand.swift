import ArgumentParser
import Foundation
import QuillData
import QuillRender

/// `quill plot histograms DIR -o FILE`: a ridge plot of one tensor's weight (or gradient) histograms over the steps
/// a run logged them (`--histogram-every`).
public struct PlotHistogramsCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "histograms",
        abstract: "Ridge plot of a tensor's weight or gradient histograms over training, from metrics.jsonl.",
        discussion: "Reads the histogram records a training run logs with --histogram-every N. One filled histogram "
            + "per logged step, the earliest at the top; each ridge is scaled to its own tallest bin. More than 60 "
            + "steps are thinned evenly. The output format follows the extension: .png, .svg or .pdf."
    )

    @Argument(help: "Run directory holding metrics.jsonl (or the path of a metrics file itself).")
    public var dir: String

    @Option(name: .shortAndLong, help: "Output image: .png, .svg or .pdf.")
    public var output: String = "histograms.png"

    @Option(help: "Tensor to draw, by its checkpoint name (default: the model's first).")
    public var parameter: String?

    @Flag(help: "Draw the gradients' histograms (before clipping) instead of the weights'.")
    public var gradients = false

    @Option(help: "Title drawn above the plot (default: the tensor's name).")
    public var title: String?

    @Option(help: "Figure width in points (200…10000).")
    public var width: Double = 720

    @Option(help: "Figure height in points (150…10000).")
    public var height: Double = 520

    public init() {}

    var metricsPath: String { PlotLossCommand.metricsPath(dir) }

    public func validate() throws {
        try refuseEmptyOutput("output", output)
        try OptionRange.check("width", width, 200...10_000)
        try OptionRange.check("height", height, 150...10_000)
        do { _ = try OutputFormat.forPath(output) } catch { throw ValidationError("\(error)") }
        let log = [(what: "the metrics log", path: Optional(metricsPath))]
        try refuseNonFiles(log)
        try refuseOverwriting(inputs: log, output: output)
    }

    public func run() throws {
        let log = try HistogramLog.read(metricsPath)
        // Invariant: `parse` throws noHistograms for a log without a record, and every record lists its tensors.
        let name = parameter ?? log.parameters[0]
        let ridges = try log.series(name, gradients: gradients, path: metricsPath)
        var options = RidgePlot.Options()
        options.title = title ?? "\(name) \(gradients ? "gradients" : "weights")"
        options.xLabel = gradients ? "gradient" : "weight"
        options.size = Size(width: width, height: height)
        let drawn = try RidgePlot.render(ridges, to: output, options: options)
        print("wrote \(TextPreparation.shown(text: output)) (\(drawn == ridges.count ? "" : "\(drawn) of ")\(ridges.count) logged step\(ridges.count == 1 ? "" : "s"))")
    }
}
