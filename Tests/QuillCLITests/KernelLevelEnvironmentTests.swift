import Foundation
import XCTest

/// `QUILL_KERNELS` in the environment: 0 / off turn the fused kernels off, all or empty leave every kernel on, avx2 or
/// avx512 cap them at that width (named in one line where the CPU lacks it), and a
/// value Quill does not know is named in one line on standard error and ignored (never a silent surprise); so are a
/// `QUILL_THREADS` that is not a count from 1 (or is above the kernels' 8, or the online CPUs) and a `QUILL_GEMM`
/// other than openblas (any letter case).
final class KernelLevelEnvironmentTests: XCTestCase {
    func bench(_ value: String, variable: String = "QUILL_KERNELS") throws -> (status: Int32, out: String, err: String) {
        var env = ProcessInfo.processInfo.environment
        env[variable] = value
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
            XCTAssertFalse(off.out.contains(", fused "), "QUILL_KERNELS=\(value) left the fused kernels on")
            XCTAssertTrue(off.out.contains("fused steps not timed: QUILL_KERNELS=\(value) turns Quill's kernels off"), off.out)
            XCTAssertTrue(off.err.isEmpty, off.err)
        }
        for value in ["all", ""] {
            let on = try bench(value)
            XCTAssertEqual(on.status, 0, value)
            XCTAssertTrue(on.err.isEmpty, on.err)
        }
        // A width is taken quietly where the CPU has it; where it does not, with a line that says what runs instead.
        let all = try bench("all").out
        let level = all.contains("fused AVX-512") ? 3 : all.contains("fused AVX2") ? 2 : 0
        for (value, width) in [("avx2", 2), ("AVX512", 3)] {
            let on = try bench(value)
            XCTAssertEqual(on.status, 0, value)
            if level >= width {
                XCTAssertTrue(on.err.isEmpty, on.err)
            } else {
                XCTAssertTrue(on.err.contains("QUILL_KERNELS=\(value) asks for kernels this CPU cannot run"), on.err)
            }
        }
    }

    func testThreadAndGEMMValuesAreReadOrNamed() throws {
        for value in ["0", "-1", "abc", "2x", " 4", "+2"] {
            let bad = try bench(value, variable: "QUILL_THREADS")
            XCTAssertEqual(bad.status, 0, value)
            XCTAssertTrue(bad.err.contains("QUILL_THREADS=\"\(value)\" is not a whole number of threads from 1"), bad.err)
        }
        // Above 8: named, and 8 it is (a 256-unit layer has room for 8 threads of 32 units).
        var env = ProcessInfo.processInfo.environment
        env["QUILL_THREADS"] = "99"
        let many = try runQuill(["bench", "kernels", "--reps", "1", "--batch", "4", "--hidden", "256",
                                 "--peak-seconds", "0.01"], environment: env)
        XCTAssertTrue(many.err.contains("QUILL_THREADS=99 is more than the kernels' 8 threads"), many.err)
        XCTAssertTrue(many.err.contains("using 8"), many.err)
        // One line, also where 8 is more than the online CPUs.
        XCTAssertEqual(many.err.split(separator: "\n").filter { $0.contains("QUILL_THREADS") }.count, 1, many.err)
        XCTAssertEqual(many.err.contains("online CPUs"), ProcessInfo.processInfo.activeProcessorCount < 8, many.err)
        if many.out.contains("fused") { XCTAssertTrue(many.out.contains("8 threads"), many.out) }
        // A count up to the online CPUs is taken quietly; above them, taken with a line that says steps run slower.
        let online = ProcessInfo.processInfo.activeProcessorCount
        for value in ["1", "2", "3", ""] {
            let fine = try bench(value, variable: "QUILL_THREADS")
            XCTAssertEqual(fine.status, 0, value)
            if let count = Int(value), count > online {
                XCTAssertTrue(fine.err.contains("QUILL_THREADS=\(value) is more than the \(online) online CPUs"), fine.err)
            } else {
                XCTAssertTrue(fine.err.isEmpty, "QUILL_THREADS=\(value): \(fine.err)")
            }
        }
        let gemm = try bench("fast", variable: "QUILL_GEMM")
        XCTAssertTrue(gemm.err.contains("QUILL_GEMM=\"fast\" is not openblas"), gemm.err)
        for value in ["openblas", "OpenBLAS"] {
            XCTAssertTrue(try bench(value, variable: "QUILL_GEMM").err.isEmpty, value)
        }
    }
}
