import ArgumentParser
import Foundation
import XCTest
@testable import QuillCLI

/// The benches report what they measure on this machine: absolute figures and the fraction of the FMA peak measured
/// during the run, as text or as one JSON object (`--json`, read by Tools/bench-compare.py).
final class BenchTests: XCTestCase {
    func object(_ report: BenchReport) throws -> [String: Any] {
        let text = report.json()
        XCTAssertFalse(text.contains("\n"), "one line")
        return try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], text)
    }

    func positive(_ o: [String: Any], _ key: String, file: StaticString = #filePath, line: UInt = #line) {
        let v = o[key] as? Double ?? .nan
        XCTAssertTrue(v.isFinite && v > 0, "\(key) = \(String(describing: o[key]))", file: file, line: line)
    }

    func testCharBenchReportsAbsoluteFiguresAndTheMeasuredPeak() throws {
        let bench = try BenchChar.parse(["--iterations", "1", "--layers", "1", "--hidden", "8", "--batch", "2",
                                         "--seq", "3", "--peak-seconds", "0.01", "--json"])
        XCTAssertTrue(bench.measure.json)
        let report = bench.report()
        let o = try object(report)
        XCTAssertEqual(o["bench"] as? String, "char")
        for key in ["median_seconds", "chars_per_second", "gflops", "peak_gflops", "peak_fraction", "mflop_per_char"] {
            positive(o, key)
        }
        XCTAssertEqual(o["iterations"] as? Int, 1)
        let text = report.lines.joined(separator: "\n")
        XCTAssertTrue(text.contains("chars/s"), text)
        XCTAssertTrue(text.contains("of the measured FMA peak"), text)
        XCTAssertTrue(text.contains("FMA peak measured: "), text)
        XCTAssertFalse(text.contains("PyTorch"), text)
    }

    /// A fused step of a small layer runs on one thread and is measured against the one-thread peak; the peak is
    /// measured on at most the online CPUs.
    func testKernelsBenchMeasuresEachRowAgainstItsThreadsPeak() throws {
        let bench = try BenchKernels.parse(["--reps", "1", "--batch", "4", "--hidden", "8", "--peak-seconds", "0.01",
                                            "--json"])
        let o = try object(bench.report())
        let peak = try XCTUnwrap(o["peak_gflops"] as? Double), one = try XCTUnwrap(o["peak_gflops_one_thread"] as? Double)
        XCTAssertLessThanOrEqual(try XCTUnwrap(o["peak_threads"] as? Int), ProcessInfo.processInfo.activeProcessorCount)
        let rows = try XCTUnwrap(o["kernels"] as? [[String: Any]])
        for row in rows {
            guard let gflops = row["gflops"] as? Double, let fraction = row["peak_fraction"] as? Double else { continue }
            let name = row["name"] as? String ?? ""
            let yardstick = row["threads"] as? Int == 1 ? one : peak
            XCTAssertEqual(fraction, gflops / yardstick, accuracy: 1e-9 * max(1, fraction), name)
            XCTAssertFalse(name.contains(" 1 threads"), name)
        }
        if rows.contains(where: { ($0["name"] as? String ?? "").contains("fused") }) {
            XCTAssertTrue(rows.contains { $0["threads"] as? Int == 1 }, "a layer of 8 units runs its fused step on one thread")
        }
    }

    func testHandwritingAndSamplingBenchesReportJSON() throws {
        for network in ["prediction", "synthesis"] {
            let bench = try BenchHandwriting.parse(["--network", network, "--iterations", "1", "--batch", "1", "--steps", "3",
                                                    "--text-length", "2", "--peak-seconds", "0.01", "--json"])
            let o = try object(bench.report())
            XCTAssertEqual(o["network"] as? String, network)
            for key in ["sample_steps_per_second", "gflops", "peak_gflops", "mflop_per_sample_step"] { positive(o, key) }
        }
        let sampling = try BenchSampling.parse(["--steps", "20", "--reps", "1", "--peak-seconds", "0.01", "--json"])
        let o = try object(sampling.report())
        for key in ["steps_per_second", "median_seconds_per_step", "gflops", "peak_gflops"] { positive(o, key) }
    }

    func testNonFiniteFiguresBecomeNull() throws {
        var report = BenchReport(bench: "x")
        report.set("nan", Double.nan)
        report.set("rows", [["inf": Double.infinity]])
        let o = try object(report)
        XCTAssertTrue(o["nan"] is NSNull)
        XCTAssertTrue(((o["rows"] as? [[String: Any]])?.first?["inf"]) is NSNull)
    }

    /// No bench quotes a figure measured on another machine (a PyTorch rate or a nominal peak).
    func testNoBenchQuotesABorrowedFigure() {
        let commands: [ParsableCommand.Type] = [BenchCommand.self, BenchChar.self, BenchHandwriting.self,
                                                BenchSampling.self, BenchKernels.self, BenchImportCommand.self,
                                                BenchRenderCommand.self]
        for command in commands {
            let help = Quill.helpMessage(for: command)
            for borrowed in [#"PyTorch(:|'s)?\s*[0-9]"#, #"[0-9]×\s*PyTorch"#, #"[0-9]\s+GFLOP/s"#] {
                XCTAssertNil(help.range(of: borrowed, options: .regularExpression), "\(borrowed) in:\n\(help)")
            }
            XCTAssertFalse(help.contains("--baseline"), help)
        }
    }
}
