import CQuillKernels
import QuillNumerics
import XCTest
@testable import QuillNN

/// The fused steps cut a layer's units among their threads (`qk_slicing` in recurrent_shared.h): where a thread's
/// share does not end on a 16-unit boundary, the 16 units around it are shared by rows between the two neighbours.
/// However the units are cut, every output element is computed by the same operations, so the LSTM, GRU and RNN
/// steps, forward and backward, give the same bits planned for 1 to 5 threads (`qk_set_step_threads`; the pool's
/// threads run the planned ones in turn), at every width this CPU runs.
final class FusedSlicingTests: XCTestCase {
    /// One step forward and one backward of `kind` with packed weights for `threads` planned threads: every output
    /// the kernels write, in order.
    private func stepOutputs(kind: CellKind, batch B: Int, hidden H: Int, threads: Int, seed: UInt64) -> [[Float]] {
        let previous = qk_set_step_threads(Int32(threads))
        defer { qk_set_step_threads(previous) }
        var rng = SeededGenerator(seed: seed)
        func random(_ n: Int, _ scale: Double = 1) -> [Float] {
            (0..<n).map { _ in Float((rng.uniform() * 2 - 1) * scale) }
        }
        let gates = kind.gateCount, G = gates * H
        let wh = random(H * G, 0.2)
        let count = Int(qk_recurrent_packed_count(Int32(gates), Int32(H)))
        let forward = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(count, 1))
        let backward = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * 4, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(count, 1))
        defer { forward.deallocate(); backward.deallocate() }
        qk_recurrent_pack_forward(wh, Int32(gates), Int32(H), forward)
        qk_recurrent_pack_backward(wh, Int32(gates), Int32(H), backward)
        let b32 = Int32(B), h32 = Int32(H)
        let hPrev = random(B * H), cPrev = random(B * H), ext = random(B * H)
        var pre = random(B * G, 2), h = [Float](repeating: 0, count: B * H)
        var dh = random(B * H), dPre = [Float](repeating: 0, count: B * G)
        switch kind {
        case .lstm:
            var c = [Float](repeating: 0, count: B * H), tanhC = c, dc = random(B * H)
            let peep = random(3 * H, 0.5)
            qk_lstm_forward_step(forward, b32, h32, hPrev, cPrev, &pre, &c, &tanhC, &h, peep)
            qk_lstm_backward_step(backward, b32, h32, pre, cPrev, tanhC, &dh, ext, &dc, &dPre, 0.5, peep)
            return [pre, c, tanhC, h, dh, dc, dPre]
        case .gru:
            var hg = [Float](repeating: 0, count: B * G), dhg = hg
            let biasH = random(G)
            qk_gru_forward_step(forward, b32, h32, hPrev, biasH, &pre, &hg, &h)
            qk_gru_backward_step(backward, b32, h32, pre, hg, hPrev, &dh, ext, &dPre, &dhg, 0)
            return [pre, hg, h, dh, dPre, dhg]
        default:
            let relu: Int32 = kind == .rnnRelu ? 1 : 0
            qk_rnn_forward_step(forward, b32, h32, relu, hPrev, &pre, &h)
            qk_rnn_backward_step(backward, b32, h32, relu, h, &dh, ext, &dPre, 0)
            return [pre, h, dh, dPre]
        }
    }

    func testStepsGiveTheSameBitsHoweverTheUnitsAreCut() throws {
        guard FusedKernels.available else {
            throw XCTSkip("this CPU has neither AVX-512 nor AVX2 with FMA: the fused steps do not run")
        }
        let original = FusedKernels.level
        defer { FusedKernels.cap(at: original) }
        var checked = 0, shared = 0
        for level in [FusedKernels.Level.avx512, .avx2] where level.rawValue <= original.rawValue {
            XCTAssertEqual(FusedKernels.cap(at: level), level)
            // 400 on 2 threads: 192 + 16 shared + 192; 72: 32 + 16 + 24; 100 on 3: boundaries at 33⅓ and 66⅔;
            // 512: whole 16-unit blocks on 2 and 4 threads; batches of 1 and 3 leave a shared slice's rows to one side.
            for (H, B) in [(400, 32), (72, 13), (100, 3), (200, 1), (512, 5), (165, 7)] {
                for kind in [CellKind.lstm, .gru, .rnn, .rnnRelu] {
                    let one = stepOutputs(kind: kind, batch: B, hidden: H, threads: 1, seed: UInt64(H * 31 + B))
                    for threads in 2...5 where H / 32 >= threads {
                        let cut = stepOutputs(kind: kind, batch: B, hidden: H, threads: threads,
                                              seed: UInt64(H * 31 + B))
                        XCTAssertEqual(cut.count, one.count)
                        for (i, (a, b)) in zip(cut, one).enumerated() {
                            XCTAssertTrue(a.elementsEqual(b) { $0.bitPattern == $1.bitPattern },
                                          "\(kind) \(level) H=\(H) B=\(B), \(threads) threads: output \(i) differs")
                        }
                        checked += 1
                        if (1..<threads).contains(where: { $0 * H % (16 * threads) != 0 }) { shared += 1 }
                    }
                }
            }
        }
        XCTAssertGreaterThan(shared, 0)
        print("FusedSlicingTests: \(checked) cuts held bit for bit to one thread (\(shared) with shared slices)")
    }
}
