import XCTest
import CQuillKernels
@testable import QuillNumerics

/// Training steps flush denormals to zero on every thread they compute on (`QuillGEMM.withTrainingProducts`,
/// `qk_flush_denormals`), and leave the caller's modes and OpenBLAS's threads as they found them.
final class DenormalFlushTests: XCTestCase {
    /// 2⁻¹³⁰, a denormal Float.
    static let tiny = Float(sign: .plus, exponent: -130, significand: 1)

    /// `tiny · 1` computed by each range of `KernelThreads.forEachRange` (so on the caller's thread and the kernel
    /// threads), one result per range.
    static func productsOnEveryThread() -> [Float] {
        let n = max(2, Int(qk_threads_for(1 << 20)))
        var out = [Float](repeating: .nan, count: n)
        // The factors come through memory, so the product is computed at run time, under the thread's modes.
        let ones = [Float](repeating: 1, count: n)
        ones.withUnsafeBufferPointer { f in
            out.withUnsafeMutableBufferPointer { p in
                let (factors, base) = (f.baseAddress!, p.baseAddress!)
                KernelThreads.forEachRange(n, minimumPerThread: 1) { r in
                    for i in r { base[i] = tiny * factors[i] }
                }
            }
        }
        return out
    }

    func testFlushReachesTheKernelThreadsAndIsUndone() throws {
        #if !arch(x86_64)
        throw XCTSkip("flush-to-zero modes are set on x86-64 only")
        #else
        XCTAssertTrue(Self.tiny.isSubnormal)
        let before = Self.productsOnEveryThread()
        XCTAssertTrue(before.allSatisfy { $0 == Self.tiny }, "IEEE denormals outside a flush: \(before)")
        let was = qk_flush_denormals(1)
        let flushed = Self.productsOnEveryThread()
        _ = qk_flush_denormals(was)
        XCTAssertTrue(flushed.allSatisfy { $0 == 0 }, "every thread flushes: \(flushed)")
        XCTAssertEqual(Self.productsOnEveryThread(), before, "the kernel threads take the caller's modes back")
        #endif
    }

    func testTrainingProductsScopeRestoresModesAndBLASThreads() throws {
        struct Failure: Error {}
        let threads = BLASInfo.threads
        var inside: [Float] = [], insideThreads = 0
        QuillGEMM.withTrainingProducts(precision: .fp32) {
            inside = Self.productsOnEveryThread()
            insideThreads = BLASInfo.threads
        }
        XCTAssertThrowsError(try QuillGEMM.withTrainingProducts(precision: .fp32) { throw Failure() })
        XCTAssertEqual(BLASInfo.threads, threads)
        XCTAssertTrue(Self.productsOnEveryThread().allSatisfy { $0 == Self.tiny }, "denormals back after the step")
        if QuillGEMM.trainsWithOneBLASThread {
            XCTAssertTrue(inside.allSatisfy { $0 == 0 }, "a training step flushes denormals: \(inside)")
            XCTAssertEqual(insideThreads, 1)
        } else {
            XCTAssertTrue(inside.allSatisfy { $0 == Self.tiny }, "without Quill's GEMM nothing changes: \(inside)")
            XCTAssertEqual(insideThreads, threads)
        }
    }
}
