import Foundation

/// Axis ticks at "nice" round values (1, 2 or 5 times a power of ten), after Heckbert, Graphics Gems (1990).
public struct NiceTicks: Equatable, Sendable {
    /// The axis range, widened outward to whole ticks.
    public var lower: Double
    public var upper: Double
    /// The distance between ticks.
    public var step: Double
    /// The tick values from `lower` to `upper`.
    public var values: [Double]

    /// Ticks covering `[min, max]` with about `count` intervals.
    ///
    /// An empty range (`min == max`) is widened around the value; non-finite input gives the range [0, 1]. A
    /// range too wide for Double arithmetic (±1e308) is narrowed to half the largest finite magnitude, and a range
    /// whose nice ticks would not come out as a handful of finite values gets just its two ends.
    public init(min lo: Double, max hi: Double, count: Int = 5) {
        var a = Swift.min(lo, hi), b = Swift.max(lo, hi)
        if !a.isFinite || !b.isFinite { a = 0; b = 1 }
        // Keep b − a and the padding below finite.
        let half = Double.greatestFiniteMagnitude / 4
        a = Swift.min(Swift.max(a, -half), half); b = Swift.min(Swift.max(b, -half), half)
        if b - a < 1e-12 * Swift.max(1, abs(a)) {
            let pad = a == 0 ? 1 : abs(a) * 0.1
            a -= pad; b += pad
        }
        let intervals = Swift.max(1, count)
        let range = NiceTicks.niceNumber(b - a, round: false)
        let step = NiceTicks.niceNumber(range / Double(intervals), round: true)
        let first = (a / step).rounded(.down) * step
        let last = (b / step).rounded(.up) * step
        let ticks = (last - first) / step
        guard first.isFinite, last.isFinite, ticks.isFinite, ticks <= Double(4 * intervals + 4) else {
            self.lower = a; self.upper = b; self.step = b - a; self.values = [a, b]
            return
        }
        var values: [Double] = []
        var v = first
        // Index-based stepping avoids accumulating round-off (0.1 + 0.2 ≠ 0.3).
        let n = Int(ticks.rounded())
        for i in 0...Swift.max(0, n) {
            v = first + Double(i) * step
            values.append(abs(v) < step * 1e-9 ? 0 : v)
        }
        self.lower = first
        self.upper = last
        self.step = step
        self.values = values
    }

    /// The nice number near `x`: 1, 2, 5 or 10 times a power of ten; rounded to nearest, or the next one up.
    public static func niceNumber(_ x: Double, round: Bool) -> Double {
        guard x > 0, x.isFinite else { return 1 }
        let exponent = floor(log10(x))
        let f = x / pow(10, exponent)
        let nice: Double
        if round {
            nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10
        } else {
            nice = f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10
        }
        return nice * pow(10, exponent)
    }

    /// The labels for `values`, with just enough decimals for `step`, and `k` for thousands on large axes.
    public var labels: [String] { values.map { NiceTicks.format($0, step: step) } }

    /// Formats one tick value with the decimals its step needs: `format(0.25, step: 0.05)` is "0.25".
    /// Beyond 1e7 a value is written in scientific notation with the digits its step needs ("1.2e+10"), so a label
    /// never grows to hundreds of digits.
    public static func format(_ value: Double, step: Double) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        if abs(value) >= 1e7 {
            let exponent = Int(floor(log10(abs(value))))
            let stepExponent = step > 0 && step.isFinite ? Int(floor(log10(step))) : exponent
            let digits = Swift.min(Swift.max(0, exponent - stepExponent), 12)
            return String(format: "%.\(digits)e", value)
        }
        if abs(value) >= 10_000 || (step >= 1000 && value != 0) {
            // 12000 reads better as 12k; keep decimals the step in thousands needs.
            let k = value / 1000
            return trimmed(k, decimals: decimals(for: step / 1000)) + "k"
        }
        return trimmed(value, decimals: decimals(for: step))
    }

    private static func decimals(for step: Double) -> Int {
        guard step > 0, step.isFinite else { return 0 }
        return Swift.max(0, Int(-floor(log10(step) + 1e-9)))
    }

    private static func trimmed(_ v: Double, decimals: Int) -> String {
        var s = String(format: "%.\(Swift.min(decimals, 12))f", v)
        if s.hasPrefix("-"), Double(s) == 0 { s.removeFirst() }  // no "-0.0" labels
        return s
    }
}
