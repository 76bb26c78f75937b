import Foundation
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

/// How the pen draws: its width, kind and colour, smoothed curves or straight segments, and the PNG resolution.
struct PenOptions<Defaults: PenDefaults>: ParsableArguments {
    @Option(help: "Pen width in points (0.1…50); a fountain pen's nominal width.")
    var penWidth: Double = Defaults.width
    @Option(help: ArgumentHelp("constant: one width; fountain: thicker where the pen moves slowly, thinner where fast.",
                               valueName: "kind"))
    var pen: PenKind = .constant
    @Option(help: ArgumentHelp("Ink colour: a name (\(PenOptions.colorNames)) or a hex code (#rgb, #rrggbb, #rrggbbaa).",
                               valueName: "colour"))
    var color: String = PenOptions.defaultColor
    @Option(help: "Resolution of PNG output in pixels per inch (a point is 1/72 inch; 18…1200).")
    var dpi: Double = PenOptions.defaultDPI

    static var defaultColor: String { "ink" }
    static var defaultDPI: Double { 150 }
    @Flag(help: "Draw straight segments between points instead of smoothed curves.") var noSmooth = false

    static var colorNames: String { Color.named.keys.sorted().joined(separator: ", ") }

    func validate() throws {
        try OptionRange.check("pen-width", penWidth, StrokeStyle.widthRange)
        try OptionRange.check("dpi", dpi, 18...1200)
        guard Color(parsing: color) != nil else {
            throw ValidationError("--color \(color): not a colour; use a name (\(Self.colorNames)) or a hex code such as #1a1f3a")
        }
    }

    /// PNG pixels per point.
    var pixelScale: Double { dpi / 72 }

    /// The stroke style these flags describe, with a colour per stroke when `strokeColors` is given.
    func style(strokeColors: [Color]? = nil) -> StrokeStyle {
        StrokeStyle(width: penWidth, color: Color(parsing: color) ?? .ink, strokeColors: strokeColors,
                    smooth: !noSmooth, pen: pen)
    }
}

extension PenKind: ExpressibleByArgument {}

/// `quill write -o FILE`: an image (PNG, SVG, PDF), the strokes (InkML, JSON, NumPy) or a pen-plotter program
/// (G-code, HPGL), by the file's extension.
enum WriteOutput {
    static let help = "Output by extension: an image (.png, .svg, .pdf), an animation (.gif), the strokes (.inkml, "
        + ".json, .npy) or a pen-plotter program (.gcode, .hpgl)."

    /// Refuses an empty path and an extension that is none of these.
    static func check(_ output: String) throws {
        try refuseEmptyOutput("output", output)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: output, isDirectory: &isDirectory), isDirectory.boolValue {
            throw ValidationError("\(output): is a directory; give a file in it, such as \((output as NSString).appendingPathComponent("line.png"))")
        }
        guard StrokeFormat.forPath(output) != nil || (try? OutputFormat.forPath(output)) != nil || isGIF(output) else {
            throw ValidationError("\(output): unknown output format; use a file name ending in .png, .svg, .pdf, "
                                  + ".gif, .inkml, .json, .npy, .gcode or .hpgl")
        }
    }

    static func isGIF(_ output: String) -> Bool { (output as NSString).pathExtension.lowercased() == "gif" }
}

/// `write --animate`, .gif: the strokes drawn at the pace they were written.
struct AnimationArguments: ParsableArguments {
    @Flag(help: "Write an animated SVG that draws the strokes as they were written (with .svg output).")
    var animate = false
    @Option(help: "Frames a second of a GIF (1…100). (default: 25)") var fps: Double?
    @Option(help: ArgumentHelp("Seconds from the first stroke to the last (0.1…3600; default: the pace of writing, "
                               + "\(Int(AnimationOptions.stepsPerSecond)) pen steps a second).", valueName: "seconds"))
    var duration: Double?

    /// The library options; refuses values out of range and animation flags for outputs that do not animate.
    func options(output: String) throws -> AnimationOptions? {
        let svg = (output as NSString).pathExtension.lowercased() == "svg"
        if animate && !svg { throw ValidationError("--animate goes with .svg output (a .gif is always animated)") }
        let animated = WriteOutput.isGIF(output) || (animate && svg)
        if !animated && (fps != nil || duration != nil) {
            throw ValidationError("--fps and --duration go with .gif output or --animate with .svg")
        }
        if let fps { try OptionRange.check("fps", fps, 1...100) }
        if let duration { try OptionRange.check("duration", duration, 0.1...3600) }
        guard animated else { return nil }
        var o = AnimationOptions()
        o.fps = fps ?? o.fps
        o.duration = duration
        return o
    }
}

/// How `write` drives a pen plotter (.gcode, .hpgl output). The options are nil when not given, so that one given
/// for an output it does not apply to is refused whatever its value.
struct PlotterArguments: ParsableArguments {
    @Option(help: ArgumentHelp("Pen commands of the plotter's firmware (grbl-servo: M3/M5; marlin-z: G0 Z moves); .gcode only (default: \(PlotterOptions().preset.rawValue)).",
                               valueName: "preset"))
    var plotter: PlotterOptions.Preset?
    @Option(name: .customLong("feed-rate"), help: "Drawing speed in mm/min (1…100000); .gcode only (default: \(Int(PlotterOptions().feedRate))).")
    var feedRate: Double?
    @Option(name: .customLong("pen-down"), help: "G-code that lowers the pen, replacing the preset's; .gcode only.")
    var penDown: String?
    @Option(name: .customLong("pen-up"), help: "G-code that raises the pen, replacing the preset's; .gcode only.")
    var penUp: String?
    @Option(help: ArgumentHelp("Where the page's origin lies on the plotter (default: \(PlotterOptions().origin.rawValue)).", valueName: "origin"))
    var origin: PlotterOptions.Origin?
    @Flag(name: .customLong("plotter-svg"),
          help: "With .svg output: an SVG for pen plotters (millimetres, no background, one path per stroke, grouped by line and word).")
    var plotterSVG = false

    /// The library options these flags describe.
    var options: PlotterOptions {
        var o = PlotterOptions()
        o.preset = plotter ?? o.preset
        o.feedRate = feedRate ?? o.feedRate
        o.penDown = penDown
        o.penUp = penUp
        o.origin = origin ?? o.origin
        return o
    }

    /// Refuses values out of range, and plotter flags given for an output that is not a plotter program.
    func check(output: String) throws {
        try OptionRange.check("feed-rate", feedRate, 1...100_000)
        if let m = options.validate() { throw ValidationError(m) }
        if plotterSVG && (output as NSString).pathExtension.lowercased() != "svg" {
            throw ValidationError("--plotter-svg goes with .svg output")
        }
        let gcode = [("--plotter", plotter != nil), ("--feed-rate", feedRate != nil), ("--pen-down", penDown != nil),
                     ("--pen-up", penUp != nil)].filter(\.1).map(\.0)
        let format = StrokeFormat.forPath(output)
        if format?.isPlotter != true && (!gcode.isEmpty || origin != nil) {
            throw ValidationError("--plotter, --feed-rate, --pen-down, --pen-up and --origin apply to .gcode and .hpgl output")
        }
        // HP-GL has its own pen commands (PU, PD) and the plotter's own speed: only --origin applies to it.
        if format == .hpgl && !gcode.isEmpty {
            throw ValidationError("\(gcode.joined(separator: ", ")): G-code settings, for .gcode output; .hpgl takes --origin only")
        }
    }
}

extension PlotterOptions.Preset: ExpressibleByArgument {}
extension PlotterOptions.Origin: ExpressibleByArgument {}
