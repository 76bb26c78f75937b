import CQuillKernels
import QuillNumerics

/// The hand-written kernels of `CQuillKernels` for Float: the LSTM, GRU and plain-RNN steps (packed recurrent
/// weights, the product and the cell maths in one call, split over the cores by hidden units) and Graves's soft
/// window (AVX-512 over the characters).
///
/// Recurrent layers of every kind in Float with a batch of at least 4, and the window in Float, take them on CPUs
/// with AVX-512; everything else (Double, batch-1 sampling, other CPUs) takes the portable path of OpenBLAS products
/// and Swift kernels. Both compute the same maths; the tests hold the kernels to the portable path.
public enum FusedKernels {
    /// Off switch (tests compare both paths; `QUILL_KERNELS=0` in the environment also turns it off).
    nonisolated(unsafe) public static var enabled = true

    /// The smallest batch that takes the fused steps: below it (sampling runs batch 1) one step's product is too
    /// small to pay for waking the threads. Tests lower it to hold the kernels to the portable path at batch 1–3.
    nonisolated(unsafe) static var minimumBatch = 4

    /// Whether this CPU runs the fused kernels.
    public static var available: Bool { qk_available() != 0 }

    /// Threads the fused steps of a layer of `hidden` units use.
    public static func threads(hidden: Int) -> Int { Int(qk_threads_for(Int32(hidden))) }

    /// Whether a layer of `kind` in `T` with this batch takes the fused path.
    static func applies<T: QuillScalar>(_ kind: CellKind, _: T.Type, batch: Int) -> Bool {
        enabled && kind.hasFusedKernels && T.self == Float.self && batch >= minimumBatch && available
    }

    /// Whether the soft window in `T` takes the kernels.
    static func appliesToWindow<T: QuillScalar>(_: T.Type) -> Bool { enabled && T.self == Float.self && available }
}

/// Packed copies of one layer's W_h (forward) and W_hᵀ (backward), 64-byte aligned, in the kernels' panel layout.
final class PackedRecurrentWeights {
    let hidden: Int
    /// Gate blocks per unit: `CellKind.gateCount`.
    let gates: Int
    let count: Int
    let forward: UnsafeMutablePointer<Float>
    let backward: UnsafeMutablePointer<Float>

    init(hidden: Int, gates: Int) {
        self.hidden = hidden
        self.gates = gates
        count = Int(qk_recurrent_packed_count(Int32(gates), Int32(hidden)))
        func allocate(_ n: Int) -> UnsafeMutablePointer<Float> {
            UnsafeMutableRawPointer.allocate(byteCount: Swift.max(n, 1) * 4, alignment: 64)
                .bindMemory(to: Float.self, capacity: Swift.max(n, 1))
        }
        forward = allocate(count)
        backward = allocate(count)
    }

    deinit {
        UnsafeMutableRawPointer(forward).deallocate()
        UnsafeMutableRawPointer(backward).deallocate()
    }
}

@inline(__always) func asFloat<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}

@inline(__always) func asFloat<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
}

/// Row-parallel loops on the kernel threads of `CQuillKernels` (the caller's thread and the workers that the fused
/// LSTM steps use), for per-step work that is independent across batch rows, such as the soft window. Each index
/// is handled by exactly one thread with the same arithmetic as a serial loop, so results do not depend on the
/// thread count.
enum KernelThreads {
    static func forEachRange(_ count: Int, minimumPerThread: Int, _ body: (Range<Int>) -> Void) {
        withoutActuallyEscaping(body) { body in
            var closure = body
            withUnsafeMutablePointer(to: &closure) { context in
                qk_parallel_ranges(Int32(count), Int32(minimumPerThread), { context, begin, end in
                    // Invariant: qk_parallel_ranges hands back the context given to it, a pointer to `closure`.
                    context!.assumingMemoryBound(to: ((Range<Int>) -> Void).self).pointee(Int(begin)..<Int(end))
                }, context)
            }
        }
    }
}
