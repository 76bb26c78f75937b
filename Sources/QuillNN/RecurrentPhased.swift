import QuillNumerics

/// The Phased LSTM's steps (Neil, Pfeiffer and Liu 2016; `TimeGate`): `RecurrentLayer` runs them for
/// `CellKind.phasedLSTM`.
extension RecurrentLayer {
    /// The Phased LSTM's step t: the LSTM's c̃_t, h̃_t (kept), then k_t (kept) blends them with c_{t−1}, h_{t−1}.
    func phasedForwardStep(_ t: Int, _ ws: RecurrentWorkspace<T>) {
        let B = ws.batch, H = hiddenSize, G = gateWidth
        let pre = ws.preStep(t), hPrev = ws.hStep(t), cPrev = ws.cStep(t)
        let cTilde = ws.candidateCStep(t), hTilde = ws.candidateHStep(t), k = ws.timeGateStep(t)
        matmul(m: B, n: G, k: H, a: hPrev, lda: H, b: wh.value.ptr, ldb: G, beta: 1, c: pre, ldc: G)
        CellKernels.lstmForward(gates: pre, cPrev: cPrev, c: cTilde, tanhC: ws.tanhCStep(t), h: hTilde, batch: B,
                                hidden: H)
        // Invariant: a Phased LSTM layer always has its periods and time gate (init).
        let units = timeGateUnits()
        let c = ws.cStep(t + 1), h = ws.hStep(t + 1)
        for b in 0..<B {
            let time = Double(ws.time[b] + t)
            for j in 0..<H {
                let kv = T(units[j].value(at: time).k)
                let i = b * H + j
                k[i] = kv
                c[i] = kv * cTilde[i] + (1 - kv) * cPrev[i]
                h[i] = kv * hTilde[i] + (1 - kv) * hPrev[i]
            }
        }
    }

    /// Each unit's time gate, from the current periods, shifts and open ratios.
    func timeGateUnits() -> [TimeGate.Unit] {
        // Invariant: called for Phased LSTM layers only, which have periods and a time gate (init).
        let logPeriod = periods!.value, gate = timeGate!.value, H = hiddenSize
        return (0..<H).map {
            TimeGate.Unit(logPeriod: Double(logPeriod[$0]), shift: Double(gate[$0]), openLogit: Double(gate[H + $0]))
        }
    }

    /// The Phased LSTM's cell backward through step t, with dh_t (external gradient added) in `ws.dhCarry` and dc_t
    /// in `ws.dcCarry`: the time gate's parameter gradients from ∂L/∂k = dh ⊙ (h̃ − h_{t−1}) + dc ⊙ (c̃ − c_{t−1});
    /// the LSTM's backward from k ⊙ dh and k ⊙ dc into `dPre`, leaving dc_{t−1} in `ws.dcCarry`; (1 − k) ⊙ dh,
    /// the direct part of dh_{t−1}, in `ws.scratchBH`.
    func phasedBackwardCell(_ t: Int, _ ws: RecurrentWorkspace<T>) {
        let B = ws.batch, H = hiddenSize
        // Invariant: a Phased LSTM layer has its periods and time gate, its workspace dcCarry and scratchC (init).
        let gateGrad = timeGate!.grad, periodGrad = periods!.trainable ? periods!.grad : nil
        let units = timeGateUnits()
        // Invariant: a Phased LSTM layer has its periods and time gate (init).
        let dh = ws.dhCarry.ptr, dc = ws.dcCarry!.ptr, direct = ws.scratchBH.ptr, directC = ws.scratchC!.ptr
        let hPrev = ws.hStep(t), cPrev = ws.cStep(t), hTilde = ws.candidateHStep(t), cTilde = ws.candidateCStep(t)
        for b in 0..<B {
            let time = Double(ws.time[b] + t)
            for j in 0..<H {
                let i = b * H + j
                let g = units[j].value(at: time)
                let dk = Double(dh[i]) * Double(hTilde[i] - hPrev[i]) + Double(dc[i]) * Double(cTilde[i] - cPrev[i])
                if let periodGrad { periodGrad[j] += T(dk * g.dLogPeriod) }
                gateGrad[j] += T(dk * g.dShift)
                gateGrad[H + j] += T(dk * g.dOpenLogit)
                let k = T(g.k)
                direct[i] = (1 - k) * dh[i]
                directC[i] = (1 - k) * dc[i]
                dh[i] *= k
                dc[i] *= k
            }
        }
        CellKernels.lstmBackward(gates: ws.preStep(t), cPrev: cPrev, tanhC: ws.tanhCStep(t), dh: dh, dc: dc,
                                 dGates: ws.dPreStep(t), batch: B, hidden: H)
        Kernels.add(directC, into: dc, count: B * H)
    }
}
