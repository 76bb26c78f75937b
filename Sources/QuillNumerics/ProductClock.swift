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

    /// Whether products are being timed.
    public static var enabled: Bool {
        get { on.load(ordering: .relaxed) }
        set { on.store(newValue, ordering: .relaxed) }
    }

    /// Seconds counted for `kind` since the last `reset`.
    public static func seconds(_ kind: Kind) -> Double {
        Double(kind == .products ? productNanos.load(ordering: .relaxed) : recurrentNanos.load(ordering: .relaxed)) / 1e9
    }

    /// Sets both counts to zero.
    public static func reset() {
        productNanos.store(0, ordering: .relaxed)
        recurrentNanos.store(0, ordering: .relaxed)
    }

    /// Runs `body`, adding its wall-clock time to `kind` when the clock is on.
    @inline(__always)
    public static func time<R>(_ kind: Kind, _ body: () throws -> R) rethrows -> R {
        guard enabled else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        defer {
            let d = DispatchTime.now().uptimeNanoseconds &- start
            if kind == .products { productNanos.add(d, ordering: .relaxed) } else { recurrentNanos.add(d, ordering: .relaxed) }
        }
        return try body()
    }
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
        attach(nil)
        return result
    }
}
