import CQuillKernels
import QuillNumerics
import XCTest
@testable import QuillNN

/// The per-step input products of a layer fed one step at a time (the layer under Graves's window) run on packed
/// weights over the kernel threads (`qk_panel_multiply`). Held to a plain fused multiply-add loop bit for bit on odd
/// shapes at every width this CPU runs, and the layer's step-by-step pass to the portable path.
final class PanelProductTests: XCTestCase {
    func testPanelProductGivesTheFusedMultiplyAddLoopsBits() throws {
        guard FusedKernels.available else {
            throw XCTSkip("this CPU has neither AVX-512 nor AVX2 with FMA: qk_panel_multiply does not run")
        }
        let original = FusedKernels.level
        defer { FusedKernels.cap(at: original) }
        var rng = SeededGenerator(seed: 4)
        for level in [FusedKernels.Level.avx512, .avx2] where level.rawValue <= original.rawValue {
            XCTAssertEqual(FusedKernels.cap(at: level), level)
            // Tails in M, N and K; N of one panel, several, a partial last one; both packings.
            for (M, K, N) in [(1, 1, 1), (4, 3, 17), (5, 83, 1600), (32, 1600, 83), (13, 33, 65), (7, 400, 31),
                              (50, 2, 96)] {
                for transposed in [false, true] {
                    // B as stored: K × N, or N × K read transposed.
                    let b = (0..<K * N).map { _ in Float(rng.uniform() * 2 - 1) }
                    let a = (0..<M * (K + 3)).map { _ in Float(rng.uniform() * 2 - 1) }   // row stride K + 3
                    let c0 = (0..<M * (N + 2)).map { _ in Float(rng.uniform() * 2 - 1) }  // row stride N + 2
                    var want = c0
                    for i in 0..<M {
                        for j in 0..<N {
                            var c = c0[i * (N + 2) + j]
                            for k in 0..<K {
                                let bkj = transposed ? b[j * K + k] : b[k * N + j]
                                c = c.addingProduct(a[i * (K + 3) + k], bkj)
                            }
                            want[i * (N + 2) + j] = c
                        }
                    }
                    // The panels are read with aligned loads: 64-byte aligned, as the layers allocate them.
                    let count = Int(qk_panel_count(Int32(K), Int32(N)))
                    let packed = UnsafeMutableRawPointer.allocate(byteCount: count * 4, alignment: 64)
                        .bindMemory(to: Float.self, capacity: count)
                    defer { UnsafeMutableRawPointer(packed).deallocate() }
                    qk_panel_pack(b, Int32(transposed ? K : N), transposed ? 1 : 0, Int32(K), Int32(N), packed)
                    var got = c0
                    let ran = qk_panel_multiply(packed, Int32(K), Int32(N), Int32(M), a, Int32(K + 3), &got,
                                                Int32(N + 2))
                    XCTAssertEqual(ran, 1)
                    XCTAssertEqual(got.map(\.bitPattern), want.map(\.bitPattern),
                                   "\(level) M \(M) K \(K) N \(N) transposed \(transposed)")
                }
            }
        }
    }

    /// A pass of `layer` one step at a time, as under the window: `forwardStep` at every step, then `backwardStep`
    /// and `inputGradient(at:)` in reverse, then `finishBackward`. Returns h, dx, and whether the forward and the
    /// backward products took the packed weights.
    static func stepByStep(_ layer: RecurrentLayer<Float>, _ ws: RecurrentWorkspace<Float>, x: Tensor<Float>,
                           dh: Tensor<Float>, steps T: Int) -> (h: [Float], dx: [Float], packed: Bool) {
        let B = ws.batch, I = layer.inputSize, H = layer.hiddenSize
        layer.beginForward(ws, steps: T)
        for t in 0..<T { layer.forwardStep(t, x.ptr + t * B * I, ws) }
        let packedForward = ws.packed.inputForwardPacked
        layer.parameters.zeroGradients()
        layer.beginBackward(ws)
        let dx = Tensor<Float>([T, B, I])
        for t in stride(from: T - 1, through: 0, by: -1) {
            layer.backwardStep(t, ws, dhExternal: dh.ptr + t * B * H)
            layer.inputGradient(at: t, ws, into: dx.ptr + t * B * I)
        }
        let packedBackward = ws.packed.inputBackwardPacked
        layer.finishBackward(x.ptr, ws, dx: nil, steps: T)
        // The weights are about to change: the packings are stale from here.
        XCTAssertFalse(ws.packed.inputForwardPacked || ws.packed.inputBackwardPacked)
        return (Array(UnsafeBufferPointer(start: ws.outputs, count: T * B * H)), dx.array,
                packedForward && packedBackward)
    }

    /// An LSTM layer run one step at a time (as under the window): forward by `forwardStep`, backward by
    /// `backwardStep` and `inputGradient(at:)`, on the fused path (packed input products) and the portable one.
    func testStepByStepPassMatchesThePortablePath() throws {
        guard FusedKernels.available else {
            throw XCTSkip("this CPU has neither AVX-512 nor AVX2 with FMA: the fused steps do not run")
        }
        defer { FusedKernels.enabled = true }
        func run(fused: Bool) -> (h: [Float], dx: [Float], grads: [String: [Float]], packed: Bool) {
            FusedKernels.enabled = fused
            var rng = SeededGenerator(seed: 12)
            let I = 83, H = 40, B = 5, T = 9
            let layer = RecurrentLayer<Float>(kind: .lstm, inputSize: I, hiddenSize: H, name: "l", rng: &rng)
            for p in layer.parameters { for i in 0..<p.count { p.value[i] += Float(rng.uniform() - 0.5) * 0.2 } }
            let ws = RecurrentWorkspace(layer: layer, steps: T, batch: B)
            let x = Tensor<Float>.randomFloat([T, B, I], &rng)
            let dh = Tensor<Float>.randomFloat([T, B, H], &rng)
            let pass = Self.stepByStep(layer, ws, x: x, dh: dh, steps: T)
            var grads = [String: [Float]]()
            for p in layer.parameters { grads[p.name] = p.grad.array }
            return (pass.h, pass.dx, grads, pass.packed)
        }
        let portable = run(fused: false), fast = run(fused: true)
        XCTAssertTrue(fast.packed, "the fused pass took the packed input products")
        FusedPathCheck.assertClose(fast.h, portable.h, "h", tolerance: 2e-5)
        FusedPathCheck.assertClose(fast.dx, portable.dx, "dx", tolerance: 2e-5)
        for (name, g) in portable.grads { FusedPathCheck.assertClose(fast.grads[name]!, g, name, tolerance: 2e-5) }
    }

    /// The packed W_x is this pass's: after the weights change (an optimiser step between passes), the next pass on
    /// the same workspace packs them again and gives what a fresh workspace gives; a single step (sampling) never
    /// packs.
    func testPackedInputWeightsFollowTheWeights() throws {
        guard FusedKernels.available else {
            throw XCTSkip("this CPU has neither AVX-512 nor AVX2 with FMA: the fused steps do not run")
        }
        var rng = SeededGenerator(seed: 3)
        let I = 21, H = 36, B = 4, T = 8
        let layer = RecurrentLayer<Float>(kind: .lstm, inputSize: I, hiddenSize: H, name: "l", rng: &rng)
        let x = Tensor<Float>.randomFloat([T, B, I], &rng), dh = Tensor<Float>.randomFloat([T, B, H], &rng)
        func pass(_ ws: RecurrentWorkspace<Float>) -> (h: [Float], dx: [Float], packed: Bool) {
            Self.stepByStep(layer, ws, x: x, dh: dh, steps: T)
        }
        let reused = RecurrentWorkspace(layer: layer, steps: T, batch: B)
        _ = pass(reused)
        // A step of plain gradient descent on every weight, W_x's included.
        for p in layer.parameters { for i in 0..<p.count { p.value[i] -= 0.5 * p.grad[i] + 0.01 } }
        let again = pass(reused), fresh = pass(RecurrentWorkspace(layer: layer, steps: T, batch: B))
        XCTAssertEqual(again.h.map(\.bitPattern), fresh.h.map(\.bitPattern), "h after the weights changed")
        XCTAssertEqual(again.dx.map(\.bitPattern), fresh.dx.map(\.bitPattern), "dx after the weights changed")
        // Sampling's single steps: no fused pass, no packing.
        let single = RecurrentWorkspace(layer: layer, steps: 1, batch: B)
        layer.beginForward(single, steps: 1)
        layer.forwardStep(0, x.ptr, single)
        XCTAssertFalse(single.fusedForward)
        XCTAssertFalse(single.packed.inputForwardPacked)
    }
}
