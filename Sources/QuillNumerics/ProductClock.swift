import Dispatch
import Synchronization

/// Time spent in matrix products, for `quill bench handwriting --profile`: how much of a training step is products
/// and how much is the other passes over memory (issue "Training faster than PyTorch", item 2).
///
/// Off unless a bench turns it on; off, each product pays one relaxed load. Two kinds are counted apart:
/// - `products`: every `blasGemm` call (Quill's GEMM or OpenBLAS), in nanoseconds of wall-clock time;
/// - `recurrentSteps`: the fused recurrent step kernels, whose W_h product per step carries the gate activations
///   fused in (their non-product share is small, below a tenth by `quill bench kernels`).
/// Products called from several threads at once would count twice; Quill calls them from one thread.
public enum ProductClock {
    public enum Kind: Int, Sendable { case products = 0, recurrentSteps = 1 }

    private static let on = Atomic<Bool>(false)
    private static let productNanos = Atomic<UInt64>(0), recurrentNanos = Atomic<UInt64>(0)
    private static let byShape = Mutex<[ProductShape: ProductShapeTime]>([:])

    /// Whether products are being timed.
    public static var enabled: Bool {
        get { on.load(ordering: .relaxed) }
        set { on.store(newValue, ordering: .relaxed) }
    }

    /// Seconds counted for `kind` since the last `reset`.
    public static func seconds(_ kind: Kind) -> Double {
        Double(kind == .products ? productNanos.load(ordering: .relaxed) : recurrentNanos.load(ordering: .relaxed)) / 1e9
    }

    /// Sets both counts and the per-shape times to zero.
    public static func reset() {
        productNanos.store(0, ordering: .relaxed)
        recurrentNanos.store(0, ordering: .relaxed)
        byShape.withLock { $0 = [:] }
    }

    /// The products timed since the last `reset`, by shape, most time first.
    public static func shapes() -> [(shape: ProductShape, time: ProductShapeTime)] {
        byShape.withLock { $0.map { ($0.key, $0.value) } }.sorted { $0.time.seconds > $1.time.seconds }
    }

    /// Runs `body`, adding its wall-clock time to `kind` when the clock is on, and for a product of shape `shape`
    /// (nil for none) to that shape's calls and seconds too.
    @inline(__always)
    public static func time<R>(_ kind: Kind, shape: ProductShape? = nil, _ body: () throws -> R) rethrows -> R {
        guard enabled else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let d = DispatchTime.now().uptimeNanoseconds &- start
            if kind == .products { productNanos.add(d, ordering: .relaxed) } else { recurrentNanos.add(d, ordering: .relaxed) }
            if let shape {
                byShape.withLock {
                    $0[shape, default: ProductShapeTime()].calls += 1
                    $0[shape, default: ProductShapeTime()].seconds += Double(d) / 1e9
                }
            }
        }
        return try body()
    }
}

/// The shape of one matrix product `C (m, n) = op(A) (m, k) · op(B) (k, n)`, for the profile's table.
public struct ProductShape: Hashable, Sendable {
    public var m: Int, n: Int, k: Int, transA: Bool, transB: Bool

    public init(m: Int, n: Int, k: Int, transA: Bool, transB: Bool) {
        (self.m, self.n, self.k, self.transA, self.transB) = (m, n, k, transA, transB)
    }

    /// Floating-point operations of one such product (a multiply-add counts 2).
    public var flops: Double { 2 * Double(m) * Double(n) * Double(k) }

    /// "m×n×k" with the transposes BLAS-style: "2500×2048×512 NT" (A as stored, B transposed).
    public var description: String { "\(m)×\(n)×\(k) \(transA ? "T" : "N")\(transB ? "T" : "N")" }
}

/// Calls and wall-clock seconds of the products of one shape.
public struct ProductShapeTime: Sendable {
    public var calls = 0, seconds = 0.0
}

extension ProductClock {
    /// Times `body` (a bench's timed iterations) into `phases` when `enabled`: `attach(phases)` hands the profile to
    /// the model first, the phases and both clocks start from zero, and afterwards `phases` holds the products'
    /// and fused steps' seconds and the model is detached (`attach(nil)`). Not enabled: runs `body` alone.
    public static func profiling<R>(_ phases: PhaseProfile, enabled on: Bool, attach: (PhaseProfile?) -> Void,
                                    _ body: () -> R) -> R {
        guard on else { return body() }
        attach(phases)
        phases.reset()
        reset()
        enabled = true
        let result = body()
        enabled = false
        phases.productSeconds = seconds(.products)
        phases.recurrentStepSeconds = seconds(.recurrentSteps)
        phases.productShapes = shapes()
        attach(nil)
        return result
    }
}
