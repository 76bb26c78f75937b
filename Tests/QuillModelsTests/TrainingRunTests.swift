import Foundation
import QuillData
import QuillIO
import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// The run's own behaviour beyond the bytes it writes (`TrainingRunHashTests`): the injected stop check, an
/// interrupted handwriting run resumed, and the committed resume point read by the new types.
final class TrainingRunTests: XCTestCase {
    func handwritingOptions(_ dir: TempDir, _ out: String, steps: Int) throws -> HandwritingTrainOptions {
        let data = dir.path("tiny.qds")
        if !FileManager.default.fileExists(atPath: data) { try PreparedFormat.write(TinyHandwriting.dataset(), to: data) }
        var o = HandwritingTrainOptions(dataPath: data, outDir: dir.path(out), model: HandwritingConfig(
            kind: .synthesis, layers: 2, hidden: 6, mixture: MixtureDensity(components: 2), windowComponents: 2))
        o.batch = 2; o.steps = steps; o.evalEvery = 100; o.valSamples = 0; o.seed = 9
        return o
    }

    /// `shouldStop` is asked before every step: the run checkpoints the step it reached and says it was interrupted.
    func testStopCheckCheckpointsAndStops() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var finished: (Int, String)?
        let run = TrainingRun(options: try handwritingOptions(dir, "run", steps: 50), resume: false) { event in
            if case let .finished(step, reason, _) = event { finished = (step, reason) }
        }
        var asked = 0
        run.shouldStop = { asked += 1; return asked > 3 }
        XCTAssertEqual(try run.run(), 3)
        XCTAssertEqual(finished?.0, 3)
        XCTAssertEqual(finished?.1, "interrupted")
        let last = try SafeTensors.read(dir.path("run/\(RunFiles.last)"))
        let state = try JSONDecoder().decode(HandwritingTrainerState.self, from: Data(last.metadata["quill.trainer"]!.utf8))
        XCTAssertEqual(state.step, 3)
    }

    /// A handwriting run stopped by its stop check (Ctrl-C in the CLI) and resumed ends with the bytes of a
    /// straight run, weights, optimiser state and trainer state alike.
    func testInterruptedHandwritingRunResumesExactly() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try TrainingRun(options: try handwritingOptions(dir, "straight", steps: 9), resume: false).run()
        let first = TrainingRun(options: try handwritingOptions(dir, "split", steps: 9), resume: false)
        var asked = 0
        first.shouldStop = { asked += 1; return asked > 5 }
        XCTAssertEqual(try first.run(), 5)
        var second = try HandwritingTrainOptions.saved(outDir: dir.path("split"))
        second.steps = 9
        try TrainingRun(options: second, resume: true).run()

        try assertSameResumePoint(dir.path("straight"), dir.path("split"))
    }

    /// A resumed handwriting run refuses other data with the same counts: its fingerprint hashes the samples (the
    /// same lines imported with other options used to train on silently).
    func testResumeRefusesOtherDataWithTheSameCounts() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try TrainingRun(options: try handwritingOptions(dir, "run", steps: 3), resume: false).run()
        XCTAssertTrue(try HandwritingTrainOptions.saved(outDir: dir.path("run")).dataFingerprint.contains(":fnv1a64:"))
        var other = TinyHandwriting.dataset()
        other.samples[2].dx[3] += 0.5
        try PreparedFormat.write(other, to: dir.path("tiny.qds"))
        var o = try HandwritingTrainOptions.saved(outDir: dir.path("run"))
        o.steps = 5
        XCTAssertThrowsError(try TrainingRun(options: o, resume: true).run()) { error in
            XCTAssertTrue("\(error)".contains("differs from the dataset"), "\(error)")
        }
        try PreparedFormat.write(TinyHandwriting.dataset(), to: dir.path("tiny.qds"))
        XCTAssertEqual(try TrainingRun(options: o, resume: true).run(), 5)
    }

    /// --force moves the old run aside until the new one writes its first resume point: a replacement that fails
    /// before then puts the old files back, byte for byte; one that gets there leaves nothing of them.
    func testAFailedReplacementKeepsTheOldRun() throws {
        let dir = TempDir()
        defer { FaultInjection.failWrites(after: nil); dir.cleanup() }
        try TrainingRun(options: try handwritingOptions(dir, "run", steps: 3), resume: false).run()
        let names = RunFiles.all.sorted()
        func contents() -> [Data?] { names.map { FileManager.default.contents(atPath: dir.path("run/\($0)")) } }
        func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir.path("run")).filter { !$0.hasPrefix(".") }.sorted() }
        let before = contents()
        var again = try handwritingOptions(dir, "run", steps: 4)
        again.seed = 10
        let failing = TrainingRun(options: again, resume: false)
        failing.replacing = true
        FaultInjection.failWrites(after: 150)
        XCTAssertThrowsError(try failing.run())
        FaultInjection.failWrites(after: nil)
        XCTAssertEqual(contents(), before)
        XCTAssertEqual(try listing(), names)
        // A second Ctrl-C exits at once, through `InterruptRestore.perform()`: before the first resume point it
        // deletes the new run's files and puts the old ones back, byte for byte.
        var restoredByASecondCtrlC: [Data?]?
        let interrupted = TrainingRun(options: again, resume: false) { event in
            guard case .started = event else { return }
            XCTAssertEqual(Set(InterruptRestore.plan.filter { $0.to == nil }.map(\.path)), Set(names.map { dir.path("run/\($0)") }))
            InterruptRestore.perform()
            restoredByASecondCtrlC = contents()
        }
        interrupted.replacing = true
        XCTAssertEqual(try interrupted.run(), 4)
        XCTAssertEqual(restoredByASecondCtrlC ?? [], before)
        XCTAssertTrue(InterruptRestore.plan.isEmpty, "nothing to put back once the run has written its resume point")
        let replacing = TrainingRun(options: again, resume: false)
        replacing.replacing = true
        XCTAssertEqual(try replacing.run(), 4)
        XCTAssertEqual(try listing(), names)
        XCTAssertNotEqual(contents(), before)
        XCTAssertTrue(InterruptRestore.plan.isEmpty)
    }

    /// A `--force` run killed (kill -9) before its first resume point leaves its partial files beside the old run's
    /// `*.replaced`: the next run in that directory puts the old run back first, so a fresh run is refused over it,
    /// `--resume` continues it, and leftovers of a replacement that did write a resume point are deleted.
    func testAKilledReplacementIsPutBackByTheNextRun() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        let fm = FileManager.default
        try TrainingRun(options: try handwritingOptions(dir, "run", steps: 3), resume: false).run()
        let names = RunFiles.all.sorted()
        func contents() -> [Data?] { names.map { fm.contents(atPath: dir.path("run/\($0)")) } }
        func listing() throws -> [String] { try fm.contentsOfDirectory(atPath: dir.path("run")).filter { !$0.hasPrefix(".") }.sorted() }
        let before = contents()
        func killedReplacement() throws {
            for name in names { try fm.moveItem(atPath: dir.path("run/\(name)"), toPath: dir.path("run/\(name)\(RunFiles.replacedSuffix)")) }
            try Data("{\"step\":1}\n".utf8).write(to: URL(fileURLWithPath: dir.path("run/\(RunFiles.metrics)")))
        }
        try killedReplacement()
        XCTAssertTrue(CheckpointError.missing(dir.path("run/\(RunFiles.best)")).description.contains("\(RunFiles.replacedSuffix) of it is there"))
        var refusedNotes: [String] = []
        let refused = TrainingRun(options: try handwritingOptions(dir, "run", steps: 4), resume: false) {
            if case let .note(n) = $0 { refusedNotes.append(n) }
        }
        XCTAssertThrowsError(try refused.run()) { error in
            XCTAssertTrue("\(error)".contains("--resume"), "\(error)")
        }
        XCTAssertTrue(refusedNotes.contains { $0.contains("put back") }, "said even when the run is then refused: \(refusedNotes)")
        XCTAssertEqual(try listing(), names)
        XCTAssertEqual(contents(), before)

        try killedReplacement()
        var saved = try HandwritingTrainOptions.saved(outDir: dir.path("run"))
        XCTAssertEqual(saved.steps, 3)
        saved.steps = 4
        var notes: [String] = []
        let resumed = TrainingRun(options: saved, resume: true) { if case let .note(n) = $0 { notes.append(n) } }
        XCTAssertEqual(try resumed.run(), 4)
        XCTAssertEqual(try listing(), names)
        XCTAssertTrue(notes.contains { $0.contains("put back") && $0.contains("resumes") }, "\(notes)")

        try Data("stale".utf8).write(to: URL(fileURLWithPath: dir.path("run/\(RunFiles.best)\(RunFiles.replacedSuffix)")))
        saved.steps = 5
        XCTAssertEqual(try TrainingRun(options: saved, resume: true).run(), 5)
        XCTAssertEqual(try listing(), names)
    }

    /// A run stopped between two metrics lines and resumed logs the same training loss as one that never stopped:
    /// the resume point keeps the losses summed since the last line (`RunFiles.logWindowKey`).
    func testAResumedRunLogsTheSameTrainingLoss() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        func trainLines(_ out: String) throws -> [String: Double] {
            let text = try String(contentsOfFile: dir.path("\(out)/\(RunFiles.metrics)"), encoding: .utf8)
            var out: [String: Double] = [:]
            for line in text.split(separator: "\n") {
                let j = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                if j["kind"] as? String == "train", let step = j["step"] as? Int { out["\(step)"] = j["loss"] as? Double }
            }
            return out
        }
        var straight = try handwritingOptions(dir, "straight", steps: 5)
        straight.logEvery = 4
        try TrainingRun(options: straight, resume: false).run()
        var split = try handwritingOptions(dir, "split", steps: 2)
        split.logEvery = 4
        try TrainingRun(options: split, resume: false).run()
        let file = try SafeTensors.read(dir.path("split/\(RunFiles.last)"))
        XCTAssertEqual(try RunFiles.logWindow(from: file, path: "", step: 2).steps, 2)
        var resumed = try HandwritingTrainOptions.saved(outDir: dir.path("split"))
        resumed.steps = 5
        try TrainingRun(options: resumed, resume: true).run()
        let a = try trainLines("straight"), b = try trainLines("split")
        XCTAssertNotNil(a["4"])
        XCTAssertEqual(a, b)
    }

    /// A dataset with nothing to train on says which rule left nothing: no training split, or lines over --max-points.
    func testNothingToTrainOnSaysWhy() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        var o = try handwritingOptions(dir, "run", steps: 2)
        var ds = TinyHandwriting.dataset()
        for i in ds.samples.indices { ds.samples[i].split = .validation }
        try PreparedFormat.write(ds, to: dir.path("val-only.qds"))
        o.dataPath = dir.path("val-only.qds")
        XCTAssertThrowsError(try TrainingRun(options: o, resume: false).run()) { e in
            XCTAssertTrue("\(e)".contains("nothing to train on: none of its") && "\(e)".contains("training split"), "\(e)")
        }
        var short = try handwritingOptions(dir, "run", steps: 2)
        short.stepLimit = 2
        XCTAssertThrowsError(try TrainingRun(options: short, resume: false).run()) { e in
            XCTAssertTrue("\(e)".contains("raise --max-points"), "\(e)")
        }
    }

    /// Two runs never train in one directory at once: the second is refused while the first holds the directory.
    func testOneRunAtATimeInADirectory() throws {
        let dir = TempDir()
        defer { dir.cleanup() }
        try TrainingRun(options: try handwritingOptions(dir, "run", steps: 2), resume: false).run()
        var saved = try HandwritingTrainOptions.saved(outDir: dir.path("run"))
        saved.steps = 3
        var other = try RunFiles.Lock(dir.path("run"))
        XCTAssertTrue(other.held)
        XCTAssertThrowsError(try TrainingRun(options: saved, resume: true).run()) { e in
            XCTAssertTrue("\(e)".contains("another quill is training in"), "\(e)")
        }
        // A run still before its first resume point: --resume says it is training, not that it stopped.
        try FileManager.default.createDirectory(atPath: dir.path("young"), withIntermediateDirectories: true)
        other = try RunFiles.Lock(dir.path("young"))
        XCTAssertThrowsError(try HandwritingTrainOptions.saved(outDir: dir.path("young"))) { e in
            XCTAssertTrue("\(e)".contains("another quill is training in"), "\(e)")
        }
        other = try RunFiles.Lock(dir.path("elsewhere"))
        XCTAssertFalse(other.held, "a directory that does not exist is not locked")
        XCTAssertEqual(try TrainingRun(options: saved, resume: true).run(), 3)
    }

    /// The repository's models/synthesis-run, or a skip.
    static func committedRun() throws -> String {
        var root = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) {
            root.deleteLastPathComponent()
            if root.path == "/" { throw XCTSkip("package root not found") }
        }
        let dir = root.appendingPathComponent("models/synthesis-run").path
        guard FileManager.default.fileExists(atPath: dir + "/" + RunFiles.last) else { throw XCTSkip("no \(dir)") }
        return dir
    }

    /// The committed resume point (models/synthesis-run) reads with today's options and trainer-state types.
    func testCommittedResumePointReads() throws {
        let dir = try Self.committedRun()
        let options = try HandwritingTrainOptions.saved(outDir: dir)
        XCTAssertEqual(options.model.kind, .synthesis)
        let file = try SafeTensors.read(dir + "/" + RunFiles.last)
        let (state, _) = try RunFiles.trainerState(HandwritingTrainerState.self, from: file, path: dir)
        XCTAssertEqual(state.step, 6904)
        XCTAssertEqual(state.bestStep, 6904)
        XCTAssertNotNil(state.bestScore)
    }

    /// Digests of the committed run continued to step 6906 (`TrainingRunHashTests.digest`), by OpenBLAS kernel family,
    /// recorded when training steps began to flush denormals to zero and to run OpenBLAS on one thread, and the
    /// window layer's W_x gradient (83 × 1,600 × 9,600) moved to Quill's GEMM (issue 14,
    /// `QuillGEMM.withTrainingProducts`; Haswell recorded on the Intel VM with OPENBLAS_CORETYPE=Haswell, Quill's
    /// own kernels at AVX-512). Before, they were recorded when layer 1's per-step input products under the window
    /// moved to packed panels (`qk_panel_multiply`), and when Quill's own SGEMM took over the large products; before
    /// that, with every product on OpenBLAS, the release binaries from before the one-training-run and one-stack
    /// refactors (commit 1a03036) and after them continued the run to the same bytes.
    static let continuedDigests: [String: String] = [
        "Haswell": "74027e96e3149a09f28dfea971e1c983ddeb27372e1d5b76aff793eea7d9a9ed",
        "Prescott": "e87625db34186fd6572ec16944e8562e3d5e77c33a3d799f047a3fda996bfe30",
        "SkylakeX": "d2dc7387bc788a9608ba84fe11d32a3f1131e73a35a08f5512cd8f76fcdb6b40",
    ]

    /// The committed resume point continues exactly (issue 13 item 9): resumed to step 6906 in one go, and to 6905
    /// then resumed again, it ends with the same weights, optimiser state and trainer state, and with the bytes
    /// recorded for this kernel family. It trains on IAM-OnDB imported as the run was (`quill data import iam-jsonl
    /// … --decimate 2`), so it skips, saying so, without ../shared/datasets.
    func testCommittedResumePointResumesExactly() throws {
        let jsonl = try SharedData.require("iam_ondb_lines/iam_ondb_lines.jsonl")
        let committed = try Self.committedRun()
        // The data lies in the straight run's directory, whose path the digest takes out.
        let straight = TempDir(), split = TempDir()
        defer { straight.cleanup(); split.cleanup() }
        let data = straight.path("iam-d2.qds")
        var preprocess = PreprocessOptions()
        preprocess.decimation = 2
        _ = try ImportPipeline.run(format: .iamJSONL, inputs: [jsonl.path], output: data, options: preprocess)
        func copy(to dir: TempDir, steps: Int) throws -> HandwritingTrainOptions {
            try FileManager.default.createDirectory(atPath: dir.path("run"), withIntermediateDirectories: true)
            for name in RunFiles.all {
                try FileManager.default.copyItem(atPath: committed + "/" + name, toPath: dir.path("run/" + name))
            }
            var o = try HandwritingTrainOptions.saved(outDir: dir.path("run"))
            (o.outDir, o.dataPath, o.steps, o.minutes) = (dir.path("run"), data, steps, nil)
            return o
        }
        try TrainingRun(options: try copy(to: straight, steps: 6906), resume: true).run()
        try TrainingRun(options: try copy(to: split, steps: 6905), resume: true).run()
        var rest = try HandwritingTrainOptions.saved(outDir: split.path("run"))
        rest.steps = 6906
        try TrainingRun(options: rest, resume: true).run()

        XCTAssertEqual(try assertSameResumePoint(straight.path("run"), split.path("run")).step, 6906)

        let got = try TrainingRunHashTests.digest(straight.path("run"), root: straight.url.path)
        let core = BLASInfo.coreName
        guard let recorded = Self.continuedDigests[core] else {
            print("TrainingRunTests: no digest recorded for OpenBLAS \(core) kernels; models/synthesis-run continued to step 6906 gave \(got)")
            return
        }
        XCTAssertEqual(got, recorded, "models/synthesis-run on \(core) kernels: resuming no longer continues as it did")
    }
}

/// Asserts that the resume points (last.safetensors) of two handwriting run directories hold the same tensors, bit for
/// bit, and the same trainer state but for the elapsed time; returns the first's state.
@discardableResult
func assertSameResumePoint(_ dirA: String, _ dirB: String, file: StaticString = #filePath, line: UInt = #line) throws
    -> HandwritingTrainerState {
    let a = try SafeTensors.read(dirA + "/" + RunFiles.last), b = try SafeTensors.read(dirB + "/" + RunFiles.last)
    XCTAssertEqual(Set(a.tensors.keys), Set(b.tensors.keys), file: file, line: line)
    for (name, e) in a.tensors {
        XCTAssertEqual(e.values.map(\.bitPattern), b.tensors[name]?.values.map(\.bitPattern), "tensor \(name) differs after resume",
                       file: file, line: line)
    }
    var stA = try JSONDecoder().decode(HandwritingTrainerState.self, from: Data(a.metadata["quill.trainer", default: ""].utf8))
    var stB = try JSONDecoder().decode(HandwritingTrainerState.self, from: Data(b.metadata["quill.trainer", default: ""].utf8))
    let state = stA
    (stA.elapsed, stB.elapsed) = (0, 0)
    XCTAssertEqual(try JSONEncoder.sorted.encode(stA), try JSONEncoder.sorted.encode(stB), "trainer states differ", file: file, line: line)
    return state
}
