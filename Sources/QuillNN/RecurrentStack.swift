import QuillNumerics

/// A stack of N recurrent layers, optionally with Graves's skip connections (eqs. 1–3): the input feeds every layer
/// and every layer feeds the output. Dropout, when set, applies to each layer's output where it feeds forward
/// (the next layer and the stack's output), never to the recurrence.
public final class RecurrentStack<T: QuillScalar> {
    public let kind: CellKind
    public let inputSize: Int
    public let hiddenSize: Int
    public let skipConnections: Bool
    public let layers: [RecurrentLayer<T>]

    public init(kind: CellKind, inputSize: Int, hiddenSize: Int, layers n: Int, skipConnections: Bool,
                peepholes: Bool = false, forgetBias: Double = 1, name: String, rng: inout SeededGenerator) {
        self.kind = kind
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.skipConnections = skipConnections
        var ls = [RecurrentLayer<T>]()
        for i in 0..<n {
            let inSize = i == 0 ? inputSize : hiddenSize + (skipConnections ? inputSize : 0)
            ls.append(RecurrentLayer(kind: kind, inputSize: inSize, hiddenSize: hiddenSize, name: "\(name).\(i)",
                                     peepholes: peepholes, forgetBias: forgetBias, rng: &rng))
        }
        layers = ls
    }

    /// Width of the stack's output: all layers' outputs side by side with skip connections, else the last layer's.
    public var outputSize: Int { skipConnections ? layers.count * hiddenSize : hiddenSize }

    public var parameters: [Parameter<T>] { layers.flatMap(\.parameters) }

    /// Sets Graves's pre-activation gradient clip on every layer.
    public func setPreactivationGradientClip(_ clip: T?) {
        for l in layers { l.preactivationGradientClip = clip }
    }

    public func makeWorkspace(steps: Int, batch: Int) -> StackWorkspace<T> {
        StackWorkspace(stack: self, steps: steps, batch: batch)
    }

    /// Forward over a sequence. x: (T, B, inputSize). Output: `ws.output`, (T, B, outputSize).
    /// `dropout` > 0 draws fresh masks from `rng` (training); 0 means evaluation.
    public func forward(_ x: UnsafePointer<T>, _ ws: StackWorkspace<T>, dropout: Double, rng: inout SeededGenerator) {
        let rows = ws.activeSteps * ws.batch, H = hiddenSize, I = inputSize
        ws.layers.forEach { $0.activeSteps = ws.activeSteps }
        ws.dropoutActive = dropout > 0
        for (n, layer) in layers.enumerated() {
            let lws = ws.layers[n]
            let input: UnsafePointer<T>
            if n == 0 {
                input = x
            } else {
                // Invariant: the workspace has an input buffer for every layer above the first (init).
                let xin = ws.inputs[n]!
                let w = layer.inputSize
                // Layer input: [x, h^{n-1}] with skips, else h^{n-1}; h^{n-1} after dropout.
                if skipConnections { Kernels.copyRows(rows: rows, width: I, from: x, srcStride: I, to: xin.ptr, dstStride: w) }
                let off = skipConnections ? I : 0
                Kernels.copyRows(rows: rows, width: H, from: ws.fedForward(n - 1), srcStride: H,
                                 to: xin.ptr + off, dstStride: w)
                input = UnsafePointer(xin.ptr)
            }
            layer.forward(input, lws)
            if dropout > 0 {
                Dropout.makeMask(ws.masks[n].ptr, count: rows * H, p: dropout, rng: &rng)
                Kernels.multiply(lws.outputs, ws.masks[n].ptr, into: ws.dropped[n].ptr, count: rows * H)
            }
        }
        if skipConnections {
            // Invariant: the workspace has an output buffer when the stack has skip connections (init).
            let out = ws.output!
            for n in 0..<layers.count {
                Kernels.copyRows(rows: rows, width: H, from: ws.fedForward(n), srcStride: H,
                                 to: out.ptr + n * H, dstStride: layers.count * H)
            }
        }
    }

    /// The stack's output after `forward`: (T, B, outputSize).
    public func output(_ ws: StackWorkspace<T>) -> UnsafeMutablePointer<T> {
        // Invariant: the workspace has an output buffer when the stack has skip connections (init).
        skipConnections ? ws.output!.ptr : ws.fedForward(layers.count - 1)
    }

    /// Backward over a sequence. dOut: (T, B, outputSize). dx: (T, B, inputSize), overwritten, or nil.
    public func backward(_ x: UnsafePointer<T>, _ ws: StackWorkspace<T>, dOut: UnsafePointer<T>,
                         dx: UnsafeMutablePointer<T>?) {
        let rows = ws.activeSteps * ws.batch, H = hiddenSize, I = inputSize, N = layers.count
        var dxWritten = false
        for n in stride(from: N - 1, through: 0, by: -1) {
            let layer = layers[n]
            let dh = ws.dh.ptr   // (rows, H): gradient reaching this layer's fed-forward output
            if skipConnections {
                Kernels.copyRows(rows: rows, width: H, from: dOut + n * H, srcStride: N * H, to: dh, dstStride: H)
            } else if n == N - 1 {
                dh.update(from: dOut, count: rows * H)
            } else {
                dh.update(repeating: 0, count: rows * H)
            }
            if n < N - 1 {
                // Gradient from the layer above, whose input held [x, h^n] or h^n.
                let w = layers[n + 1].inputSize, off = skipConnections ? I : 0
                // Invariant: the workspace has dInputs for every layer above the first (init); n + 1 ≥ 1.
                Kernels.addRows(rows: rows, width: H, from: ws.dInputs[n + 1]!.ptr + off, srcStride: w,
                                to: dh, dstStride: H)
            }
            if ws.dropoutActive { Kernels.multiplyInPlace(dh, by: ws.masks[n].ptr, count: rows * H) }
            // Invariant: inputs[n] and dInputs[n] exist for n > 0 (init); n == 0 uses x and dx instead.
            let input: UnsafePointer<T> = n == 0 ? x : UnsafePointer(ws.inputs[n]!.ptr)
            let needDInput = n > 0 || dx != nil
            let dIn: UnsafeMutablePointer<T>? = n == 0 ? dx : ws.dInputs[n]!.ptr   // Invariant: as above, n > 0.
            layer.backward(input, ws.layers[n], dh: dh, dx: needDInput ? dIn : nil)
            if n == 0, dx != nil { dxWritten = true }
        }
        // With skips, every layer's input held x: add those gradients.
        if skipConnections, let dx {
            if !dxWritten { dx.update(repeating: 0, count: rows * I) }
            for n in 1..<N {
                // Invariant: dInputs[n] exists for n ≥ 1 (init).
                Kernels.addRows(rows: rows, width: I, from: ws.dInputs[n]!.ptr, srcStride: layers[n].inputSize,
                                to: dx, dstStride: I)
            }
        }
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
    /// Per layer n > 0: its assembled input (T, B, inputSize_n) and that input's gradient.
    let inputs: [Tensor<T>?]
    let dInputs: [Tensor<T>?]
    /// Per layer: dropout mask and the dropped-out output (T, B, H).
    let masks: [Tensor<T>]
    let dropped: [Tensor<T>]
    /// (T, B, N·H) with skip connections.
    let output: Tensor<T>?
    let dh: Tensor<T>
    var dropoutActive = false

    init(stack: RecurrentStack<T>, steps: Int, batch: Int) {
        self.steps = steps
        activeSteps = steps
        self.batch = batch
        let rows = steps * batch, H = stack.hiddenSize
        layers = stack.layers.map { RecurrentWorkspace(layer: $0, steps: steps, batch: batch) }
        inputs = stack.layers.enumerated().map { $0.offset == 0 ? nil : Tensor([rows, $0.element.inputSize]) }
        dInputs = stack.layers.enumerated().map { $0.offset == 0 ? nil : Tensor([rows, $0.element.inputSize]) }
        masks = stack.layers.map { _ in Tensor([rows, H]) }
        dropped = stack.layers.map { _ in Tensor([rows, H]) }
        output = stack.skipConnections ? Tensor([rows, stack.layers.count * H]) : nil
        dh = Tensor([rows, H])
    }

    /// Layer n's output as fed forward: after dropout in training, the raw outputs otherwise. (T, B, H).
    func fedForward(_ n: Int) -> UnsafeMutablePointer<T> {
        dropoutActive ? dropped[n].ptr : layers[n].outputs
    }

    /// Carries every layer's state to the next window.
    public func carryState() { layers.forEach { $0.carryState() } }
    /// Zeroes every layer's initial state.
    public func resetState() { layers.forEach { $0.resetState() } }
    /// Zeroes one batch row's initial state in every layer.
    public func resetState(row b: Int) { layers.forEach { $0.resetState(row: b) } }
    /// Reorders batch rows of the initial state (beam search).
    public func reorderState(_ order: [Int]) { layers.forEach { $0.reorderInitialState(order) } }
    /// The initial states, one per layer.
    public func states() -> [RecurrentState<T>] { layers.map { $0.initialState() } }
    public func setStates(_ s: [RecurrentState<T>]) { zip(layers, s).forEach { $0.setInitialState($1) } }
}
