import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillNN

final class SoftWindowTests: XCTestCase {
    /// The window's backward pass over `steps` steps in reverse; dw, h, dh: (T, B, ·). `finish` also takes the weight
    /// gradients.
    func backward<T: QuillScalar>(_ window: SoftWindow<T>, _ ws: WindowWorkspace<T>, dw: UnsafePointer<T>,
                                  h: UnsafePointer<T>, dh: UnsafeMutablePointer<T>, steps: Int, finish: Bool) {
        let B = ws.batch, H = window.inputSize, V = window.vocabularySize
        window.beginBackward(ws)
        for t in stride(from: steps - 1, through: 0, by: -1) {
            window.backwardStep(t, dw: dw + t * B * V, h: h + t * B * H, dh: dh + t * B * H, ws)
        }
        if finish { window.finishBackward(h: h, ws, steps: steps) }
    }

    /// Gradients through several steps, so κ's accumulation (κ_t = κ_{t−1} + s·exp κ̂_t) carries gradient back.
    func testGradientsAcrossSteps() {
        var rng = SeededGenerator(seed: 31)
        let K = 3, H = 4, V = 5, T = 6, B = 2, U = 4
        let window = SoftWindow<Double>(components: K, inputSize: H, vocabularySize: V, kappaScale: 0.5,
                                        name: "window", rng: &rng)
        let ws = WindowWorkspace(window: window, steps: T, batch: B, maxTextLength: U)
        ws.setText(row: 0, [1, 3, 3, 0])
        ws.setText(row: 1, [4, 2])          // shorter text: padding must not leak
        let h = Tensor.random([T, B, H], &rng)
        let r = Tensor.random([T, B, V], &rng)
        func loss() -> Double {
            ws.resetState()
            for t in 0..<T { window.forwardStep(t, h: h.ptr + t * B * H, ws) }
            var s = 0.0
            for t in 0..<T { let w = window.window(at: t, ws); for i in 0..<(B * V) { s += w[i] * r[t * B * V + i] } }
            return s
        }
        _ = loss()
        window.parameters.zeroGradients()
        let dh = Tensor<Double>([T, B, H])
        backward(window, ws, dw: r.ptr, h: h.ptr, dh: dh.ptr, steps: T, finish: true)
        for p in window.parameters { GradientCheck.check(p, loss: loss) }
        GradientCheck.check(name: "window.h", values: h.ptr, grads: dh.ptr, count: h.count, loss: loss)
    }

    /// A batch of 9 rows, whose per-step work is split over the kernel threads, gives each row what that row gives
    /// alone (batch 1 runs on one thread). To rounding: the window's linear layer is a BLAS product whose last bits
    /// may depend on the batch size and BLAS's thread count.
    func testRowsSplitOverThreadsMatchRowsAlone() {
        var rng = SeededGenerator(seed: 8)
        let K = 3, H = 5, V = 6, T = 4, B = 9, U = 5
        let window = SoftWindow<Double>(components: K, inputSize: H, vocabularySize: V, kappaScale: 0.3,
                                        name: "window", rng: &rng)
        let texts: [[Int32]] = (0..<B).map { b in (0..<(1 + b % U)).map { Int32(($0 + b) % V) } }
        let h = Tensor.random([T, B, H], &rng)
        let r = Tensor.random([T, B, V], &rng)
        func run(rows: [Int]) -> (w: [Double], dh: [Double], kappaCarry: [Double]) {
            let n = rows.count
            let ws = WindowWorkspace(window: window, steps: T, batch: n, maxTextLength: U)
            for (i, b) in rows.enumerated() { ws.setText(row: i, texts[b]) }
            ws.resetState()
            let hs = Tensor<Double>([T, n, H]), rs = Tensor<Double>([T, n, V]), dh = Tensor<Double>([T, n, H])
            for t in 0..<T {
                for (i, b) in rows.enumerated() {
                    for j in 0..<H { hs[(t * n + i) * H + j] = h[(t * B + b) * H + j] }
                    for j in 0..<V { rs[(t * n + i) * V + j] = r[(t * B + b) * V + j] }
                }
            }
            for t in 0..<T { window.forwardStep(t, h: hs.ptr + t * n * H, ws) }
            backward(window, ws, dw: rs.ptr, h: hs.ptr, dh: dh.ptr, steps: T, finish: false)
            return (ws.w.array, dh.array, ws.dKappaCarry.array)
        }
        let all = run(rows: Array(0..<B))
        for b in 0..<B {
            let one = run(rows: [b])
            for t in 0...T {
                for j in 0..<V {
                    XCTAssertEqual(all.w[(t * B + b) * V + j], one.w[t * V + j], accuracy: 1e-12, "w, row \(b)")
                }
            }
            for t in 0..<T {
                for j in 0..<H {
                    XCTAssertEqual(all.dh[(t * B + b) * H + j], one.dh[t * H + j], accuracy: 1e-12, "dh, row \(b)")
                }
            }
            for j in 0..<K {
                XCTAssertEqual(all.kappaCarry[b * K + j], one.kappaCarry[j], accuracy: 1e-12, "dκ, row \(b)")
            }
        }
    }

    /// The window kernels (AVX-512, and their AVX2 twins, at every width this CPU runs) against the Swift kernels in
    /// Float: φ, w, κ and every gradient, with texts of lengths 0 to U = 48 (several 16- and 8-lane blocks, masked
    /// tails, φ(U + 1) in a block of its own), K below and above 16, and κ moving about 8 characters a step so the
    /// window sweeps every position.
    func testKernelsMatchPortablePathInFloat() throws {
        guard FusedKernels.windowAvailable else {
            throw XCTSkip("this CPU has neither AVX-512 nor AVX2 with FMA: the window kernels do not run")
        }
        let original = FusedKernels.level
        defer { FusedKernels.enabled = true; FusedKernels.cap(at: original) }
        for K in [10, 20] {
            func run(kernels: Bool) -> [String: [Float]] {
                FusedKernels.enabled = kernels
                var rng = SeededGenerator(seed: 21)
                let H = 12, V = 30, T = 7, B = 9, U = 48
                let window = SoftWindow<Float>(components: K, inputSize: H, vocabularySize: V, kappaScale: 8,
                                               name: "window", rng: &rng)
                let ws = WindowWorkspace(window: window, steps: T, batch: B, maxTextLength: U)
                let lengths = [0, 1, 15, 16, 17, 33, 48, 5, 47]
                for b in 0..<B { ws.setText(row: b, (0..<lengths[b]).map { Int32(($0 * 7 + b) % V) }) }
                ws.resetState()
                let h = Tensor<Float>.randomFloat([T, B, H], &rng), dw = Tensor<Float>.randomFloat([T, B, V], &rng)
                for t in 0..<T { window.forwardStep(t, h: h.ptr + t * B * H, ws) }
                window.parameters.zeroGradients()
                let dh = Tensor<Float>([T, B, H])
                backward(window, ws, dw: dw.ptr, h: h.ptr, dh: dh.ptr, steps: T, finish: true)
                var out = ["phi": ws.phi.array, "w": ws.w.array, "kappa": ws.kappa.array, "alpha": ws.alpha.array,
                           "beta": ws.beta.array, "dParams": ws.dParams.array, "dh": dh.array,
                           "dKappa": ws.dKappaCarry.array]
                for p in window.parameters { out[p.name] = p.grad.array }
                return out
            }
            let portable = run(kernels: false)
            for level in [FusedKernels.Level.avx512, .avx2] where level.rawValue <= original.rawValue {
                XCTAssertEqual(FusedKernels.cap(at: level), level)
                let fast = run(kernels: true)
                for (name, b) in portable {
                    let a = fast[name]!
                    XCTAssertEqual(a.count, b.count)
                    XCTAssertTrue(a.allSatisfy(\.isFinite), "\(level) K = \(K): \(name) has NaN or ∞")
                    let scale = max(b.map(abs).max() ?? 0, 1)
                    let worst = zip(a, b).map { abs($0 - $1) }.max() ?? 0
                    XCTAssertLessThanOrEqual(worst / scale, 1e-5, "\(level) K = \(K): \(name) differs by \(worst)")
                }
            }
        }
    }

    /// φ follows the formula, w_t sums φ by character, and κ only grows.
    func testForwardValues() {
        let window = Self.flatWindow(vocabularySize: 3)
        let ws = WindowWorkspace(window: window, steps: 3, batch: 1, maxTextLength: 3)
        ws.setText(row: 0, [2, 0, 2])
        ws.resetState()
        let h = Tensor<Double>([3, 1, 1])
        for t in 0..<3 { window.forwardStep(t, h: h.ptr + t, ws) }
        // After step 1 (t = 1), κ = 2: φ(u) = exp(−(2 − u)²).
        let phi = Array(UnsafeBufferPointer(start: ws.phi.ptr + 1 * 4, count: 4))
        for u in 1...4 { XCTAssertEqual(phi[u - 1], Double.exp(-Double((2 - u) * (2 - u))), accuracy: 1e-12) }
        let w = window.window(at: 1, ws)
        XCTAssertEqual(w[2], phi[0] + phi[2], accuracy: 1e-12)
        XCTAssertEqual(w[0], phi[1], accuracy: 1e-12)
        XCTAssertEqual(w[1], 0)
        XCTAssertEqual(ws.kappa[3], 3, accuracy: 1e-12)
    }

    /// Carrying the state moves κ and w after the last step to the initial slots; resetting one row zeroes that row's
    /// κ₀ and w₀ and leaves the other rows as they were.
    func testCarryAndResetOneRow() {
        let window = Self.flatWindow(vocabularySize: 3)
        let ws = WindowWorkspace(window: window, steps: 2, batch: 2, maxTextLength: 3)
        ws.setText(row: 0, [2, 0, 2]); ws.setText(row: 1, [1, 1, 0])
        ws.resetState()
        let h = Tensor<Double>([2, 2, 1])
        for t in 0..<2 { window.forwardStep(t, h: h.ptr + t * 2, ws) }
        let after = (kappa: Array(UnsafeBufferPointer(start: ws.kappa.ptr + 2 * 2, count: 2)),
                     w: Array(UnsafeBufferPointer(start: ws.w.ptr + 2 * 2 * 3, count: 6)))
        ws.carryState(after: 2)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: ws.kappa.ptr, count: 2)), after.kappa)
        XCTAssertEqual(after.kappa, [2, 2])
        ws.resetState(row: 1)
        XCTAssertEqual(Array(UnsafeBufferPointer(start: ws.kappa.ptr, count: 2)), [2, 0])
        XCTAssertEqual(Array(UnsafeBufferPointer(start: ws.w.ptr, count: 6)), Array(after.w[0..<3]) + [0, 0, 0])
        XCTAssertNotEqual(Array(after.w[3..<6]), [0, 0, 0])
    }

    /// One component over one input with zero weights and bias: α = 1, β = 1, κ steps by e⁰ = 1 each step.
    static func flatWindow(vocabularySize: Int) -> SoftWindow<Double> {
        var rng = SeededGenerator(seed: 2)
        let window = SoftWindow<Double>(components: 1, inputSize: 1, vocabularySize: vocabularySize, kappaScale: 1,
                                        name: "w", rng: &rng)
        window.linear.weight.value.fill(0)
        window.linear.bias.value.fill(0)
        return window
    }

    /// Graves's stopping rule: done once φ(U+1) beats every φ(u ≤ U).
    func testStoppingRule() {
        let window = Self.flatWindow(vocabularySize: 2)
        let ws = WindowWorkspace(window: window, steps: 6, batch: 1, maxTextLength: 3)
        ws.setText(row: 0, [1, 0, 1])
        ws.resetState()
        let h = Tensor<Double>([6, 1, 1])
        var stoppedAt: Int?
        for t in 0..<6 {
            window.forwardStep(t, h: h.ptr + t, ws)
            if stoppedAt == nil, window.finished(t, row: 0, ws) { stoppedAt = t }
        }
        // κ = t + 1; the peak passes U + 1 = 4 between κ = 3 (tie-free: φ(3) > φ(4)) and κ = 4.
        XCTAssertEqual(stoppedAt, 3)
    }
}
