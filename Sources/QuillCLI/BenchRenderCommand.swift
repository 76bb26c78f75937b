import ArgumentParser
import Foundation
import QuillRender

/// `quill bench render`: time rendering synthetic handwriting lines to PNG files.
public struct BenchRenderCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Render N synthetic handwriting lines (about 600 points, 25 strokes each) to PNG and time it.",
        discussion: "Build with -c release for meaningful numbers. Files go to a temporary directory that is removed "
            + "afterwards unless --keep names a directory."
    )

    @Option(help: "Number of lines to render (1…1000000).")
    public var lines: Int = 1000

    @Option(help: "Keep the PNG files in this existing directory instead of a removed temporary one.")
    public var keep: String?

    @Option(help: "Line height in points (4…1000).")
    public var lineHeight: Double = 48

    @OptionGroup var output: BenchOutputOptions

    public init() {}

    public func validate() throws {
        try OptionRange.check("lines", lines, 1...1_000_000)
        try OptionRange.check("line-height", lineHeight, 4...1000)
    }

    public func run() throws {
        let directory: String
        if let keep {
            directory = keep
        } else {
            directory = (NSTemporaryDirectory() as NSString)
                .appendingPathComponent("quill-bench-render-\(ProcessInfo.processInfo.processIdentifier)")
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        defer { if keep == nil { try? FileManager.default.removeItem(atPath: directory) } }
        var options = PageOptions()
        options.lineHeight = lineHeight
        let result = try RenderBenchmark.run(lines: lines, directory: directory, options: options)
        var report = BenchReport(bench: "render")
        report.line(result.description)
        report.set("lines", result.lines)
        report.set("points", result.points)
        report.set("strokes", result.strokes)
        report.set("seconds", result.seconds)
        report.set("lines_per_second", result.linesPerSecond)
        report.set("bytes", result.bytes)
        report.emit(json: output.json)
    }
}
