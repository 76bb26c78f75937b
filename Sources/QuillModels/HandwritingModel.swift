import QuillNN
import QuillNumerics

/// Which of Graves's handwriting networks a model is.
public enum HandwritingKind: String, Codable, Sendable {
    /// Section 4: unconditional handwriting prediction.
    case prediction
    /// Section 5: handwriting conditioned on text through a soft window.
    case synthesis
}

/// The architecture of a handwriting network, saved in every checkpoint.
public struct HandwritingConfig: Codable, Equatable, Sendable {
    public var kind: HandwritingKind
    /// Stacked LSTM layers (Graves: 3).
    public var layers: Int
    /// Units per layer (Graves: 400).
    public var hidden: Int
    /// The mixture-density output: M components, σ floor, ρ bound.
    public var mixture: MixtureDensity
    /// Synthesis: Gaussians in the soft window (Graves: K = 10).
    public var windowComponents: Int
    /// Synthesis: scale s of the window step, κ_t = κ_{t−1} + s·exp κ̂ (see `SoftWindow`).
    public var kappaScale: Double
    /// Synthesis: the alphabet size (characters are one-hot inside the window); 0 until the data sets it.
    public var alphabetSize: Int
    /// Graves's peephole connections in every LSTM layer (eqs. 7–11); off by default, as in most reimplementations.
    public var peepholes: Bool

    public init(kind: HandwritingKind, layers: Int = 3, hidden: Int = 400, mixture: MixtureDensity = MixtureDensity(),
                windowComponents: Int = 10, kappaScale: Double = 1.0 / 25, alphabetSize: Int = 0,
                peepholes: Bool = false) {
        self.kind = kind; self.layers = layers; self.hidden = hidden; self.mixture = mixture
        self.windowComponents = windowComponents; self.kappaScale = kappaScale; self.alphabetSize = alphabetSize
        self.peepholes = peepholes
    }

    private enum CodingKeys: String, CodingKey {
        case kind, layers, hidden, mixture, windowComponents, kappaScale, alphabetSize, peepholes
    }

    /// Checkpoints written before peepholes existed have no `peepholes` field: they are plain LSTMs.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        kind = try c.decode(HandwritingKind.self, forKey: .kind)
        layers = try c.decode(Int.self, forKey: .layers)
        hidden = try c.decode(Int.self, forKey: .hidden)
        mixture = try c.decode(MixtureDensity.self, forKey: .mixture)
        windowComponents = try c.decode(Int.self, forKey: .windowComponents)
        kappaScale = try c.decode(Double.self, forKey: .kappaScale)
        alphabetSize = try c.decode(Int.self, forKey: .alphabetSize)
        peepholes = try c.decodeIfPresent(Bool.self, forKey: .peepholes) ?? false
    }

    public func validate() -> String? {
        if !(1...16).contains(layers) { return "--layers must be between 1 and 16, got \(layers)" }
        if !(1...8192).contains(hidden) { return "--hidden must be between 1 and 8192, got \(hidden)" }
        if let m = mixture.validate() { return m }
        if kind == .synthesis {
            if !(1...100).contains(windowComponents) { return "--window must be between 1 and 100, got \(windowComponents)" }
            if !(kappaScale > 0 && kappaScale <= 10) { return "kappa scale must be in (0, 10], got \(kappaScale)" }
            if !(0...1_114_112).contains(alphabetSize) { return "the alphabet size must be between 0 and 1114112, got \(alphabetSize)" }
        }
        return nil
    }
}

/// Graves's handwriting networks: stacked LSTMs with skip connections and a mixture-density output; with a soft
/// window over the text for synthesis.
///
/// Layer inputs (eqs. 1–3 and 52–53): layer 1 reads [x_t] for prediction, [x_t, w_{t−1}] for synthesis; layer n > 1
/// reads [x_t, hⁿ⁻¹_t] plus w_t for synthesis. The window (eqs. 46–51) reads h¹_t. The output reads every layer.
/// Layers 2…N run in sequence mode (one GEMM per layer for all input projections) because only layer 1 and the
/// window form a recurrence with each other.
public final class HandwritingModel<T: QuillScalar> {
    public let config: HandwritingConfig
    public let layers: [RecurrentLayer<T>]
    public let window: SoftWindow<T>?
    public let output: Linear<T>
    public var mixture: MixtureDensity { config.mixture }
    /// When set, `trainStep` adds the time of each of its phases here (`quill bench handwriting --profile`).
    public var profile: PhaseProfile?

    public init(config: HandwritingConfig, rng: inout SeededGenerator) {
        self.config = config
        let H = config.hidden
        let V = config.kind == .synthesis ? config.alphabetSize : 0
        var ls = [RecurrentLayer<T>]()
        for n in 0..<config.layers {
            let input = n == 0 ? 3 + V : 3 + H + V
            ls.append(RecurrentLayer(kind: .lstm, inputSize: input, hiddenSize: H, name: "lstm.\(n)",
                                     peepholes: config.peepholes, rng: &rng))
        }
        layers = ls
        window = config.kind == .synthesis
            ? SoftWindow(components: config.windowComponents, inputSize: H, vocabularySize: V,
                         kappaScale: config.kappaScale, name: "window", rng: &rng)
            : nil
        output = Linear(inputSize: config.layers * H, outputSize: config.mixture.outputSize, name: "output", rng: &rng)
    }

    public var parameters: [Parameter<T>] {
        layers.flatMap(\.parameters) + (window?.parameters ?? []) + output.parameters
    }

    /// Graves's clip of the LSTM pre-activation derivatives (he uses 10); nil for none.
    public func setPreactivationGradientClip(_ clip: T?) { layers.forEach { $0.preactivationGradientClip = clip } }

    public func makeWorkspace(steps: Int, batch: Int, maxTextLength: Int = 1) -> HandwritingWorkspace<T> {
        HandwritingWorkspace(model: self, steps: steps, batch: batch, maxTextLength: maxTextLength)
    }

    var alphabetWidth: Int { window?.vocabularySize ?? 0 }

    // MARK: - Forward

    /// Forward over `ws.activeSteps` steps from the workspace's current state. Inputs are `ws.inputs` (T, B, 3);
    /// the raw mixture outputs land in `ws.y` (T, B, 1 + 6M).
    public func forward(_ ws: HandwritingWorkspace<T>) {
        let steps = ws.activeSteps, B = ws.batch, H = config.hidden, V = alphabetWidth
        let l1 = ws.layers[0]
        l1.activeSteps = steps
        profile?.begin()
        if let window, let wws = ws.window {
            let in1 = 3 + V
            layers[0].beginForward(l1, steps: steps)
            // With the fused kernels on both cores, the small per-step products run on one BLAS thread.
            Self.blasThreads(single: l1.fusedForward) {
                for t in 0..<steps {
                    let x1 = ws.layerInputs[0].ptr + t * B * in1
                    Kernels.copyRows(rows: B, width: 3, from: ws.inputs.ptr + t * B * 3, srcStride: 3, to: x1,
                                     dstStride: in1)
                    Kernels.copyRows(rows: B, width: V, from: window.window(at: t - 1, wws), srcStride: V,
                                     to: x1 + 3, dstStride: in1)
                    layers[0].project(x1, rows: B, into: l1.preactivations(at: t))
                    layers[0].step(t, l1)
                    window.forwardStep(t, h: l1.hStep(t + 1), wws)
                }
            }
        } else {
            layers[0].forward(ws.inputs.ptr, l1, steps: steps)
        }
        profile?.lap(window == nil ? "forward layer 1" : "forward layer 1 + window")
        for n in 1..<layers.count {
            let inW = 3 + H + V, x = ws.layerInputs[n].ptr, rows = steps * B
            Kernels.copyRows(rows: rows, width: 3, from: ws.inputs.ptr, srcStride: 3, to: x, dstStride: inW)
            Kernels.copyRows(rows: rows, width: H, from: ws.layers[n - 1].outputs, srcStride: H, to: x + 3, dstStride: inW)
            if let wws = ws.window {
                Kernels.copyRows(rows: rows, width: V, from: wws.w.ptr + B * V, srcStride: V, to: x + 3 + H, dstStride: inW)
            }
            ws.layers[n].activeSteps = steps
            layers[n].forward(x, ws.layers[n], steps: steps)
        }
        profile?.lap("forward layers 2…N")
        let N = layers.count, rows = steps * B
        for n in 0..<N {
            Kernels.copyRows(rows: rows, width: H, from: ws.layers[n].outputs, srcStride: H,
                             to: ws.concat.ptr + n * H, dstStride: N * H)
        }
        output.forward(ws.concat.ptr, rows: rows, into: ws.y.ptr)
        profile?.lap("forward output")
    }

    static func blasThreads(single: Bool, _ body: () -> Void) {
        if single { BLASInfo.singleThreaded(body) } else { body() }
    }

    // MARK: - Loss and backward

    /// Forward, the mixture NLL of `ws.targets` under `ws.mask`, and backward into the gradients (which accumulate).
    /// Gradients are of the NLL summed over time and averaged over the batch's sequences (Graves's per-sequence
    /// loss). `outputClip` clamps ∂L/∂ŷ (Graves: 100). Returns the summed NLL (nats) and its parts.
    public func trainStep(_ ws: HandwritingWorkspace<T>, outputClip: T?) -> (total: Double, offsets: Double, endOfStroke: Double) {
        forward(ws)
        let steps = ws.activeSteps, B = ws.batch, H = config.hidden, V = alphabetWidth, N = layers.count
        let rows = steps * B
        let loss = mixture.loss(ws.y.ptr, targets: ws.targets.ptr, mask: ws.mask.ptr, rows: rows, dy: ws.dy.ptr,
                                scale: 1 / Swift.max(T(ws.sequenceCount), 1))
        if let c = outputClip { Kernels.clamp(ws.dy.ptr, count: rows * mixture.outputSize, limit: c) }
        profile?.lap("mixture loss + gradient")
        output.backward(ws.concat.ptr, rows: rows, dy: ws.dy.ptr, dx: ws.dConcat.ptr)
        profile?.lap("backward output")

        // Layers N…2 in sequence mode; collect the gradients their inputs pass to h^{n−1} and to w.
        let dh = ws.dh.ptr
        ws.dWindow?.zero()
        for n in stride(from: N - 1, through: 0, by: -1) {
            Kernels.copyRows(rows: rows, width: H, from: ws.dConcat.ptr + n * H, srcStride: N * H, to: dh, dstStride: H)
            if n < N - 1 {
                let inW = 3 + H + V
                Kernels.addRows(rows: rows, width: H, from: ws.dLayerInputs[n + 1].ptr + 3, srcStride: inW,
                                to: dh, dstStride: H)
                if let dw = ws.dWindow {
                    Kernels.addRows(rows: rows, width: V, from: ws.dLayerInputs[n + 1].ptr + 3 + H, srcStride: inW,
                                    to: dw.ptr, dstStride: V)
                }
            }
            if n > 0 {
                layers[n].backward(ws.layerInputs[n].ptr, ws.layers[n], dh: dh, dx: ws.dLayerInputs[n].ptr, steps: steps)
            }
        }
        profile?.lap("backward layers N…2")
        // Layer 1 (and the window) step by step, in reverse: dh now holds the gradient reaching h¹ from above.
        let l1 = ws.layers[0]
        if let window, let wws = ws.window, let dWin = ws.dWindow,
           let dwCarryTensor = ws.dwCarry, let dInputTensor = ws.dInput1Step {
            let in1 = 3 + V
            layers[0].beginBackward(l1)
            window.beginBackward(wws)
            let dwCarry = dwCarryTensor.ptr, scratch = ws.scratchBH.ptr, dIn = dInputTensor.ptr
            dwCarry.update(repeating: 0, count: B * V)
            Self.blasThreads(single: l1.fusedBackward) {
                for t in stride(from: steps - 1, through: 0, by: -1) {
                    // w_t feeds layers 2…N at t and layer 1 at t+1.
                    Kernels.add(dWin.ptr + t * B * V, into: dwCarry, count: B * V)
                    window.backwardStep(t, dw: dwCarry, h: l1.hStep(t + 1), dh: scratch, wws)
                    Kernels.add(dh + t * B * H, into: scratch, count: B * H)
                    layers[0].backwardStep(t, l1, dhExternal: scratch)
                    // Layer 1's input at t was [x_t, w_{t−1}]: its gradient's w part flows to w_{t−1}.
                    matmul(transB: true, m: B, n: in1, k: layers[0].gateWidth, a: l1.preactivationGradients(at: t),
                           lda: layers[0].gateWidth, b: layers[0].wx.value.ptr, ldb: layers[0].gateWidth, c: dIn,
                           ldc: in1)
                    Kernels.copyRows(rows: B, width: V, from: dIn + 3, srcStride: in1, to: dwCarry, dstStride: V)
                }
            }
            layers[0].finishBackward(ws.layerInputs[0].ptr, l1, dx: nil, steps: steps)
            window.finishBackward(h: l1.outputs, wws, steps: steps)
        } else {
            layers[0].backward(ws.inputs.ptr, l1, dh: dh, dx: nil, steps: steps)
        }
        profile?.lap(window == nil ? "backward layer 1" : "backward layer 1 + window")
        return loss
    }

    /// The NLL of a batch without gradients.
    public func evaluate(_ ws: HandwritingWorkspace<T>) -> (total: Double, offsets: Double, endOfStroke: Double) {
        forward(ws)
        return mixture.loss(ws.y.ptr, targets: ws.targets.ptr, mask: ws.mask.ptr, rows: ws.activeSteps * ws.batch, dy: nil)
    }
}

/// Activations of a `HandwritingModel` for up to `steps` steps of `batch` sequences.
public final class HandwritingWorkspace<T: QuillScalar> {
    public let steps: Int
    public let batch: Int
    /// Steps the next pass runs (≤ `steps`).
    public var activeSteps: Int
    /// Sequences in the batch with at least one unmasked step (the loss is averaged over these).
    public var sequenceCount: Int
    /// (T, B, 3) inputs x_t and targets x_{t+1} as (dx, dy, eos); (T, B) mask.
    public let inputs: Tensor<T>
    public let targets: Tensor<T>
    public let mask: Tensor<T>
    public let layers: [RecurrentWorkspace<T>]
    /// Per layer: its assembled input (T, B, width) and that input's gradient (unused for layer 1).
    let layerInputs: [Tensor<T>]
    let dLayerInputs: [Tensor<T>]
    public let window: WindowWorkspace<T>?
    /// (T, B, N·H) all layers side by side, and its gradient.
    let concat: Tensor<T>
    let dConcat: Tensor<T>
    /// (T, B, 1 + 6M) raw mixture outputs, and their gradient.
    public let y: Tensor<T>
    let dy: Tensor<T>
    let dh: Tensor<T>
    let dWindow: Tensor<T>?
    let dwCarry: Tensor<T>?
    let dInput1Step: Tensor<T>?
    let scratchBH: Tensor<T>

    init(model: HandwritingModel<T>, steps: Int, batch: Int, maxTextLength: Int) {
        self.steps = steps
        self.batch = batch
        activeSteps = steps
        sequenceCount = batch
        let H = model.config.hidden, N = model.layers.count, V = model.alphabetWidth, rows = steps * batch
        inputs = Tensor([steps, batch, 3])
        targets = Tensor([steps, batch, 3])
        mask = Tensor([steps, batch])
        layers = model.layers.map { RecurrentWorkspace(layer: $0, steps: steps, batch: batch) }
        layerInputs = model.layers.enumerated().map { n, l in
            Tensor(n == 0 && model.window == nil ? [1] : [rows, l.inputSize])
        }
        dLayerInputs = model.layers.enumerated().map { n, l in Tensor(n == 0 ? [1] : [rows, l.inputSize]) }
        window = model.window.map { WindowWorkspace(window: $0, steps: steps, batch: batch, maxTextLength: maxTextLength) }
        concat = Tensor([rows, N * H])
        dConcat = Tensor([rows, N * H])
        y = Tensor([rows, model.mixture.outputSize])
        dy = Tensor([rows, model.mixture.outputSize])
        dh = Tensor([rows, H])
        dWindow = model.window == nil ? nil : Tensor([rows, V])
        dwCarry = model.window == nil ? nil : Tensor([batch, V])
        dInput1Step = model.window == nil ? nil : Tensor([batch, 3 + V])
        scratchBH = Tensor([batch, H])
    }

    /// Starts every sequence from zero state (and the window before the first character).
    public func resetState() {
        layers.forEach { $0.resetState() }
        window?.resetState()
    }
}
