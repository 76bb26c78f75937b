import ArgumentParser
import Foundation
import QuillIO
import QuillModels
import QuillRender
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// `char train` when the disk fills mid-run and over directories a kill left behind, parsed and run in-process.
final class RunDirectoryCLITests: XCTestCase {
    override func tearDown() {
        FaultInjection.failWrites(after: nil)
        super.tearDown()
    }

    func errorLine(_ args: [String]) -> String? {
        do {
            var c = try Quill.parseCommand(args)
            try c.run()
            return nil
        } catch {
            return Quill.errorLine(for: error)
        }
    }

    func trainArgs(_ data: String, _ out: String, steps: Int) -> [String] {
        ["char", "train", "--data", data, "--out", out, "--hidden", "8", "--layers", "1", "--batch", "4", "--seq", "8",
         "--steps", "\(steps)", "--eval-every", "3", "--sample-length", "0"]
    }

    /// A disk that fills in the middle of a metrics line (a half-written line is cut back): one `quill: error:` line naming the intact checkpoint,
    /// a metrics.jsonl that `quill plot loss` still reads, and a `--resume` that finishes the run.
    func testDiskFullMidRunThenResume() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("tiny.txt"), out = dir.path("run")
        try String(repeating: "the cat sat on the mat. a dog ran to the log.\n", count: 40)
            .write(toFile: data, atomically: true, encoding: .utf8)
        XCTAssertNil(errorLine(trainArgs(data, out, steps: 3)))
        let last = try XCTUnwrap(FileManager.default.contents(atPath: out + "/last.safetensors"))
        let metricsBefore = try XCTUnwrap(FileManager.default.contents(atPath: out + "/metrics.jsonl")).count

        // metrics.jsonl holds the validation line of step 3; half of the next one (step 6) gets through.
        FaultInjection.failWrites(after: metricsBefore / 2)
        let line = try XCTUnwrap(errorLine(trainArgs(data, out, steps: 12) + ["--resume"]))
        FaultInjection.failWrites(after: nil)
        XCTAssertTrue(line.hasPrefix("quill: error: "), line)
        XCTAssertFalse(line.contains("\n"), line)
        XCTAssertTrue(line.contains("metrics.jsonl: cannot append to it: no space left on the device"), line)
        XCTAssertTrue(line.contains("(step 3) is intact") && line.contains("--resume"), line)
        XCTAssertEqual(FileManager.default.contents(atPath: out + "/last.safetensors"), last)

        let log = try QuillRender.MetricsLog.read(out + "/metrics.jsonl")
        XCTAssertEqual(log.val.map(\.step), [3])
        XCTAssertNil(errorLine(["plot", "loss", out, "-o", dir.path("loss.svg")]))
        XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path("loss.svg")))
        // A log copied under another name is read as the metrics file itself.
        try FileManager.default.copyItem(atPath: out + "/metrics.jsonl", toPath: dir.path("copied.log"))
        XCTAssertNil(errorLine(["plot", "loss", dir.path("copied.log"), "-o", dir.path("copied.svg")]))

        XCTAssertNil(errorLine(trainArgs(data, out, steps: 12) + ["--resume"]))
        let after = try QuillRender.MetricsLog.read(out + "/metrics.jsonl")
        XCTAssertEqual(after.val.map(\.step), [3, 6, 9, 12])
        XCTAssertEqual(after.train.map(\.step), [10])
    }

    /// A run killed during its first checkpoint: `--resume` explains, a new run proceeds without --force.
    func testKilledBeforeTheFirstCheckpoint() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("tiny.txt"), out = dir.path("run")
        try String(repeating: "the cat sat on the mat. a dog ran to the log.\n", count: 40)
            .write(toFile: data, atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        try Data(#"{"kind":"train","loss":3.1,"step":1}"#.utf8 + [0x0a]).write(to: URL(fileURLWithPath: out + "/metrics.jsonl"))
        try Data("partial".utf8).write(to: URL(fileURLWithPath: out + "/.last.safetensors.quill-tmp-99999999-1a2b"))
        try Data("partial".utf8).write(to: URL(fileURLWithPath: out + "/.last.safetensors.tmp-99999999"))

        let line = try XCTUnwrap(errorLine(trainArgs(data, out, steps: 3) + ["--resume"]))
        XCTAssertTrue(line.hasPrefix("quill: error: \(out) holds no checkpoint yet"), line)
        XCTAssertTrue(line.contains("without --resume"), line)
        XCTAssertNil(errorLine(trainArgs(data, out, steps: 3)))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out).sorted(),
                       ["last.safetensors", "metrics.jsonl", "model.safetensors"])

        // model.safetensors alone: both ways explain.
        try FileManager.default.removeItem(atPath: out + "/last.safetensors")
        for extra in [["--resume"], []] {
            let line = try XCTUnwrap(errorLine(trainArgs(data, out, steps: 3) + extra))
            XCTAssertTrue(line.contains("no last.safetensors") && line.contains("--force"), line)
        }
        XCTAssertNil(errorLine(trainArgs(data, out, steps: 3) + ["--force"]))
    }
}
