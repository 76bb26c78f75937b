import QuillNumerics

/// Gradient clipping and learning-rate schedules.
public enum GradientClipping {
    /// The global L2 norm of all trainable gradients (accumulated in Double).
    @_specialize(exported: true, where T == Float)
    public static func globalNorm<T>(_ parameters: [Parameter<T>]) -> Double {
        var s = 0.0
        for p in parameters where p.trainable { s += Kernels.sumOfSquares(p.grad.ptr, count: p.count) }
        return s.squareRoot()
    }

    /// Scales all gradients so their global norm is at most `maxNorm`. Returns the norm before clipping.
    @discardableResult
    @_specialize(exported: true, where T == Float)
    public static func clipByGlobalNorm<T>(_ parameters: [Parameter<T>], maxNorm: Double) -> Double {
        let norm = globalNorm(parameters)
        if norm > maxNorm, norm.isFinite {
            let s = T(maxNorm / norm)
            for p in parameters where p.trainable { Kernels.scaleInPlace(p.grad.ptr, by: s, count: p.count) }
        }
        return norm
    }

    /// Clamps every gradient value to [−limit, limit].
    @_specialize(exported: true, where T == Float)
    public static func clipByValue<T>(_ parameters: [Parameter<T>], limit: Double) {
        for p in parameters where p.trainable { Kernels.clamp(p.grad.ptr, count: p.count, limit: T(limit)) }
    }
}

/// Step decay: lr(step) = lr₀ · factor^⌊max(0, step − start) / every⌋.
public struct LearningRateSchedule: Codable, Equatable, Sendable {
    public var initial: Double
    public var factor: Double
    public var every: Int
    public var start: Int

    public init(initial: Double, factor: Double = 1, every: Int = 1000, start: Int = 0) {
        self.initial = initial; self.factor = factor; self.every = max(every, 1); self.start = max(start, 0)
    }

    public func rate(at step: Int) -> Double {
        guard factor != 1, step > start else { return initial }
        return initial * Double.pow(factor, Double((step - start) / every))
    }
}
