import ArgumentParser

/// Range checks for numeric options, all worded alike: "--NAME must be between A and B, got V". A nil value (an
/// option left out) passes. Floating-point values must also be finite: NaN and ±inf are refused by every check.
enum OptionRange {
    /// An integer option in `range`.
    static func check(_ name: String, _ value: Int?, _ range: ClosedRange<Int>) throws {
        guard let value, !range.contains(value) else { return }
        throw ValidationError("--\(name) must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
    }

    /// A floating-point option in `range`; `aboveLower` excludes the lower bound, `belowUpper` the upper.
    static func check(_ name: String, _ value: Double?, _ range: ClosedRange<Double>, aboveLower: Bool = false,
                      belowUpper: Bool = false) throws {
        guard let value else { return }
        let lowOK = aboveLower ? value > range.lowerBound : value >= range.lowerBound
        let highOK = belowUpper ? value < range.upperBound : value <= range.upperBound
        if value.isFinite && lowOK && highOK { return }
        let low = aboveLower ? "more than \(shown(range.lowerBound))" : "at least \(shown(range.lowerBound))"
        let high = belowUpper ? "less than \(shown(range.upperBound))" : "at most \(shown(range.upperBound))"
        let wording = aboveLower || belowUpper ? "\(low) and \(high)"
            : "between \(shown(range.lowerBound)) and \(shown(range.upperBound))"
        throw ValidationError("--\(name) must be a number \(wording), got \(shown(value))")
    }

    /// A bound or value as typed: 20 rather than 20.0, 0.5, 1e-05.
    static func shown(_ x: Double) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int(x)) }
        return "\(x)"
    }
}

/// Ranges of the options the three trainers share (`char train`, `train prediction`, `train synthesis`), checked in
/// one place (`RunArguments.check`). Steps and step counts are bounded by 10⁸, far beyond any run Quill can finish.
enum TrainingRanges {
    static let steps = 1...100_000_000
    static let learningRate = 0.0...1000
    static let lrDecayEvery = 1...1_000_000
    static let clip = 0.0...1_000_000
    static let minutes = 0.0...1_000_000
    static let evalEvery = 1...1_000_000
}

extension ArgumentHelp {
    /// The help of an optional flag whose value, when left out, comes from a config type (a new run's options, a
    /// model's architecture): `text` and "(default: VALUE)", the value as the config holds it. ArgumentParser shows
    /// defaults only for flags that are not optional; these are optional so that --resume can tell them apart.
    static func text(_ text: String, default value: Double, _ note: String = "") -> ArgumentHelp {
        ArgumentHelp("\(text) (default: \(OptionRange.shown(value))\(note))")
    }

    static func text(_ text: String, default value: some CustomStringConvertible, _ note: String = "") -> ArgumentHelp {
        ArgumentHelp("\(text) (default: \(value)\(note))")
    }
}
