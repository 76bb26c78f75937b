import Foundation
import QuillData
import QuillIO
import QuillNN
import QuillTestSupport
import XCTest
@testable import QuillModels

/// Training runs whose writes fail (a full disk, injected in the file layer after N bytes) or that were killed in the
/// middle of a checkpoint (simulated by the directory states a kill leaves): the run stops with one clear error, the
/// last good checkpoint stays intact, and the directory is always resumable or cleanly restartable.
final class RunDirectoryFailureTests: XCTestCase {
    override func tearDown() {
        FaultInjection.failWrites(after: nil)
        super.tearDown()
    }

    /// Steps between checkpoints in every run here.
    let every = 3

    /// One kind of training run, driven through the library.
    struct Harness {
        let name: String
        /// Trains a new run into `out` up to `steps`.
        let fresh: (_ out: String, _ steps: Int) throws -> Void
        /// Resumes the run in `out` up to `steps`.
        let resume: (_ out: String, _ steps: Int) throws -> Void
        /// Loads a checkpoint as `quill` would (throws when it is broken).
        let load: (_ path: String) throws -> Void
    }

    func charHarness(_ dir: TempDir) throws -> Harness {
        let data = dir.path("tiny.txt")
        try String(repeating: "the cat sat on the mat. a dog ran to the log.\n", count: 40)
            .write(toFile: data, atomically: true, encoding: .utf8)
        let every = self.every
        return Harness(name: "char", fresh: { out, steps in
            var o = CharTrainOptions(dataPaths: [data], outDir: out, model: CharModelConfig(layers: 1, hidden: 8, vocabularySize: 1))
            o.batch = 4; o.seq = 8; o.steps = steps; o.evalEvery = every; o.logEvery = 1; o.sampleLength = 0
            try TrainingRun(options: o, resume: false).run()
        }, resume: { out, steps in
            var o = try CharTrainOptions.saved(outDir: out)
            o.outDir = out; o.steps = steps
            try TrainingRun(options: o, resume: true).run()
        }, load: { path in _ = try CharCheckpoint.load(path) })
    }

    func handwritingHarness(_ dir: TempDir, _ kind: HandwritingKind) throws -> Harness {
        let data = dir.path("tiny.qds")
        try PreparedFormat.write(TinyHandwriting.dataset(), to: data)
        let every = self.every
        return Harness(name: kind.rawValue, fresh: { out, steps in
            var o = HandwritingTrainOptions(dataPath: data, outDir: out, model: HandwritingConfig(
                kind: kind, layers: 2, hidden: 6, mixture: MixtureDensity(components: 2), windowComponents: 2))
            o.batch = 2; o.steps = steps; o.evalEvery = every; o.logEvery = 1; o.valSamples = 0; o.seed = 7
            try TrainingRun(options: o, resume: false).run()
        }, resume: { out, steps in
            var o = try HandwritingTrainOptions.saved(outDir: out)
            o.outDir = out; o.steps = steps
            try TrainingRun(options: o, resume: true).run()
        }, load: { path in _ = try HandwritingCheckpoint.load(path, expecting: kind) })
    }

    func harnesses(_ dir: TempDir) throws -> [Harness] {
        [try charHarness(dir), try handwritingHarness(dir, .prediction), try handwritingHarness(dir, .synthesis)]
    }

    // MARK: - Helpers

    func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// The step a checkpoint records: the trainer's in last.safetensors, the best's in model.safetensors.
    func recordedStep(_ path: String) throws -> Int {
        let file = try SafeTensors.read(path)
        let json = file.metadata["quill.trainer"] ?? file.metadata["quill.best"] ?? ""
        let o = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        return try XCTUnwrap(o["step"] as? Int)
    }

    /// The (kind, step) of every line of metrics.jsonl, failing unless every line is a whole JSON object.
    func metricLines(_ path: String, file: StaticString = #filePath, line: UInt = #line) throws -> [(String, Int)] {
        let data = try XCTUnwrap(bytes(path), "\(path) missing", file: file, line: line)
        if data.isEmpty { return [] }
        XCTAssertEqual(data.last, 0x0a, "metrics.jsonl ends in half a line", file: file, line: line)
        return try data.split(separator: 0x0a).map { l in
            let o = try XCTUnwrap(try? JSONSerialization.jsonObject(with: Data(l)) as? [String: Any],
                                  "not a whole JSON line: \(String(decoding: l, as: UTF8.self))", file: file, line: line)
            return (try XCTUnwrap(o["kind"] as? String), try XCTUnwrap(o["step"] as? Int))
        }
    }

    /// Names starting with a dot: Quill's temporary files (none may remain).
    func hidden(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).filter { $0.hasPrefix(".") }.sorted()
    }

    func copyDirectory(_ from: String, _ to: String) throws {
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }

    /// Every tensor of two checkpoint files, bit for bit.
    func assertSameTensors(_ a: String, _ b: String, _ what: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let x = try SafeTensors.read(a), y = try SafeTensors.read(b)
        XCTAssertEqual(Set(x.tensors.keys), Set(y.tensors.keys), what, file: file, line: line)
        for (name, e) in x.tensors where e.values.map(\.bitPattern) != y.tensors[name]?.values.map(\.bitPattern) {
            XCTFail("\(what): tensor \(name) differs", file: file, line: line)
        }
    }

    /// The temporary files a kill leaves: this version's and the older names, of a process that no longer exists.
    let deadTemporaries = [".last.safetensors.quill-tmp-99999999-1a2b", ".last.safetensors.tmp-99999999",
                           ".model.safetensors.quill-tmp-99999999-ff00", ".metrics.jsonl.quill-tmp-99999999-7"]

    func plantDeadTemporaries(in dir: String) throws {
        for name in deadTemporaries {
            try Data("half a checkpoint".utf8).write(to: URL(fileURLWithPath: dir).appendingPathComponent(name))
        }
    }

    // MARK: - Write failures (disk full after N bytes)

    /// For a sweep of N chosen to cut a metrics line, last.safetensors and model.safetensors short, at the first
    /// checkpoint after the resume and later ones: one clear error naming the intact checkpoint; both checkpoints
    /// the last good ones or complete newer ones; metrics.jsonl whole lines; no temporary files; and a resume that
    /// ends with exactly the weights and the metrics of a run that never failed.
    func testWriteFailuresKeepTheLastGoodCheckpoint() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        for h in try harnesses(dir) { try sweep(h, dir) }
    }

    func sweep(_ h: Harness, _ dir: TempDir) throws {
        let target = 8 * every
        let straight = dir.path("\(h.name)-straight"), base = dir.path("\(h.name)-base")
        try h.fresh(straight, target)
        try h.fresh(base, every)
        let baseLast = try XCTUnwrap(bytes(base + "/last.safetensors"))
        let baseBest = try XCTUnwrap(bytes(base + "/model.safetensors"))
        let m = try XCTUnwrap(bytes(base + "/metrics.jsonl")).count  // metrics of one checkpoint interval
        let one = m + baseLast.count + baseBest.count                // all that one checkpoint interval writes
        let sweep = [0, 1, m / 2, m - 1, m + 1, m + baseLast.count / 2, m + baseLast.count - 1, m + baseLast.count + 1,
                     m + baseLast.count + baseBest.count / 2, m + baseLast.count + baseBest.count - 1,
                     one + m / 2, one + m + baseLast.count / 2, 2 * one + m + baseLast.count + baseBest.count / 2,
                     5 * one + m + baseLast.count - 8]
        var failedFiles = Set<String>()
        for n in sweep {
            let what = "\(h.name), failing after \(n) bytes"
            let out = dir.path("\(h.name)-n\(n)")
            try copyDirectory(base, out)
            FaultInjection.failWrites(after: n)
            var thrown: Error?
            do { try h.resume(out, target) } catch { thrown = error }
            FaultInjection.failWrites(after: nil)

            guard let error = thrown as? RunDirectoryError, case let .writeFailed(fs, step, _, checkpoint?) = error else {
                XCTFail("\(what): expected a failed write with a checkpoint, got \(String(describing: thrown))"); continue
            }
            failedFiles.insert(URL(fileURLWithPath: fs.path).lastPathComponent)
            XCTAssertTrue(fs.isOutOfSpace, what)
            let message = "\(error)"
            XCTAssertFalse(message.contains("\n"), message)
            XCTAssertTrue(message.contains("no space left on the device"), message)
            XCTAssertTrue(message.contains("(step \(checkpoint)) is intact") && message.contains("--resume"), message)
            XCTAssertGreaterThanOrEqual(step, checkpoint, what)

            // The resume point is the checkpoint the error names, byte for byte the old one or a complete newer one.
            let last = out + "/last.safetensors", best = out + "/model.safetensors"
            XCTAssertEqual(try recordedStep(last), checkpoint, what)
            if checkpoint == every { XCTAssertEqual(bytes(last), baseLast, what) } else { XCTAssertNoThrow(try h.load(last), what) }
            if bytes(best) != baseBest { XCTAssertNoThrow(try h.load(best), what) }
            XCTAssertLessThanOrEqual(try recordedStep(best), checkpoint, "\(what): the best model is not ahead of the resume point")
            let lines = try metricLines(out + "/metrics.jsonl")
            XCTAssertLessThanOrEqual(lines.map(\.1).max() ?? 0, step, what)
            XCTAssertEqual(hidden(out), [], what)

            // Space again: the run resumes and ends where a run that never failed ends.
            try h.resume(out, target)
            try assertSameTensors(last, straight + "/last.safetensors", "\(what), resumed")
            try assertSameTensors(best, straight + "/model.safetensors", "\(what), resumed best")
            XCTAssertEqual(try recordedStep(best), try recordedStep(straight + "/model.safetensors"), what)
            let after = try metricLines(out + "/metrics.jsonl")
            XCTAssertEqual(after.filter { $0.0 == "train" }.map(\.1), Array(1...target), what)
            XCTAssertEqual(after.filter { $0.0 == "val" }.map(\.1), Array(stride(from: every, through: target, by: every)), what)
            XCTAssertEqual(hidden(out), [], what)
        }
        XCTAssertEqual(failedFiles, ["metrics.jsonl", "last.safetensors", "model.safetensors"],
                       "\(h.name): the sweep cuts every kind of write short")
    }

    /// A run that fails before its first checkpoint says so, leaves no model, and starts again without --force.
    func testWriteFailureBeforeTheFirstCheckpoint() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        for h in try harnesses(dir) {
            let out = dir.path("\(h.name)-early")
            FaultInjection.failWrites(after: 150)
            XCTAssertThrowsError(try h.fresh(out, 4 * every)) { error in
                guard case let .writeFailed(fs, _, _, checkpoint)? = error as? RunDirectoryError else {
                    return XCTFail("\(h.name): expected a failed write, got \(error)")
                }
                XCTAssertNil(checkpoint)
                XCTAssertTrue("\(error)".contains("before its first checkpoint") && "\(error)".contains("without --resume"), "\(error)")
                XCTAssertFalse("\(error)".contains("intact"), "\(error)")
            }
            FaultInjection.failWrites(after: nil)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: out), ["metrics.jsonl"])
            _ = try metricLines(out + "/metrics.jsonl")
            XCTAssertThrowsError(try h.resume(out, 4 * every)) { error in
                XCTAssertEqual(error as? RunDirectoryError, .nothingToResume(out, .noCheckpoint), "\(error)")
            }
            try h.fresh(out, every)
            XCTAssertEqual(try recordedStep(out + "/last.safetensors"), every)
        }
    }

    // MARK: - Directory states a kill leaves

    /// Killed before or during the first checkpoint: metrics.jsonl (ending in half a line) and temporary files, no
    /// checkpoint. `--resume` says there is nothing to resume; a new run starts without --force, removes the
    /// temporary files and starts metrics.jsonl afresh.
    func testKilledBeforeTheFirstCheckpoint() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        for h in try harnesses(dir) {
            for withMetrics in [true, false] {
                let out = dir.path("\(h.name)-killed-\(withMetrics)")
                try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
                if withMetrics {
                    try Data(#"{"kind":"train","loss":3.1,"step":1}"#.utf8 + [0x0a] + #"{"kind":"tra"#.utf8)
                        .write(to: URL(fileURLWithPath: out + "/metrics.jsonl"))
                }
                try plantDeadTemporaries(in: out)
                XCTAssertThrowsError(try h.resume(out, 2 * every)) { error in
                    XCTAssertEqual(error as? RunDirectoryError, .nothingToResume(out, .noCheckpoint))
                    let m = "\(error)"
                    XCTAssertTrue(m.contains("holds no checkpoint yet") && m.contains("without --resume"), m)
                }
                try h.fresh(out, 2 * every)
                XCTAssertEqual(hidden(out), [], h.name)
                XCTAssertEqual(try metricLines(out + "/metrics.jsonl").filter { $0.0 == "train" }.map(\.1), Array(1...(2 * every)))
                XCTAssertNoThrow(try h.load(out + "/last.safetensors"))
                XCTAssertNoThrow(try h.load(out + "/model.safetensors"))
            }
            XCTAssertThrowsError(try h.resume(dir.path("\(h.name)-never"), every)) { error in
                XCTAssertEqual(error as? RunDirectoryError, .nothingToResume(dir.path("\(h.name)-never"), .noDirectory))
                XCTAssertTrue("\(error)".contains("no such run directory"), "\(error)")
            }
        }
    }

    /// Killed while writing model.safetensors after last.safetensors: the resume rewrites model.safetensors from
    /// last.safetensors, byte for byte what the killed write would have written, and removes the temporary files.
    func testLastWithoutBestIsRepairedOnResume() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        for h in try harnesses(dir) {
            let base = dir.path("\(h.name)-base"), out = dir.path("\(h.name)-nobest")
            try h.fresh(base, every)
            try copyDirectory(base, out)
            try FileManager.default.removeItem(atPath: out + "/model.safetensors")
            try plantDeadTemporaries(in: out)
            try h.resume(out, every)  // nothing to train: only the repair
            XCTAssertEqual(bytes(out + "/model.safetensors"), bytes(base + "/model.safetensors"), h.name)
            XCTAssertEqual(hidden(out), [], h.name)
            try h.resume(out, 2 * every)
            XCTAssertEqual(try recordedStep(out + "/last.safetensors"), 2 * every)
        }
    }

    /// model.safetensors missing and its best step behind the resume point (the weights are gone): the resumed run
    /// forgets that best and saves a new one at its next validation.
    func testLostBestIsSavedAgainAtTheNextValidation() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        for h in try harnesses(dir) {
            let out = dir.path("\(h.name)-lost")
            try h.fresh(out, 2 * every)
            // Record the best at the first checkpoint, as if the second had not improved.
            let last = out + "/last.safetensors"
            var file = try SafeTensors.read(last)
            var trainer = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(file.metadata["quill.trainer"]!.utf8)) as? [String: Any])
            trainer["bestStep"] = every
            file.metadata["quill.trainer"] = String(decoding: try JSONSerialization.data(withJSONObject: trainer, options: [.sortedKeys]), as: UTF8.self)
            try SafeTensors.write(file.tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, metadata: file.metadata, to: last)
            try FileManager.default.removeItem(atPath: out + "/model.safetensors")

            try h.resume(out, 2 * every)  // at the limit already: a best is saved before it stops
            XCTAssertEqual(try recordedStep(out + "/model.safetensors"), 2 * every, h.name)
            XCTAssertNoThrow(try h.load(out + "/model.safetensors"))
            try h.resume(out, 3 * every)
            XCTAssertEqual(try recordedStep(out + "/last.safetensors"), 3 * every)
        }
    }

    /// model.safetensors without last.safetensors (an older Quill killed during its first last.safetensors): both
    /// `--resume` and a new run without --force explain; with --force (the files removed) a new run starts.
    func testBestWithoutLastIsExplained() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        for h in try harnesses(dir) {
            let out = dir.path("\(h.name)-nolast")
            try h.fresh(out, every)
            try FileManager.default.removeItem(atPath: out + "/last.safetensors")
            try plantDeadTemporaries(in: out)
            XCTAssertThrowsError(try h.resume(out, 2 * every)) { error in
                XCTAssertEqual(error as? RunDirectoryError, .nothingToResume(out, .bestOnly))
                XCTAssertTrue("\(error)".contains("no last.safetensors") && "\(error)".contains("--force"), "\(error)")
            }
            let best = bytes(out + "/model.safetensors")
            XCTAssertThrowsError(try h.fresh(out, every)) { error in
                XCTAssertEqual(error as? RunDirectoryError, .bestWithoutResumePoint(out))
            }
            XCTAssertEqual(bytes(out + "/model.safetensors"), best, "\(h.name): a refused run changes nothing")
            XCTAssertEqual(hidden(out), [], "\(h.name): even a refused run removes dead temporaries")
            try FileManager.default.removeItem(atPath: out + "/model.safetensors")  // what --force does
            try h.fresh(out, every)
            XCTAssertNoThrow(try h.load(out + "/last.safetensors"))
        }
    }

    /// A complete run directory with temporary files of killed writes: the resume removes them, and leaves other
    /// dot files alone.
    func testResumeRemovesDeadTemporaries() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        for h in try harnesses(dir) {
            let out = dir.path("\(h.name)-temps")
            try h.fresh(out, every)
            try plantDeadTemporaries(in: out)
            try Data().write(to: URL(fileURLWithPath: out + "/.keep"))
            try h.resume(out, 2 * every)
            XCTAssertEqual(hidden(out), [".keep"], h.name)
            XCTAssertEqual(try recordedStep(out + "/last.safetensors"), 2 * every)
        }
    }
}
