import Foundation
import QuillData
import QuillIO

/// Errors reading a training run's `metrics.jsonl`; each names the file (and line) and what to do.
public enum MetricsError: Error, CustomStringConvertible, Equatable {
    case missing(path: String)
    case unreadable(path: String, reason: String)
    case empty(path: String)
    /// Every train and val record has `"loss": null` (a loss that was NaN, or a validation without a split).
    case noLosses(path: String)
    case malformed(path: String, line: Int, reason: String)
    /// Runs plotted together whose losses are in different units ("run: unit" each).
    case mixedUnits([String])

    public var description: String {
        switch self {
        case .missing(let path):
            return "\(path): no such file; pass the run directory that training wrote metrics.jsonl into"
        case .unreadable(let path, let reason):
            return "\(path): cannot read (\(reason)); check the file's permissions"
        case .empty(let path):
            return "\(path): no train or val records; train for at least one logging interval first"
        case .noLosses(let path):
            return "\(path): every train and val record has \"loss\": null (no finite loss was logged, or the run has no validation split); train for at least one logging interval first"
        case .mixedUnits(let runs):
            return "the runs log losses in different units (\(runs.joined(separator: "; "))); plot runs of one kind together"
        case .malformed(let path, let line, let reason):
            return "\(path):\(line): \(reason); each line must be one JSON object such as "
                + #"{"kind":"train","step":120,"elapsed_s":14.2,"loss":1.83}"#
        }
    }

    /// The whole text of the metrics file at `path`: `missing` when it is absent or a folder, `unreadable` when it
    /// cannot be read, `malformed` (line 1) when it is not UTF-8. Shared by `MetricsLog.read` and `HistogramLog.read`.
    static func readText(_ path: String) throws -> String {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), !isDir.boolValue else {
            throw MetricsError.missing(path: path)
        }
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw MetricsError.unreadable(path: path, reason: error.localizedDescription)
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw MetricsError.malformed(path: path, line: 1, reason: "the file is not UTF-8 text")
        }
        return text
    }
}

/// One record of `metrics.jsonl`.
public struct MetricsRecord: Equatable, Sendable {
    public enum Kind: String, Sendable { case train, val }
    public var kind: Kind
    public var step: Int
    public var elapsedSeconds: Double
    public var loss: Double
    /// Learning rate (train records only).
    public var learningRate: Double?
    /// Throughput in characters or points per second (train records only).
    public var rate: Double?
}

/// The training and validation curves of one run, as read from its `metrics.jsonl`.
///
/// Schema, one JSON object per line (unknown keys and blank lines are ignored):
/// `{"kind":"train","step":120,"elapsed_s":14.2,"loss":1.83,"lr":0.002,"rate":8123.4}` or
/// `{"kind":"val","step":200,"elapsed_s":25.0,"loss":1.71}`, with an optional `"unit"` naming the loss
/// (e.g. `"nats/char"`, `"nats/point"`). A record whose `"loss"` is null (the trainers log a NaN loss, and the
/// validation of a run without a validation split, so) is skipped; a file with only such records is an error.
public struct MetricsLog: Equatable, Sendable {
    public var train: [MetricsRecord]
    public var val: [MetricsRecord]
    /// The loss unit from the last line that gave one, or nil.
    public var unit: String?

    public init(train: [MetricsRecord] = [], val: [MetricsRecord] = [], unit: String? = nil) {
        self.train = train
        self.val = val
        self.unit = unit
    }

    /// The y-axis label: `loss (UNIT)`, by default `loss (nats/char)`.
    public var lossLabel: String { "loss (\(unit ?? "nats/char"))" }

    /// The validation record with the lowest loss.
    public var bestVal: MetricsRecord? { val.min { $0.loss < $1.loss } }

    /// Reads `path`; a missing or empty file, or a malformed line, is an error naming the file and line.
    public static func read(_ path: String) throws -> MetricsLog {
        try parse(try MetricsError.readText(path), path: path)
    }

    /// Appends `record`; a step at or before the last one means training resumed from an earlier checkpoint, so the
    /// records it supersedes (same step or later) are dropped and the curve does not double back.
    static func append(_ record: MetricsRecord, to records: inout [MetricsRecord]) {
        while let last = records.last, last.step >= record.step { records.removeLast() }
        records.append(record)
    }

    /// The largest |value| of a step, loss, learning rate or rate a run can log: a loss of 1e12 nats is far past
    /// any divergence guard, and a step of 1e12 would take centuries. Larger values mean a damaged file.
    public static let limit = 1e12
    /// The largest elapsed_s: 1e10 seconds is over 300 years.
    public static let elapsedLimit = 1e10

    /// Parses the text of a `metrics.jsonl` (LF or CRLF line ends); `path` only names the file in errors.
    /// Steps must lie in 0…`limit`, losses, learning rates and rates within ±`limit`, elapsed_s in 0…`elapsedLimit`.
    public static func parse(_ text: String, path: String) throws -> MetricsLog {
        var log = MetricsLog()
        var nullLosses = 0
        // "\r\n" is one Character in Swift, so splitting on "\n" alone would leave a CRLF file in one piece.
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (i, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let n = i + 1
            let object: Any
            do {
                object = try JSONSerialization.jsonObject(with: Data(line.utf8))
            } catch {
                // A run killed while appending leaves its last line unfinished (no line break): the records before
                // it are the run's history, so that line alone is left out.
                if i == lines.count - 1, i > 0, text.unicodeScalars.last != "\n" { continue }
                // The JSON parser's own words where it has them (a number beyond a double's range is valid JSON).
                let problem = JSONSyntax.problem(Array(line.utf8))?.replacingOccurrences(of: " at line 1, column ", with: " at column ")
                throw MetricsError.malformed(path: path, line: n, reason: problem.map { $0.hasPrefix("the number ") ? $0 : "not valid JSON (\($0))" }
                                             ?? "not valid JSON")
            }
            guard let dict = object as? [String: Any] else {
                throw MetricsError.malformed(path: path, line: n, reason: "not a JSON object")
            }
            /// The value of `key`, a finite number within `range` (what a training run can log).
            func number(_ key: String, required: Bool, in range: ClosedRange<Double> = -Self.limit...Self.limit)
                throws -> Double? {
                guard let v = dict[key], !(v is NSNull) else {
                    if required { throw MetricsError.malformed(path: path, line: n, reason: "missing \"\(key)\"") }
                    return nil
                }
                // JSONSerialization gives NSNumber for numbers and for booleans (type code "c"); refuse booleans.
                guard let num = v as? NSNumber, String(cString: num.objCType) != "c",
                      num.doubleValue.isFinite else {
                    throw MetricsError.malformed(path: path, line: n, reason: "\"\(key)\" must be a finite number")
                }
                guard range.contains(num.doubleValue) else {
                    throw MetricsError.malformed(path: path, line: n, reason: "\"\(key)\" is \(plainNumber(num.doubleValue)), "
                        + "outside the plausible \(plainNumber(range.lowerBound))…\(plainNumber(range.upperBound)) (a damaged file?)")
                }
                return num.doubleValue
            }
            guard let kindText = dict["kind"] as? String else {
                throw MetricsError.malformed(path: path, line: n, reason: "missing \"kind\" (\"train\" or \"val\")")
            }
            if let unit = dict["unit"] as? String, !unit.isEmpty { log.unit = unit }
            guard let kind = MetricsRecord.Kind(rawValue: kindText) else { continue }  // other kinds: not ours to plot
            guard let step = try number("step", required: true), step >= 0, step == step.rounded() else {
                throw MetricsError.malformed(path: path, line: n, reason: "\"step\" must be a whole number ≥ 0")
            }
            if dict["loss"] is NSNull { nullLosses += 1; continue }
            let record = MetricsRecord(kind: kind, step: Int(step),
                                       elapsedSeconds: try number("elapsed_s", required: false,
                                                                  in: 0...Self.elapsedLimit) ?? 0,
                                       loss: try number("loss", required: true) ?? 0,
                                       learningRate: try number("lr", required: false),
                                       rate: try number("rate", required: false))
            switch kind {
            case .train: MetricsLog.append(record, to: &log.train)
            case .val: MetricsLog.append(record, to: &log.val)
            }
        }
        guard !log.train.isEmpty || !log.val.isEmpty else {
            throw nullLosses > 0 ? MetricsError.noLosses(path: path) : MetricsError.empty(path: path)
        }
        return log
    }
}

/// Draws training and validation loss curves.
public enum LossPlot {
    /// What the x axis measures.
    public enum XAxis: String, CaseIterable, Sendable {
        /// Optimiser steps.
        case step
        /// Wall-clock minutes since training started (`elapsed_s / 60`).
        case time
    }

    /// Options for a loss plot.
    public struct Options: Equatable, Sendable {
        public var xAxis: XAxis = .step
        public var title: String? = nil
        public var size = Size(width: 720, height: 440)
        /// PNG pixels per point.
        public var pixelScale: Double = 2
        public init() {}
    }

    /// The smoothing window for `n` raw train points: about a twentieth of the run, odd, at least 1.
    public static func smoothingWindow(count n: Int) -> Int {
        let w = max(1, n / 20)
        return w % 2 == 0 ? w + 1 : w
    }

    /// The series to draw: raw train (faint), smoothed train, validation with markers, in that order.
    public static func series(_ log: MetricsLog, xAxis: XAxis) -> [Series] {
        let x = { (r: MetricsRecord) in xAxis == .step ? Double(r.step) : r.elapsedSeconds / 60 }
        let trainColor = Color(hex: 0x1f77b4), valColor = Color(hex: 0xd62728)
        var out: [Series] = []
        if !log.train.isEmpty {
            let xs = log.train.map(x), ys = log.train.map(\.loss)
            let window = smoothingWindow(count: ys.count)
            if window > 1 {
                out.append(Series(name: nil, xs: xs, ys: ys, color: trainColor, width: 1, alpha: 0.25))
                out.append(Series(name: "train (smoothed)", xs: xs, ys: PlotMath.movingAverage(ys, window: window),
                                  color: trainColor, width: 1.8))
            } else {
                out.append(Series(name: "train", xs: xs, ys: ys, color: trainColor, width: 1.5))
            }
        }
        if !log.val.isEmpty {
            out.append(Series(name: "validation", xs: log.val.map(x), ys: log.val.map(\.loss), color: valColor,
                              width: 1.8, markerRadius: 2.8))
        }
        return out
    }

    /// Draws the loss curves of `log` into `rect` of `canvas`, marking the best validation loss.
    @discardableResult
    public static func draw(_ log: MetricsLog, on canvas: Canvas, in rect: Rect, options: Options = Options()) throws
        -> PlotFrame {
        var plot = LinePlotOptions()
        plot.axes = AxisStyle(title: options.title,
                              xLabel: options.xAxis == .step ? "step" : "elapsed time (minutes)",
                              yLabel: log.lossLabel)
        plot.legend = .topRight
        let frame = try canvas.drawLinePlot(series(log, xAxis: options.xAxis), in: rect, options: plot)
        if let best = log.bestVal {
            let bx = options.xAxis == .step ? Double(best.step) : best.elapsedSeconds / 60
            let p = frame.point(bx, best.loss)
            let mark = Color(hex: 0xd62728)
            canvas.strokeCircle(center: p, radius: 6, LineStyle(width: 1.5, color: mark))
            let label = String(format: "best %.4g at step %d", best.loss, best.step)
            // Validation usually sits above the train curve, so the label goes above the point, on a white patch,
            // flipped left when it would run past the right edge.
            let font = Font(size: 10)
            let size = canvas.measure(label, font)
            let right = p.x + 9 + size.width <= frame.rect.maxX - 4
            let x0 = right ? p.x + 8 : p.x - 8 - size.width
            let top = max(frame.rect.minY + 2, p.y - 10 - size.height)
            canvas.fill(Rect(x: x0 - 2, y: top, width: size.width + 4, height: size.height), Color.white.withAlpha(0.8))
            canvas.text(label, at: Point(x0, top), font, color: mark, anchor: TextAnchor(.left, .top))
        }
        return frame
    }

    /// The series of several runs on one plot (`quill plot loss A B C`): per run, in its own colour
    /// (`Color.categorical`, in order), its smoothed train loss (faint, unnamed) and its validation loss with markers,
    /// named after the run.
    public static func overlaySeries(_ runs: [(name: String, log: MetricsLog)], xAxis: XAxis) -> [Series] {
        let x = { (r: MetricsRecord) in xAxis == .step ? Double(r.step) : r.elapsedSeconds / 60 }
        var out: [Series] = []
        for (k, run) in runs.enumerated() {
            let color = Color.categorical[k % Color.categorical.count]
            let log = run.log
            if !log.train.isEmpty {
                let ys = log.train.map(\.loss)
                out.append(Series(name: log.val.isEmpty ? run.name : nil, xs: log.train.map(x),
                                  ys: PlotMath.movingAverage(ys, window: smoothingWindow(count: ys.count)),
                                  color: color, width: 1, alpha: log.val.isEmpty ? 1 : 0.35))
            }
            if !log.val.isEmpty {
                out.append(Series(name: run.name, xs: log.val.map(x), ys: log.val.map(\.loss), color: color,
                                  width: 1.8, markerRadius: 2.4))
            }
        }
        return out
    }

    /// Draws several runs on one plot (`overlaySeries`) and writes it to `path`. The runs must log the same unit.
    /// - Throws: `MetricsError.mixedUnits` when they do not; what the canvas throws.
    public static func renderOverlay(_ runs: [(name: String, log: MetricsLog)], to path: String,
                                     options: Options = Options()) throws {
        let units = Set(runs.map { $0.log.unit ?? "nats/char" })
        guard units.count <= 1 else {
            throw MetricsError.mixedUnits(runs.map { "\($0.name): \($0.log.unit ?? "nats/char")" })
        }
        let canvas = try Canvas(path: path, width: options.size.width, height: options.size.height,
                                pixelScale: options.pixelScale)
        var plot = LinePlotOptions()
        plot.axes = AxisStyle(title: options.title,
                              xLabel: options.xAxis == .step ? "step" : "elapsed time (minutes)",
                              yLabel: runs.first?.log.lossLabel ?? "loss")
        plot.legend = .topRight
        try canvas.drawLinePlot(overlaySeries(runs, xAxis: options.xAxis), in: canvas.bounds.inset(by: 8), options: plot)
        try canvas.finish()
    }

    /// Draws `log` and writes it to `path` (PNG, SVG or PDF by extension).
    public static func render(_ log: MetricsLog, to path: String, options: Options = Options()) throws {
        let canvas = try Canvas(path: path, width: options.size.width, height: options.size.height,
                                pixelScale: options.pixelScale)
        try draw(log, on: canvas, in: canvas.bounds.inset(by: 8), options: options)
        try canvas.finish()
    }
}
