import QuillNumerics

/// The size of a soft window a `RecurrentStack` builds (`SoftWindow`, Graves eqs. 46–51).
public struct SoftWindowShape: Sendable {
    /// Gaussians K.
    public var components: Int
    /// Characters are one-hot vectors of this width: w_t has it too.
    public var vocabularySize: Int
    /// The scale s of the window's step, κ_t = κ_{t−1} + s·exp κ̂.
    public var kappaScale: Double
    /// The window's parameters are named `name.w` and `name.b`.
    public var name: String

    public init(components: Int, vocabularySize: Int, kappaScale: Double, name: String) {
        self.components = components; self.vocabularySize = vocabularySize; self.kappaScale = kappaScale
        self.name = name
    }
}

/// A stack of N recurrent layers, optionally with Graves's skip connections (eqs. 1–3) and his soft window over a
/// text (eqs. 46–53).
///
/// For an input x_t of width I, layer 1 reads x_t, or [x_t, w_{t−1}] with a window; layer n > 1 reads
/// [x_t (with skips), hⁿ⁻¹_t, w_t (with a window)]. The window reads h¹_t and makes w_t, so layer 1 and the window
/// run step by step, one small input product per step; the layers above run in sequence mode (one GEMM for every
/// step's input projection). The output is every layer's output side by side with skips, (T, B, N·H), else the last
/// layer's, (T, B, H).
///
/// Dropout, when set, applies to each layer's output where it feeds forward (the next layer and the stack's output),
/// never to the recurrence or to the window's input.
public final class RecurrentStack<T: QuillScalar> {
    public let kind: CellKind
    public let inputSize: Int
    public let hiddenSize: Int
    public let skipConnections: Bool
    public let layers: [RecurrentLayer<T>]
    /// Graves's soft window (synthesis), reading layer 1 and feeding every layer.
    public let window: SoftWindow<T>?
    /// When set, `forward` and `backward` add the time of each of their phases here.
    public var profile: PhaseProfile?

    /// Layers are named `name.0` … `name.N−1` and initialised in that order from `rng`, then the window. `factors`:
    /// each MRNN layer's F; `learnPeriods`: whether Phased LSTM layers train their periods (`RecurrentLayer`; other
    /// cells ignore both); `layerNorm`: layer-normalised LSTM layers.
    @_specialize(exported: true, where T == Float)
    public init(kind: CellKind, inputSize: Int, hiddenSize: Int, layers n: Int, skipConnections: Bool,
                peepholes: Bool = false, forgetBias: Double = 1, factors: Int = 0, learnPeriods: Bool = false,
                layerNorm: Bool = false, window: SoftWindowShape? = nil, name: String, rng: inout SeededGenerator) {
        self.kind = kind
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.skipConnections = skipConnections
        let V = window?.vocabularySize ?? 0
        var ls = [RecurrentLayer<T>]()
        for i in 0..<n {
            let inSize = i == 0 ? inputSize + V : (skipConnections ? inputSize : 0) + hiddenSize + V
            ls.append(RecurrentLayer(kind: kind, inputSize: inSize, hiddenSize: hiddenSize, name: "\(name).\(i)",
                                     peepholes: peepholes, forgetBias: forgetBias, factors: factors,
                                     learnPeriods: learnPeriods, layerNorm: layerNorm, rng: &rng))
        }
        layers = ls
        self.window = window.map {
            SoftWindow(components: $0.components, inputSize: hiddenSize, vocabularySize: $0.vocabularySize,
                       kappaScale: $0.kappaScale, name: $0.name, rng: &rng)
        }
    }

    /// Width of the stack's output: all layers' outputs side by side with skip connections, else the last layer's.
    public var outputSize: Int { skipConnections ? layers.count * hiddenSize : hiddenSize }

    /// The layers' parameters in order, then the window's.
    public var parameters: [Parameter<T>] { layers.flatMap(\.parameters) + (window?.parameters ?? []) }

    /// The groups `backward` reports final to its `GradientHooks`, in that order: layer N's parameters, …, layer 2's,
    /// then layer 1's with the window's (they finish together: the window's backward interleaves with layer 1's).
    public var gradientGroups: [[Parameter<T>]] {
        layers.dropFirst().reversed().map(\.parameters) + [layers[0].parameters + (window?.parameters ?? [])]
    }

    /// Sets Graves's pre-activation gradient clip on every layer.
    @_specialize(exported: true, where T == Float)
    public func setPreactivationGradientClip(_ clip: T?) {
        for l in layers { l.preactivationGradientClip = clip }
    }

    /// Activations for `steps` steps of `batch` sequences; with a window, of texts of at most `maxTextLength`.
    @_specialize(exported: true, where T == Float)
    public func makeWorkspace(steps: Int, batch: Int, maxTextLength: Int = 1) -> StackWorkspace<T> {
        StackWorkspace(stack: self, steps: steps, batch: batch, maxTextLength: maxTextLength)
    }

    // MARK: - Forward

    /// Forward over `ws.activeSteps` steps from the workspace's state. x: (T, B, inputSize). Output:
    /// `output(ws)`, (T, B, outputSize). `dropout` > 0 draws fresh masks from `rng` (training); 0 means evaluation.
    /// `tokens`, when x holds rows of a table picked by token (a char model's input), lets layer 1 take x·W_x from
    /// the table (`RecurrentLayer.takesTokenRows`); give the same to `backward`.
    @_specialize(exported: true, where T == Float)
    public func forward(_ x: UnsafePointer<T>, tokens: TokenRows<T>? = nil, _ ws: StackWorkspace<T>, dropout: Double,
                        rng: inout SeededGenerator) {
        let rows = ws.activeSteps * ws.batch, H = hiddenSize
        ws.layers.forEach { $0.activeSteps = ws.activeSteps }
        ws.dropoutActive = dropout > 0
        ws.firstLayerTookTokens = false
        profile?.begin()
        for (n, layer) in layers.enumerated() {
            let lws = ws.layers[n]
            if n == 0 {
                if let window, let wws = ws.window {
                    forwardFirstLayer(x, window, wws, ws)
                } else if let tokens, layer.takesTokenRows(tokens, steps: ws.activeSteps, batch: ws.batch) {
                    layer.forward(tokens, lws)
                    ws.firstLayerTookTokens = true
                } else {
                    layer.forward(x, lws)
                }
                profile?.lap(window == nil ? "forward layer 1" : "forward layer 1 + window")
            } else {
                layer.forward(assembleInput(of: n, x, ws), lws)
            }
            if dropout > 0 {
                Dropout.makeMask(ws.masks[n].ptr, count: rows * H, p: dropout, rng: &rng)
                Kernels.multiply(lws.outputs, ws.masks[n].ptr, into: ws.dropped[n].ptr, count: rows * H)
            }
        }
        profile?.lap("forward layers 2…N")
        if skipConnections {
            // Invariant: the workspace has an output buffer when the stack has skip connections (init).
            let out = ws.output!
            for n in 0..<layers.count {
                Kernels.copyRows(rows: rows, width: H, from: ws.fedForward(n), srcStride: H,
                                 to: out.ptr + n * H, dstStride: layers.count * H)
            }
        }
    }

    /// Layer n > 1's input [x_t (with skips), hⁿ⁻¹_t (after dropout), w_t (with a window)], assembled in
    /// `ws.inputs[n]`: (T, B, inputSize_n).
    private func assembleInput(of n: Int, _ x: UnsafePointer<T>, _ ws: StackWorkspace<T>) -> UnsafeMutablePointer<T> {
        let rows = ws.activeSteps * ws.batch, H = hiddenSize, I = inputSize
        let w = layers[n].inputSize, off = skipConnections ? I : 0
        // Invariant: the workspace has an input buffer for every layer above the first (init).
        let xin = ws.inputs[n]!.ptr
        if skipConnections { Kernels.copyRows(rows: rows, width: I, from: x, srcStride: I, to: xin, dstStride: w) }
        Kernels.copyRows(rows: rows, width: H, from: ws.fedForward(n - 1), srcStride: H, to: xin + off, dstStride: w)
        if let window, let wws = ws.window {
            let V = window.vocabularySize
            Kernels.copyRows(rows: rows, width: V, from: window.window(at: 0, wws), srcStride: V,
                             to: xin + off + H, dstStride: w)
        }
        return xin
    }

    /// Forward without dropout (evaluation, sampling, networks trained without it).
    @_specialize(exported: true, where T == Float)
    public func forward(_ x: UnsafePointer<T>, _ ws: StackWorkspace<T>) {
        var unused = SeededGenerator(seed: 0)
        forward(x, ws, dropout: 0, rng: &unused)
    }

    /// Layer 1 and the window, step by step (eqs. 46–52): layer 1's input at t is [x_t, w_{t−1}], assembled in
    /// `ws.inputs[0]` (T, B, I + V) for the weight gradients; the window reads h¹_t and writes w_t.
    private func forwardFirstLayer(_ x: UnsafePointer<T>, _ window: SoftWindow<T>, _ wws: WindowWorkspace<T>,
                                   _ ws: StackWorkspace<T>) {
        let layer = layers[0], lws = ws.layers[0], B = ws.batch, I = inputSize, V = window.vocabularySize
        let W = layer.inputSize
        // Invariant: with a window the workspace keeps layer 1's assembled input (init).
        let x1 = ws.inputs[0]!.ptr
        layer.beginForward(lws, steps: ws.activeSteps)
        // With the fused kernels on both cores, the small per-step products run on one BLAS thread.
        Self.blasThreads(single: lws.fusedForward) {
            for t in 0..<ws.activeSteps {
                let xt = x1 + t * B * W
                Kernels.copyRows(rows: B, width: I, from: x + t * B * I, srcStride: I, to: xt, dstStride: W)
                Kernels.copyRows(rows: B, width: V, from: window.window(at: t - 1, wws), srcStride: V,
                                 to: xt + I, dstStride: W)
                layer.forwardStep(t, xt, lws)
                window.forwardStep(t, h: lws.hStep(t + 1), wws)
            }
        }
    }

    /// The stack's output after `forward`: (T, B, outputSize).
    @_specialize(exported: true, where T == Float)
    public func output(_ ws: StackWorkspace<T>) -> UnsafeMutablePointer<T> {
        // Invariant: the workspace has an output buffer when the stack has skip connections (init).
        skipConnections ? ws.output!.ptr : ws.fedForward(layers.count - 1)
    }

    // MARK: - Backward

    /// Backward over the steps of the last `forward`; gradients accumulate. x: (T, B, inputSize) and `tokens` as
    /// given to `forward`; dOut: (T, B, outputSize); dx: (T, B, inputSize), overwritten, or nil. `hooks` hears of
    /// each of `gradientGroups` as soon as its gradients are final (layer N first), gets a `progress` call at every
    /// step of layer 1 with a window, and, with `hiddenGradient` set, sees the gradient reaching every layer's h_t.
    /// When layer 1 took its input from the token table, its share of ∂L/∂x went into the table's gradient, and dx
    /// holds only the skip connections' share; returns whether dx was written at all (it is not, then, without
    /// skip connections).
    @_specialize(exported: true, where T == Float) @discardableResult
    public func backward(_ x: UnsafePointer<T>, tokens: TokenRows<T>? = nil, _ ws: StackWorkspace<T>,
                         dOut: UnsafePointer<T>, dx: UnsafeMutablePointer<T>?,
                         hooks: GradientHooks<T>? = nil) -> Bool {
        let rows = ws.activeSteps * ws.batch, H = hiddenSize, I = inputSize, N = layers.count
        let off = skipConnections ? I : 0, V = window?.vocabularySize ?? 0
        let dh = ws.dh.ptr   // (rows, H): gradient reaching a layer's fed-forward output
        // w_t's gradient from layers 2…N, summed from the top.
        ws.dWindow?.zero()
        for n in stride(from: N - 1, through: 0, by: -1) {
            if skipConnections {
                Kernels.copyRows(rows: rows, width: H, from: dOut + n * H, srcStride: N * H, to: dh, dstStride: H)
            } else if n == N - 1 {
                dh.update(from: dOut, count: rows * H)
            } else {
                dh.update(repeating: 0, count: rows * H)
            }
            if n < N - 1 {
                // Gradient from the layer above, whose input held [x, hⁿ, w] (x with skips, w with a window).
                let w = layers[n + 1].inputSize
                // Invariant: the workspace has dInputs for every layer above the first (init); n + 1 ≥ 1.
                let dAbove = ws.dInputs[n + 1]!.ptr
                Kernels.addRows(rows: rows, width: H, from: dAbove + off, srcStride: w, to: dh, dstStride: H)
                if let dw = ws.dWindow {
                    Kernels.addRows(rows: rows, width: V, from: dAbove + off + H, srcStride: w, to: dw.ptr, dstStride: V)
                }
            }
            if ws.dropoutActive { Kernels.multiplyInPlace(dh, by: ws.masks[n].ptr, count: rows * H) }
            if n > 0 {
                // Invariant: inputs[n] and dInputs[n] exist for n > 0 (init).
                layers[n].backward(ws.inputs[n]!.ptr, ws.layers[n], dh: dh, dx: ws.dInputs[n]!.ptr,
                                   observe: Self.observer(hooks, layer: n))
                hooks?.ready(layers[n].parameters)
            }
        }
        profile?.lap("backward layers N…2")
        if let window, let wws = ws.window {
            backwardFirstLayer(x, window, wws, ws, dx: dx, progress: hooks?.progress,
                               observe: Self.observer(hooks, layer: 0))
            hooks?.ready(layers[0].parameters + window.parameters)
        } else if ws.firstLayerTookTokens, let tokens {
            layers[0].backward(tokens, ws.layers[0], dh: dh, observe: Self.observer(hooks, layer: 0))
            hooks?.ready(layers[0].parameters)
            if let dx, skipConnections { dx.update(repeating: 0, count: rows * I) }
        } else {
            layers[0].backward(x, ws.layers[0], dh: dh, dx: dx, observe: Self.observer(hooks, layer: 0))
            hooks?.ready(layers[0].parameters)
        }
        profile?.lap(window == nil ? "backward layer 1" : "backward layer 1 + window")
        if ws.firstLayerTookTokens && !skipConnections { return false }
        // With skips, every layer's input held x: add those gradients.
        if skipConnections, let dx {
            for n in 1..<N {
                // Invariant: dInputs[n] exists for n ≥ 1 (init).
                Kernels.addRows(rows: rows, width: I, from: ws.dInputs[n]!.ptr, srcStride: layers[n].inputSize,
                                to: dx, dstStride: I)
            }
        }
        return dx != nil
    }

    /// Layer 1 and the window, step by step in reverse. `ws.dh` holds the gradient reaching h¹ from above; w_t's
    /// gradient is what layers 2…N pass it at t plus what layer 1 passes it at t + 1.
    private func backwardFirstLayer(_ x: UnsafePointer<T>, _ window: SoftWindow<T>, _ wws: WindowWorkspace<T>,
                                    _ ws: StackWorkspace<T>, dx: UnsafeMutablePointer<T>?,
                                    progress: (() -> Void)?,
                                    observe: ((Int, UnsafePointer<T>, UnsafePointer<T>?) -> Void)?) {
        let layer = layers[0], lws = ws.layers[0], steps = ws.activeSteps, B = ws.batch, H = hiddenSize
        let I = inputSize, V = window.vocabularySize, W = layer.inputSize
        let dh = ws.dh.ptr
        // Invariant: with a window the workspace has these buffers (init).
        let x1 = ws.inputs[0]!.ptr, dWindow = ws.dWindow!.ptr, dwCarry = ws.dwCarry!.ptr
        // Invariant: these too (init).
        let dhWindow = ws.dhWindow!.ptr, dInput = ws.dInputStep!.ptr
        layer.beginBackward(lws)
        window.beginBackward(wws)
        dwCarry.update(repeating: 0, count: B * V)
        Self.blasThreads(single: lws.fusedBackward) {
            for t in stride(from: steps - 1, through: 0, by: -1) {
                Kernels.add(dWindow + t * B * V, into: dwCarry, count: B * V)
                window.backwardStep(t, dw: dwCarry, h: lws.hStep(t + 1), dh: dhWindow, wws)
                Kernels.add(dh + t * B * H, into: dhWindow, count: B * H)
                observe?(t, lws.dhCarry.ptr, dhWindow)
                layer.backwardStep(t, lws, dhExternal: dhWindow)
                // Layer 1's input at t was [x_t, w_{t−1}]: its gradient's w part flows to w_{t−1}.
                layer.inputGradient(at: t, lws, into: dInput)
                Kernels.copyRows(rows: B, width: V, from: dInput + I, srcStride: W, to: dwCarry, dstStride: V)
                if let dx {
                    Kernels.copyRows(rows: B, width: I, from: dInput, srcStride: W, to: dx + t * B * I, dstStride: I)
                }
                progress?()
            }
        }
        layer.finishBackward(x1, lws, dx: nil)
        window.finishBackward(h: lws.outputs, wws, steps: steps)
    }

    /// `hooks.hiddenGradient` for layer n, as a layer's backward `observe` takes it.
    private static func observer(_ hooks: GradientHooks<T>?,
                                 layer n: Int) -> ((Int, UnsafePointer<T>, UnsafePointer<T>?) -> Void)? {
        hooks?.hiddenGradient.map { hidden in { t, carried, external in hidden(n, t, carried, external) } }
    }

    static func blasThreads(single: Bool, _ body: () -> Void) {
        if single { BLASInfo.singleThreaded(body) } else { body() }
    }
}

/// Activations of a `RecurrentStack` for one (steps, batch) shape.
public final class StackWorkspace<T: QuillScalar> {
    /// Capacity in timesteps.
    public let steps: Int
    /// Timesteps the next pass runs (≤ `steps`).
    public var activeSteps: Int
    public let batch: Int
    public let layers: [RecurrentWorkspace<T>]
    /// The window's activations and text, with a window.
    public let window: WindowWorkspace<T>?
    /// Per layer: its assembled input (T, B, inputSize_n) and that input's gradient; layer 1's input only with a
    /// window (else it is x), its gradient never (it goes to dx, or per step through `dInputStep`).
    let inputs: [Tensor<T>?]
    let dInputs: [Tensor<T>?]
    /// Per layer: dropout mask and the dropped-out output (T, B, H), made on first use.
    lazy var masks: [Tensor<T>] = layers.map { Tensor([steps * batch, $0.hidden]) }
    lazy var dropped: [Tensor<T>] = layers.map { Tensor([steps * batch, $0.hidden]) }
    /// (T, B, N·H) with skip connections.
    let output: Tensor<T>?
    let dh: Tensor<T>
    /// With a window: w_t's gradient from layers 2…N (T, B, V); the gradient carried to w_t (B, V); the one
    /// reaching h¹_t through the window (B, H); layer 1's input gradient at one step (B, I + V).
    let dWindow: Tensor<T>?
    let dwCarry: Tensor<T>?
    let dhWindow: Tensor<T>?
    let dInputStep: Tensor<T>?
    var dropoutActive = false
    /// Whether the last forward pass's layer 1 took its input from token rows (`RecurrentStack.forward`).
    var firstLayerTookTokens = false

    init(stack: RecurrentStack<T>, steps: Int, batch: Int, maxTextLength: Int) {
        self.steps = steps
        activeSteps = steps
        self.batch = batch
        let rows = steps * batch, H = stack.hiddenSize
        layers = stack.layers.map { RecurrentWorkspace(layer: $0, steps: steps, batch: batch) }
        let windowed = stack.window != nil
        inputs = stack.layers.enumerated().map { n, l in n == 0 && !windowed ? nil : Tensor([rows, l.inputSize]) }
        dInputs = stack.layers.enumerated().map { n, l in n == 0 ? nil : Tensor([rows, l.inputSize]) }
        output = stack.skipConnections ? Tensor([rows, stack.layers.count * H]) : nil
        dh = Tensor([rows, H])
        window = stack.window.map { WindowWorkspace(window: $0, steps: steps, batch: batch, maxTextLength: maxTextLength) }
        let V = stack.window?.vocabularySize ?? 0
        dWindow = windowed ? Tensor([rows, V]) : nil
        dwCarry = windowed ? Tensor([batch, V]) : nil
        dhWindow = windowed ? Tensor([batch, H]) : nil
        dInputStep = windowed ? Tensor([batch, stack.layers[0].inputSize]) : nil
    }

    /// Layer n's output as fed forward: after dropout in training, the raw outputs otherwise. (T, B, H).
    func fedForward(_ n: Int) -> UnsafeMutablePointer<T> {
        dropoutActive ? dropped[n].ptr : layers[n].outputs
    }

    /// Carries every layer's state, and the window's, to the next window of steps.
    @_specialize(exported: true, where T == Float)
    public func carryState() {
        layers.forEach { $0.carryState() }
        window?.carryState(after: activeSteps)
    }
    /// Zeroes every layer's initial state; the window starts before the first character.
    @_specialize(exported: true, where T == Float)
    public func resetState() {
        layers.forEach { $0.resetState() }
        window?.resetState()
    }
    /// Zeroes one batch row's initial state in every layer and, with a window, that row's κ₀ and w₀.
    @_specialize(exported: true, where T == Float)
    public func resetState(row b: Int) {
        layers.forEach { $0.resetState(row: b) }
        window?.resetState(row: b)
    }
    /// Reorders batch rows of the initial state (beam search).
    @_specialize(exported: true, where T == Float)
    public func reorderState(_ order: [Int]) { layers.forEach { $0.reorderInitialState(order) } }
    /// The initial states, one per layer.
    @_specialize(exported: true, where T == Float)
    public func states() -> [RecurrentState<T>] { layers.map { $0.initialState() } }
    @_specialize(exported: true, where T == Float)
    public func setStates(_ s: [RecurrentState<T>]) { zip(layers, s).forEach { $0.setInitialState($1) } }
}
