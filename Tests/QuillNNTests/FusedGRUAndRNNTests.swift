import QuillNumerics
import XCTest
@testable import QuillNN

/// The fused GRU and plain-RNN steps (packed weights, threaded, `recurrent_steps.c`) against the portable path of OpenBLAS
/// products and `CellKernels`, which the Double gradient checks cover: same outputs, gates, GRU recurrent
/// pre-activations, and every gradient (dh carried out of step 0, input and parameter gradients) in Float.
final class FusedGRUAndRNNTests: XCTestCase {
    override func tearDown() {
        FusedKernels.enabled = true
        FusedKernels.minimumBatch = 4
    }

    static let kinds: [CellKind] = [.gru, .rnn, .rnnRelu]

    func compareAllKinds(batch: Int, hidden: Int, steps: Int = 10, clip: Float? = nil, saturate: Bool = false,
                         file: StaticString = #filePath, line: UInt = #line) throws {
        // Batches below the fusing threshold (sampling) run the kernels here only because the test lowers it.
        FusedKernels.minimumBatch = Swift.min(batch, 4)
        for kind in Self.kinds {
            try FusedPathCheck(kind: kind, batch: batch, hidden: hidden, steps: steps, clip: clip, saturate: saturate)
                .compare(file: file, line: line)
        }
    }

    /// Units cut 32 + 16 + 24 on two threads, the middle 16 shared by rows: with one row, all to the second.
    func testBatchOneWithTails() throws { try compareAllKinds(batch: 1, hidden: 72) }

    /// Three rows (the 2 + 1 row kernels), one slice of 40 units: below 64 units a layer runs on one thread.
    func testBatchThreeSingleSlice() throws { try compareAllKinds(batch: 3, hidden: 40) }

    /// Fifty rows (12-row kernels and a 2-row tail), 100 units (48 + 16 + 36 on two threads), Graves's clip of the pre-activation
    /// gradients, which GRU applies to both its input-side and recurrent-side gradients.
    func testBatchFiftyWithClip() throws { try compareAllKinds(batch: 50, hidden: 100, steps: 9, clip: 0.05) }

    /// Hidden widths that are not multiples of 16: 17 units (one ragged vector) and 150 (64 + 16 + 70 on two
    /// threads, the 16 shared by rows; or 150 on one).
    func testRaggedWidths() throws {
        try compareAllKinds(batch: 5, hidden: 17)
        try compareAllKinds(batch: 13, hidden: 150, steps: 8)
    }

    /// Saturated pre-activations (inputs of ±150): finite, and the same as the portable path.
    func testSaturatedStaysFinite() throws { try compareAllKinds(batch: 12, hidden: 72, clip: 10, saturate: true) }

    /// With the default threshold, sampling shapes (batch 1, or passes under 8 steps forward) keep the portable
    /// path; a batch of 4 fuses.
    func testSamplingShapesStayPortable() throws {
        guard FusedKernels.available else { throw XCTSkip("this CPU has neither AVX-512 nor AVX2 with FMA: the fused kernels do not run") }
        for kind in Self.kinds {
            XCTAssertFalse(FusedPathCheck(kind: kind, batch: 1, hidden: 72).run(fused: true).fusedForward, "\(kind)")
            XCTAssertFalse(FusedPathCheck(kind: kind, batch: 8, hidden: 72, steps: 3).run(fused: true).fusedForward,
                           "\(kind)")
            XCTAssertTrue(FusedPathCheck(kind: kind, batch: 4, hidden: 72).run(fused: true).fusedForward, "\(kind)")
        }
    }
}
