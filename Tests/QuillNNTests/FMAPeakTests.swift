import Foundation
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

    /// Threads that take turns on the cores add no FMA units: every thread counts its work in one shared wall-clock
    /// window, so 16 threads a CPU read what the CPUs did together. (A sum of each thread's rate over its own window,
    /// the measurement before, read 1.8–1.9× the peak of 2 CPUs with 32 threads on them.) The least of three
    /// oversubscribed figures against the best of three on as many threads as CPUs, so a host slowing one of them
    /// does not decide the check.
    func testMoreThreadsThanCPUsReadNoMoreThanTheCPUs() throws {
        let cpus = Swift.max(1, ProcessInfo.processInfo.activeProcessorCount)
        let many = Swift.min(16 * cpus, 256)
        var own = 0.0, oversubscribed = Double.infinity
        for _ in 0..<3 {
            own = Swift.max(own, try XCTUnwrap(FMAPeak.measure(threads: cpus, seconds: 0.05)).gflops)
            oversubscribed = Swift.min(oversubscribed, try XCTUnwrap(FMAPeak.measure(threads: many, seconds: 0.05)).gflops)
        }
        XCTAssertLessThan(oversubscribed, 1.25 * own, "\(many) threads on \(cpus) CPUs against \(cpus) threads, GFLOP/s")
    }

    func testOutOfRangeRequestsAreClampedNotRefused() throws {
        let peak = try XCTUnwrap(FMAPeak.measure(threads: 0, seconds: -1))
        XCTAssertEqual(peak.threads, 1)
        XCTAssertTrue(peak.gflops.isFinite && peak.gflops > 0)
        XCTAssertNotNil(FMAPeak.measure(threads: 1, seconds: .nan))
    }
}

final class ReadBandwidthTests: XCTestCase {
    func testMeasuresAPlausibleRateOnOneAndTwoThreads() throws {
        for threads in [1, 2] {
            let bw = try XCTUnwrap(ReadBandwidth.measure(threads: threads, bytes: 1 << 20, seconds: 0.02), "\(threads) threads")
            XCTAssertEqual(bw.threads, threads)
            XCTAssertEqual(bw.bytes, 1 << 20)
            // Any machine reads 1 MB faster than 0.1 GB/s and slower than 100 TB/s.
            XCTAssert(bw.gigabytesPerSecond > 0.1 && bw.gigabytesPerSecond < 100_000, "\(bw)")
            XCTAssert(bw.description.hasPrefix("read bandwidth measured: "), bw.description)
        }
    }

    func testClampsAbsurdArguments() throws {
        let bw = try XCTUnwrap(ReadBandwidth.measure(threads: 0, bytes: -5, seconds: -1))
        XCTAssertEqual(bw.threads, 1)
        XCTAssertEqual(bw.bytes, 4096)
        XCTAssertNotNil(ReadBandwidth.measure(threads: 1, bytes: 4096, seconds: .nan))
        // More threads than 64-float blocks: a thread would have nothing to read, so no figure.
        XCTAssertNil(ReadBandwidth.measure(threads: 32, bytes: 4096, seconds: 0.01))
    }
}
