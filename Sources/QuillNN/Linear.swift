import QuillNumerics

/// A fully connected layer `y = x·W + b`. W is (inputSize, outputSize).
public final class Linear<T: QuillScalar> {
    public let inputSize: Int
    public let outputSize: Int
    public let weight: Parameter<T>
    public let bias: Parameter<T>

    /// Uniform initialisation in ±1/√inputSize (as PyTorch).
    @_specialize(exported: true, where T == Float)
    public init(inputSize: Int, outputSize: Int, name: String, rng: inout SeededGenerator) {
        self.inputSize = inputSize
        self.outputSize = outputSize
        let bound = 1 / Double(max(inputSize, 1)).squareRoot()
        let w = Tensor<T>([inputSize, outputSize])
        for i in 0..<w.count { w[i] = T((rng.uniform() * 2 - 1) * bound) }
        let b = Tensor<T>([outputSize])
        for i in 0..<b.count { b[i] = T((rng.uniform() * 2 - 1) * bound) }
        weight = Parameter("\(name).w", w)
        bias = Parameter("\(name).b", b)
    }

    public var parameters: [Parameter<T>] { [weight, bias] }

    /// x: (N, inputSize) → y: (N, outputSize).
    @_specialize(exported: true, where T == Float)
    public func forward(_ x: UnsafePointer<T>, rows N: Int, into y: UnsafeMutablePointer<T>) {
        matmul(m: N, n: outputSize, k: inputSize, a: x, lda: inputSize, b: weight.value.ptr, ldb: outputSize,
               c: y, ldc: outputSize)
        Kernels.addRowVector(y, rows: N, cols: outputSize, bias.value.ptr)
    }

    /// Accumulates dW, db; writes dx (N, inputSize) when given (overwriting, or adding when `accumulate`).
    @_specialize(exported: true, where T == Float)
    public func backward(_ x: UnsafePointer<T>, rows N: Int, dy: UnsafePointer<T>,
                         dx: UnsafeMutablePointer<T>?, accumulate: Bool = false) {
        matmul(transA: true, m: inputSize, n: outputSize, k: N, a: x, lda: inputSize, b: dy, ldb: outputSize,
               beta: 1, c: weight.grad.ptr, ldc: outputSize)
        Kernels.accumulateColumnSums(dy, rows: N, cols: outputSize, into: bias.grad.ptr)
        if let dx {
            matmul(transB: true, m: N, n: inputSize, k: outputSize, a: dy, lda: outputSize,
                   b: weight.value.ptr, ldb: outputSize, beta: accumulate ? 1 : 0, c: dx, ldc: inputSize)
        }
    }
}

/// A token embedding table (V, E). With `oneHot`, the table is the fixed identity (E = V), which is exactly a one-hot
/// input, and it is not trained.
public final class Embedding<T: QuillScalar> {
    public let vocabularySize: Int
    public let dimension: Int
    public let table: Parameter<T>

    @_specialize(exported: true, where T == Float)
    public init(vocabularySize V: Int, dimension: Int?, name: String, rng: inout SeededGenerator) {
        vocabularySize = V
        if let E = dimension, E > 0 {
            self.dimension = E
            let t = Tensor<T>([V, E])
            for i in 0..<t.count { t[i] = T(rng.normal()) }
            table = Parameter("\(name).table", t)
        } else {
            self.dimension = V
            let t = Tensor<T>([V, V])
            for i in 0..<V { t[i * V + i] = 1 }
            table = Parameter("\(name).table", t, trainable: false)
        }
    }

    public var isOneHot: Bool { !table.trainable }

    /// tokens: N indices in 0..<V → out: (N, E).
    @_specialize(exported: true, where T == Float)
    public func forward(_ tokens: UnsafePointer<Int32>, count N: Int, into out: UnsafeMutablePointer<T>) {
        let E = dimension
        for n in 0..<N {
            (out + n * E).update(from: table.value.ptr + Int(tokens[n]) * E, count: E)
        }
    }

    /// Scatters dOut (N, E) into the table's gradient (skipped for one-hot).
    @_specialize(exported: true, where T == Float)
    public func backward(_ tokens: UnsafePointer<Int32>, count N: Int, dOut: UnsafePointer<T>) {
        guard table.trainable else { return }
        let E = dimension
        for n in 0..<N {
            Kernels.add(dOut + n * E, into: table.grad.ptr + Int(tokens[n]) * E, count: E)
        }
    }
}
