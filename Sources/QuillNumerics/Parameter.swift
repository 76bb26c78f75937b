/// A named trainable tensor and the gradient that backward passes accumulate into.
///
/// Names are the checkpoint's tensor names (for example `lstm.0.wx`), so a parameter list is also the checkpoint's
/// table of contents. `trainable == false` marks tensors that optimisers skip (a frozen one-hot embedding).
public final class Parameter<T: QuillScalar> {
    public let name: String
    public let value: Tensor<T>
    public let grad: Tensor<T>
    public var trainable: Bool

    public init(_ name: String, _ value: Tensor<T>, trainable: Bool = true) {
        self.name = name
        self.value = value
        self.grad = Tensor<T>(value.shape)
        self.trainable = trainable
    }

    public var shape: [Int] { value.shape }
    public var count: Int { value.count }
}

extension Array {
    /// Zeroes every gradient in a parameter list.
    public func zeroGradients<T>() where Element == Parameter<T> {
        for p in self { p.grad.zero() }
    }

    /// The number of scalars in a parameter list.
    public func scalarCount<T>() -> Int where Element == Parameter<T> {
        reduce(0) { $0 + $1.count }
    }
}
