import CQuillKernels

/// The machine's single-precision FMA peak, measured at run time: the yardstick the benches report their GFLOP/s
/// against, instead of a figure from another machine.
///
/// Each thread runs 12 independent FMA chains in the widest vectors the CPU has (AVX-512, else AVX2, else 128-bit
/// vectors), so the figure is what the cores reach with every FMA port busy, turbo clocks included.
public struct FMAPeak: Sendable, CustomStringConvertible {
    /// Measured throughput, GFLOP/s (an FMA counts as 2 FLOPs).
    public let gflops: Double
    /// Threads it ran on.
    public let threads: Int
    /// Vector width in bits: 512, 256 or 128.
    public let vectorBits: Int

    /// The instruction set the measurement used, as a person names it.
    public var instructionSet: String {
        switch vectorBits {
        case 512: "AVX-512"
        case 256: "AVX2"
        default: "\(vectorBits)-bit vectors"
        }
    }

    /// Measures on `threads` threads (clamped to 1…256) for `seconds` (clamped to 0.001…10) after a warm-up of a
    /// quarter of that (at least 50 ms). Nil when a thread could not be started or the timing came out unusable.
    public static func measure(threads: Int, seconds: Double = 0.2) -> FMAPeak? {
        let n = Swift.min(Swift.max(threads, 1), 256)
        var bits: Int32 = 0
        let g = qk_fma_peak_gflops(Int32(n), seconds, &bits)
        guard g.isFinite, g > 0 else { return nil }
        return FMAPeak(gflops: g, threads: n, vectorBits: Int(bits))
    }

    /// `gflops` as a fraction of this peak (0.5 is half of it).
    public func fraction(of gflops: Double) -> Double { gflops / self.gflops }

    /// For example "FMA peak measured: 483 GFLOP/s (2 threads, AVX-512)".
    public var description: String {
        "FMA peak measured: \(Int(gflops.rounded())) GFLOP/s (\(threads) thread\(threads == 1 ? "" : "s"), \(instructionSet))"
    }
}
