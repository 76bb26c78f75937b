import ArgumentParser
import Foundation
import QuillRender

/// `quill plot loss DIR -o FILE`: training and validation loss curves from DIR/metrics.jsonl.
public struct PlotLossCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "loss",
        abstract: "Plot training and validation loss from a run directory's metrics.jsonl.",
        discussion: "Train loss is drawn raw (faint) and smoothed; validation with markers; the best validation "
            + "loss is circled. The output format follows the extension: .png, .svg or .pdf."
    )

    @Argument(help: "Run directory holding metrics.jsonl (or the path of a .jsonl file itself).")
    public var dir: String

    @Option(name: .shortAndLong, help: "Output image: .png, .svg or .pdf.")
    public var output: String = "loss.png"

    @Option(help: "X axis: 'step' (optimiser steps) or 'time' (elapsed minutes).")
    public var x: LossPlot.XAxis = .step

    @Option(help: "Title drawn above the plot.")
    public var title: String?

    @Option(help: "Figure width in points (200…10000).")
    public var width: Double = 720

    @Option(help: "Figure height in points (150…10000).")
    public var height: Double = 440

    public init() {}

    public func validate() throws {
        try refuseEmptyOutput("output", output)
        try OptionRange.check("width", width, 200...10_000)
        try OptionRange.check("height", height, 150...10_000)
        do { _ = try OutputFormat.forPath(output) } catch { throw ValidationError("\(error)") }
        try refuseNonFiles([("the metrics log", metricsPath)])
        try refuseOverwriting(inputs: [("the metrics log", metricsPath)], output: output)
    }

    /// The metrics log read: DIR/metrics.jsonl, or DIR itself when it names a .jsonl file.
    var metricsPath: String { dir.hasSuffix(".jsonl") ? dir : (dir as NSString).appendingPathComponent("metrics.jsonl") }

    public func run() throws {
        let metrics = metricsPath
        let log = try MetricsLog.read(metrics)
        var options = LossPlot.Options()
        options.xAxis = x
        options.title = title
        options.size = Size(width: width, height: height)
        try LossPlot.render(log, to: output, options: options)
        print("wrote \(output)")
    }
}

extension LossPlot.XAxis: ExpressibleByArgument {}
