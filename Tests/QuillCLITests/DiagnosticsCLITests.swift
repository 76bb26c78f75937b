import ArgumentParser
import Foundation
import QuillModels
import QuillRender
import QuillTensorBoard
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// Issue 16 item 6: `--histogram-every` on the training commands and `quill plot histograms`.
final class DiagnosticsCLITests: XCTestCase {
    func train(_ dir: TempDir, _ out: String, _ extra: [String]) throws {
        let data = dir.path("text.txt")
        if !FileManager.default.fileExists(atPath: data) {
            try String(repeating: "to be or not to be, that is the question.\n", count: 30)
                .write(toFile: data, atomically: true, encoding: .utf8)
        }
        var train = try Quill.parseCommand(["char", "train", "--data", data, "--out", dir.path(out), "--hidden", "8",
                                            "--layers", "1", "--batch", "4", "--seq", "12", "--steps", "6",
                                            "--eval-every", "3", "--sample-length", "0"] + extra)
        try train.run()
    }

    func testHistogramsOfATinyRunAreDrawnAsARidgePlot() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try train(dir, "run", ["--histogram-every", "2"])
        let log = try HistogramLog.read(dir.path("run/metrics.jsonl"))
        XCTAssertEqual(log.gradientNorms.map(\.step), [2, 4, 6])
        for (extra, file) in [([String](), "w.png"), (["--gradients", "--parameter", log.parameters.last ?? ""], "g.svg")] {
            var plot = try Quill.parseCommand(["plot", "histograms", dir.path("run"), "-o", dir.path(file)] + extra)
            try plot.run()
            XCTAssertTrue(FileManager.default.fileExists(atPath: dir.path(file)), file)
        }
        XCTAssertGreaterThan(try RasterImage.readPNG(dir.path("w.png")).count(differingFrom: .white), 10_000)

        XCTAssertEqual(errorText(["plot", "histograms", dir.path("run"), "-o", dir.path("x.png"), "--parameter", "nope"]),
                       "quill: error: \(dir.path("run/metrics.jsonl")): no parameter 'nope'; the run logs \(log.parameters.joined(separator: ", "))")
        try train(dir, "plain", [])
        XCTAssertEqual(errorText(["plot", "histograms", dir.path("plain"), "-o", dir.path("x.png")]),
                       "quill: error: \(dir.path("plain/metrics.jsonl")): no histogram records; train with --histogram-every N to log them")
        XCTAssertTrue(errorText(["plot", "histograms", dir.path("none"), "-o", dir.path("x.png")]).contains("none/metrics.jsonl"))
        XCTAssertTrue(errorText(["char", "train", "--data", "x.txt", "--out", dir.path("o"), "--steps", "2",
                                 "--histogram-every", "-1"]).contains("--histogram-every"))
    }

    /// The summaries of every event in the event files of `dir`: (step, tag, value), framing and checksums checked.
    func summaries(_ dir: String) throws -> [(step: Int64, tag: String, value: [Int: ProtoReader.Value])] {
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.contains("tfevents") }.sorted()
        XCTAssertFalse(files.isEmpty, "no event file in \(dir)")
        var out: [(step: Int64, tag: String, value: [Int: ProtoReader.Value])] = []
        func fields(_ data: Data?) throws -> [Int: ProtoReader.Value] {
            var d: [Int: ProtoReader.Value] = [:]
            for f in try ProtoReader.fields(try XCTUnwrap(data)) { d[f.field] = f.value }
            return d
        }
        for file in files {
            let records = try TFRecord.records(in: try Data(contentsOf: URL(fileURLWithPath: (dir as NSString).appendingPathComponent(file))))
            XCTAssertEqual(try fields(records.first)[3]?.string, "brain.Event:2")
            for record in records.dropFirst() {
                let event = try fields(record)
                let step = try XCTUnwrap(event[2]?.integer)
                for value in try ProtoReader.fields(try XCTUnwrap(event[5]?.data)) {
                    let v = try fields(value.value.data)
                    out.append((step, try XCTUnwrap(v[1]?.string), v))
                }
            }
        }
        return out
    }

    func testTensorBoardEventsHoldTheMetricsHistogramsAndSamples() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try train(dir, "run", ["--tensorboard", dir.path("tb"), "--sample-length", "20"])
        let events = try summaries(dir.path("tb"))
        // Histograms default to every validation with --tensorboard.
        XCTAssertEqual(Set(events.filter { $0.tag.hasPrefix("weights/") }.map(\.step)), [3, 6])
        let metrics = try String(contentsOfFile: dir.path("run/metrics.jsonl"), encoding: .utf8)
        let val = metrics.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .filter { $0["kind"] as? String == "val" }
        let losses = events.filter { $0.tag == "val/loss" }
        XCTAssertEqual(losses.map(\.step), [3, 6])
        for (event, record) in zip(losses, val) {
            XCTAssertEqual(Double(try XCTUnwrap(event.value[2]?.float)), try XCTUnwrap(record["loss"] as? Double), accuracy: 1e-5)
        }
        XCTAssertTrue(events.contains { $0.tag == "train/grad_norm" })
        let samples = events.filter { $0.tag == "sample" }
        XCTAssertEqual(samples.map(\.step), [3, 6])
        XCTAssertNotNil(samples.first?.value[8])  // a text tensor

        // A directory that is a file: one line, before any training.
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir.path("file")))
        let refused = errorText(["char", "train", "--data", dir.path("text.txt"), "--out", dir.path("other"), "--steps", "2",
                                 "--tensorboard", dir.path("file")])
        XCTAssertTrue(refused.hasPrefix("quill: error: --tensorboard \(dir.path("file")): is a file, not a directory; give a directory for the TensorBoard event files"), refused)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("other")))
    }

    func testHandwritingRunsWriteASampleImagePerValidation() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let texts = ["hi there", "the hive", "her tie", "it is here", "this hat", "heir shirt"]
        let lines = texts.enumerated().map { BadInputSuiteTests.jsonlRecord("l\($0.offset)", $0.element, shift: $0.offset) }
        try (lines.joined(separator: "\n") + "\n").write(toFile: dir.path("lines.jsonl"), atomically: true, encoding: .utf8)
        var importer = try Quill.parseCommand(["data", "import", "iam-jsonl", dir.path("lines.jsonl"), "--out", dir.path("lines.qds"),
                                               "--min-count", "1"])
        try importer.run()
        for kind in ["synthesis", "prediction"] {
            var train = try Quill.parseCommand(["train", kind, "--data", dir.path("lines.qds"), "--out", dir.path("w/\(kind)"),
                                                "--layers", "1", "--hidden", "4", "--mixtures", "2", "--batch", "2",
                                                "--steps", "2", "--eval-every", "1", "--tensorboard", dir.path("tb/\(kind)")])
            try train.run()
            let images = try summaries(dir.path("tb/\(kind)")).filter { $0.tag == "sample" }
            XCTAssertEqual(images.map(\.step), [1, 2], kind)
            for image in images {
                let fields = try ProtoReader.fields(try XCTUnwrap(image.value[4]?.data))
                let png = try XCTUnwrap(fields.first { $0.field == 4 }?.value.data)
                XCTAssertEqual([UInt8](png.prefix(4)), [0x89, 0x50, 0x4E, 0x47], kind)
                XCTAssertGreaterThan(try XCTUnwrap(fields.first { $0.field == 2 }?.value.integer), 0)
            }
            // Diagnostics change what is logged, never what is trained: the same run without them saves the same model.
            var plain = try Quill.parseCommand(["train", kind, "--data", dir.path("lines.qds"), "--out", dir.path("p/\(kind)"),
                                                "--layers", "1", "--hidden", "4", "--mixtures", "2", "--batch", "2",
                                                "--steps", "2", "--eval-every", "1"])
            try plain.run()
            let with = try HandwritingCheckpoint.load(dir.path("w/\(kind)/model.safetensors")).model.parameters
            let without = try HandwritingCheckpoint.load(dir.path("p/\(kind)/model.safetensors")).model.parameters
            XCTAssertEqual(with.map(\.name), without.map(\.name))
            for (a, b) in zip(with, without) {
                XCTAssertEqual(Array(UnsafeBufferPointer(start: a.value.ptr, count: a.count)),
                               Array(UnsafeBufferPointer(start: b.value.ptr, count: b.count)), "\(kind) \(a.name)")
            }
        }
    }

    func testASweepWritesOneTensorBoardRunPerCombination() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try String(repeating: "to be or not to be, that is the question.\n", count: 30)
            .write(toFile: dir.path("text.txt"), atomically: true, encoding: .utf8)
        var sweep = try Quill.parseCommand(["char", "sweep", "--data", dir.path("text.txt"), "--out", dir.path("sweep"),
                                            "--cell", "lstm,gru", "--hidden", "4", "--steps", "2", "--eval-every", "1",
                                            "--batch", "2", "--seq", "8", "--tensorboard", dir.path("tb")])
        try sweep.run()
        let runs = try FileManager.default.contentsOfDirectory(atPath: dir.path("tb")).sorted()
        XCTAssertEqual(runs.count, 2)
        for run in runs { XCTAssertTrue(try summaries(dir.path("tb/\(run)")).contains { $0.tag == "val/loss" }, run) }
    }

    func testATaskWritesOneTensorBoardRunPerCellAndLength() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var task = try Quill.parseCommand(["task", "palindrome", "--length", "3", "--cell", "rnn,gru", "--steps", "4",
                                           "--hidden", "4", "--batch", "3", "--eval-every", "2", "--eval-sequences", "5",
                                           "--tensorboard", dir.path("tb")])
        try task.run()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path("tb")).sorted(), ["gru-T3", "rnn-T3"])
        let events = try summaries(dir.path("tb/gru-T3"))
        XCTAssertEqual(events.filter { $0.tag == "val/accuracy" }.map(\.step), [2, 4])
        XCTAssertTrue(events.contains { $0.tag.hasPrefix("gradients/") })
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir.path("file")))
        XCTAssertTrue(errorText(["task", "palindrome", "--length", "3", "--steps", "2", "--tensorboard", dir.path("file")])
            .contains("is a file, not a directory"))
    }
}
