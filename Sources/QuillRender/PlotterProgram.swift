import Foundation
import QuillData

/// How a pen plotter is driven: its pen commands, speed and where the page's origin lies.
public struct PlotterOptions: Equatable, Sendable {
    /// Pen commands of common plotter firmware.
    public enum Preset: String, CaseIterable, Sendable {
        /// GRBL with a servo pen lift: `M3 S1000` lowers the pen, `M5` raises it (a dwell lets the servo move).
        case grblServo = "grbl-servo"
        /// Marlin with the pen on the Z axis: `G0 Z0` lowers it, `G0 Z5` raises it 5 mm.
        case marlinZ = "marlin-z"

        public var penDown: String { self == .grblServo ? "M3 S1000\nG4 P0.15" : "G0 Z0" }
        public var penUp: String { self == .grblServo ? "M5\nG4 P0.15" : "G0 Z5" }
    }

    /// Where the page's (0, 0) lies on the machine: most plotters count y upwards from the bottom-left corner.
    public enum Origin: String, CaseIterable, Sendable {
        case bottomLeft = "bottom-left", topLeft = "top-left"
    }

    public var preset: Preset = .grblServo
    /// Drawing speed in mm/min (G-code `F`); moves with the pen up run at the machine's rapid rate (`G0`).
    public var feedRate: Double = 3000
    /// Commands that lower and raise the pen, replacing the preset's (one or more lines of G-code).
    public var penDown: String?
    public var penUp: String?
    public var origin: Origin = .bottomLeft

    public init() {}

    /// A message naming the first option out of range, or nil.
    public func validate() -> String? {
        if !(feedRate.isFinite && feedRate >= 1 && feedRate <= 100_000) {
            return "the feed rate must be between 1 and 100000 mm/min, got \(feedRate)"
        }
        for (name, command) in [("pen-down", penDown), ("pen-up", penUp)] {
            guard let command else { continue }
            if command.trimmingCharacters(in: .whitespaces).isEmpty { return "the \(name) command is empty" }
            if !command.unicodeScalars.allSatisfy({ $0.isASCII && ($0.value >= 32 || $0 == "\n") && $0.value < 127 }) {
                return "the \(name) command must be printable ASCII (lines of G-code)"
            }
        }
        return nil
    }
}

/// A page's strokes as a pen-plotter program: in millimetres, y as `PlotterOptions.origin` says, the strokes
/// ordered greedily (each next stroke is the one whose start lies nearest the pen), or in the order they were
/// sampled when that travels less with the pen up.
public struct PlotterProgram: Sendable {
    /// The strokes in drawing order, in millimetres on the machine.
    public let strokes: [Stroke]
    public let options: PlotterOptions
    /// Pen-up travel in millimetres from the origin through every stroke and back, in the written order and in
    /// the sampled order.
    public let penUpTravel: Double
    public let sampledPenUpTravel: Double

    /// Millimetres per point (1/72 inch).
    public static let millimetresPerPoint = 25.4 / 72

    public init(page: PlacedPage, options: PlotterOptions) {
        let k = Self.millimetresPerPoint, height = page.size.height
        let sampled = page.lines.joined().filter { !$0.isEmpty }.map { stroke in
            stroke.map { Point(x: $0.x * k, y: (options.origin == .bottomLeft ? height - $0.y : $0.y) * k) }
        }
        let greedy = Self.nearestNeighbourOrder(sampled)
        let (a, b) = (Self.penUpTravel(greedy), Self.penUpTravel(sampled))
        (strokes, penUpTravel) = a <= b ? (greedy, a) : (sampled, b)
        sampledPenUpTravel = b
        self.options = options
    }

    /// Strokes reordered (not reversed) greedily: from the origin, always the unvisited stroke whose first point is
    /// nearest the pen. O(n²) in the number of strokes, which a page keeps in the thousands.
    public static func nearestNeighbourOrder(_ strokes: [Stroke]) -> [Stroke] {
        var left = Array(strokes.indices), order: [Stroke] = [], pen = Point(x: 0, y: 0)
        while !left.isEmpty {
            var best = 0
            for i in 1..<left.count where distance(pen, strokes[left[i]][0]) < distance(pen, strokes[left[best]][0]) {
                best = i
            }
            let s = strokes[left.remove(at: best)]
            order.append(s)
            pen = s[s.count - 1]
        }
        return order
    }

    /// Distance travelled with the pen up: origin to the first stroke, between strokes, and back to the origin.
    public static func penUpTravel(_ strokes: [Stroke]) -> Double {
        var pen = Point(x: 0, y: 0), total = 0.0
        for s in strokes {
            total += distance(pen, s[0])
            pen = s[s.count - 1]
        }
        return total + distance(pen, Point(x: 0, y: 0))
    }

    static func distance(_ a: Point, _ b: Point) -> Double { ((a.x - b.x) * (a.x - b.x) + (a.y - b.y) * (a.y - b.y)).squareRoot() }

    /// The G-code program: millimetres (G21), absolute moves (G90), a rapid move (G0) to each stroke's start with the
    /// pen up, drawing moves (G1) at the feed rate with the pen down, and back to the origin.
    public func gcode() -> String {
        let down = options.penDown ?? options.preset.penDown, up = options.penUp ?? options.preset.penUp
        func mm(_ v: Double) -> String { String(format: "%.3f", v) }
        var lines = [
            "; quill write: \(strokes.count) strokes, pen-up travel \(mm(penUpTravel)) mm",
            "G21 ; millimetres", "G90 ; absolute coordinates", up,
        ]
        for s in strokes {
            lines.append("G0 X\(mm(s[0].x)) Y\(mm(s[0].y))")
            lines.append(down)
            lines.append("G1 F\(mm(options.feedRate))")
            for p in s.dropFirst() { lines.append("G1 X\(mm(p.x)) Y\(mm(p.y))") }
            lines.append(up)
        }
        lines.append("G0 X0 Y0")
        return lines.joined(separator: "\n") + "\n"
    }

    /// The HP-GL program: initialise (IN), select pen 1 (SP1), for each stroke a pen-up move to its start (PU) and
    /// pen-down moves through its points (PD), then back to the origin and the pen put away (SP0). Plotter units of
    /// 0.025 mm, rounded.
    public func hpgl() -> String {
        func u(_ p: Point) -> String { "\(Int((p.x * 40).rounded())),\(Int((p.y * 40).rounded()))" }
        var s = "IN;SP1;\n"
        for stroke in strokes {
            s += "PU\(u(stroke[0]));"
            s += stroke.count == 1 ? "PD;\n" : "PD" + stroke.dropFirst().map(u).joined(separator: ",") + ";\n"
        }
        return s + "PU0,0;SP0;\n"
    }
}
