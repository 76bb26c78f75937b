import QuillNN
import XCTest

/// The FMA peak is measured, not assumed: the figure must be a usable yardstick (its value depends on the machine).
final class FMAPeakTests: XCTestCase {
    func testMeasuredPeakIsPositiveAndFinite() throws {
        for threads in [1, 2] {
            let peak = try XCTUnwrap(FMAPeak.measure(threads: threads, seconds: 0.02), "\(threads) threads")
            XCTAssertTrue(peak.gflops.isFinite && peak.gflops > 0, "\(peak.gflops) GFLOP/s on \(threads) threads")
            XCTAssertEqual(peak.threads, threads)
            XCTAssertTrue([128, 256, 512].contains(peak.vectorBits), "vector width \(peak.vectorBits)")
            XCTAssertTrue(peak.description.hasPrefix("FMA peak measured: "), peak.description)
            XCTAssertTrue(peak.description.contains("(\(threads) thread"), peak.description)
            XCTAssertEqual(peak.fraction(of: peak.gflops / 2), 0.5, accuracy: 1e-12)
        }
    }

    func testOutOfRangeRequestsAreClampedNotRefused() throws {
        let peak = try XCTUnwrap(FMAPeak.measure(threads: 0, seconds: -1))
        XCTAssertEqual(peak.threads, 1)
        XCTAssertTrue(peak.gflops.isFinite && peak.gflops > 0)
        XCTAssertNotNil(FMAPeak.measure(threads: 1, seconds: .nan))
    }
}
