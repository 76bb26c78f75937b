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
        XCTAssertEqual(products.count, FusedKernels.available ? 12 : 7)
        XCTAssertEqual(products.filter { $0.name.hasSuffix(", OpenBLAS") }.count, 3)
        XCTAssertEqual(products.filter { $0.name.hasSuffix(", Quill GEMM") }.count, QuillGEMM.available ? 3 : 0)
        XCTAssertEqual(QuillGEMM.path, saved, "left as found")
        XCTAssertEqual(products[0].flops, 2 * 2 * 4 * 16)
        XCTAssertTrue(FusedKernels.enabled, "left enabled")
        let pointwise = bench.pointwise()
        XCTAssertEqual(pointwise.map(\.elements), [8, 8, 32, 32, 32, 32])
        for t in products + pointwise { XCTAssertTrue(t.seconds.isFinite && t.seconds >= 0, t.name) }
        XCTAssertTrue(pointwise.allSatisfy { $0.flops == nil })
    }
}
