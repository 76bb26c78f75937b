import QuillNumerics

/// Graves's output layer for pen offsets (eqs. 17–26): a linear map from the network's output to the raw mixture
/// parameters ŷ = (ê, π̂, μ̂₁, μ̂₂, σ̂₁, σ̂₂, ρ̂), 1 + 6M per row, and the `MixtureDensity` over them.
public final class MixtureHead<T: QuillScalar> {
    public let density: MixtureDensity
    /// ŷ = x·W + b: W is (inputSize, 1 + 6M).
    public let linear: Linear<T>

    @_specialize(exported: true, where T == Float)
    public init(inputSize: Int, density: MixtureDensity, name: String, rng: inout SeededGenerator) {
        self.density = density
        linear = Linear(inputSize: inputSize, outputSize: density.outputSize, name: name, rng: &rng)
    }

    public var parameters: [Parameter<T>] { linear.parameters }
    /// 1 + 6M.
    public var outputSize: Int { linear.outputSize }

    /// ŷ (eq. 17). x: (N, inputSize) → y: (N, 1 + 6M).
    @_specialize(exported: true, where T == Float)
    public func forward(_ x: UnsafePointer<T>, rows N: Int, into y: UnsafeMutablePointer<T>) {
        linear.forward(x, rows: N, into: y)
    }

    /// The negative log-likelihood of `targets` (N, 3) under ŷ, summed over rows with mask 1, and `scale · ∂L/∂ŷ`
    /// into `dy` when given (eqs. 26–32; `MixtureDensity.loss`). Returns (total, offsets, end of stroke) in nats.
    @_specialize(exported: true, where T == Float)
    public func loss(_ y: UnsafePointer<T>, targets: UnsafePointer<T>, mask: UnsafePointer<T>?, rows N: Int,
                     dy: UnsafeMutablePointer<T>?, scale: T = 1) -> (total: Double, offsets: Double, endOfStroke: Double) {
        density.loss(y, targets: targets, mask: mask, rows: N, dy: dy, scale: scale)
    }

    /// Accumulates dW and db from dy (N, 1 + 6M); writes dx (N, inputSize) when given.
    @_specialize(exported: true, where T == Float)
    public func backward(_ x: UnsafePointer<T>, rows N: Int, dy: UnsafePointer<T>, dx: UnsafeMutablePointer<T>?) {
        linear.backward(x, rows: N, dy: dy, dx: dx)
    }
}
