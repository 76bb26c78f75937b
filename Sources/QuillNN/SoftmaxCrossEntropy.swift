import QuillNumerics

/// Softmax cross-entropy over rows of logits, computed through log-sum-exp (Graves section 3).
public enum SoftmaxCrossEntropy {
    /// Forward and backward in one pass.
    /// - logits: (N, V).
    /// - targets: N class indices.
    /// - dLogits: (N, V), written with `scale · (softmax − onehot)` when given.
    /// - Returns: the summed negative log-likelihood in nats (accumulated in Double).
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func loss<T: QuillScalar>(logits: UnsafePointer<T>, targets: UnsafePointer<Int32>,
                                            rows N: Int, classes V: Int,
                                            dLogits: UnsafeMutablePointer<T>?, scale: T = 1) -> Double {
        var total = 0.0
        for n in 0..<N {
            let row = logits + n * V
            var m = row[0]
            for j in 1..<V { m = Swift.max(m, row[j]) }
            var s: T = 0
            if let d = dLogits {
                let drow = d + n * V
                for j in 0..<V { let e = T.fastExp(row[j] - m); drow[j] = e; s += e }
                let inv = scale / s
                for j in 0..<V { drow[j] *= inv }
                drow[Int(targets[n])] -= scale
            } else {
                for j in 0..<V { s += T.fastExp(row[j] - m) }
            }
            let logZ = Double(m) + Double.log(Double(s))
            total += logZ - Double(row[Int(targets[n])])
        }
        return total
    }

    /// Writes the softmax of `logits / temperature` into `probs` (V values). The maximum's term is exactly 1, so a
    /// temperature that underflows to 0 in `T` gives the greedy distribution rather than 0/0.
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func softmax<T: QuillScalar>(_ logits: UnsafePointer<T>, count V: Int, temperature: T = 1,
                                               into probs: UnsafeMutablePointer<T>) {
        var m = logits[0]
        for j in 1..<V { m = Swift.max(m, logits[j]) }
        var s: T = 0
        for j in 0..<V {
            let d = logits[j] - m
            let e = d == 0 ? 1 : T.fastExp(d / temperature)
            probs[j] = e; s += e
        }
        for j in 0..<V { probs[j] /= s }
    }

    /// Writes log-softmax of `logits` into `out` (V values).
    @_specialize(exported: true, where T == Float) @_specialize(where T == Double)
    public static func logSoftmax<T: QuillScalar>(_ logits: UnsafePointer<T>, count V: Int,
                                                  into out: UnsafeMutablePointer<T>) {
        var m = logits[0]
        for j in 1..<V { m = Swift.max(m, logits[j]) }
        var s: T = 0
        for j in 0..<V { s += T.fastExp(logits[j] - m) }
        let logZ = m + T.log(s)
        for j in 0..<V { out[j] = logits[j] - logZ }
    }
}

/// Inverted dropout: kept units are scaled by 1/(1−p) during training, so evaluation needs no change.
public enum Dropout {
    /// Fills `mask` with 0 or 1/(1−p) from the generator.
    @_specialize(exported: true, where T == Float)
    public static func makeMask<T: QuillScalar>(_ mask: UnsafeMutablePointer<T>, count n: Int, p: Double,
                                                rng: inout SeededGenerator) {
        let keep = T(1 / (1 - p))
        for i in 0..<n { mask[i] = rng.uniform() < p ? 0 : keep }
    }
}
