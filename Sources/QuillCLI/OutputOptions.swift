import ArgumentParser
import QuillRender

/// `-o FILE`: the image a command draws, PNG, SVG or PDF by the file's extension.
struct ImageOutput: ParsableArguments {
    @Option(name: .shortAndLong, help: ArgumentHelp(ImageOutput.help)) var output: String

    /// The help of `-o`.
    static let help = "Output image: .png, .svg or .pdf."

    func validate() throws { try Self.check(output) }

    /// Refuses an empty path and an extension that is not .png, .svg or .pdf (nil passes: no output asked for).
    static func check(_ output: String?) throws {
        try refuseEmptyOutput("output", output)
        if let output { _ = try OutputFormat.forPath(output) }
    }
}

/// What differs between the commands that draw with a pen: its default width.
protocol PenDefaults {
    /// The default `--pen-width`, in points.
    static var width: Double { get }
}

/// A page of handwriting (`write`, `sample`).
enum PagePen: PenDefaults { static let width = 2.0 }

/// A dataset sample drawn large (`data show`).
enum SamplePen: PenDefaults { static let width = 1.6 }

/// How the pen draws: its width, and smoothed curves or straight segments.
struct PenOptions<Defaults: PenDefaults>: ParsableArguments {
    @Option(help: "Pen width in points (more than 0, at most 50).") var penWidth: Double = Defaults.width
    @Flag(help: "Draw straight segments between points instead of smoothed curves.") var noSmooth = false

    func validate() throws { try OptionRange.check("pen-width", penWidth, 0...50, aboveLower: true) }

    /// The stroke style these flags describe, with a colour per stroke when `strokeColors` is given.
    func style(strokeColors: [Color]? = nil) -> StrokeStyle {
        StrokeStyle(width: penWidth, strokeColors: strokeColors, smooth: !noSmooth)
    }
}
