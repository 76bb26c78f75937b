import CQuillKernels

/// The rate at which the cores read a buffer of a given size, measured at run time: the yardstick of batch-1
/// sampling, which reads each weight once a step and does one multiply-add with it, so that memory, not the FMA
/// peak, bounds its speed once the weights outgrow the L2 caches.
///
/// Each thread streams its own contiguous share of one buffer with the widest vector loads the CPU has (AVX-512,
/// AVX2 or 128-bit vectors), as the sampler's matrix-vector products read theirs.
public struct ReadBandwidth: Sendable, CustomStringConvertible {
    /// Measured rate, GB/s (10⁹ bytes a second), all threads together.
    public let gigabytesPerSecond: Double
    /// Bytes of the buffer read.
    public let bytes: Int
    /// Threads it ran on.
    public let threads: Int

    /// Measures `threads` threads (clamped to 1…256) reading `bytes` (clamped to 4 KB…4 GB) for `seconds` (clamped to
    /// 0.001…10) after a warm-up of a quarter of that (at least 50 ms). Nil when the buffer or a thread could not be
    /// had.
    public static func measure(threads: Int, bytes: Int, seconds: Double = 0.2) -> ReadBandwidth? {
        let n = Swift.min(Swift.max(threads, 1), 256)
        let size = Swift.min(Swift.max(bytes, 4096), 1 << 32)
        let g = qk_read_bandwidth_gbs(Int32(n), size, seconds)
        guard g.isFinite, g > 0 else { return nil }
        return ReadBandwidth(gigabytesPerSecond: g, bytes: size, threads: n)
    }

    /// For example "read bandwidth measured: 45.1 GB/s (2 threads, a 13.4 MB buffer)".
    public var description: String {
        let gbs = (gigabytesPerSecond * 10).rounded() / 10, mb = (Double(bytes) / 1e5).rounded() / 10
        return "read bandwidth measured: \(gbs) GB/s (\(threads) thread\(threads == 1 ? "" : "s"), a \(mb) MB buffer)"
    }
}
