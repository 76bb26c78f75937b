import XCTest
@testable import QuillNumerics

/// The memory-bound passes over whole sequences (`copyRows`, `addRows`, `addRowVector`, `accumulateColumnSums`) are
/// cut over the kernel threads when large; each value must still come out with the serial loop's bits (column sums in
/// row order), on shapes with tails (columns not a multiple of 16, odd rows) and strided rows.
final class MemoryPassTests: XCTestCase {
    func values(_ n: Int, seed: UInt64) -> [Float] {
        var rng = SeededGenerator(seed: seed)
        return (0..<n).map { i in Float(rng.uniform() * 2 - 1) * (i % 7 == 0 ? 1e4 : 1e-2) }
    }

    func bits(_ x: [Float]) -> [UInt32] { x.map(\.bitPattern) }

    func testLargePassesGiveTheSerialLoopsBits() {
        // Above and below the threshold (2 · 2¹⁷ values), with column tails.
        for (rows, cols) in [(1031, 301), (600, 517), (7, 5), (300, 3), (2100, 125)] {
            let x = values(rows * cols, seed: UInt64(rows)), bias = values(cols, seed: 3)
            // addRowVector
            var y = x, want = x
            for r in 0..<rows { for j in 0..<cols { want[r * cols + j] += bias[j] } }
            Kernels.addRowVector(&y, rows: rows, cols: cols, bias)
            XCTAssertEqual(bits(y), bits(want), "addRowVector \(rows)×\(cols)")
            // accumulateColumnSums, into a non-zero start
            var sums = bias, wantSums = bias
            for r in 0..<rows { for j in 0..<cols { wantSums[j] += x[r * cols + j] } }
            Kernels.accumulateColumnSums(x, rows: rows, cols: cols, into: &sums)
            XCTAssertEqual(bits(sums), bits(wantSums), "accumulateColumnSums \(rows)×\(cols)")
            // copyRows and addRows between strided buffers: `cols` values of each row, strides cols + 5 and cols + 2.
            let src = values(rows * (cols + 5), seed: 8)
            var dst = values(rows * (cols + 2), seed: 9), wantCopy = dst
            for r in 0..<rows { for j in 0..<cols { wantCopy[r * (cols + 2) + j] = src[r * (cols + 5) + j] } }
            Kernels.copyRows(rows: rows, width: cols, from: src, srcStride: cols + 5, to: &dst, dstStride: cols + 2)
            XCTAssertEqual(bits(dst), bits(wantCopy), "copyRows \(rows)×\(cols)")
            var wantAdd = dst
            for r in 0..<rows { for j in 0..<cols { wantAdd[r * (cols + 2) + j] += src[r * (cols + 5) + j] } }
            Kernels.addRows(rows: rows, width: cols, from: src, srcStride: cols + 5, to: &dst, dstStride: cols + 2)
            XCTAssertEqual(bits(dst), bits(wantAdd), "addRows \(rows)×\(cols)")
        }
    }

    func testRangesCoverEveryIndexOnce() {
        for count in [0, 1, 17, 1 << 18, (1 << 18) + 3] {
            var seen = [Int](repeating: 0, count: count)
            seen.withUnsafeMutableBufferPointer { s in
                KernelThreads.forEachRowRange(count, width: 1) { range in for i in range { s[i] += 1 } }
            }
            XCTAssertTrue(seen.allSatisfy { $0 == 1 }, "count \(count)")
        }
    }
}
