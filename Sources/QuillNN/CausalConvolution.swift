import QuillNumerics

/// A causal, dilated 1-D convolution over time (van den Oord et al. 2016, "WaveNet", §2.1; a time-delay neural
/// network when the dilation is 1):
///
///     y_t = b + Σ_{j=0}^{k−1} x_{t−j·d} · W_j
///
/// with kernel width k, dilation d, inputs x_t of width I and outputs y_t of width O. `weight` is (k·I, O): block j,
/// rows j·I ..< (j+1)·I, multiplies x_{t−j·d}, so block 0 reads the current step. Inputs before a stream's first step
/// are zero (the notes' padding symbol). The layer's state is its last `history` = (k − 1)·d inputs per stream,
/// carried from one window of steps to the next like a recurrent layer's h_t (`ConvolutionWorkspace`), so training
/// over consecutive windows and sampling one step at a time compute the same y_t as one pass over the whole stream.
public final class CausalConvolution<T: QuillScalar> {
    /// The prefix of its parameters' names (`name.w`, `name.b`).
    public let name: String
    public let inputSize: Int
    public let outputSize: Int
    /// k, at least 1.
    public let kernel: Int
    /// d, at least 1.
    public let dilation: Int
    /// (k·I, O)
    public let weight: Parameter<T>
    /// (O)
    public let bias: Parameter<T>

    /// Weights uniform in ±1/√(k·I) (PyTorch's `Conv1d` bound), biases zero; parameters named `name.w`, `name.b`.
    @_specialize(exported: true, where T == Float)
    public init(inputSize: Int, outputSize: Int, kernel: Int, dilation: Int, name: String, rng: inout SeededGenerator) {
        precondition(kernel >= 1 && dilation >= 1 && inputSize >= 1 && outputSize >= 1, "a convolution needs positive sizes")
        self.name = name
        self.inputSize = inputSize
        self.outputSize = outputSize
        self.kernel = kernel
        self.dilation = dilation
        let bound = 1 / Double(kernel * inputSize).squareRoot()
        let w = Tensor<T>([kernel * inputSize, outputSize])
        for i in 0..<w.count { w[i] = T((rng.uniform() * 2 - 1) * bound) }
        weight = Parameter("\(name).w", w)
        bias = Parameter("\(name).b", Tensor<T>([outputSize]))
    }

    public var parameters: [Parameter<T>] { [weight, bias] }

    /// Steps of input the layer keeps per stream: (k − 1)·d.
    public var history: Int { (kernel - 1) * dilation }

    /// x: (T, B, I), time-major, T = `ws.activeSteps` → y: (T, B, O). Keeps the input beside the carried history in
    /// `ws` for `backward` and `ConvolutionWorkspace.carryState`.
    @_specialize(exported: true, where T == Float)
    public func forward(_ x: UnsafePointer<T>, _ ws: ConvolutionWorkspace<T>, into y: UnsafeMutablePointer<T>) {
        let steps = ws.activeSteps, B = ws.batch, I = inputSize, O = outputSize, S = history
        (ws.inputs.ptr + S * B * I).update(from: x, count: steps * B * I)
        let rows = steps * B
        for r in 0..<rows { (y + r * O).update(from: bias.value.ptr, count: O) }
        for j in 0..<kernel {
            // x_{t−j·d} for t = 0 ..< steps: rows S − j·d ..< S − j·d + steps of the extended input.
            matmul(m: rows, n: O, k: I, a: ws.inputs.ptr + (S - j * dilation) * B * I, lda: I,
                   b: weight.value.ptr + j * I * O, ldb: O, beta: 1, c: y, ldc: O)
        }
    }

    /// Accumulates dW and db from dy (T, B, O) of the last `forward`; writes dx (T, B, I) when given. The gradient
    /// reaching the carried history (steps before this window) is dropped, as truncated backpropagation through time
    /// drops the gradient reaching a recurrent layer's carried state.
    @_specialize(exported: true, where T == Float)
    public func backward(_ ws: ConvolutionWorkspace<T>, dy: UnsafePointer<T>, dx: UnsafeMutablePointer<T>?) {
        let steps = ws.activeSteps, B = ws.batch, I = inputSize, O = outputSize, S = history
        let rows = steps * B
        for j in 0..<kernel {
            matmul(transA: true, m: I, n: O, k: rows, a: ws.inputs.ptr + (S - j * dilation) * B * I, lda: I,
                   b: dy, ldb: O, beta: 1, c: weight.grad.ptr + j * I * O, ldc: O)
        }
        Kernels.accumulateColumnSums(dy, rows: rows, cols: O, into: bias.grad.ptr)
        guard let dx else { return }
        dx.update(repeating: 0, count: rows * I)
        for j in 0..<kernel {
            // x_{t'} fed y_{t'+j·d}: for t' < steps − j·d.
            let shift = j * dilation
            guard shift < steps else { break }
            matmul(transB: true, m: (steps - shift) * B, n: I, k: O, a: dy + shift * B * O, lda: O,
                   b: weight.value.ptr + j * I * O, ldb: O, beta: 1, c: dx, ldc: I)
        }
    }
}

/// A `CausalConvolution`'s inputs for one (steps, batch) shape, after its carried history: ((k−1)·d + T, B, I),
/// time-major. The first (k−1)·d steps are the state a window starts from.
public final class ConvolutionWorkspace<T: QuillScalar> {
    /// The convolution's name (`CausalConvolution.name`).
    public let name: String
    public let steps: Int
    public var activeSteps: Int
    public let batch: Int
    public let width: Int
    public let history: Int
    let inputs: Tensor<T>

    @_specialize(exported: true, where T == Float)
    public init(layer: CausalConvolution<T>, steps: Int, batch: Int) {
        name = layer.name
        self.steps = steps
        activeSteps = steps
        self.batch = batch
        width = layer.inputSize
        history = layer.history
        inputs = Tensor([(layer.history + steps) * batch, layer.inputSize])
    }

    /// Values per stream of the carried state: history × width.
    public var stateWidth: Int { history * width }

    /// Makes the last `history` inputs of the last pass the state the next pass starts from.
    @_specialize(exported: true, where T == Float)
    public func carryState() {
        let n = history * batch * width, shift = activeSteps * batch * width
        guard n > 0, shift > 0 else { return }
        // Forward copy: the destination lies before the source, so overlapping runs copy correctly.
        let p = inputs.ptr
        for i in 0..<n { p[i] = p[i + shift] }
    }

    /// Zeroes the carried state (every stream starts over).
    @_specialize(exported: true, where T == Float)
    public func resetState() { inputs.ptr.update(repeating: 0, count: history * batch * width) }

    /// Zeroes one stream's carried state.
    @_specialize(exported: true, where T == Float)
    public func resetState(row b: Int) {
        for s in 0..<history { (inputs.ptr + (s * batch + b) * width).update(repeating: 0, count: width) }
    }

    /// The carried state, (B, history·width): stream b's inputs from the oldest step on.
    @_specialize(exported: true, where T == Float)
    public func state() -> [T] {
        var out = [T](repeating: 0, count: batch * stateWidth)
        for b in 0..<batch {
            for s in 0..<history {
                for i in 0..<width { out[b * stateWidth + s * width + i] = inputs[(s * batch + b) * width + i] }
            }
        }
        return out
    }

    /// Sets the carried state from `state`'s layout, (B, history·width).
    @_specialize(exported: true, where T == Float)
    public func setState(_ values: [T]) {
        precondition(values.count == batch * stateWidth, "a convolution state of the wrong size")
        for b in 0..<batch {
            for s in 0..<history {
                for i in 0..<width { inputs[(s * batch + b) * width + i] = values[b * stateWidth + s * width + i] }
            }
        }
    }

    /// Stream b takes stream order[b]'s carried state (beam search).
    @_specialize(exported: true, where T == Float)
    public func reorderState(_ order: [Int]) {
        let copy = state()
        var out = copy
        for (b, src) in order.enumerated() {
            for i in 0..<stateWidth { out[b * stateWidth + i] = copy[src * stateWidth + i] }
        }
        setState(out)
    }
}
