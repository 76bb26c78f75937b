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

    func testPeakBenchComparesAllThreadsWithOne() throws {
        let bench = try BenchPeak.parse(["--seconds", "0.01", "--json"])
        let o = try object(bench.report())
        XCTAssertEqual(o["bench"] as? String, "peak")
        for key in ["one_thread_gflops", "peak_gflops", "scaling"] { positive(o, key) }
        let scaling = try XCTUnwrap(o["scaling"] as? Double), one = try XCTUnwrap(o["one_thread_gflops"] as? Double)
        XCTAssertEqual(scaling, try XCTUnwrap(o["peak_gflops"] as? Double) / one, accuracy: 1e-9)
        let threads = try XCTUnwrap(o["peak_threads"] as? Int)
        XCTAssertLessThanOrEqual(threads, ProcessInfo.processInfo.activeProcessorCount)
        XCTAssertEqual(o["cores_shared"] as? Bool, threads > 1 && scaling < BenchPeak.sharedBelow * Double(threads))
        XCTAssertEqual(o["disturbed"] as? Bool, scaling > BenchPeak.disturbedAbove * Double(threads))
        // More threads than CPUs are measured on the CPUs.
        let many = try object(try BenchPeak.parse(["--seconds", "0.01", "--threads", "256", "--json"]).report())
        XCTAssertEqual(many["peak_threads"] as? Int, ProcessInfo.processInfo.activeProcessorCount)
        // One thread against one thread is never "shared".
        let single = try object(try BenchPeak.parse(["--seconds", "0.01", "--threads", "1", "--json"]).report())
        XCTAssertEqual(single["peak_threads"] as? Int, 1)
        XCTAssertEqual(single["cores_shared"] as? Bool, false)
        XCTAssertThrowsError(try BenchPeak.parse(["--threads", "0"]))
        XCTAssertThrowsError(try BenchPeak.parse(["--seconds", "20"]))
    }

    /// Tools/bench-compare.py with a stand-in quill whose first two core checks find the cores shared, and a stand-in
    /// PyTorch script: the round beside them is run again and left out, and the summary says so.
    func testBenchCompareRunsARoundAgainWhenTheCoresWereShared() throws {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("no \(python) to run Tools/bench-compare.py") }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("quill-bench-compare-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("torch"), withIntermediateDirectories: true)
        try fm.createDirectory(at: dir.appendingPathComponent("pytorch"), withIntermediateDirectories: true)
        func write(_ name: String, _ text: String, executable: Bool = false) throws {
            let url = dir.appendingPathComponent(name)
            try text.write(to: url, atomically: true, encoding: .utf8)
            if executable { try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: url.path) }
        }
        try write("torch/__init__.py", "")
        try write("pytorch/common.py", "def time_iters(step, warmup=2, budget_s=60.0, max_iters=50):\n    pass\n")
        try write("pytorch/bench_b_charlm_train.py", "print('[b:charlm] stand-in -> 1000.0 chars/s')\n")
        // The quill stand-in: a shared-core check for the first two checks, then cores of its own; the char bench
        // reads 500 chars/s while the cores are shared and 1,100 after.
        try write("quill", """
            #!/bin/sh
            n=$(cat "\(dir.path)/checks" 2>/dev/null || echo 0)
            if [ "$2" = peak ]; then
              n=$((n + 1)); echo $n > "\(dir.path)/checks"
              if [ $n -le 2 ]; then echo '{"bench":"peak","cores_shared":true,"scaling":1.02}'
              else echo '{"bench":"peak","cores_shared":false,"scaling":1.98}'; fi
            elif [ $n -le 2 ]; then echo '{"bench":"char","chars_per_second":500}'
            else echo '{"bench":"char","chars_per_second":1100}'; fi
            """, executable: true)
        func compare(_ extra: [String]) throws -> String {
            try? fm.removeItem(at: dir.appendingPathComponent("checks"))
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [root.appendingPathComponent("Tools/bench-compare.py").path, "--quill", dir.appendingPathComponent("quill").path,
                                 "--pytorch-dir", dir.appendingPathComponent("pytorch").path, "--workloads", "char",
                                 "--threads", "2", "--rounds", "1"] + extra
            var env = ProcessInfo.processInfo.environment
            env["PYTHONPATH"] = dir.path
            process.environment = env
            let out = Pipe()
            process.standardOutput = out
            process.standardError = out
            try process.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertEqual(process.terminationStatus, 0, text)
            return text
        }
        let again = try compare([])
        XCTAssertTrue(again.contains("found the cores shared (2 threads at 1.02x one thread's FMA peak): run again"), again)
        XCTAssertTrue(again.contains("1.10x"), "the round run again counts, the shared one does not:\n\(again)")
        XCTAssertTrue(again.contains("cores shared beside a round: 1 round(s) run again"), again)
        let kept = try compare(["--retries", "0"])
        XCTAssertTrue(kept.contains("kept after 0 retries"), kept)
        XCTAssertTrue(kept.contains("0.50x"), kept)
        let unchecked = try compare(["--no-core-check"])
        XCTAssertFalse(unchecked.contains("cores shared"), unchecked)
        XCTAssertTrue(unchecked.contains("0.50x"), "no check ran, so the char bench still read the shared cores' rate:\n\(unchecked)")
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
                                                BenchSampling.self, BenchKernels.self, BenchPeak.self, BenchImportCommand.self,
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
