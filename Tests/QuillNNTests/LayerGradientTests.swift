import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillNN

final class LayerGradientTests: XCTestCase {
    func testLinearGradients() {
        var rng = SeededGenerator(seed: 1)
        let lin = Linear<Double>(inputSize: 5, outputSize: 3, name: "fc", rng: &rng)
        let x = Tensor.random([4, 5], &rng), r = Tensor.random([4, 3], &rng)
        let y = Tensor<Double>([4, 3])
        func loss() -> Double {
            lin.forward(x.ptr, rows: 4, into: y.ptr)
            return (0..<12).reduce(0) { $0 + y[$1] * r[$1] }
        }
        _ = loss()
        let dx = Tensor<Double>([4, 5])
        lin.backward(x.ptr, rows: 4, dy: r.ptr, dx: dx.ptr)
        for p in lin.parameters { GradientCheck.check(p, loss: loss) }
        GradientCheck.check(name: "x", values: x.ptr, grads: dx.ptr, count: x.count, loss: loss)
    }

    func testEmbeddingGradients() {
        var rng = SeededGenerator(seed: 2)
        let emb = Embedding<Double>(vocabularySize: 6, dimension: 3, name: "emb", rng: &rng)
        let tokens: [Int32] = [1, 4, 1, 5, 0]
        let r = Tensor.random([5, 3], &rng)
        let out = Tensor<Double>([5, 3])
        func loss() -> Double {
            emb.forward(tokens, count: 5, into: out.ptr)
            return (0..<15).reduce(0) { $0 + out[$1] * r[$1] }
        }
        _ = loss()
        emb.backward(tokens, count: 5, dOut: r.ptr)
        GradientCheck.check(emb.table, loss: loss)
    }

    func testOneHotEmbeddingIsIdentityAndFrozen() {
        var rng = SeededGenerator(seed: 2)
        let emb = Embedding<Float>(vocabularySize: 4, dimension: nil, name: "emb", rng: &rng)
        XCTAssertTrue(emb.isOneHot)
        let out = Tensor<Float>([2, 4])
        emb.forward([2, 0], count: 2, into: out.ptr)
        XCTAssertEqual(out.array, [0, 0, 1, 0, 1, 0, 0, 0])
    }

    func testSoftmaxCrossEntropyGradients() {
        var rng = SeededGenerator(seed: 3)
        let logits = Tensor.random([4, 6], &rng, scale: 3)
        let targets: [Int32] = [0, 5, 2, 2]
        let d = Tensor<Double>([4, 6])
        _ = SoftmaxCrossEntropy.loss(logits: logits.ptr, targets: targets, rows: 4, classes: 6, dLogits: d.ptr)
        GradientCheck.check(name: "logits", values: logits.ptr, grads: d.ptr, count: logits.count, loss: {
            SoftmaxCrossEntropy.loss(logits: logits.ptr, targets: targets, rows: 4, classes: 6, dLogits: nil)
        })
    }

    func testCrossEntropyIsStableForHugeLogits() {
        let logits = Tensor<Float>([1, 3], [1000, -1000, 0])
        let l = SoftmaxCrossEntropy.loss(logits: logits.ptr, targets: [Int32(0)], rows: 1, classes: 3, dLogits: nil)
        XCTAssertEqual(l, 0, accuracy: 1e-6)
        let l2 = SoftmaxCrossEntropy.loss(logits: logits.ptr, targets: [Int32(2)], rows: 1, classes: 3, dLogits: nil)
        XCTAssertEqual(l2, 1000, accuracy: 1e-3)
    }

    /// L = Σ out ⊙ R over the stack's output, from zero state; with `window`, Graves's soft window over two texts
    /// of different lengths reads layer 1 and feeds layer 1 at the next step and every layer above.
    func checkStack(kind: CellKind, skip: Bool, dropout: Double, window: Bool = false,
                    file: StaticString = #filePath, line: UInt = #line) {
        var rng = SeededGenerator(seed: 11)
        let T = 3, B = 2, I = 3, H = 4, N = 3
        let shape = window ? SoftWindowShape(components: 2, vocabularySize: 5, kappaScale: 0.4, name: "window") : nil
        let stack = RecurrentStack<Double>(kind: kind, inputSize: I, hiddenSize: H, layers: N,
                                           skipConnections: skip, window: shape, name: "rnn", rng: &rng)
        let ws = stack.makeWorkspace(steps: T, batch: B, maxTextLength: 3)
        ws.window?.setText(row: 0, [1, 4, 2])
        ws.window?.setText(row: 1, [3])
        let x = Tensor.random([T, B, I], &rng)
        let r = Tensor.random([T, B, stack.outputSize], &rng)
        let maskSeed = SeededGenerator(seed: 99)
        func loss() -> Double {
            var m = maskSeed
            ws.resetState()
            stack.forward(x.ptr, ws, dropout: dropout, rng: &m)
            let out = stack.output(ws)
            return (0..<r.count).reduce(0) { $0 + out[$1] * r[$1] }
        }
        _ = loss()
        stack.parameters.zeroGradients()
        let dx = Tensor<Double>([T, B, I])
        stack.backward(x.ptr, ws, dOut: r.ptr, dx: dx.ptr)
        if window { XCTAssertEqual(stack.parameters.suffix(2).map(\.name), ["window.w", "window.b"], file: file, line: line) }
        for p in stack.parameters { GradientCheck.check(p, loss: loss, file: file, line: line) }
        GradientCheck.check(name: "x", values: x.ptr, grads: dx.ptr, count: x.count, loss: loss, file: file, line: line)

        // `GradientHooks.hiddenGradient` watches without changing anything: the same gradients, bit for bit, and
        // every (layer, t) seen once, layers from the top, steps from the last. With skips, the top layer's last
        // state gets only its slice of dOut (nothing is carried back from beyond the last step).
        let first = stack.parameters.map { Array(UnsafeBufferPointer(start: $0.grad.ptr, count: $0.count)) }
        let firstDx = Array(UnsafeBufferPointer(start: dx.ptr, count: dx.count))
        _ = loss()
        stack.parameters.zeroGradients()
        var seen: [[Int]] = [], lastTop: [Double] = []
        var hooks = GradientHooks<Double>(ready: { _ in })
        hooks.hiddenGradient = { n, t, carried, external in
            seen.append([n, t])
            if n == N - 1 && t == T - 1 {
                lastTop = (0..<(B * H)).map { carried[$0] + (external?[$0] ?? 0) }
            }
        }
        stack.backward(x.ptr, ws, dOut: r.ptr, dx: dx.ptr, hooks: hooks)
        XCTAssertEqual(stack.parameters.map { Array(UnsafeBufferPointer(start: $0.grad.ptr, count: $0.count)) }, first,
                       file: file, line: line)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: dx.ptr, count: dx.count)), firstDx, file: file, line: line)
        XCTAssertEqual(seen, (0..<N).reversed().flatMap { n in (0..<T).reversed().map { [n, $0] } }, file: file, line: line)
        if dropout == 0 {
            let width = stack.outputSize, off = skip ? (N - 1) * H : 0
            let expected = (0..<B).flatMap { b in (0..<H).map { r[((T - 1) * B + b) * width + off + $0] } }
            XCTAssertEqual(lastTop, expected, file: file, line: line)
        }
    }

    func testStackGradients() { checkStack(kind: .lstm, skip: false, dropout: 0) }
    func testStackWithSkipConnectionsGradients() { checkStack(kind: .lstm, skip: true, dropout: 0) }
    func testStackWithDropoutGradients() { checkStack(kind: .gru, skip: true, dropout: 0.3) }
    func testStackOfRNNGradients() { checkStack(kind: .rnn, skip: false, dropout: 0.2) }
    /// Graves's synthesis stack: LSTMs, skips, the window.
    func testStackWithWindowGradients() { checkStack(kind: .lstm, skip: true, dropout: 0, window: true) }
    func testStackWithWindowWithoutSkipsWithDropoutGradients() {
        checkStack(kind: .gru, skip: false, dropout: 0.3, window: true)
    }
}
