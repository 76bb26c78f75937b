/// A named trainable tensor and the gradient that backward passes accumulate into.
///
/// Names are the checkpoint's tensor names (for example `lstm.0.wx`), so a parameter list is also the checkpoint's
/// table of contents. `trainable == false` marks tensors that optimisers skip (a frozen one-hot embedding).
public final class Parameter<T: QuillScalar> {
    public let name: String
    public let value: Tensor<T>
    public let grad: Tensor<T>
    public var trainable: Bool
    /// The range every value must stay in (a Phased LSTM's ln τ), or nil: training clamps to it after each
    /// optimiser step (`clampToBounds`), and checkpoints holding values outside it are refused.
    public var valueBounds: ClosedRange<Double>?

    @_specialize(exported: true, where T == Float)
    public init(_ name: String, _ value: Tensor<T>, trainable: Bool = true) {
        self.name = name
        self.value = value
        self.grad = Tensor<T>(value.shape)
        self.trainable = trainable
    }

    public var shape: [Int] { value.shape }
    public var count: Int { value.count }

    /// Clamps every value into `valueBounds` (nothing when there are none), rounding inward: a bound that T cannot
    /// hold exactly (Float(ln 10⁻³) lies below ln 10⁻³) becomes the nearest T inside it, so that what training
    /// saves passes `allows`.
    @_specialize(exported: true, where T == Float)
    public func clampToBounds() {
        guard let b = valueBounds else { return }
        for i in 0..<count {
            var v = T(Swift.min(Swift.max(Double(value[i]), b.lowerBound), b.upperBound))
            if Double(v) < b.lowerBound { v = v.nextUp }
            if Double(v) > b.upperBound { v = v.nextDown }
            value[i] = v
        }
    }

    /// Whether `v` may be loaded into this parameter: inside `valueBounds` (always, when there are none), or equal
    /// to a bound as rounded to T, which checkpoints saved before `clampToBounds` rounded inward hold.
    @_specialize(exported: true, where T == Float)
    public func allows(_ v: T) -> Bool {
        guard let b = valueBounds else { return true }
        return b.contains(Double(v)) || v == T(b.lowerBound) || v == T(b.upperBound)
    }
}

extension Array {
    /// Zeroes every gradient in a parameter list.
    @_specialize(exported: true, where T == Float)
    public func zeroGradients<T>() where Element == Parameter<T> {
        for p in self { p.grad.zero() }
    }

    /// The number of scalars in a parameter list.
    @_specialize(exported: true, where T == Float)
    public func scalarCount<T>() -> Int where Element == Parameter<T> {
        reduce(0) { $0 + $1.count }
    }
}

/// What a backward pass tells its caller while it runs, so that data-parallel training can start summing the
/// gradients of the layers it has finished while it computes the layers below (`GradientBuckets` in QuillModels).
///
/// A backward pass calls `ready` once per group of parameters whose gradients it will not touch again, in the order
/// of the model's `gradientGroups` (the output layer first, then the recurrent layers from the top), and `progress`
/// now and then inside long stretches (every step of a step-by-step layer), where the caller may let its
/// communication move on. Both run on the thread that called the backward pass, between kernels, never inside one.
public struct GradientHooks<T: QuillScalar> {
    /// Called with a group of parameters whose gradients are final for this pass.
    public var ready: ([Parameter<T>]) -> Void
    /// Called between steps of a long layer; may do nothing.
    public var progress: () -> Void
    /// When set, called by a recurrent stack's backward pass with the gradient reaching each layer's h_t just before
    /// that layer's step t consumes it, as (layer from 0, t from 0, carried, external): ∂L/∂h_t is the sum of
    /// `carried` (B, H), through the layer's recurrence from step t + 1, and `external` (B, H; nil for zero), from
    /// the layers above, the stack's output and a window. Layers are visited from the top, steps from the last.
    /// For inspection (`GradientFlow`); training leaves it nil.
    public var hiddenGradient: ((_ layer: Int, _ t: Int, _ carried: UnsafePointer<T>, _ external: UnsafePointer<T>?) -> Void)?

    @_specialize(exported: true, where T == Float)
    public init(ready: @escaping ([Parameter<T>]) -> Void, progress: @escaping () -> Void = {}) {
        self.ready = ready
        self.progress = progress
    }
}
