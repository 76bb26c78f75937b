import QuillNN
import QuillNumerics

/// Gauss–Newton matrix–vector products of a char model, computed exactly: an R-pass forward (Pearlmutter 1994), the
/// softmax cross-entropy's Hessian with respect to the logits, and the ordinary backward pass (Schraudolph 2002;
/// Martens 2010, §4.2). The products Hessian-free optimisation's conjugate gradient needs (issue 15 item 2).
///
/// For the mean loss L = (1/N) Σ_rows ℓ(z_row) over a window's N characters, with J = ∂z/∂θ the Jacobian of the
/// logits, G·v = Jᵀ H_L J v, where H_L is block-diagonal with blocks (diag p − p pᵀ)/N (p = softmax z). Martens and
/// Sutskever's (2011, §3.1) structural damping adds λμ·J_hᵀ J_h v, J_h the Jacobian of the hidden states that feed
/// the output layer.
public enum GaussNewton {
    /// Why `config` has no Gauss–Newton product, or nil: it needs rnn, rnn-relu, mrnn or plain lstm layers (no
    /// peepholes, no layer normalisation) and no dropout.
    public static func problem(_ config: CharModelConfig) -> String? {
        guard [.rnn, .rnnRelu, .mrnn, .lstm].contains(config.cell) else {
            return "Gauss–Newton products (--optimizer hf) are implemented for rnn, rnn-relu, mrnn and lstm cells, not \(config.cell.rawValue)"
        }
        if config.peepholes || config.normalizesLayers {
            return "Gauss–Newton products (--optimizer hf) are implemented for plain LSTM layers: drop --peepholes and --layer-norm"
        }
        if config.dropout > 0 { return "Gauss–Newton products (--optimizer hf) need a deterministic network: --dropout must be 0" }
        return nil
    }

    /// Writes G·v (plus `structuralDamping`·J_hᵀ J_h v / N) into every parameter's `grad`, overwriting it, for the window
    /// `inputs` (T, B) read from `ws`'s current state; returns R{z}, the logits' directional derivative (T·B, V).
    ///
    /// Runs the forward pass itself (its activations are left in `ws`, as `evaluate` leaves them), so the state `ws`
    /// starts from must be the window's, not carried past it. `lossRows` as `CharModel.trainStep`.
    /// - Parameters:
    ///   - v: the direction, one tensor per entry of `model.parameters`, of the same shapes (the one-hot table's
    ///     entry is ignored).
    /// - Precondition: `problem(model.config) == nil`.
    @discardableResult
    @_specialize(exported: true, where T == Float)
    public static func product<T: QuillScalar>(_ model: CharModel<T>, inputs: UnsafePointer<Int32>, _ ws: CharWorkspace<T>,
                                              direction v: [Tensor<T>], structuralDamping: Double = 0,
                                              lossRows: Int? = nil) -> [T] {
        precondition(problem(model.config) == nil && v.count == model.parameters.count, "no Gauss–Newton product here")
        // Invariant: the cells problem() allows are recurrent: the model and its workspace have recurrent stacks.
        let stack = model.stack!, sws = ws.stack!
        let rows = ws.steps * ws.batch, V = model.config.vocabularySize, E = model.embedding.dimension
        let H = stack.hiddenSize, N = stack.layers.count
        var unused = SeededGenerator(seed: 0)
        model.forward(inputs, ws, dropout: 0, rng: &unused)

        // Where each parameter's direction is.
        var index = [ObjectIdentifier: Int]()
        for (i, p) in model.parameters.enumerated() { index[ObjectIdentifier(p)] = i }
        func direction(_ ps: [Parameter<T>]) -> [Tensor<T>] {
            // Invariant: every parameter of the model is in `index` (built from model.parameters above).
            ps.map { v[index[ObjectIdentifier($0)]!] }
        }

        // R{x}: the embedding rows of the direction (zero for a one-hot input, which is not trained).
        let rx: Tensor<T>? = model.embedding.isOneHot ? nil : Tensor([rows, E])
        if let rx {
            let table = direction([model.embedding.table])[0]
            for r in 0..<rows { (rx.ptr + r * E).update(from: table.ptr + Int(inputs[r]) * E, count: E) }
        }
        // Layer by layer: layer n reads [x (with skips), hⁿ⁻¹].
        var rh = [Tensor<T>]()
        for (n, layer) in stack.layers.enumerated() {
            let lws = sws.layers[n], out = Tensor<T>([rows, H])
            if n == 0 {
                layer.rForward(ws.embedded.ptr, rx: rx.map { UnsafePointer($0.ptr) }, lws,
                               direction: direction(layer.parameters), into: out.ptr)
            } else {
                let W = layer.inputSize, off = stack.skipConnections ? E : 0
                let x = Tensor<T>([rows, W]), rxn = Tensor<T>([rows, W])
                let below = sws.layers[n - 1].outputs
                for r in 0..<rows {
                    if stack.skipConnections {
                        (x.ptr + r * W).update(from: ws.embedded.ptr + r * E, count: E)
                        if let rx { (rxn.ptr + r * W).update(from: rx.ptr + r * E, count: E) }
                    }
                    (x.ptr + r * W + off).update(from: below + r * H, count: H)
                    (rxn.ptr + r * W + off).update(from: rh[n - 1].ptr + r * H, count: H)
                }
                layer.rForward(x.ptr, rx: rxn.ptr, lws, direction: direction(layer.parameters), into: out.ptr)
            }
            rh.append(out)
        }
        // R{out}: the layers feeding the output layer, side by side with skips.
        let width = stack.outputSize
        let rOut = Tensor<T>([rows, width])
        for r in 0..<rows {
            if stack.skipConnections {
                for n in 0..<N { (rOut.ptr + r * width + n * H).update(from: rh[n].ptr + r * H, count: H) }
            } else {
                (rOut.ptr + r * width).update(from: rh[N - 1].ptr + r * H, count: H)
            }
        }
        // R{z} = R{out}·W_o + out·V_o + V_b.
        let vo = direction(model.output.parameters)
        let rz = Tensor<T>([rows, V])
        let out = model.bodyOutput(ws)
        matmul(m: rows, n: V, k: width, a: rOut.ptr, lda: width, b: model.output.weight.value.ptr, ldb: V,
               c: rz.ptr, ldc: V)
        matmul(m: rows, n: V, k: width, a: out, lda: width, b: vo[0].ptr, ldb: V, beta: 1, c: rz.ptr, ldc: V)
        Kernels.addRowVector(rz.ptr, rows: rows, cols: V, vo[1].ptr)
        // H_L·R{z}: per row (diag p − p pᵀ) R{z} / N.
        let scale = 1 / Double(lossRows ?? rows)
        let dz = Tensor<T>([rows, V])
        for r in 0..<rows {
            let z = ws.logits.ptr + r * V
            var m = -Double.infinity
            for j in 0..<V { m = Swift.max(m, Double(z[j])) }
            var p = [Double](repeating: 0, count: V), s = 0.0
            for j in 0..<V { p[j] = Double.exp(Double(z[j]) - m); s += p[j] }
            var dot = 0.0
            for j in 0..<V { p[j] /= s; dot += p[j] * Double(rz[r * V + j]) }
            for j in 0..<V { dz[r * V + j] = T(p[j] * (Double(rz[r * V + j]) - dot) * scale) }
        }
        // Jᵀ: the ordinary backward pass from dz, plus structural damping's λμ·R{h} where the hidden states feed out.
        model.parameters.zeroGradients()
        let dOut = Tensor<T>([rows, width])
        model.output.backward(out, rows: rows, dy: dz.ptr, dx: dOut.ptr)
        if structuralDamping > 0 {
            let mu = T(structuralDamping * scale)
            for i in 0..<(rows * width) { dOut[i] += mu * rOut[i] }
        }
        let dx: Tensor<T>? = model.embedding.isOneHot ? nil : Tensor([rows, E])
        stack.backward(ws.embedded.ptr, sws, dOut: dOut.ptr, dx: dx?.ptr)
        if let dx { model.embedding.backward(inputs, count: rows, dOut: dx.ptr) }
        return rz.array
    }
}
