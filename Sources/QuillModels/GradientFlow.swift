import Foundation
import QuillData
import QuillNN
import QuillNumerics

/// Gradient flow through time (issue 16 item 5; note 003's vanishing gradients): how large ∂L_T/∂hˡ_t, the gradient
/// of the loss at the last step T with respect to layer l's hidden state at step t, is for t = T, T − 1, …, 1. For a
/// plain RNN it shrinks roughly geometrically, ‖∂h_T/∂h_t‖ ≤ (σ_max L_φ)^{T−t}; an LSTM's cell path keeps it.
public enum GradientFlow {
    /// The norms ‖∂L/∂hˡ_t‖₂, `[layer][t]` for t = 0…steps − 1 (step t + 1 counting from 1), each the mean over the
    /// batch rows of that row's norm. The total derivative: through the recurrence, the layers above and, with skip
    /// connections or a window, the stack's output and the window.
    ///
    /// Runs the stack's own backward pass, reading the gradient that reaches each h_t through
    /// `GradientHooks.hiddenGradient` before the layer's step consumes it. The parameters' gradients accumulate as in
    /// any backward pass.
    /// - Parameters:
    ///   - x: the stack's input given to the `forward` just run, (steps, B, inputSize).
    ///   - ws: the workspace of that `forward`, run without dropout.
    ///   - dOut: the loss's gradient with respect to the stack's output, (steps, B, outputSize).
    @_specialize(exported: true, where T == Float)
    public static func hiddenGradientNorms<T: QuillScalar>(_ stack: RecurrentStack<T>, x: UnsafePointer<T>,
                                                          _ ws: StackWorkspace<T>,
                                                          dOut: UnsafePointer<T>) -> [[Double]] {
        let S = ws.activeSteps, B = ws.batch, H = stack.hiddenSize
        var norms = [[Double]](repeating: [Double](repeating: 0, count: S), count: stack.layers.count)
        var hooks = GradientHooks<T>(ready: { _ in })
        hooks.hiddenGradient = { n, t, carried, external in
            for b in 0..<B {
                var s = 0.0
                for j in 0..<H {
                    let g = Double(carried[b * H + j]) + (external.map { Double($0[b * H + j]) } ?? 0)
                    s += g * g
                }
                norms[n][t] += s.squareRoot() / Double(B)
            }
        }
        stack.backward(x, ws, dOut: dOut, dx: nil, hooks: hooks)
        return norms
    }

    /// ∂L_T/∂hˡ_t norms of a char model on `rows` (B token sequences of steps + 1 tokens each): the model reads the
    /// first `steps` tokens of each row, and L_T is the mean cross-entropy of its prediction of the last token after
    /// the last step. `[layer][t]` as `hiddenGradientNorms`. Leaves the gradients of this loss in the parameters.
    /// - Precondition: `rows` is not empty, its rows have one length of at least 2 and tokens in the vocabulary; the
    ///   model is recurrent (`CellKind.isRecurrent`).
    @_specialize(exported: true, where T == Float)
    public static func charModel<T: QuillScalar>(_ model: CharModel<T>, rows: [[Int32]]) -> [[Double]] {
        precondition(!rows.isEmpty && Set(rows.map(\.count)).count == 1 && rows[0].count >= 2, "rows of one length ≥ 2")
        guard let stack = model.stack else { preconditionFailure("gradient flow needs a recurrent model") }
        let S = rows[0].count - 1, B = rows.count, V = model.config.vocabularySize
        let ws = model.makeWorkspace(steps: S, batch: B)
        var inputs = [Int32](repeating: 0, count: S * B)
        for t in 0..<S { for b in 0..<B { inputs[t * B + b] = rows[b][t] } }
        let targets = rows.map { $0[S] }
        var rng = SeededGenerator(seed: 0)
        ws.resetState()
        inputs.withUnsafeBufferPointer { model.forward($0.baseAddress!, ws, dropout: 0, rng: &rng) }  // Invariant: S·B ≥ 1.
        let last = (S - 1) * B
        let dLast = Tensor<T>([B, V])
        _ = targets.withUnsafeBufferPointer {
            // Invariant: B ≥ 1.
            SoftmaxCrossEntropy.loss(logits: ws.logits.ptr + last * V, targets: $0.baseAddress!, rows: B, classes: V,
                                     dLogits: dLast.ptr, scale: T(1) / T(B))
        }
        let width = stack.outputSize
        ws.dStackOut.zero()
        model.output.backward(model.bodyOutput(ws) + last * width, rows: B, dy: dLast.ptr,
                              dx: ws.dStackOut.ptr + last * width)
        // Invariant: a recurrent model's workspace has a recurrent stack's (CharWorkspace.init).
        return hiddenGradientNorms(stack, x: ws.embedded.ptr, ws.stack!, dOut: ws.dStackOut.ptr)
    }

    /// B rows of steps + 1 tokens for `charModel`: windows of `text` at positions drawn from `rng` when a text is
    /// given, else tokens drawn uniformly from the vocabulary of `vocabularySize`.
    /// - Throws: `CharModelError.invalidOption` when the text is shorter than steps + 1 characters.
    public static func rows(text: [Int32]?, vocabularySize V: Int, steps: Int, batch B: Int,
                            rng: inout SeededGenerator) throws -> [[Int32]] {
        guard let text else {
            return (0..<B).map { _ in (0...steps).map { _ in Int32(rng.next() % UInt64(max(V, 1))) } }
        }
        guard text.count > steps else {
            throw CharModelError.invalidOption("the text has \(text.count) characters; --length \(steps) needs at least \(steps + 1)")
        }
        let starts = text.count - steps
        return (0..<B).map { _ in
            let s = Int(rng.next() % UInt64(starts))
            return Array(text[s...(s + steps)])
        }
    }
}
