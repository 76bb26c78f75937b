import Dispatch

/// Wall-clock time per named phase of a repeated computation (`quill bench handwriting --profile`).
///
/// `begin()` starts the clock; each `lap(name)` adds the time since the previous lap (or `begin`) to `name`.
/// Phases print in the order they were first seen.
public final class PhaseProfile {
    public private(set) var names: [String] = []
    public private(set) var seconds: [String: Double] = [:]
    /// Seconds within the phases spent in matrix products and in the fused recurrent step kernels, summed over all
    /// repetitions (`ProductClock`), when the bench counted them.
    public var productSeconds = 0.0, recurrentStepSeconds = 0.0
    /// The products by shape (`ProductClock.shapes()`), summed over all repetitions, most time first.
    public var productShapes: [(shape: ProductShape, time: ProductShapeTime)] = []
    private var last: UInt64 = 0

    public init() {}

    public func begin() { last = DispatchTime.now().uptimeNanoseconds }

    public func lap(_ name: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        if seconds[name] == nil { names.append(name) }
        seconds[name, default: 0] += Double(now - last) / 1e9
        last = now
    }

    public func reset() { names = []; seconds = [:]; productSeconds = 0; recurrentStepSeconds = 0; productShapes = [] }

    /// Seconds per repetition of all phases together.
    public func total(repetitions: Int) -> Double {
        names.reduce(0) { $0 + seconds[$1, default: 0] } / Double(max(repetitions, 1))
    }

    /// Per phase in first-seen order: seconds per repetition and share of the total.
    public func summary(repetitions: Int) -> [(name: String, seconds: Double, share: Double)] {
        let total = names.reduce(0) { $0 + seconds[$1, default: 0] }
        return names.map { ($0, seconds[$0, default: 0] / Double(max(repetitions, 1)),
                            seconds[$0, default: 0] / max(total, 1e-12)) }
    }
}
