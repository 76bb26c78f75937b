import Foundation
import XCTest

/// `QUILL_KERNELS` in the environment: 0 / off turn the fused kernels off, avx512, all or empty leave every kernel on, and a
/// value Quill does not know is named in one line on standard error and ignored (never a silent surprise).
final class KernelLevelEnvironmentTests: XCTestCase {
    func bench(_ value: String) throws -> (status: Int32, out: String, err: String) {
        var env = ProcessInfo.processInfo.environment
        env["QUILL_KERNELS"] = value
        return try runQuill(["bench", "kernels", "--reps", "1", "--batch", "4", "--hidden", "8", "--peak-seconds", "0.01"],
                            environment: env)
    }

    func testValuesAreReadOrNamed() throws {
        let unknown = try bench("fast")
        XCTAssertEqual(unknown.status, 0)
        XCTAssertTrue(unknown.err.contains("QUILL_KERNELS=\"fast\" is not one of 0 (or off, none, portable), avx2, avx512 (or all)"), unknown.err)
        for value in ["0", "OFF", "none"] {
            let off = try bench(value)
            XCTAssertEqual(off.status, 0, value)
            XCTAssertFalse(off.out.contains("fused"), "QUILL_KERNELS=\(value) left the fused kernels on")
            XCTAssertTrue(off.err.isEmpty, off.err)
        }
        for value in ["avx2", "AVX512", "all", ""] {
            let on = try bench(value)
            XCTAssertEqual(on.status, 0, value)
            XCTAssertTrue(on.err.isEmpty, on.err)
        }
    }
}
