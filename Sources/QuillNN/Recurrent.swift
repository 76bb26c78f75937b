import CQuillKernels
import QuillNumerics

/// The cell families of the char models: recurrent cells, and the feed-forward baselines of note 003 built from
/// causal convolutions (`ConvolutionStack`), which `isRecurrent` tells apart.
public enum CellKind: String, Codable, CaseIterable, Sendable {
    case lstm
    case gru
    case rnn
    case rnnRelu = "rnn-relu"
    /// Sutskever, Martens and Hinton's (2011) multiplicative RNN: factored, input-dependent recurrent weights.
    case mrnn
    /// Neil, Pfeiffer and Liu's (2016) Phased LSTM: an LSTM whose updates pass through a periodic time gate
    /// (`TimeGate`).
    case phasedLSTM = "phased-lstm"
    /// A WaveNet-style temporal convolutional network (`ConvolutionArchitecture.tcn`); not recurrent.
    case tcn
    /// The n-NN, a feed-forward network over the last N inputs (`ConvolutionArchitecture.nnn`); not recurrent.
    case nnn

    /// Whether the cell is a `RecurrentLayer`'s; TCN and n-NN models run a `ConvolutionStack` instead.
    public var isRecurrent: Bool { self != .tcn && self != .nnn }

    /// Gates per hidden unit: LSTM (i, f, g, o), GRU (r, z, n), RNN and MRNN one (the MRNN's pre-activations also
    /// carry its F factors: `RecurrentLayer.gateWidth`).
    public var gateCount: Int {
        switch self {
        case .lstm, .phasedLSTM: return 4
        case .gru: return 3
        case .rnn, .rnnRelu, .mrnn: return 1
        case .tcn, .nnn: return 0
        }
    }

    public var hasCell: Bool { self == .lstm || self == .phasedLSTM }

    /// Whether the fused step kernels (`FusedKernels`) implement this cell; the MRNN and the Phased LSTM run the
    /// portable path.
    public var hasFusedKernels: Bool { isRecurrent && self != .mrnn && self != .phasedLSTM }
}

/// The recurrent state of one layer: `h` and, for LSTM, `c`, each (B, H); for the Phased LSTM also each stream's
/// time, the steps it has read since its state was reset (B).
public struct RecurrentState<T: QuillScalar> {
    public let h: Tensor<T>
    public let c: Tensor<T>?
    public var time: [Int]

    @_specialize(exported: true, where T == Float)
    public init(batch: Int, hidden: Int, hasCell: Bool, timed: Bool = false) {
        h = Tensor<T>([batch, hidden])
        c = hasCell ? Tensor<T>([batch, hidden]) : nil
        time = timed ? [Int](repeating: 0, count: batch) : []
    }
}

/// One recurrent layer's weights: LSTM, GRU, vanilla RNN or MRNN.
///
/// The pre-activations of all gates for a batch are `x·W_x + b + h_{t−1}·W_h` (GRU keeps the recurrent part apart,
/// with its own bias, because the reset gate multiplies it). Weights are stored for row-major `x·W` products:
/// `wx` is (inputSize, gates·H) and `wh` is (H, gates·H), gate blocks in the order of `CellKind.gateCount`.
///
/// The MRNN (Sutskever, Martens and Hinton 2011, "Generating text with recurrent neural networks", eqs. 4–6) with F
/// factors computes f_t = (x_t·W_fx) ⊙ (h_{t−1}·W_fh) and h_t = tanh(f_t·W_hf + x_t·W_hx + b). Its `wx` is
/// [W_hx | W_fx], (inputSize, H + F), so one product projects both; `wh` is W_fh, (H, F); `wf` is W_hf, (F, H);
/// `bias` is (H).
///
/// The Phased LSTM (`TimeGate`) computes an LSTM step's c̃_t and h̃_t, then c_t = k_t ⊙ c̃_t + (1 − k_t) ⊙ c_{t−1} and
/// h_t = k_t ⊙ h̃_t + (1 − k_t) ⊙ h_{t−1}; `periods` (H) holds every unit's ln τ, `timeGate` (2H) its s, then its
/// logit r_on.
///
/// Activations live in a `RecurrentWorkspace`, so one set of weights serves training, evaluation and sampling at
/// different batch and sequence sizes.
public final class RecurrentLayer<T: QuillScalar> {
    public let kind: CellKind
    public let inputSize: Int
    public let hiddenSize: Int
    /// (inputSize, G)
    public let wx: Parameter<T>
    /// (H, G)
    public let wh: Parameter<T>
    /// (G): the input-side bias (the only bias for LSTM and RNN).
    public let bias: Parameter<T>
    /// (G): GRU's recurrent-side bias.
    public let biasH: Parameter<T>?
    /// (3H): LSTM only, when enabled: Graves's diagonal peephole weights (w_ci, w_cf, w_co).
    public let peephole: Parameter<T>?
    /// (F, H): the MRNN's W_hf, from the factors to the hidden pre-activations; nil for other cells.
    public let wf: Parameter<T>?
    /// The MRNN's factors F; 0 for other cells.
    public let factors: Int
    /// (H), Phased LSTM only: each unit's ln τ (`TimeGate`); trained only when the layer learns its periods.
    public let periods: Parameter<T>?
    /// (2H), Phased LSTM only: each unit's shift s, then its logit r_on (`TimeGate`). Vectors like the biases, so
    /// `--init` leaves them be.
    public let timeGate: Parameter<T>?
    /// A layer-normalised LSTM's gains and cell bias (`LayerNormParameters`); nil for a plain layer.
    public let layerNorm: LayerNormParameters<T>?
    /// Graves's clipping of the derivatives with respect to the pre-activations (he uses 10); nil for none.
    public var preactivationGradientClip: T?

    /// Width of the input projection `x·W_x`: gates × H, or H + F for the MRNN.
    public let gateWidth: Int

    /// Uniform initialisation in ±1/√H (as PyTorch), with zero biases but the LSTM forget gate's, set to
    /// `forgetBias` (1 after Gers et al. 2000; PyTorch's biases have mean 0). `peepholes` adds Graves's peephole
    /// connections to an LSTM (eqs. 7–11); they start at zero, so the cell starts as a plain LSTM. An MRNN has
    /// `factors` F (0: as many as `hiddenSize`; other cells ignore it): W_hf starts in ±1/√F, the rest in ±1/√H. A
    /// Phased LSTM draws each unit's τ and s (`TimeGate`); its periods are trained only with `learnPeriods`.
    /// `layerNorm` makes an LSTM layer (without peepholes) layer-normalised (Ba et al. 2016; `LayerNormParameters`),
    /// drawing nothing more from `rng`.
    @_specialize(exported: true, where T == Float)
    public init(kind: CellKind, inputSize: Int, hiddenSize: Int, name: String, peepholes: Bool = false,
                forgetBias: Double = 1, factors: Int = 0, learnPeriods: Bool = false, layerNorm: Bool = false,
                rng: inout SeededGenerator) {
        precondition(kind.isRecurrent, "\(kind.rawValue) is not a recurrent cell: it runs a ConvolutionStack")
        precondition(!layerNorm || (kind == .lstm && !peepholes), "layer normalisation is for LSTM layers without peepholes")
        self.kind = kind
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.factors = kind == .mrnn ? (factors > 0 ? factors : hiddenSize) : 0
        let F = self.factors
        let G = kind == .mrnn ? hiddenSize + F : kind.gateCount * hiddenSize
        gateWidth = G
        func uniform(_ shape: [Int], fanIn: Int) -> Tensor<T> {
            let bound = 1 / Double(fanIn).squareRoot()
            let t = Tensor<T>(shape)
            for i in 0..<t.count { t[i] = T((rng.uniform() * 2 - 1) * bound) }
            return t
        }
        wx = Parameter("\(name).wx", uniform([inputSize, G], fanIn: hiddenSize))
        wh = Parameter("\(name).wh", uniform([hiddenSize, kind == .mrnn ? F : G], fanIn: hiddenSize))
        wf = kind == .mrnn ? Parameter("\(name).wf", uniform([F, hiddenSize], fanIn: F)) : nil
        let b = Tensor<T>([kind == .mrnn ? hiddenSize : G])
        if kind.hasCell {
            for j in hiddenSize..<(2 * hiddenSize) { b[j] = T(forgetBias) }
        }
        bias = Parameter("\(name).b", b)
        biasH = kind == .gru ? Parameter("\(name).bh", Tensor<T>([G])) : nil
        peephole = kind == .lstm && peepholes ? Parameter("\(name).peep", Tensor<T>([3 * hiddenSize])) : nil
        if kind == .phasedLSTM {
            let H = hiddenSize, logPeriod = Tensor<T>([H]), gate = Tensor<T>([2 * H])
            let lo = Double.log(TimeGate.periodRange.lowerBound), hi = Double.log(TimeGate.periodRange.upperBound)
            let r = TimeGate.initialOpenRatio
            for j in 0..<H {
                let rho = lo + (hi - lo) * rng.uniform()
                logPeriod[j] = T(rho)
                gate[j] = T(Double.exp(rho) * rng.uniform())
                gate[H + j] = T(Double.log(r / (1 - r)))
            }
            let periods = Parameter("\(name).period", logPeriod, trainable: learnPeriods)
            periods.valueBounds = TimeGate.logPeriodBounds
            self.periods = periods
            timeGate = Parameter("\(name).time", gate)
        } else {
            periods = nil
            timeGate = nil
        }
        self.layerNorm = layerNorm ? LayerNormParameters(hidden: hiddenSize, name: name) : nil
    }

    public var parameters: [Parameter<T>] {
        [wx, wh, bias] + (biasH.map { [$0] } ?? []) + (peephole.map { [$0] } ?? []) + (wf.map { [$0] } ?? [])
            + (periods.map { [$0] } ?? []) + (timeGate.map { [$0] } ?? []) + (layerNorm?.parameters ?? [])
    }

    // MARK: - Forward

    /// Input projection for `rows` rows at once: `pre = x·W_x + b`.
    /// - x: (rows, inputSize); pre: (rows, G).
    @_specialize(exported: true, where T == Float)
    public func project(_ x: UnsafePointer<T>, rows: Int, into pre: UnsafeMutablePointer<T>) {
        let G = gateWidth
        matmul(m: rows, n: G, k: inputSize, a: x, lda: inputSize, b: wx.value.ptr, ldb: G, c: pre, ldc: G)
        if kind == .mrnn {
            // The bias reaches the hidden block only: the factors are x·W_fx alone.
            for r in 0..<rows { Kernels.add(bias.value.ptr, into: pre + r * G, count: hiddenSize) }
        } else {
            Kernels.addRowVector(pre, rows: rows, cols: G, bias.value.ptr)
        }
    }

    /// Starts a forward pass of `steps` steps with these weights: a layer in Float with a batch of at least 4 packs
    /// W_h for the fused step kernels (`FusedKernels`), once per pass. Callers that drive `step` themselves call this
    /// first; `forward` does. A pass that skips it runs the portable path.
    public func beginForward(_ ws: RecurrentWorkspace<T>, steps: Int) {
        ws.fusedForward = steps >= 8 && layerNorm == nil && FusedKernels.applies(kind, T.self, batch: ws.batch)
        if ws.fusedForward {
            ws.packed.inputForwardPacked = false
            qk_recurrent_pack_forward(asFloat(UnsafePointer(wh.value.ptr)), Int32(kind.gateCount), Int32(hiddenSize),
                                      ws.packed.forward)
        }
    }

    /// Runs step `t`, whose input-side pre-activations `ws.pre[t]` are already set (by `project`).
    /// Reads `ws.h[t]` (and `ws.c[t]`), writes `ws.h[t+1]` (and `ws.c[t+1]`).
    public func step(_ t: Int, _ ws: RecurrentWorkspace<T>) {
        if ws.fusedForward && ProductClock.enabled {
            ProductClock.time(.recurrentSteps) { untimedStep(t, ws) }
            return
        }
        untimedStep(t, ws)
    }

    private func untimedStep(_ t: Int, _ ws: RecurrentWorkspace<T>) {
        let B = ws.batch, H = hiddenSize, G = gateWidth
        let pre = ws.preStep(t)
        let hPrev = ws.hStep(t)
        switch kind {
        case .lstm where layerNorm != nil:
            layerNormForwardStep(t, ws)
        case .lstm where ws.fusedForward:
            qk_lstm_forward_step(ws.packed.forward, Int32(B), Int32(H), asFloat(UnsafePointer(hPrev)),
                                 asFloat(UnsafePointer(ws.cStep(t))), asFloat(pre), asFloat(ws.cStep(t + 1)),
                                 asFloat(ws.tanhCStep(t)), asFloat(ws.hStep(t + 1)),
                                 peephole.map { asFloat(UnsafePointer($0.value.ptr)) })
        case .lstm:
            matmul(m: B, n: G, k: H, a: hPrev, lda: H, b: wh.value.ptr, ldb: G, beta: 1, c: pre, ldc: G)
            CellKernels.lstmForward(gates: pre, cPrev: ws.cStep(t), c: ws.cStep(t + 1), tanhC: ws.tanhCStep(t),
                                    h: ws.hStep(t + 1), batch: B, hidden: H,
                                    peepholes: peephole.map { UnsafePointer($0.value.ptr) })
        case .rnn where ws.fusedForward, .rnnRelu where ws.fusedForward:
            qk_rnn_forward_step(ws.packed.forward, Int32(B), Int32(H), kind == .rnnRelu ? 1 : 0,
                                asFloat(UnsafePointer(hPrev)), asFloat(pre), asFloat(ws.hStep(t + 1)))
        case .rnn, .rnnRelu:
            matmul(m: B, n: G, k: H, a: hPrev, lda: H, b: wh.value.ptr, ldb: G, beta: 1, c: pre, ldc: G)
            CellKernels.rnnForward(pre: pre, h: ws.hStep(t + 1), count: B * H, relu: kind == .rnnRelu)
        case .gru where ws.fusedForward:
            // Invariant: a GRU layer always has biasH (init).
            let bh = UnsafePointer(biasH!.value.ptr)
            qk_gru_forward_step(ws.packed.forward, Int32(B), Int32(H), asFloat(UnsafePointer(hPrev)), asFloat(bh),
                                asFloat(pre), asFloat(ws.hgStep(t)), asFloat(ws.hStep(t + 1)))
        case .gru:
            let hg = ws.hgStep(t)
            matmul(m: B, n: G, k: H, a: hPrev, lda: H, b: wh.value.ptr, ldb: G, c: hg, ldc: G)
            // Invariant: a GRU layer always has biasH (init).
            Kernels.addRowVector(hg, rows: B, cols: G, biasH!.value.ptr)
            CellKernels.gruForward(xg: pre, hg: hg, hPrev: hPrev, h: ws.hStep(t + 1), batch: B, hidden: H)
        case .mrnn:
            mrnnForwardStep(t, ws)
        case .phasedLSTM:
            phasedForwardStep(t, ws)
        case .tcn, .nnn:
            preconditionFailure("\(kind.rawValue) is not a recurrent cell (init refuses it)")
        }
    }

    /// Step t from its input x_t (B, inputSize): `project`, then `step`. Callers that build a step's input from the
    /// step before (Graves's window) run the layer this way, after `beginForward`.
    @_specialize(exported: true, where T == Float)
    public func forwardStep(_ t: Int, _ x: UnsafePointer<T>, _ ws: RecurrentWorkspace<T>) {
        if layerNorm != nil {
            layerNormProject(x, rows: ws.batch, ws, at: t)
        } else if !fusedInputProduct(x, ws, into: ws.preStep(t)) {
            project(x, rows: ws.batch, into: ws.preStep(t))
        }
        step(t, ws)
    }

    /// In a fused pass fed one step at a time (a layer under the window), x_t·W_x + b on both cores with W_x packed
    /// once a pass (`qk_panel_multiply`), where a single OpenBLAS thread ran it at a fifth of the peak. Returns
    /// false, doing nothing, outside such passes (single steps: sampling keeps its bits) or for the MRNN.
    private func fusedInputProduct(_ x: UnsafePointer<T>, _ ws: RecurrentWorkspace<T>,
                                   into pre: UnsafeMutablePointer<T>) -> Bool {
        guard ws.fusedForward, kind != .mrnn, T.self == Float.self else { return false }
        let B = ws.batch, G = gateWidth, I = inputSize
        let packed = ws.packed.packInputForward(asFloat(UnsafePointer(wx.value.ptr)), inputs: I, gateWidth: G)
        return ProductClock.time(.products, shape: ProductShape(m: B, n: G, k: I, transA: false, transB: false)) {
            // The bias first, then the products summed onto it in k order.
            for r in 0..<B { (pre + r * G).update(from: bias.value.ptr, count: G) }
            return qk_panel_multiply(packed, Int32(I), Int32(G), Int32(B), asFloat(x), Int32(I), asFloat(pre),
                                     Int32(G)) != 0
        }
    }

    /// Forward over a whole sequence: one GEMM projects every timestep's input, then only the recurrent product runs
    /// per step. x: (T, B, inputSize). Outputs are `ws.outputs`: (T, B, H).
    @_specialize(exported: true, where T == Float)
    public func forward(_ x: UnsafePointer<T>, _ ws: RecurrentWorkspace<T>, steps: Int? = nil) {
        let T = steps ?? ws.activeSteps
        if layerNorm != nil {
            layerNormProject(x, rows: T * ws.batch, ws, at: 0)
        } else if T > 1 {
            projectSequence(x, rows: T * ws.batch, into: ws.pre.ptr)
        } else {
            project(x, rows: T * ws.batch, into: ws.pre.ptr)
        }
        runSteps(ws, steps: T)
    }

    /// `project` for the rows of a sequence pass (T > 1): a narrow input (a pen offset, 3 wide) takes x·W_x + b in
    /// one pass (`thinMatmul`). Not for single steps, so that sampling keeps its bits.
    func projectSequence(_ x: UnsafePointer<T>, rows: Int, into pre: UnsafeMutablePointer<T>) {
        let G = gateWidth
        if kind != .mrnn, thinMatmul(m: rows, n: G, k: inputSize, a: x, lda: inputSize, b: wx.value.ptr, ldb: G,
                                     bias: bias.value.ptr, c: pre, ldc: G) { return }
        project(x, rows: rows, into: pre)
    }

    /// The recurrence over `steps` steps whose input-side pre-activations `ws.pre` are set.
    func runSteps(_ ws: RecurrentWorkspace<T>, steps T: Int) {
        beginForward(ws, steps: T)
        for t in 0..<T { step(t, ws) }
    }

    // MARK: - Backward

    /// Starts a backward pass: zeroes the gradient carried through the recurrence.
    /// Also takes a transposed copy of W_h, so the per-step product dh_{t−1} = dPre·W_hᵀ runs as a plain product
    /// (about 15% faster in OpenBLAS than the transposed form at LSTM sizes; the copy costs one pass over W_h), or
    /// for the fused kernels packs W_hᵀ into their panels.
    @_specialize(exported: true, where T == Float)
    public func beginBackward(_ ws: RecurrentWorkspace<T>) {
        ws.dhCarry.zero()
        ws.dcCarry?.zero()
        ws.fusedBackward = layerNorm == nil && FusedKernels.applies(kind, T.self, batch: ws.batch)
        if kind == .mrnn { return }   // its backward step multiplies by W_fhᵀ in place
        if ws.fusedBackward {
            ws.packed.inputBackwardPacked = false
            qk_recurrent_pack_backward(asFloat(UnsafePointer(wh.value.ptr)), Int32(kind.gateCount), Int32(hiddenSize),
                                       ws.packed.backward)
            return
        }
        let whT = ws.whT ?? Tensor([gateWidth, hiddenSize])
        ws.whT = whT
        Kernels.transpose(wh.value.ptr, rows: hiddenSize, cols: gateWidth, into: whT.ptr)
    }

    /// Backward through step `t`. `dhExternal` (B, H) is the gradient reaching h_{t+1} from outside the layer
    /// (layers above, the output, a window); it may be nil. Writes `ws.dPre[t]` and carries dh, dc to step t−1.
    @_specialize(exported: true, where T == Float)
    public func backwardStep(_ t: Int, _ ws: RecurrentWorkspace<T>, dhExternal: UnsafePointer<T>?) {
        let B = ws.batch, H = hiddenSize, G = gateWidth
        let dh = ws.dhCarry.ptr
        let dPre = ws.dPreStep(t)
        if ws.fusedBackward {
            ProductClock.time(.recurrentSteps) { fusedBackwardStep(t, ws, dhExternal: dhExternal) }
            return
        }
        if let e = dhExternal { Kernels.add(e, into: dh, count: B * H) }
        switch kind {
        case .mrnn:
            mrnnBackwardStep(t, ws)
            return
        case .lstm where layerNorm != nil:
            layerNormBackwardCell(t, ws)
        case .phasedLSTM:
            phasedBackwardCell(t, ws)
        case .lstm:
            // Invariant: an LSTM workspace always has dcCarry (init, kind.hasCell).
            let dc = ws.dcCarry!.ptr
            CellKernels.lstmBackward(gates: ws.preStep(t), cPrev: ws.cStep(t), tanhC: ws.tanhCStep(t), dh: dh,
                                     dc: dc, dGates: dPre, batch: B, hidden: H,
                                     peepholes: peephole.map { UnsafePointer($0.value.ptr) })
        case .rnn, .rnnRelu:
            CellKernels.rnnBackward(h: ws.hStep(t + 1), dh: dh, dPre: dPre, count: B * H, relu: kind == .rnnRelu)
        case .gru:
            CellKernels.gruBackward(act: ws.preStep(t), hg: ws.hgStep(t), hPrev: ws.hStep(t), dh: dh,
                                    dxg: dPre, dhg: ws.dhgStep(t), dhPrevDirect: ws.scratchBH.ptr,
                                    batch: B, hidden: H)
        case .tcn, .nnn:
            preconditionFailure("\(kind.rawValue) is not a recurrent cell (init refuses it)")
        }
        if let clip = preactivationGradientClip {
            Kernels.clamp(dPre, count: B * G, limit: clip)
            if kind == .gru { Kernels.clamp(ws.dhgStep(t), count: B * G, limit: clip) }
        }
        // dh_{t-1} = dPre_h · W_hᵀ (+ z ⊙ dh for GRU, (1 − k) ⊙ dh for the Phased LSTM), with the transposed copy
        // taken by `beginBackward`.
        let dRec = kind == .gru || layerNorm != nil ? UnsafePointer(ws.dhgStep(t)) : UnsafePointer(dPre)
        // Invariant: beginBackward ran first and, as this pass is not fused, set ws.whT.
        matmul(m: B, n: H, k: G, a: dRec, lda: G, b: ws.whT!.ptr, ldb: H, c: dh, ldc: H)
        if kind == .gru || kind == .phasedLSTM { Kernels.add(ws.scratchBH.ptr, into: dh, count: B * H) }
    }

    /// `backwardStep` on the fused kernels: the cell's gradients and dh_{t−1} in one threaded call.
    private func fusedBackwardStep(_ t: Int, _ ws: RecurrentWorkspace<T>, dhExternal: UnsafePointer<T>?) {
        let B = Int32(ws.batch), H = Int32(hiddenSize)
        let clip = preactivationGradientClip.map { Float(Double($0)) } ?? 0
        let packed = ws.packed.backward, dh = asFloat(ws.dhCarry.ptr), dPre = asFloat(ws.dPreStep(t))
        let external = dhExternal.map { asFloat($0) }
        switch kind {
        case .lstm:
            // Invariant: an LSTM workspace always has dcCarry (init, kind.hasCell).
            let dc = ws.dcCarry!.ptr
            qk_lstm_backward_step(packed, B, H, asFloat(UnsafePointer(ws.preStep(t))),
                                  asFloat(UnsafePointer(ws.cStep(t))), asFloat(UnsafePointer(ws.tanhCStep(t))),
                                  dh, external, asFloat(dc), dPre, clip,
                                  peephole.map { asFloat(UnsafePointer($0.value.ptr)) })
        case .gru:
            qk_gru_backward_step(packed, B, H, asFloat(UnsafePointer(ws.preStep(t))),
                                 asFloat(UnsafePointer(ws.hgStep(t))), asFloat(UnsafePointer(ws.hStep(t))), dh,
                                 external, dPre, asFloat(ws.dhgStep(t)), clip)
        case .rnn, .rnnRelu:
            qk_rnn_backward_step(packed, B, H, kind == .rnnRelu ? 1 : 0, asFloat(UnsafePointer(ws.hStep(t + 1))), dh,
                                 external, dPre, clip)
        case .mrnn, .phasedLSTM, .tcn, .nnn:
            preconditionFailure("\(kind.rawValue) has no fused kernels (CellKind.hasFusedKernels)")
        }
    }

    /// Finishes a backward pass over `steps` steps: weight gradients as single GEMMs over all timesteps, and the
    /// input gradient. x: (T, B, inputSize) as given to `forward`; dx: (T, B, inputSize), overwritten, or nil.
    @_specialize(exported: true, where T == Float)
    public func finishBackward(_ x: UnsafePointer<T>, _ ws: RecurrentWorkspace<T>, dx: UnsafeMutablePointer<T>?,
                               steps: Int? = nil) {
        let T = steps ?? ws.activeSteps
        let rows = T * ws.batch, G = gateWidth
        let dPre = ws.dPre.ptr
        // dW_x += xᵀ · dPre ; db += Σ dPre ; dx = dPre · W_xᵀ
        if !thinMatmul(transA: true, m: inputSize, n: G, k: rows, a: x, lda: inputSize, b: dPre, ldb: G,
                       beta: 1, c: wx.grad.ptr, ldc: G) {
            matmul(transA: true, m: inputSize, n: G, k: rows, a: x, lda: inputSize, b: dPre, ldb: G,
                   beta: 1, c: wx.grad.ptr, ldc: G)
        }
        if let dx { inputGradient(dPre, rows: rows, into: dx) }
        if kind == .mrnn {
            mrnnFinishBackward(ws, rows: rows)
            return
        }
        // A layer-normalised layer took db step by step, before dPre became ∂L/∂(x·W_x).
        if layerNorm == nil { Kernels.accumulateColumnSums(dPre, rows: rows, cols: G, into: bias.grad.ptr) }
        finishRecurrentGradients(ws, rows: rows)
    }

    /// The gradients of the recurrent side over `rows` = T·B rows of `ws.dPre`: dW_h, the GRU's recurrent bias, the
    /// peepholes. Ends a backward pass.
    func finishRecurrentGradients(_ ws: RecurrentWorkspace<T>, rows: Int) {
        let H = hiddenSize, G = gateWidth
        let dPre = ws.dPre.ptr
        ws.fusedForward = false   // the weights are about to change: the next pass packs them again
        ws.packed.inputForwardPacked = false
        ws.packed.inputBackwardPacked = false
        // dW_h += h_prevᵀ · dPre_h over all steps: h_prev rows are ws.h[0..T-1], contiguous.
        // Invariant: a GRU or layer-normalised workspace always has dhg (init).
        let dRec = kind == .gru || layerNorm != nil ? UnsafePointer(ws.dhg!.ptr) : UnsafePointer(dPre)
        matmul(transA: true, m: H, n: G, k: rows, a: ws.h.ptr, lda: H, b: dRec, ldb: G,
               beta: 1, c: wh.grad.ptr, ldc: G)
        if let bh = biasH {
            Kernels.accumulateColumnSums(dRec, rows: rows, cols: G, into: bh.grad.ptr)
        }
        if let p = peephole, let c = ws.c {
            // c rows: c[0..T-1] are the c_{t−1} of steps 0…T−1, c[1...T] their c_t.
            CellKernels.peepholeGradients(dGates: dPre, cPrev: c.ptr, c: c.ptr + ws.batch * H, rows: rows, hidden: H,
                                          into: p.grad.ptr)
        }
    }

    /// The gradient of step t's input, dx_t = dPre_t · W_xᵀ: (B, inputSize), overwritten. Valid after
    /// `backwardStep(t)`, for callers that pass it on within the backward pass (Graves's window).
    @_specialize(exported: true, where T == Float)
    public func inputGradient(at t: Int, _ ws: RecurrentWorkspace<T>, into dx: UnsafeMutablePointer<T>) {
        if ws.fusedBackward, kind != .mrnn, T.self == Float.self {
            // As `fusedInputProduct`, with W_xᵀ packed once a pass.
            let B = ws.batch, G = gateWidth, I = inputSize
            let packed = ws.packed.packInputBackward(asFloat(UnsafePointer(wx.value.ptr)), inputs: I, gateWidth: G)
            let done = ProductClock.time(.products, shape: ProductShape(m: B, n: I, k: G, transA: false, transB: true)) {
                dx.update(repeating: 0, count: B * I)
                return qk_panel_multiply(packed, Int32(G), Int32(I), Int32(B), asFloat(UnsafePointer(ws.dPreStep(t))),
                                         Int32(G), asFloat(dx), Int32(I)) != 0
            }
            if done { return }
        }
        inputGradient(ws.dPreStep(t), rows: ws.batch, into: dx)
    }

    /// dx = dPre · W_xᵀ over `rows` rows. dPre: (rows, G); dx: (rows, inputSize), overwritten.
    private func inputGradient(_ dPre: UnsafePointer<T>, rows: Int, into dx: UnsafeMutablePointer<T>) {
        let G = gateWidth
        matmul(transB: true, m: rows, n: inputSize, k: G, a: dPre, lda: G, b: wx.value.ptr, ldb: G, c: dx,
               ldc: inputSize)
    }

    /// Backward over a whole sequence. dh: (T, B, H) gradient of the outputs, or nil for zero. `observe`, when
    /// given, sees the gradient reaching each h_t before step t consumes it, as (t, carried, external): ∂L/∂h_t is
    /// their sum, `carried` (B, H) through the recurrence from step t + 1 and `external` (B, H, or nil for zero)
    /// from `dh`.
    @_specialize(exported: true, where T == Float)
    public func backward(_ x: UnsafePointer<T>, _ ws: RecurrentWorkspace<T>, dh: UnsafePointer<T>?,
                         dx: UnsafeMutablePointer<T>?, steps: Int? = nil,
                         observe: ((Int, UnsafePointer<T>, UnsafePointer<T>?) -> Void)? = nil) {
        let T = steps ?? ws.activeSteps
        backwardSteps(ws, dh: dh, steps: T, observe: observe)
        finishBackward(x, ws, dx: dx, steps: T)
    }

    /// Steps T−1 … 0 of a backward pass (`backward` without its `finishBackward`).
    func backwardSteps(_ ws: RecurrentWorkspace<T>, dh: UnsafePointer<T>?, steps T: Int,
                       observe: ((Int, UnsafePointer<T>, UnsafePointer<T>?) -> Void)?) {
        let BH = ws.batch * hiddenSize
        beginBackward(ws)
        for t in stride(from: T - 1, through: 0, by: -1) {
            let external = dh.map { UnsafePointer($0 + t * BH) }
            observe?(t, ws.dhCarry.ptr, external)
            backwardStep(t, ws, dhExternal: external)
        }
    }
}

/// Activations of one recurrent layer over up to `steps` timesteps of a batch: what backward needs, and the state
/// that carries across truncated-BPTT windows.
///
/// `h` is (T+1, B, H): `h[0]` is the initial state and `h[t+1]` the output of step t, so `outputs` — the rows
/// h[1...T] — are contiguous (T, B, H). `c` likewise for LSTM.
public final class RecurrentWorkspace<T: QuillScalar> {
    public let kind: CellKind
    /// Capacity in timesteps.
    public let steps: Int
    /// Timesteps the next sequence pass runs (≤ `steps`): batches of shorter sequences reuse one workspace.
    public var activeSteps: Int
    public let batch: Int
    public let hidden: Int
    public let gateWidth: Int
    /// (T, B, G): pre-activations, then activated gates.
    public let pre: Tensor<T>
    /// (T, B, G): gradients of the pre-activations.
    public let dPre: Tensor<T>
    /// (T+1, B, H)
    public let h: Tensor<T>
    /// (T+1, B, H), LSTM only.
    public let c: Tensor<T>?
    /// (T, B, H), LSTM only: tanh(c_t), kept for backward.
    public let tanhC: Tensor<T>?
    /// (T, B, G), GRU only: recurrent-side pre-activations and their gradients.
    public let hg: Tensor<T>?
    public let dhg: Tensor<T>?
    /// (T, B, F), MRNN only: h_{t−1}·W_fh, the factors f_t, and the gradient of h_{t−1}·W_fh.
    let factorHidden: Tensor<T>?
    let factor: Tensor<T>?
    let dFactorHidden: Tensor<T>?
    /// (T, B, H), Phased LSTM only: the time gate k_t and the LSTM's c̃_t and h̃_t before k blends them in.
    let timeGateValues: Tensor<T>?
    let candidateC: Tensor<T>?
    let candidateH: Tensor<T>?
    /// (B, H), Phased LSTM only: (1 − k) ⊙ dc during a backward step.
    let scratchC: Tensor<T>?
    /// (B), Phased LSTM only: the steps each stream has read before the initial state (empty for other cells).
    public internal(set) var time: [Int]
    /// Layer-normalised layers only: the normalised x·W_x and h_{t−1}·W_h (T, B, G) and c_t (T, B, H), and their
    /// rows' 1/σ (T, B).
    let inputNorm: Tensor<T>?
    let recurrentNorm: Tensor<T>?
    let cellNorm: Tensor<T>?
    let inputInverseSigma: Tensor<T>?
    let recurrentInverseSigma: Tensor<T>?
    let cellInverseSigma: Tensor<T>?
    /// (B, H): dh and dc carried backwards through time.
    public let dhCarry: Tensor<T>
    public let dcCarry: Tensor<T>?
    let scratchBH: Tensor<T>
    /// (G, H): W_hᵀ, refreshed by `beginBackward` (nil until the first backward pass).
    var whT: Tensor<T>?
    /// Whether this pass's forward (backward) steps run the fused kernels: set by `beginForward` (`beginBackward`).
    public internal(set) var fusedForward = false
    public internal(set) var fusedBackward = false
    /// The fused kernels' packed W_h and W_hᵀ, allocated on first use.
    lazy var packed = PackedRecurrentWeights(hidden: hidden, gates: kind.gateCount)
    /// (V, G), for a pass over `TokenRows`: the table's projection E·W_x + b going forward, the gradients of the
    /// pre-activations summed by token coming back. Allocated on first use, again when V changes.
    var tokenTable: Tensor<T>?

    @_specialize(exported: true, where T == Float)
    public init(layer: RecurrentLayer<T>, steps: Int, batch: Int) {
        kind = layer.kind
        self.steps = steps
        activeSteps = steps
        self.batch = batch
        hidden = layer.hiddenSize
        gateWidth = layer.gateWidth
        let H = hidden, G = gateWidth
        pre = Tensor([steps, batch, G])
        dPre = Tensor([steps, batch, G])
        h = Tensor([steps + 1, batch, H])
        c = kind.hasCell ? Tensor([steps + 1, batch, H]) : nil
        tanhC = kind.hasCell ? Tensor([steps, batch, H]) : nil
        hg = kind == .gru ? Tensor([steps, batch, G]) : nil
        let normalized = layer.layerNorm != nil
        dhg = kind == .gru || normalized ? Tensor([steps, batch, G]) : nil
        inputNorm = normalized ? Tensor([steps, batch, G]) : nil
        recurrentNorm = normalized ? Tensor([steps, batch, G]) : nil
        cellNorm = normalized ? Tensor([steps, batch, H]) : nil
        inputInverseSigma = normalized ? Tensor([steps, batch]) : nil
        recurrentInverseSigma = normalized ? Tensor([steps, batch]) : nil
        cellInverseSigma = normalized ? Tensor([steps, batch]) : nil
        let F = layer.factors
        factorHidden = kind == .mrnn ? Tensor([steps, batch, F]) : nil
        factor = kind == .mrnn ? Tensor([steps, batch, F]) : nil
        dFactorHidden = kind == .mrnn ? Tensor([steps, batch, F]) : nil
        let phased = kind == .phasedLSTM
        timeGateValues = phased ? Tensor([steps, batch, H]) : nil
        candidateC = phased ? Tensor([steps, batch, H]) : nil
        candidateH = phased ? Tensor([steps, batch, H]) : nil
        scratchC = phased ? Tensor([batch, H]) : nil
        time = phased ? [Int](repeating: 0, count: batch) : []
        dhCarry = Tensor([batch, H])
        dcCarry = kind.hasCell ? Tensor([batch, H]) : nil
        scratchBH = Tensor([batch, H])
    }

    @inline(__always) func preStep(_ t: Int) -> UnsafeMutablePointer<T> { pre.ptr + t * batch * gateWidth }
    @inline(__always) func dPreStep(_ t: Int) -> UnsafeMutablePointer<T> { dPre.ptr + t * batch * gateWidth }
    @inline(__always) public func hStep(_ t: Int) -> UnsafeMutablePointer<T> { h.ptr + t * batch * hidden }
    // Invariant: called for LSTM layers only, whose workspaces always have c (init).
    @inline(__always) func cStep(_ t: Int) -> UnsafeMutablePointer<T> { c!.ptr + t * batch * hidden }
    // Invariant: called for LSTM layers only, whose workspaces always have tanhC (init).
    @inline(__always) func tanhCStep(_ t: Int) -> UnsafeMutablePointer<T> { tanhC!.ptr + t * batch * hidden }
    // Invariant: called for GRU layers only, whose workspaces always have hg (init).
    @inline(__always) func hgStep(_ t: Int) -> UnsafeMutablePointer<T> { hg!.ptr + t * batch * gateWidth }
    // Invariant: called for GRU layers only, whose workspaces always have dhg (init).
    @inline(__always) func dhgStep(_ t: Int) -> UnsafeMutablePointer<T> { dhg!.ptr + t * batch * gateWidth }
    @inline(__always) func factorHiddenStep(_ t: Int) -> UnsafeMutablePointer<T> {
        // Invariant: called for MRNN layers only, whose workspaces always have the factor buffers (init).
        factorHidden!.ptr + t * batch * (gateWidth - hidden)
    }
    // Invariant: called for MRNN layers only, whose workspaces always have the factor buffers (init).
    @inline(__always) func factorStep(_ t: Int) -> UnsafeMutablePointer<T> { factor!.ptr + t * batch * (gateWidth - hidden) }
    @inline(__always) func dFactorHiddenStep(_ t: Int) -> UnsafeMutablePointer<T> {
        // Invariant: called for MRNN layers only, whose workspaces always have the factor buffers (init).
        dFactorHidden!.ptr + t * batch * (gateWidth - hidden)
    }
    // Invariant: called for layer-normalised layers only, whose workspaces always have these buffers (init).
    @inline(__always) func inputNormStep(_ t: Int) -> UnsafeMutablePointer<T> { inputNorm!.ptr + t * batch * gateWidth }
    @inline(__always) func recurrentNormStep(_ t: Int) -> UnsafeMutablePointer<T> {
        // Invariant: called for layer-normalised layers only, whose workspaces always have these buffers (init).
        recurrentNorm!.ptr + t * batch * gateWidth
    }
    // Invariant: called for layer-normalised layers only, whose workspaces always have these buffers (init).
    @inline(__always) func cellNormStep(_ t: Int) -> UnsafeMutablePointer<T> { cellNorm!.ptr + t * batch * hidden }
    // Invariant: called for Phased LSTM layers only, whose workspaces always have these buffers (init).
    @inline(__always) func timeGateStep(_ t: Int) -> UnsafeMutablePointer<T> { timeGateValues!.ptr + t * batch * hidden }
    // Invariant: called for Phased LSTM layers only, whose workspaces always have these buffers (init).
    @inline(__always) func candidateCStep(_ t: Int) -> UnsafeMutablePointer<T> { candidateC!.ptr + t * batch * hidden }
    // Invariant: called for Phased LSTM layers only, whose workspaces always have these buffers (init).
    @inline(__always) func candidateHStep(_ t: Int) -> UnsafeMutablePointer<T> { candidateH!.ptr + t * batch * hidden }

    /// The outputs h[1...T]: (T, B, H).
    public var outputs: UnsafeMutablePointer<T> { h.ptr + batch * hidden }

    /// Moves the state after `steps` steps to the initial slot, so the next window continues from it.
    @_specialize(exported: true, where T == Float)
    public func carryState(after steps: Int? = nil) {
        let T = steps ?? activeSteps
        let n = batch * hidden
        if T == 0 { return }
        h.ptr.update(from: h.ptr + T * n, count: n)
        if let c { c.ptr.update(from: c.ptr + T * n, count: n) }
        for b in time.indices { time[b] += T }
    }

    /// Zeroes the initial state.
    @_specialize(exported: true, where T == Float)
    public func resetState() {
        let n = batch * hidden
        h.ptr.update(repeating: 0, count: n)
        c?.ptr.update(repeating: 0, count: n)
        for b in time.indices { time[b] = 0 }
    }

    /// Zeroes the initial state of one batch row (a stream that starts over).
    @_specialize(exported: true, where T == Float)
    public func resetState(row b: Int) {
        (h.ptr + b * hidden).update(repeating: 0, count: hidden)
        c.map { ($0.ptr + b * hidden).update(repeating: 0, count: hidden) }
        if !time.isEmpty { time[b] = 0 }
    }

    /// The initial state as a named struct (copies).
    @_specialize(exported: true, where T == Float)
    public func initialState() -> RecurrentState<T> {
        var s = RecurrentState<T>(batch: batch, hidden: hidden, hasCell: kind.hasCell)
        s.h.ptr.update(from: h.ptr, count: batch * hidden)
        if let c, let sc = s.c { sc.ptr.update(from: c.ptr, count: batch * hidden) }
        s.time = time
        return s
    }

    /// Sets the initial state from a named struct of the same shape.
    @_specialize(exported: true, where T == Float)
    public func setInitialState(_ s: RecurrentState<T>) {
        h.ptr.update(from: s.h.ptr, count: batch * hidden)
        if let c, let sc = s.c { c.ptr.update(from: sc.ptr, count: batch * hidden) }
        if s.time.count == time.count { time = s.time }
    }

    /// Reorders the initial state's batch rows: row b takes old row `order[b]` (beam search).
    @_specialize(exported: true, where T == Float)
    public func reorderInitialState(_ order: [Int]) {
        func permute(_ p: UnsafeMutablePointer<T>) {
            let copy = Array(UnsafeBufferPointer(start: p, count: batch * hidden))
            for (b, src) in order.enumerated() {
                for j in 0..<hidden { p[b * hidden + j] = copy[src * hidden + j] }
            }
        }
        permute(h.ptr)
        if let c { permute(c.ptr) }
        if !time.isEmpty { time = order.map { time[$0] } }
    }
}
