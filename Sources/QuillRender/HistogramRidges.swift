import Foundation
import QuillData

/// Errors reading the histogram records of a run's `metrics.jsonl`; each names the file (and line) and what to do.
public enum HistogramLogError: Error, CustomStringConvertible, Equatable {
    case noHistograms(path: String)
    case unknownParameter(path: String, name: String, known: [String])
    /// The run lists the tensor but logged no histograms of this kind for it (`gradients`: gradient histograms).
    case notLogged(path: String, name: String, gradients: Bool)
    case malformed(path: String, line: Int, reason: String)

    public var description: String {
        switch self {
        case .noHistograms(let path):
            return "\(path): no histogram records; train with --histogram-every N to log them"
        case .unknownParameter(let path, let name, let known):
            return "\(path): no parameter '\(name)'; the run logs \(known.joined(separator: ", "))"
        case .notLogged(let path, let name, let gradients):
            return "\(path): the run lists '\(name)' but logged no \(gradients ? "gradient" : "weight") histograms of it"
                + (gradients ? "; draw its weights without --gradients" : "")
        case .malformed(let path, let line, let reason):
            return "\(path):\(line): \(reason) in a histograms record (a damaged file?)"
        }
    }
}

/// One tensor's histogram at one logged step: `counts` in equal bins from `min` to `max` (all in the first bin
/// when min = max), as `ValueHistogram` in QuillModels writes it.
public struct LoggedHistogram: Equatable, Sendable {
    public var step: Int
    public var min: Double
    public var max: Double
    public var counts: [Int]

    public init(step: Int, min: Double, max: Double, counts: [Int]) {
        self.step = step
        self.min = min
        self.max = max
        self.counts = counts
    }
}

/// The `histograms` records of a run's `metrics.jsonl` (`--histogram-every`), per tensor and step.
///
/// Record schema (other kinds and unknown keys are ignored): `{"kind":"histograms","step":S,"grad_norm":G,
/// "parameters":[names],"weights":{name:{"min":a,"max":b,"counts":[…]}},"gradients":{…}}`. A step at or before an
/// earlier record's (a resumed run) replaces the records from that step on, as `MetricsLog` does for losses.
public struct HistogramLog: Equatable, Sendable {
    /// Tensor names in the model's order, from the last record.
    public var parameters: [String] = []
    /// Per tensor name, its histograms in step order.
    public var weights: [String: [LoggedHistogram]] = [:]
    public var gradients: [String: [LoggedHistogram]] = [:]
    /// The global gradient norm (before clipping) at each logged step; NaN where it was not finite.
    public var gradientNorms: [(step: Int, norm: Double)] = []

    public init() {}

    public static func == (a: HistogramLog, b: HistogramLog) -> Bool {
        a.parameters == b.parameters && a.weights == b.weights && a.gradients == b.gradients
            && a.gradientNorms.map(\.step) == b.gradientNorms.map(\.step)
    }

    /// The most bins a record may have.
    public static let maximumBins = 10_000

    /// Reads `path` (missing or unreadable files throw `MetricsError`, as `MetricsLog.read`).
    public static func read(_ path: String) throws -> HistogramLog {
        try parse(try MetricsError.readText(path), path: path)
    }

    /// Parses the text of a `metrics.jsonl`; `path` only names the file in errors. Throws `noHistograms` when it
    /// holds no histogram record, `malformed` for a record with a value out of range.
    public static func parse(_ text: String, path: String) throws -> HistogramLog {
        var log = HistogramLog()
        let lines = text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" })
        for (i, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            // Cheap skip of the loss lines; a histogram record names its kind.
            guard line.contains("\"histograms\"") else { continue }
            let n = i + 1
            guard let dict = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] else {
                if i == lines.count - 1, text.unicodeScalars.last != "\n" { continue }  // cut short by a kill
                throw HistogramLogError.malformed(path: path, line: n, reason: "not a JSON object")
            }
            guard dict["kind"] as? String == "histograms" else { continue }
            func fail(_ reason: String) -> HistogramLogError { .malformed(path: path, line: n, reason: reason) }
            func number(_ value: Any?, _ what: String) throws -> Double {
                guard let num = value as? NSNumber, String(cString: num.objCType) != "c", num.doubleValue.isFinite,
                      abs(num.doubleValue) <= MetricsLog.limit else {
                    throw fail("\(what) must be a finite number within ±\(plainNumber(MetricsLog.limit))")
                }
                return num.doubleValue
            }
            let stepValue = try number(dict["step"], "\"step\"")
            guard stepValue >= 0, stepValue == stepValue.rounded() else { throw fail("\"step\" must be a whole number ≥ 0") }
            let step = Int(stepValue)
            guard let names = dict["parameters"] as? [String], !names.isEmpty else {
                throw fail("\"parameters\" must list the tensor names")
            }
            func tensors(_ key: String) throws -> [String: LoggedHistogram] {
                guard let object = dict[key] as? [String: Any] else { throw fail("\"\(key)\" must be an object") }
                var out: [String: LoggedHistogram] = [:]
                for (name, value) in object {
                    guard names.contains(name) else {
                        throw fail("\"\(key)\" holds '\(String(name.prefix(100)))', which \"parameters\" does not list")
                    }
                    guard let h = value as? [String: Any], let raw = h["counts"] as? [Any],
                          (1...maximumBins).contains(raw.count) else {
                        throw fail("\"\(key)\".\"\(name)\" must hold \"counts\", 1…\(maximumBins) of them")
                    }
                    let lo = try number(h["min"], "\"\(key)\".\"\(name)\".\"min\"")
                    let hi = try number(h["max"], "\"\(key)\".\"\(name)\".\"max\"")
                    guard lo <= hi else { throw fail("\"\(key)\".\"\(name)\" has min \(lo) above max \(hi)") }
                    let counts = try raw.map { c -> Int in
                        let v = try number(c, "\"\(key)\".\"\(name)\" count")
                        guard v >= 0, v == v.rounded() else { throw fail("\"\(key)\".\"\(name)\" counts must be whole numbers ≥ 0") }
                        return Int(v)
                    }
                    out[name] = LoggedHistogram(step: step, min: lo, max: hi, counts: counts)
                }
                return out
            }
            let w = try tensors("weights"), g = try tensors("gradients")
            let norm = dict["grad_norm"] is NSNull ? Double.nan : try number(dict["grad_norm"], "\"grad_norm\"")
            // A resumed run logs again from its checkpoint: drop what it supersedes.
            func drop(_ series: inout [String: [LoggedHistogram]]) {
                for key in series.keys { series[key]?.removeAll { $0.step >= step } }
            }
            drop(&log.weights); drop(&log.gradients)
            log.gradientNorms.removeAll { $0.step >= step }
            for (name, h) in w { log.weights[name, default: []].append(h) }
            for (name, h) in g { log.gradients[name, default: []].append(h) }
            log.gradientNorms.append((step, norm))
            log.parameters = names
        }
        guard !log.gradientNorms.isEmpty else { throw HistogramLogError.noHistograms(path: path) }
        return log
    }

    /// The histograms of tensor `name` (weights, or gradients), step by step; `path` names the file in the error.
    public func series(_ name: String, gradients: Bool, path: String) throws -> [LoggedHistogram] {
        guard let s = (gradients ? self.gradients : weights)[name], !s.isEmpty else {
            guard parameters.contains(name) else {
                throw HistogramLogError.unknownParameter(path: path, name: name, known: parameters)
            }
            throw HistogramLogError.notLogged(path: path, name: name, gradients: gradients)
        }
        return s
    }
}

/// A ridge plot: one filled histogram per logged step, stacked with the earliest at the top and each later step
/// drawn lower and in front, so the eye follows a distribution as training goes on.
public enum RidgePlot {
    public struct Options: Equatable, Sendable {
        public var title: String?
        public var xLabel = "value"
        public var size = Size(width: 720, height: 520)
        /// PNG pixels per point.
        public var pixelScale: Double = 2
        /// A ridge's tallest bin, in rows (the distance between neighbouring baselines): above 1 they overlap.
        public var peakRows: Double = 1.8
        /// At most this many ridges; more steps are thinned evenly, keeping the first and the last.
        public var maximumRidges = 60
        /// The x axis spans the central `coverage` of the values (`centralRange`) when that is under 80% of the
        /// full range: gradients' rare large values would otherwise squeeze the bulk into a bin or two.
        public var coverage = 0.99
        public init() {}
    }

    /// The indices of `count` items kept when at most `limit` may be drawn: evenly spaced, first and last kept.
    public static func thinned(count: Int, limit: Int) -> [Int] {
        guard count > limit else { return Array(0..<count) }
        guard limit >= 2 else { return [count - 1] }
        var kept: [Int] = []
        for i in 0..<limit {
            let index = Int((Double(i) * Double(count - 1) / Double(limit - 1)).rounded())
            if kept.last != index { kept.append(index) }
        }
        return kept
    }

    /// The range holding the central `coverage` (0…1) of the ridges' values, every ridge weighing the same: the
    /// quantiles (1 − coverage)/2 and (1 + coverage)/2 of the pooled bins, values spread evenly within each bin (a
    /// bin of zero width is a point mass). Nil when the ridges hold no value.
    public static func centralRange(_ ridges: [LoggedHistogram], coverage: Double) -> (lower: Double, upper: Double)? {
        var pieces: [(lo: Double, hi: Double, weight: Double)] = []
        for h in ridges {
            let total = Double(h.counts.reduce(0, +))
            guard total > 0 else { continue }
            let b = h.counts.count, w = (h.max - h.min) / Double(b)
            for (i, c) in h.counts.enumerated() where c > 0 {
                let lo = h.min + Double(i) * w
                pieces.append((lo, h.max > h.min ? (i == b - 1 ? h.max : lo + w) : lo, Double(c) / total))
            }
        }
        guard let first = pieces.first else { return nil }
        let mass = pieces.reduce(0) { $0 + $1.weight }
        func cdf(_ x: Double) -> Double {
            pieces.reduce(0) { sum, p in
                sum + p.weight * (p.hi > p.lo ? Swift.min(Swift.max((x - p.lo) / (p.hi - p.lo), 0), 1) : (x >= p.lo ? 1 : 0))
            } / mass
        }
        let lo = pieces.map(\.lo).min() ?? first.lo, hi = pieces.map(\.hi).max() ?? first.hi
        /// The smallest x with cdf(x) ≥ q, by bisection.
        func quantile(_ q: Double) -> Double {
            var a = lo, b = hi
            for _ in 0..<100 {
                let m = (a + b) / 2
                if cdf(m) >= q { b = m } else { a = m }
            }
            return b
        }
        let tail = (1 - Swift.min(Swift.max(coverage, 0), 1)) / 2
        return (quantile(tail), quantile(1 - tail))
    }

    /// The outline of one ridge in data coordinates (x: value, y: rows): from (min, baseline) along the top of every
    /// bin to (max, baseline). Heights are the counts over the ridge's largest count, times `peak`; a ridge whose
    /// min = max becomes a spike `spikeWidth` wide.
    public static func outline(_ h: LoggedHistogram, baseline: Double, peak: Double, spikeWidth: Double) -> [Point] {
        let top = Double(h.counts.max() ?? 0)
        let scale = top > 0 ? peak / top : 0
        if h.max <= h.min {
            let x0 = h.min - spikeWidth / 2, x1 = h.min + spikeWidth / 2, y = baseline + Double(h.counts.reduce(0, +)) * scale
            return [Point(x0, baseline), Point(x0, y), Point(x1, y), Point(x1, baseline)]
        }
        let b = h.counts.count, w = (h.max - h.min) / Double(b)
        var points = [Point(h.min, baseline)]
        for (i, c) in h.counts.enumerated() {
            let y = baseline + Double(c) * scale
            points.append(Point(h.min + Double(i) * w, y))
            points.append(Point(i == b - 1 ? h.max : h.min + Double(i + 1) * w, y))
        }
        points.append(Point(h.max, baseline))
        return points
    }

    /// Draws `ridges` (one tensor's histograms in step order) to `path` (.png, .svg or .pdf). Returns how many ridges
    /// were drawn (`Options.maximumRidges` at most).
    @discardableResult
    public static func render(_ ridges: [LoggedHistogram], to path: String, options: Options = Options()) throws -> Int {
        guard !ridges.isEmpty else { throw RenderError.emptyGeometry(what: path, detail: "no histogram to draw") }
        let kept = thinned(count: ridges.count, limit: options.maximumRidges).map { ridges[$0] }
        let n = kept.count
        var lo = kept.map(\.min).min() ?? 0, hi = kept.map(\.max).max() ?? 0
        var xLabel = options.xLabel
        if let central = centralRange(kept, coverage: options.coverage), central.upper > central.lower,
           central.upper - central.lower < 0.8 * (hi - lo) {
            let pad = 0.1 * (central.upper - central.lower)
            (lo, hi) = (central.lower - pad, central.upper + pad)
            xLabel += String(format: " (the central %g%% of values; the tails run off the plot)", options.coverage * 100)
        }
        if hi <= lo { lo -= 0.5; hi += 0.5 }
        let xt = NiceTicks(min: lo, max: hi, count: 6)
        let spike = (xt.upper - xt.lower) / 200
        // Every n/12-th step is labelled, the last always.
        let labelEvery = max(1, (n + 11) / 12)
        var yPositions: [Double] = [], yLabels: [String] = []
        for (i, h) in kept.enumerated() where i % labelEvery == 0 || i == n - 1 {
            yPositions.append(Double(n - 1 - i))
            yLabels.append("\(h.step)")
        }
        let canvas = try Canvas(path: path, width: options.size.width, height: options.size.height,
                                pixelScale: options.pixelScale)
        let style = AxisStyle(title: options.title, xLabel: xLabel, yLabel: "step")
        let outer = canvas.bounds.inset(by: 8)
        let area = outer.inset(by: canvas.autoInsets(style: style, yTickLabels: yLabels))
        guard area.width > 0, area.height > 0 else {
            throw RenderError.invalidArgument(what: path, detail: "the figure is too small for its labels")
        }
        let frame = PlotFrame(rect: area, x: (xt.lower, xt.upper), y: (-0.1, Double(n - 1) + options.peakRows + 0.1))
        canvas.drawAxes(frame, outer: outer, style: style,
                        xTicks: AxisTicks(positions: xt.values, labels: xt.labels),
                        yTicks: AxisTicks(positions: yPositions, labels: yLabels), grid: false)
        canvas.clipped(to: area) {
            for (i, h) in kept.enumerated() {
                let baseline = Double(n - 1 - i)
                let points = outline(h, baseline: baseline, peak: options.peakRows, spikeWidth: spike).map {
                    frame.point($0.x, $0.y)
                }
                let color = Colormap.viridis.color(at: n == 1 ? 0.5 : 0.9 - 0.8 * Double(i) / Double(n - 1))
                canvas.fill(.polyline(points), color.withAlpha(0.85))
                canvas.stroke(.polyline(points), LineStyle(width: 0.7, color: .white))
            }
        }
        try canvas.finish()
        return n
    }
}
