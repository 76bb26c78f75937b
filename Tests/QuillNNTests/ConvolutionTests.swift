import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillNN

/// The causal convolutions of the n-NN and TCN baselines (issue 15 items 5 and 6): the layer against its sum written
/// out, finite differences in Double from a carried state, and one pass equal to windows and to single steps.
final class ConvolutionTests: XCTestCase {
    /// y_t = b + Σ_j x_{t−j·d}·W_j, with the steps before the window taken from the carried state.
    func testCausalConvolutionIsTheDilatedSumWrittenOut() {
        var rng = SeededGenerator(seed: 1)
        let I = 2, O = 3, k = 3, d = 2, B = 2, T = 5
        let conv = CausalConvolution<Double>(inputSize: I, outputSize: O, kernel: k, dilation: d, name: "c", rng: &rng)
        XCTAssertEqual(conv.parameters.map(\.name), ["c.w", "c.b"])
        XCTAssertEqual(conv.parameters.map(\.value.shape), [[k * I, O], [O]])
        XCTAssertEqual(conv.history, 4)
        for i in 0..<O { conv.bias.value[i] = rng.uniform() - 0.5 }
        let ws = ConvolutionWorkspace(layer: conv, steps: T, batch: B)
        // Stream b's steps −4…−1, then the window's 0…4.
        let past = (0..<(B * conv.history * I)).map { _ in rng.uniform() - 0.5 }
        ws.setState(past)
        let x = Tensor<Double>.random([T, B, I], &rng)
        let y = Tensor<Double>([T, B, O])
        conv.forward(x.ptr, ws, into: y.ptr)
        func input(_ t: Int, _ b: Int, _ i: Int) -> Double {
            t >= 0 ? x[(t * B + b) * I + i] : past[b * conv.history * I + (t + conv.history) * I + i]
        }
        for t in 0..<T {
            for b in 0..<B {
                for o in 0..<O {
                    var s = conv.bias.value[o]
                    for j in 0..<k {
                        for i in 0..<I { s += input(t - j * d, b, i) * conv.weight.value[(j * I + i) * O + o] }
                    }
                    XCTAssertEqual(y[(t * B + b) * O + o], s, accuracy: 1e-12, "t \(t) b \(b) o \(o)")
                }
            }
        }
        // The state carried on is the window's last four inputs.
        ws.carryState()
        let carried = ws.state()
        for b in 0..<B {
            for s in 0..<conv.history {
                for i in 0..<I { XCTAssertEqual(carried[b * conv.history * I + s * I + i], input(T - conv.history + s, b, i)) }
            }
        }
    }

    /// Finite differences of L = Σ y ⊙ R for the weights, bias and inputs, from a non-zero carried state, with windows
    /// longer and shorter than the history.
    func testCausalConvolutionGradients() {
        for T in [6, 2] {
            var rng = SeededGenerator(seed: 2)
            let I = 3, O = 2, B = 2
            let conv = CausalConvolution<Double>(inputSize: I, outputSize: O, kernel: 3, dilation: 2, name: "c", rng: &rng)
            let ws = ConvolutionWorkspace(layer: conv, steps: T, batch: B)
            let past = (0..<(B * conv.history * I)).map { _ in rng.uniform() - 0.5 }
            let x = Tensor<Double>.random([T, B, I], &rng), r = Tensor<Double>.random([T, B, O], &rng)
            let y = Tensor<Double>([T, B, O])
            func loss() -> Double {
                ws.setState(past)
                conv.forward(x.ptr, ws, into: y.ptr)
                return (0..<y.count).reduce(0.0) { $0 + y[$1] * r[$1] }
            }
            _ = loss()
            conv.parameters.zeroGradients()
            let dx = Tensor<Double>([T, B, I])
            conv.backward(ws, dy: r.ptr, dx: dx.ptr)
            for p in conv.parameters { GradientCheck.check(p, loss: loss) }
            GradientCheck.check(name: "x (T = \(T))", values: x.ptr, grads: dx.ptr, count: x.count, loss: loss)
        }
    }

    static let architectures: [ConvolutionArchitecture] = [.nnn(context: 3), .tcn(dilations: [1, 2, 4])]

    /// Finite differences through a whole n-NN (3 layers) and TCN (3 blocks, gated, residual and skip paths),
    /// from random carried states.
    func testConvolutionStackGradients() {
        for architecture in Self.architectures {
            var rng = SeededGenerator(seed: 3)
            let T = 5, B = 2, I = 3, H = 3
            let stack = ConvolutionStack<Double>(architecture: architecture, inputSize: I, hiddenSize: H, layers: 3,
                                                 name: "s", rng: &rng)
            // Non-zero biases and larger weights, so every non-linearity and the relu's both sides are exercised.
            for p in stack.parameters { for i in 0..<p.count { p.value[i] = 2 * p.value[i] + (rng.uniform() - 0.5) * 0.3 } }
            let ws = stack.makeWorkspace(steps: T, batch: B)
            let states = ws.convolutions.filter { $0.history > 0 }.map { c in
                (0..<(B * c.stateWidth)).map { _ in rng.uniform() - 0.5 }
            }
            let x = Tensor<Double>.random([T, B, I], &rng), r = Tensor<Double>.random([T, B, H], &rng)
            func loss() -> Double {
                ws.setStates(states)
                stack.forward(x.ptr, ws)
                let out = stack.output(ws)
                return (0..<(T * B * H)).reduce(0.0) { $0 + out[$1] * r[$1] }
            }
            _ = loss()
            stack.parameters.zeroGradients()
            let dx = Tensor<Double>([T, B, I])
            stack.backward(ws, dOut: r.ptr, dx: dx.ptr)
            for p in stack.parameters { GradientCheck.check(p, loss: loss) }
            GradientCheck.check(name: "\(architecture) x", values: x.ptr, grads: dx.ptr, count: x.count, loss: loss)
        }
    }

    /// One pass over 12 steps, four windows of 3 with the state carried, and 12 single steps give the same outputs;
    /// beam search's reordering moves each stream's state with it.
    func testOnePassEqualsWindowsAndSingleSteps() {
        for architecture in Self.architectures {
            var rng = SeededGenerator(seed: 4)
            let T = 12, B = 2, I = 3, H = 4
            let stack = ConvolutionStack<Double>(architecture: architecture, inputSize: I, hiddenSize: H, layers: 3,
                                                 name: "s", rng: &rng)
            let x = Tensor<Double>.random([T, B, I], &rng)
            func run(window: Int) -> [Double] {
                let ws = stack.makeWorkspace(steps: window, batch: B)
                var out = [Double]()
                for start in stride(from: 0, to: T, by: window) {
                    stack.forward(x.ptr + start * B * I, ws)
                    out += Array(UnsafeBufferPointer(start: stack.output(ws), count: window * B * H))
                    ws.carryState()
                }
                return out
            }
            let whole = run(window: 12)
            for w in [3, 1] {
                for (a, b) in zip(whole, run(window: w)) { XCTAssertEqual(a, b, accuracy: 1e-12, "\(architecture), windows of \(w)") }
            }
            // Swapping the two streams' states swaps the next outputs (the same input in both rows).
            let ws = stack.makeWorkspace(steps: 1, batch: B)
            stack.forward(x.ptr, ws); ws.carryState()
            stack.forward(x.ptr + B * I, ws); ws.carryState()
            let same = Tensor<Double>([1, B, I])
            for i in 0..<I { same[i] = 0.3; same[I + i] = 0.3 }
            let before = ws.states()
            stack.forward(same.ptr, ws)
            let plain = Array(UnsafeBufferPointer(start: stack.output(ws), count: B * H))
            ws.setStates(before)
            ws.reorderState([1, 0])
            stack.forward(same.ptr, ws)
            let swapped = Array(UnsafeBufferPointer(start: stack.output(ws), count: B * H))
            XCTAssertEqual(Array(swapped[0..<H]), Array(plain[H...]), "\(architecture)")
            XCTAssertEqual(Array(swapped[H...]), Array(plain[0..<H]), "\(architecture)")
        }
    }

    /// The output at t depends on exactly the last `receptiveField` inputs: changing x_{t−R} leaves it, changing
    /// x_{t−R+1} moves it.
    func testReceptiveField() {
        for architecture in Self.architectures {
            var rng = SeededGenerator(seed: 5)
            let R = architecture.receptiveField, T = R + 2, I = 2, H = 3
            XCTAssertEqual(R, architecture == .nnn(context: 3) ? 3 : 8)
            let stack = ConvolutionStack<Double>(architecture: architecture, inputSize: I, hiddenSize: H, layers: 3,
                                                 name: "s", rng: &rng)
            let x = Tensor<Double>.random([T, 1, I], &rng)
            func last(_ changed: Int?) -> [Double] {
                let copy = x.clone()
                if let changed { copy[changed * I] += 1 }
                let ws = stack.makeWorkspace(steps: T, batch: 1)
                stack.forward(copy.ptr, ws)
                return Array(UnsafeBufferPointer(start: stack.output(ws) + (T - 1) * H, count: H))
            }
            XCTAssertEqual(last(nil), last(T - 1 - R), "\(architecture): x_{t−R} is outside the field")
            XCTAssertNotEqual(last(nil), last(T - R), "\(architecture): x_{t−R+1} is inside it")
        }
    }

    /// A reset stream reads zeros before its next step, as a fresh one does.
    func testResetRowStartsTheStreamOver() {
        var rng = SeededGenerator(seed: 6)
        let stack = ConvolutionStack<Double>(architecture: .tcn(dilations: [1, 2]), inputSize: 2, hiddenSize: 3,
                                             layers: 2, name: "s", rng: &rng)
        let ws = stack.makeWorkspace(steps: 2, batch: 2), fresh = stack.makeWorkspace(steps: 2, batch: 2)
        let x = Tensor<Double>.random([2, 2, 2], &rng)
        stack.forward(x.ptr, ws); ws.carryState()
        ws.resetState(row: 1)
        stack.forward(x.ptr, ws); stack.forward(x.ptr, fresh)
        let a = Array(UnsafeBufferPointer(start: stack.output(ws), count: 12))
        let b = Array(UnsafeBufferPointer(start: stack.output(fresh), count: 12))
        for t in 0..<2 {
            XCTAssertEqual(Array(a[(t * 2 + 1) * 3..<(t * 2 + 2) * 3]), Array(b[(t * 2 + 1) * 3..<(t * 2 + 2) * 3]))
        }
        XCTAssertNotEqual(Array(a[0..<3]), Array(b[0..<3]), "stream 0 kept its state")
    }
}
