import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillNN

/// The fused LSTM kernels (packed weights, threaded steps) against the portable path of OpenBLAS products and
/// `CellKernels`, which the Double gradient checks cover: same outputs, states and gradients in Float.
final class FusedLSTMTests: XCTestCase {
    override func tearDown() { FusedKernels.enabled = true }

    func compare(batch: Int, hidden: Int, steps: Int = 10, peepholes: Bool = false, clip: Float? = nil,
                 saturate: Bool = false, file: StaticString = #filePath, line: UInt = #line) throws {
        try FusedPathCheck(kind: .lstm, batch: batch, hidden: hidden, steps: steps, peepholes: peepholes, clip: clip,
                           saturate: saturate).compare(file: file, line: line)
    }

    /// Units cut 32 + 16 + 24 on 2 threads (the middle 16 shared by rows, 3 and 10); 13 rows: 12 + 1.
    func testMatchesPortablePathWithTails() throws { try compare(batch: 13, hidden: 72) }

    /// Peepholes and Graves's clip of the pre-activation gradients; 30 rows: 12 + 12 + 4 + 2.
    func testMatchesPortablePathWithPeepholesAndClip() throws {
        try compare(batch: 30, hidden: 100, peepholes: true, clip: 0.05)
    }

    /// One slice of 40 units (below 64 units a layer runs on one thread); the smallest batch that fuses.
    func testMatchesPortablePathSingleSlice() throws { try compare(batch: 4, hidden: 40) }

    /// The benchmark shape's width: 400 units, 192 a thread and the 16 between them shared by rows.
    func testMatchesPortablePathAtHandwritingWidth() throws { try compare(batch: 8, hidden: 400, steps: 9) }

    /// Saturated gates and huge cells (pre-activations of hundreds, |c| ≫ 44, where exp overflows to ∞ inside
    /// sigmoid and tanh): finite, and the same as the portable path. A trained network gets there.
    func testSaturatedGatesStayFinite() throws {
        try compare(batch: 12, hidden: 72, peepholes: true, clip: 10, saturate: true)
    }

    /// Short passes and tiny batches (sampling) keep the portable path.
    func testSamplingShapesStayPortable() throws {
        guard FusedKernels.available else { throw XCTSkip("this CPU has neither AVX-512 nor AVX2 with FMA: the fused LSTM kernels do not run") }
        XCTAssertFalse(FusedPathCheck(kind: .lstm, batch: 1, hidden: 72).run(fused: true).fusedForward)
        XCTAssertFalse(FusedPathCheck(kind: .lstm, batch: 8, hidden: 72, steps: 3).run(fused: true).fusedForward)
    }
}
