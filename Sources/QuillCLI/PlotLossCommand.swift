import ArgumentParser
import Foundation
import QuillData
import QuillRender

/// `quill plot loss DIR… -o FILE`: training and validation loss curves from DIR/metrics.jsonl, one run or several
/// overlaid.
public struct PlotLossCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "loss",
        abstract: "Plot training and validation loss from a run directory's metrics.jsonl.",
        discussion: "One run: train loss is drawn raw (faint) and smoothed; validation with markers; the best "
            + "validation loss is circled. Several runs: one colour each, validation with markers and smoothed train "
            + "loss faint, with a legend naming the runs (--labels, or the directories' names); their losses must "
            + "be in one unit. The output format follows the extension: .png, .svg or .pdf."
    )

    @Argument(help: "Run directories holding metrics.jsonl (or the paths of metrics files themselves).")
    public var dirs: [String] = []

    @Option(help: "Names for the runs in the legend, comma-separated, one per run (default: the directories' names).")
    public var labels: String?

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
        guard !dirs.isEmpty else { throw ValidationError("give a run directory (or several to overlay them)") }
        guard dirs.count <= Color.categorical.count else {
            throw ValidationError("at most \(Color.categorical.count) runs fit on one plot, got \(dirs.count)")
        }
        if let names = labelList, names.count != dirs.count {
            throw ValidationError("--labels gives \(names.count) name\(names.count == 1 ? "" : "s") for \(dirs.count) run\(dirs.count == 1 ? "" : "s")")
        }
        let logs = metricsPaths.map { (what: "the metrics log", path: Optional($0)) }
        try refuseNonFiles(logs)
        try refuseOverwriting(inputs: logs, output: output)
    }

    var labelList: [String]? { labels.map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) } }

    /// The metrics logs read: DIR/metrics.jsonl, or DIR itself when it names a .jsonl file or any file that is not
    /// a directory (a log copied under another name).
    var metricsPaths: [String] { dirs.map(Self.metricsPath) }

    static func metricsPath(_ dir: String) -> String {
        var isDirectory: ObjCBool = false
        let isFile = FileManager.default.fileExists(atPath: dir, isDirectory: &isDirectory) && !isDirectory.boolValue
        return dir.hasSuffix(".jsonl") || isFile ? dir : (dir as NSString).appendingPathComponent("metrics.jsonl")
    }

    public func run() throws {
        var options = LossPlot.Options()
        options.xAxis = x
        options.title = title
        options.size = Size(width: width, height: height)
        if dirs.count == 1 {
            try LossPlot.render(try MetricsLog.read(metricsPaths[0]), to: output, options: options)
        } else {
            let names = labelList ?? dirs.map { dir in
                let d = dir.hasSuffix(".jsonl") ? (dir as NSString).deletingLastPathComponent : dir
                return ((d as NSString).standardizingPath as NSString).lastPathComponent
            }
            let runs = try zip(names, metricsPaths).map { (name: $0, log: try MetricsLog.read($1)) }
            try LossPlot.renderOverlay(runs, to: output, options: options)
        }
        print("wrote \(TextPreparation.shown(text: output))")
    }
}

extension LossPlot.XAxis: ExpressibleByArgument {}
