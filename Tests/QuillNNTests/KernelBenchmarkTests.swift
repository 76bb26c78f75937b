import QuillNumerics
import XCTest
@testable import QuillNN

/// `quill bench kernels`: every kernel is timed, the products with their FLOPs, the pointwise ones per element.
final class KernelBenchmarkTests: XCTestCase {
    func testEveryKernelIsTimed() {
        let bench = KernelBenchmark(batch: 2, hidden: 4, repetitions: 1)
        XCTAssertNil(bench.validate())
        XCTAssertEqual(KernelBenchmark(batch: 0, hidden: 4, repetitions: 1).validate(), "--batch must be between 1 and 4096, got 0")
        let saved = QuillGEMM.path
        let products = bench.products()
        // Two per-step GEMMs, the three large ones on each path, then forward and backward steps of each cell kind
        // that has fused kernels (not the MRNN), fused (where the CPU runs it) and portable.
        let paths = FusedKernels.available ? 2 : 1
        let gemmPaths = (QuillGEMM.available ? 2 : 1) + (QuillGEMM.bf16Available ? 1 : 0)
        XCTAssertEqual(products.count, 2 + 3 * gemmPaths + CellKind.allCases.filter(\.hasFusedKernels).count * 2 * paths)
        XCTAssertEqual(products.filter { $0.name.hasSuffix(", OpenBLAS") }.count, 3)
        XCTAssertEqual(products.filter { $0.name.hasSuffix(", Quill GEMM") }.count, QuillGEMM.available ? 3 : 0)
        XCTAssertEqual(products.filter { $0.name.hasSuffix(", Quill GEMM bf16") }.count, QuillGEMM.bf16Available ? 3 : 0)
        XCTAssertEqual(KernelBenchmark.bf16Skipped == nil, QuillGEMM.bf16Available, "a line says why bf16 is skipped")
        XCTAssertTrue(products.filter { $0.name.hasSuffix(", Quill GEMM bf16") }.allSatisfy { $0.flops == 2 * 2500 * 4 * 16 })
        XCTAssertEqual(QuillGEMM.path, saved, "left as found")
        XCTAssertEqual(products[0].flops, 2 * 2 * 4 * 16)
        for (kind, label) in [(CellKind.lstm, "LSTM"), (.gru, "GRU"), (.rnn, "RNN"), (.rnnRelu, "RNN-RELU")] {
            let steps = products.filter { $0.name.hasPrefix("\(label) step ") }
            XCTAssertEqual(steps.count, 2 * paths, label)
            XCTAssertTrue(steps.allSatisfy { $0.flops == 2 * 2 * 4 * Double(4 * kind.gateCount) }, label)
        }
        XCTAssertTrue(FusedKernels.enabled, "left enabled")
        let pointwise = bench.pointwise()
        XCTAssertEqual(pointwise.map(\.elements), [8, 8, 32, 32, 32, 32])
        for t in products + pointwise { XCTAssertTrue(t.seconds.isFinite && t.seconds >= 0, t.name) }
        XCTAssertTrue(pointwise.allSatisfy { $0.flops == nil })
    }
}
