import QuillNumerics

/// A layer's input given as rows of a table picked by token, x_r = E[tokens_r]: a char model's embedding, or its
/// one-hot input (E the identity). A recurrent layer takes it in one (V, G) product instead of one over every
/// timestep: x·W_x + b is (E·W_x + b)[tokens], and going back, with S_v = Σ_{r: tokens_r = v} ∂L/∂pre_r,
/// ∂L/∂W_x = Eᵀ·S, ∂L/∂b = Σ_v S_v and ∂L/∂E = S·W_xᵀ (Graves 2013, eq. 7's input term).
public struct TokenRows<T: QuillScalar> {
    /// (rows), each in 0..<V, time-major like the layer's input.
    public let tokens: UnsafePointer<Int32>
    /// (V, inputSize). Its gradient accumulates when it is trainable.
    public let table: Parameter<T>

    @_specialize(exported: true, where T == Float)
    public init(tokens: UnsafePointer<Int32>, table: Parameter<T>) {
        self.tokens = tokens
        self.table = table
    }

    /// V, the table's rows.
    public var vocabularySize: Int { table.value.shape[0] }
}

extension RecurrentLayer {
    /// Whether a sequence pass of `rows` rows (T·B, T > 1) over `input` runs through the table: for cells whose
    /// input side is x·W_x + b (not the MRNN, whose bias reaches only its hidden block, nor layer-normalised layers)
    /// when the table has at most half as many rows as the pass. Single steps (sampling) keep the row path and its
    /// bits.
    @_specialize(exported: true, where T == Float)
    public func takesTokenRows(_ input: TokenRows<T>, steps: Int, batch: Int) -> Bool {
        steps > 1 && kind != .mrnn && layerNorm == nil && input.table.value.shape.count == 2
            && input.table.value.shape[1] == inputSize && 2 * input.vocabularySize <= steps * batch
    }

    private func tokenTable(_ ws: RecurrentWorkspace<T>, vocabularySize V: Int) -> UnsafeMutablePointer<T> {
        if let t = ws.tokenTable, t.shape[0] == V { return t.ptr }
        let t = Tensor<T>([V, gateWidth])
        ws.tokenTable = t
        return t.ptr
    }

    /// Forward over a sequence from token rows (`takesTokenRows` must hold): pre_r = (E·W_x + b)[tokens_r], then
    /// the recurrence. Outputs are `ws.outputs`: (T, B, H).
    @_specialize(exported: true, where T == Float)
    public func forward(_ input: TokenRows<T>, _ ws: RecurrentWorkspace<T>, steps: Int? = nil) {
        let T = steps ?? ws.activeSteps
        precondition(takesTokenRows(input, steps: T, batch: ws.batch), "token rows this layer does not take")
        let V = input.vocabularySize, G = gateWidth, rows = T * ws.batch
        let projected = tokenTable(ws, vocabularySize: V)
        // The table's rows through the same product as rows of a sequence, so each gets the same bits either way.
        projectSequence(input.table.value.ptr, rows: V, into: projected)
        let pre = ws.pre.ptr
        KernelThreads.forEachRowRange(rows, width: G) { range in
            for r in range { (pre + r * G).update(from: projected + Int(input.tokens[r]) * G, count: G) }
        }
        runSteps(ws, steps: T)
    }

    /// Backward over the steps of the last `forward(_:_:steps:)` from token rows: gradients accumulate into W_x, b,
    /// W_h (and the rest of the layer's) and, when trainable, into the table. dh: (T, B, H) or nil for zero;
    /// `observe` as in `backward`.
    @_specialize(exported: true, where T == Float)
    public func backward(_ input: TokenRows<T>, _ ws: RecurrentWorkspace<T>, dh: UnsafePointer<T>?,
                         steps: Int? = nil, observe: ((Int, UnsafePointer<T>, UnsafePointer<T>?) -> Void)? = nil) {
        let T = steps ?? ws.activeSteps
        backwardSteps(ws, dh: dh, steps: T, observe: observe)
        let V = input.vocabularySize, G = gateWidth, I = inputSize, rows = T * ws.batch
        let summed = tokenTable(ws, vocabularySize: V), dPre = UnsafePointer(ws.dPre.ptr)
        summed.update(repeating: 0, count: V * G)
        // Cut by columns: each (token, column) still sums its rows in order.
        KernelThreads.forEachColumnRange(G, rows: rows) { columns in
            let j0 = columns.lowerBound
            for r in 0..<rows {
                Kernels.add(dPre + r * G + j0, into: summed + Int(input.tokens[r]) * G + j0, count: columns.count)
            }
        }
        let table = input.table
        matmul(transA: true, m: I, n: G, k: V, a: table.value.ptr, lda: I, b: summed, ldb: G, beta: 1,
               c: wx.grad.ptr, ldc: G)
        Kernels.accumulateColumnSums(summed, rows: V, cols: G, into: bias.grad.ptr)
        if table.trainable {
            matmul(transB: true, m: V, n: I, k: G, a: summed, lda: G, b: wx.value.ptr, ldb: G, beta: 1,
                   c: table.grad.ptr, ldc: I)
        }
        finishRecurrentGradients(ws, rows: rows)
    }
}
