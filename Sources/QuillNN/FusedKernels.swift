import CQuillKernels
import QuillNumerics

/// The hand-written kernels of `CQuillKernels` for Float: the LSTM, GRU and plain-RNN steps (packed recurrent
/// weights, the product and the cell maths in one call, split over the cores by hidden units) and Graves's soft
/// window (vectorised over the characters).
///
/// Recurrent layers of every kind in Float with a batch of at least 4 take the steps, and the window in Float takes
/// its kernels, on CPUs with AVX-512 (16 lanes) or AVX2 with FMA (their 8-lane twins). Everything else (Double,
/// batch-1 recurrent steps, older CPUs) takes the portable path of OpenBLAS products and Swift kernels. Both compute the same
/// maths; the tests hold each width's kernels to the portable path.
public enum FusedKernels {
    /// Off switch (tests compare both paths; `QUILL_KERNELS=0` in the environment also turns it off).
    nonisolated(unsafe) public static var enabled = true

    /// The smallest batch that takes the fused steps: below it (sampling runs batch 1) one step's product is too
    /// small to pay for waking the threads. Tests lower it to hold the kernels to the portable path at batch 1–3.
    nonisolated(unsafe) static var minimumBatch = 4

    /// The vector width of the kernels this process runs.
    public enum Level: Int32, Sendable, CaseIterable, CustomStringConvertible {
        /// None: every step and the window take the portable path.
        case none = 0
        /// AVX2 with FMA, 8 lanes: the recurrent steps, the window and the elementwise activations.
        case avx2 = 2
        /// AVX-512 F/VL/DQ, 16 lanes: the steps, the window, Quill's GEMMs.
        case avx512 = 3

        public var description: String {
            switch self {
            case .none: return "portable"
            case .avx2: return "AVX2"
            case .avx512: return "AVX-512"
            }
        }
    }

    /// The widest kernels this CPU runs, capped by `QUILL_KERNELS` (`0`: none, `avx2`: at most AVX2) or `cap(at:)`.
    public static var level: Level { Level(rawValue: qk_level()) ?? .none }

    /// Caps the kernels at `level` (`.avx512` lifts the cap to what the CPU runs) and returns the level that
    /// results; tests and benches hold the AVX2 twins to the portable path on AVX-512 CPUs with it. Call it between
    /// passes, from one thread.
    @discardableResult
    public static func cap(at level: Level) -> Level { Level(rawValue: qk_set_level(level.rawValue)) ?? .none }

    /// The widest kernels this CPU runs, whatever `QUILL_KERNELS` or `cap(at:)` allow.
    public static var cpuLevel: Level { Level(rawValue: qk_cpu_kernel_level()) ?? .none }

    /// Whether this CPU runs the fused recurrent steps (AVX-512, or AVX2 with FMA).
    public static var available: Bool { qk_avx2_available() != 0 }

    /// Whether this CPU runs the soft window's kernels (AVX-512, or AVX2 with FMA).
    public static var windowAvailable: Bool { qk_avx2_available() != 0 }

    /// Threads the fused steps of a layer of `hidden` units use.
    public static func threads(hidden: Int) -> Int { Int(qk_threads_for(Int32(hidden))) }

    /// Whether a layer of `kind` in `T` with this batch takes the fused path.
    static func applies<T: QuillScalar>(_ kind: CellKind, _: T.Type, batch: Int) -> Bool {
        enabled && kind.hasFusedKernels && T.self == Float.self && batch >= minimumBatch && available
    }

    /// Whether the soft window in `T` takes the kernels.
    static func appliesToWindow<T: QuillScalar>(_: T.Type) -> Bool {
        enabled && T.self == Float.self && windowAvailable
    }
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

    /// W_x packed for the per-step input products of a pass that feeds the layer one step at a time (a layer under
    /// Graves's window), and W_xᵀ for their gradients (`qk_panel_pack`); made on first use, packed once a pass.
    private(set) var inputForward: UnsafeMutablePointer<Float>?
    private(set) var inputBackward: UnsafeMutablePointer<Float>?
    /// Whether `inputForward` / `inputBackward` hold this pass's weights (cleared when a pass begins).
    var inputForwardPacked = false
    var inputBackwardPacked = false

    /// W_x (inputs × gateWidth, row-major) packed for `qk_panel_multiply` in `inputForward`, once per pass.
    func packInputForward(_ wx: UnsafePointer<Float>, inputs: Int, gateWidth: Int) -> UnsafePointer<Float> {
        Self.pack(wx, ldb: gateWidth, transposed: false, depth: inputs, width: gateWidth, into: &inputForward,
                  packed: &inputForwardPacked)
    }

    /// W_xᵀ packed for `qk_panel_multiply` in `inputBackward`, once per pass.
    func packInputBackward(_ wx: UnsafePointer<Float>, inputs: Int, gateWidth: Int) -> UnsafePointer<Float> {
        Self.pack(wx, ldb: gateWidth, transposed: true, depth: gateWidth, width: inputs, into: &inputBackward,
                  packed: &inputBackwardPacked)
    }

    /// Packs op(B) (depth × width) into `room` (made on first use) unless `packed` says it holds this pass's.
    private static func pack(_ b: UnsafePointer<Float>, ldb: Int, transposed: Bool, depth: Int, width: Int,
                             into room: inout UnsafeMutablePointer<Float>?, packed: inout Bool) -> UnsafePointer<Float> {
        let p = room ?? allocate(Int(qk_panel_count(Int32(depth), Int32(width))))
        room = p
        if !packed { qk_panel_pack(b, Int32(ldb), transposed ? 1 : 0, Int32(depth), Int32(width), p) }
        packed = true
        return UnsafePointer(p)
    }

    private static func allocate(_ n: Int) -> UnsafeMutablePointer<Float> {
        UnsafeMutableRawPointer.allocate(byteCount: Swift.max(n, 1) * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: Swift.max(n, 1))
    }

    deinit {
        UnsafeMutableRawPointer(forward).deallocate()
        UnsafeMutableRawPointer(backward).deallocate()
        inputForward.map { UnsafeMutableRawPointer($0).deallocate() }
        inputBackward.map { UnsafeMutableRawPointer($0).deallocate() }
    }
}

@inline(__always) func asFloat<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}

@inline(__always) func asFloat<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
}

