import Foundation
import QuillData
import QuillNN
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

        let a = try SafeTensors.read(dir.path("straight/\(RunFiles.last)"))
        let b = try SafeTensors.read(dir.path("split/\(RunFiles.last)"))
        XCTAssertEqual(Set(a.tensors.keys), Set(b.tensors.keys))
        for (name, e) in a.tensors {
            XCTAssertEqual(e.values.map(\.bitPattern), b.tensors[name]?.values.map(\.bitPattern), "tensor \(name) differs after resume")
        }
        var stA = try JSONDecoder().decode(HandwritingTrainerState.self, from: Data(a.metadata["quill.trainer"]!.utf8))
        var stB = try JSONDecoder().decode(HandwritingTrainerState.self, from: Data(b.metadata["quill.trainer"]!.utf8))
        stA.elapsed = 0; stB.elapsed = 0
        XCTAssertEqual(try JSONEncoder.sorted.encode(stA), try JSONEncoder.sorted.encode(stB))
    }

    /// The committed resume point (models/synthesis-run) reads with today's options and trainer-state types.
    func testCommittedResumePointReads() throws {
        var root = URL(fileURLWithPath: #filePath)
        while !FileManager.default.fileExists(atPath: root.appendingPathComponent("Package.swift").path) {
            root.deleteLastPathComponent()
            if root.path == "/" { throw XCTSkip("package root not found") }
        }
        let dir = root.appendingPathComponent("models/synthesis-run").path
        guard FileManager.default.fileExists(atPath: dir + "/" + RunFiles.last) else { throw XCTSkip("no \(dir)") }
        let options = try HandwritingTrainOptions.saved(outDir: dir)
        XCTAssertEqual(options.model.kind, .synthesis)
        let file = try SafeTensors.read(dir + "/" + RunFiles.last)
        let (state, _) = try RunFiles.trainerState(HandwritingTrainerState.self, from: file, path: dir)
        XCTAssertEqual(state.step, 6904)
        XCTAssertEqual(state.bestStep, 6904)
        XCTAssertNotNil(state.bestScore)
    }
}
