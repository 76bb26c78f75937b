import Dispatch

/// The median and best of timed repetitions of a computation, in seconds (the benches' figures).
public struct BenchTimes: Equatable, Sendable {
    public let median: Double
    public let best: Double
    public let count: Int

    /// From `seconds`, one per repetition; with none, median and best are NaN.
    public init(_ seconds: [Double]) {
        let s = seconds.sorted()
        median = s.isEmpty ? .nan : s[s.count / 2]
        best = s.first ?? .nan
        count = s.count
    }

    /// Runs `body` `warmUp` times untimed, then `repetitions` times timed.
    public static func measure(warmUp: Int, repetitions: Int, _ body: () -> Void) -> BenchTimes {
        for _ in 0..<warmUp { body() }
        var times = [Double]()
        for _ in 0..<repetitions {
            let t0 = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9)
        }
        return BenchTimes(times)
    }
}

/// The sizes a benchmark workload accepts, checked before it runs.
public enum BenchLimits {
    /// The first size outside its range, as "--NAME must be between A and B, got V" (NAME is the flag of `quill
    /// bench` that sets it); nil when every size is in range.
    public static func problem(_ sizes: [(name: String, value: Int, range: ClosedRange<Int>)]) -> String? {
        guard let bad = sizes.first(where: { !$0.range.contains($0.value) }) else { return nil }
        return "--\(bad.name) must be between \(bad.range.lowerBound) and \(bad.range.upperBound), got \(bad.value)"
    }
}
