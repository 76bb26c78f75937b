import QuillNumerics

/// A feed-forward sequence model built from `CausalConvolution`s: the n-NN and TCN baselines of note 003.
public enum ConvolutionArchitecture: Equatable, Sendable {
    /// The n-NN (a time-delay network, Bengio et al. 2003's neural n-gram without shared word features): layer 1 reads
    /// the last `context` inputs, h¹_t = tanh(b + Σ_{j<N} x_{t−j}·W_j), and each further layer is fully connected,
    /// hⁿ_t = tanh(b + hⁿ⁻¹_t·W). The prediction of x_{t+1} depends on x_{t−N+1} … x_t only.
    case nnn(context: Int)
    /// A WaveNet-style temporal convolutional network (van den Oord et al. 2016, §2.1–2.4; Bai et al. 2018): an input
    /// projection r⁰_t = b + x_t·W, then one block per dilation d_l,
    ///     z_t = tanh(W_f ∗_{d_l} r) ⊙ σ(W_g ∗_{d_l} r)    (kernel 2: r_t and r_{t−d_l}),
    ///     r^{l+1}_t = r^l_t + b + z_t·W_res,    s^l_t = b + z_t·W_skip,
    /// and the output relu(Σ_l s^l_t). The last block has no residual projection (nothing reads it).
    case tcn(dilations: [Int])

    /// Steps of input a prediction depends on, the current one included: N for the n-NN, 1 + Σ d_l for the TCN.
    public var receptiveField: Int {
        switch self {
        case .nnn(let n): return n
        case .tcn(let d): return 1 + d.reduce(0, +)
        }
    }
}

/// The layers of a `ConvolutionArchitecture` over inputs of width I with H units (n-NN) or residual channels (TCN).
/// The counterpart of `RecurrentStack` for feed-forward models: forward over a window of steps from a carried state,
/// backward with truncated gradients, and the state carried, reset and reordered per stream.
public final class ConvolutionStack<T: QuillScalar> {
    public let architecture: ConvolutionArchitecture
    public let inputSize: Int
    public let hiddenSize: Int
    /// n-NN: its layers in order (layer 1 with kernel N). TCN: the input projection, then per block its gate
    /// convolution (kernel 2, H → 2H: filter then gate), its skip projection and (but the last) its residual one.
    public let convolutions: [CausalConvolution<T>]
    let layerCount: Int

    /// n-NN layers are named `name.N`; the TCN's `name.in`, `name.N.gate`, `name.N.skip`, `name.N.res`. Initialised
    /// in that order from `rng`.
    @_specialize(exported: true, where T == Float)
    public init(architecture: ConvolutionArchitecture, inputSize: Int, hiddenSize: Int, layers: Int, name: String,
                rng: inout SeededGenerator) {
        self.architecture = architecture
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        let H = hiddenSize
        var cs = [CausalConvolution<T>]()
        switch architecture {
        case .nnn(let context):
            precondition(layers >= 1 && context >= 1, "an n-NN needs a layer and a context")
            layerCount = layers
            for n in 0..<layers {
                cs.append(CausalConvolution(inputSize: n == 0 ? inputSize : H, outputSize: H, kernel: n == 0 ? context : 1,
                                            dilation: 1, name: "\(name).\(n)", rng: &rng))
            }
        case .tcn(let dilations):
            precondition(!dilations.isEmpty && dilations.allSatisfy { $0 >= 1 }, "a TCN needs positive dilations")
            layerCount = dilations.count
            cs.append(CausalConvolution(inputSize: inputSize, outputSize: H, kernel: 1, dilation: 1, name: "\(name).in",
                                        rng: &rng))
            for (l, d) in dilations.enumerated() {
                cs.append(CausalConvolution(inputSize: H, outputSize: 2 * H, kernel: 2, dilation: d,
                                            name: "\(name).\(l).gate", rng: &rng))
                cs.append(CausalConvolution(inputSize: H, outputSize: H, kernel: 1, dilation: 1, name: "\(name).\(l).skip",
                                            rng: &rng))
                if l < dilations.count - 1 {
                    cs.append(CausalConvolution(inputSize: H, outputSize: H, kernel: 1, dilation: 1,
                                                name: "\(name).\(l).res", rng: &rng))
                }
            }
        }
        convolutions = cs
    }

    /// Width of the output: H.
    public var outputSize: Int { hiddenSize }

    public var parameters: [Parameter<T>] { convolutions.flatMap(\.parameters) }

    /// `backward` reports all its parameters final at once, at its end.
    public var gradientGroups: [[Parameter<T>]] { [parameters] }

    /// The TCN's block l: its gate, skip and (but the last) residual convolutions.
    private func block(_ l: Int) -> (gate: CausalConvolution<T>, skip: CausalConvolution<T>, res: CausalConvolution<T>?) {
        let first = 1 + 3 * l
        return (convolutions[first], convolutions[first + 1], l < layerCount - 1 ? convolutions[first + 2] : nil)
    }

    @_specialize(exported: true, where T == Float)
    public func makeWorkspace(steps: Int, batch: Int) -> ConvolutionStackWorkspace<T> {
        ConvolutionStackWorkspace(stack: self, steps: steps, batch: batch)
    }

    // MARK: - Forward

    /// Forward over `ws.activeSteps` steps from the carried state. x: (T, B, inputSize) → `output(ws)`, (T, B, H).
    @_specialize(exported: true, where T == Float)
    public func forward(_ x: UnsafePointer<T>, _ ws: ConvolutionStackWorkspace<T>) {
        let rows = ws.activeSteps * ws.batch, H = hiddenSize
        ws.convolutions.forEach { $0.activeSteps = ws.activeSteps }
        switch architecture {
        case .nnn:
            var input = x
            for (n, conv) in convolutions.enumerated() {
                let h = ws.values[n].ptr
                conv.forward(input, ws.convolutions[n], into: h)
                Kernels.tanhInPlace(h, count: rows * H)
                input = UnsafePointer(h)
            }
        case .tcn:
            // values: r⁰ … r^{L−1} (L), then per block pre-activations a (2H), tanh part, sigmoid part, z.
            convolutions[0].forward(x, ws.convolutions[0], into: ws.residual(0))
            let sum = ws.skipSum.ptr
            sum.update(repeating: 0, count: rows * H)
            for l in 0..<layerCount {
                let (gate, skip, res) = block(l)
                let a = ws.preactivations(l), th = ws.tanhPart(l), sg = ws.sigmoidPart(l), z = ws.gated(l)
                gate.forward(ws.residual(l), ws.convolutions[1 + 3 * l], into: a)
                for r in 0..<rows {
                    Kernels.tanh(a + r * 2 * H, into: th + r * H, count: H)
                    Kernels.sigmoid(a + r * 2 * H + H, into: sg + r * H, count: H)
                }
                Kernels.multiply(th, sg, into: z, count: rows * H)
                let s = ws.scratch.ptr
                skip.forward(z, ws.convolutions[2 + 3 * l], into: s)
                Kernels.add(s, into: sum, count: rows * H)
                if let res {
                    let next = ws.residual(l + 1)
                    res.forward(z, ws.convolutions[3 + 3 * l], into: next)
                    Kernels.add(ws.residual(l), into: next, count: rows * H)
                }
            }
            let out = ws.out.ptr
            for i in 0..<(rows * H) { out[i] = Swift.max(sum[i], 0) }
        }
    }

    /// The output of the last `forward`: (T, B, H).
    @_specialize(exported: true, where T == Float)
    public func output(_ ws: ConvolutionStackWorkspace<T>) -> UnsafeMutablePointer<T> {
        switch architecture {
        case .nnn: return ws.values[layerCount - 1].ptr
        case .tcn: return ws.out.ptr
        }
    }

    // MARK: - Backward

    /// Backward over the steps of the last `forward`; gradients accumulate. dOut: (T, B, H); dx: (T, B, inputSize),
    /// overwritten, or nil. `ready` hears of `parameters` once their gradients are final.
    @_specialize(exported: true, where T == Float)
    public func backward(_ ws: ConvolutionStackWorkspace<T>, dOut: UnsafePointer<T>, dx: UnsafeMutablePointer<T>?) {
        let rows = ws.activeSteps * ws.batch, H = hiddenSize
        switch architecture {
        case .nnn:
            let dh = ws.dA.ptr, dBelow = ws.dB.ptr
            dh.update(from: dOut, count: rows * H)
            for n in stride(from: layerCount - 1, through: 0, by: -1) {
                let h = ws.values[n].ptr
                // tanh'(a) = 1 − h².
                for i in 0..<(rows * H) { dh[i] *= 1 - h[i] * h[i] }
                convolutions[n].backward(ws.convolutions[n], dy: dh, dx: n > 0 ? dBelow : dx)
                if n > 0 { dh.update(from: dBelow, count: rows * H) }
            }
        case .tcn:
            let sum = ws.skipSum.ptr, dSum = ws.dSum.ptr, dr = ws.dA.ptr, dz = ws.dB.ptr, tmp = ws.scratch.ptr
            let da = ws.dGate.ptr
            for i in 0..<(rows * H) { dSum[i] = sum[i] > 0 ? dOut[i] : 0 }
            dr.update(repeating: 0, count: rows * H)
            for l in stride(from: layerCount - 1, through: 0, by: -1) {
                let (gate, skip, res) = block(l)
                skip.backward(ws.convolutions[2 + 3 * l], dy: dSum, dx: dz)
                if let res {
                    // dr holds ∂L/∂r^{l+1}: it reaches z through W_res.
                    res.backward(ws.convolutions[3 + 3 * l], dy: dr, dx: tmp)
                    Kernels.add(tmp, into: dz, count: rows * H)
                }
                let th = ws.tanhPart(l), sg = ws.sigmoidPart(l)
                for r in 0..<rows {
                    for j in 0..<H {
                        let i = r * H + j, g = dz[i], t = th[i], s = sg[i]
                        da[r * 2 * H + j] = g * s * (1 - t * t)
                        da[r * 2 * H + H + j] = g * t * s * (1 - s)
                    }
                }
                gate.backward(ws.convolutions[1 + 3 * l], dy: da, dx: tmp)
                // ∂L/∂r^l = ∂L/∂r^{l+1} (the identity path) + what the gate convolution passes back.
                Kernels.add(tmp, into: dr, count: rows * H)
            }
            convolutions[0].backward(ws.convolutions[0], dy: dr, dx: dx)
        }
    }
}

/// Activations of a `ConvolutionStack` for one (steps, batch) shape, and the state carried between windows: each
/// convolution's last (k − 1)·d inputs per stream.
public final class ConvolutionStackWorkspace<T: QuillScalar> {
    public let steps: Int
    public var activeSteps: Int
    public let batch: Int
    public let convolutions: [ConvolutionWorkspace<T>]
    /// n-NN: each layer's h (T, B, H). TCN: the residual stream r^l entering each block (T, B, H), then per block
    /// a (T, B, 2H), tanh(a_f), σ(a_g) and z (T, B, H each).
    let values: [Tensor<T>]
    let layerCount: Int
    /// TCN: Σ_l s^l (T, B, H) and its relu.
    let skipSum: Tensor<T>
    let out: Tensor<T>
    let dSum: Tensor<T>
    let dGate: Tensor<T>
    /// Gradient buffers (T, B, H).
    let dA: Tensor<T>
    let dB: Tensor<T>
    let scratch: Tensor<T>

    init(stack: ConvolutionStack<T>, steps: Int, batch: Int) {
        self.steps = steps
        activeSteps = steps
        self.batch = batch
        let rows = steps * batch, H = stack.hiddenSize
        convolutions = stack.convolutions.map { ConvolutionWorkspace(layer: $0, steps: steps, batch: batch) }
        layerCount = stack.layerCount
        let tcn: Bool
        switch stack.architecture {
        case .nnn:
            tcn = false
            values = (0..<stack.layerCount).map { _ in Tensor([rows, H]) }
        case .tcn:
            tcn = true
            values = (0..<stack.layerCount).map { _ in Tensor([rows, H]) }
                + (0..<stack.layerCount).flatMap { _ in
                    [Tensor<T>([rows, 2 * H]), Tensor<T>([rows, H]), Tensor<T>([rows, H]), Tensor<T>([rows, H])]
                }
        }
        let small = [0]
        skipSum = tcn ? Tensor([rows, H]) : Tensor(small)
        out = tcn ? Tensor([rows, H]) : Tensor(small)
        dSum = tcn ? Tensor([rows, H]) : Tensor(small)
        dGate = tcn ? Tensor([rows, 2 * H]) : Tensor(small)
        dA = Tensor([rows, H])
        dB = Tensor([rows, H])
        scratch = tcn ? Tensor([rows, H]) : Tensor(small)
    }

    func residual(_ l: Int) -> UnsafeMutablePointer<T> { values[l].ptr }
    func preactivations(_ l: Int) -> UnsafeMutablePointer<T> { values[layerCount + 4 * l].ptr }
    func tanhPart(_ l: Int) -> UnsafeMutablePointer<T> { values[layerCount + 4 * l + 1].ptr }
    func sigmoidPart(_ l: Int) -> UnsafeMutablePointer<T> { values[layerCount + 4 * l + 2].ptr }
    func gated(_ l: Int) -> UnsafeMutablePointer<T> { values[layerCount + 4 * l + 3].ptr }

    /// Carries every convolution's last inputs to the next window of steps.
    @_specialize(exported: true, where T == Float)
    public func carryState() { convolutions.forEach { $0.activeSteps = activeSteps; $0.carryState() } }
    /// Every stream starts over: zero inputs before the next step.
    @_specialize(exported: true, where T == Float)
    public func resetState() { convolutions.forEach { $0.resetState() } }
    /// One stream starts over.
    @_specialize(exported: true, where T == Float)
    public func resetState(row b: Int) { convolutions.forEach { $0.resetState(row: b) } }
    /// Stream b takes stream order[b]'s state (beam search).
    @_specialize(exported: true, where T == Float)
    public func reorderState(_ order: [Int]) { convolutions.forEach { $0.reorderState(order) } }
    /// The carried state of each convolution that has one (kernel > 1), (B, history·width) each.
    @_specialize(exported: true, where T == Float)
    public func states() -> [[T]] { convolutions.filter { $0.history > 0 }.map { $0.state() } }
    /// Sets what `states` returned.
    @_specialize(exported: true, where T == Float)
    public func setStates(_ s: [[T]]) { zip(convolutions.filter { $0.history > 0 }, s).forEach { $0.setState($1) } }
}
