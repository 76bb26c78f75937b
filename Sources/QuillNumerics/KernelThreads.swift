import CQuillKernels

/// Loops cut over the kernel threads of `CQuillKernels` (the caller's thread and the workers that the fused LSTM
/// steps use): per-step work that is independent across batch rows, such as the soft window, and the passes over
/// whole sequences that are bound by memory (copies, row and column sums), which one core alone reads at about half
/// the rate two do. Each index is handled by exactly one thread with the same arithmetic as a serial loop, so results
/// do not depend on the thread count. Called from inside another such loop (the pool is busy), it runs serially.
public enum KernelThreads {
    /// Runs `body` on contiguous ranges covering [0, count), at least `minimumPerThread` indices a thread, and
    /// returns when all are done.
    public static func forEachRange(_ count: Int, minimumPerThread: Int, _ body: (Range<Int>) -> Void) {
        guard count > 0 else { return }
        guard count <= Int(Int32.max) else { return body(0..<count) }
        withoutActuallyEscaping(body) { body in
            var closure = body
            withUnsafeMutablePointer(to: &closure) { context in
                qk_parallel_ranges(Int32(count), Int32(clamping: minimumPerThread), { context, begin, end in
                    // Invariant: qk_parallel_ranges hands back the context given to it, a pointer to `closure`.
                    context!.assumingMemoryBound(to: ((Range<Int>) -> Void).self).pointee(Int(begin)..<Int(end))
                }, context)
            }
        }
    }

    /// Values a thread must have before a memory-bound pass is cut over the threads (512 KB of Float): below it,
    /// waking a worker costs more than it saves.
    public static let memoryPassMinimum = 1 << 17

    /// `body` over the rows [0, rows) of a memory-bound pass touching `width` values a row: on the caller's thread
    /// when the pass is small, else cut over the kernel threads (`memoryPassMinimum` values a thread at least).
    @inline(__always)
    public static func forEachRowRange(_ rows: Int, width: Int, _ body: (Range<Int>) -> Void) {
        let w = Swift.max(width, 1)
        if rows * w < 2 * memoryPassMinimum { return body(0..<rows) }
        forEachRange(rows, minimumPerThread: Swift.max(1, memoryPassMinimum / w), body)
    }

    /// `body` over the columns [0, cols) of a memory-bound pass over `rows` rows, cut in whole vectors of 16 columns
    /// (so each column, and its sum over the rows in order, stays on one thread), as `forEachRowRange` decides.
    @inline(__always)
    public static func forEachColumnRange(_ cols: Int, rows: Int, _ body: (Range<Int>) -> Void) {
        forEachRowRange((cols + 15) / 16, width: 16 * rows) { chunks in
            body(chunks.lowerBound * 16..<Swift.min(chunks.upperBound * 16, cols))
        }
    }
}
