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
        XCTAssertEqual(products.filter(\.bf16).map(\.name), products.filter { $0.name.hasSuffix(" bf16") }.map(\.name))
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

    /// Only an fp32 product above the fp32 peak says the host was busy: a bf16 one does two multiply-adds a lane per
    /// instruction (on a Zen 4 it ran at 1.5–1.8× the fp32 peak, quiet).
    func testOnlyAnFP32ProductAboveThePeakCallsTheHostBusy() {
        let fp32 = KernelBenchmark.Timing(name: "X·Wx", seconds: 1e-3, flops: 300e6, elements: 0, unit: "")
        var bf16 = fp32
        bf16.bf16 = true
        XCTAssertTrue(fp32.exceedsFP32Peak(250))      // 300 GFLOP/s against a 250 GFLOP/s peak
        XCTAssertFalse(fp32.exceedsFP32Peak(350))
        XCTAssertFalse(bf16.exceedsFP32Peak(250))
        let pointwise = KernelBenchmark.Timing(name: "tanh", seconds: 1e-3, flops: nil, elements: 8, unit: "element")
        XCTAssertFalse(pointwise.exceedsFP32Peak(0))
    }
}
