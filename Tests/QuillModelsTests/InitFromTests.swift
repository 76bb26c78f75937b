import Foundation
import QuillData
import QuillNN
import QuillNumerics
import QuillOptim
import QuillTestSupport
import XCTest
@testable import QuillModels

/// `--init-from DIR` (issue 15 item 8): a new run starts from another run's best weights, with new options; the
/// architecture and alphabet must match; every checkpoint records the source and its step.
final class InitFromTests: XCTestCase {
    func charOptions(_ dir: TempDir, _ out: String, text: String = "text.txt", hidden: Int = 8) throws -> CharTrainOptions {
        let path = dir.path(text)
        if !FileManager.default.fileExists(atPath: path) {
            try String(repeating: "the cat sat on the mat. ", count: 40).write(toFile: path, atomically: true, encoding: .utf8)
        }
        var o = CharTrainOptions(dataPaths: [path], outDir: dir.path(out),
                                 model: CharModelConfig(layers: 1, hidden: hidden, vocabularySize: 1))
        o.batch = 4; o.seq = 8; o.steps = 4; o.evalEvery = 2; o.sampleLength = 0; o.seed = 3
        return o
    }

    func testARunStartsFromTheSourcesBestWeightsAndRecordsIt() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let source = try charOptions(dir, "source")
        try TrainingRun(options: source, resume: false).run()
        let best = try CharCheckpoint.load(dir.path("source/model.safetensors"))
        let bestStep = try XCTUnwrap(RunFiles.bestStep(best.file))

        // A learning rate too small to move any weight: the new run's model is the source's best model.
        var o = try charOptions(dir, "tuned")
        o.initFrom = InitSource(dir: source.outDir)
        o.optimizer = OptimizerConfig(kind: .sgd, learningRate: 1e-30)
        o.lrSchedule = LearningRateSchedule(initial: 1e-30)
        o.steps = 1
        try TrainingRun(options: o, resume: false).run()
        let tuned = try CharCheckpoint.load(dir.path("tuned/model.safetensors"))
        for (a, b) in zip(best.model.parameters, tuned.model.parameters) {
            XCTAssertEqual(a.name, b.name)
            XCTAssertEqual((0..<a.value.count).map { a.value[$0] }, (0..<b.value.count).map { b.value[$0] }, a.name)
        }
        let saved = try CharTrainOptions.saved(outDir: o.outDir)
        XCTAssertEqual(saved.initFrom, InitSource(dir: source.outDir, step: bestStep))
        XCTAssertTrue(tuned.file.metadata["quill.train-options"]?.contains("\"initFrom\"") == true)

        // A checkpoint file named directly serves as well: the source's last.safetensors (its step-4 weights).
        var fromFile = o
        fromFile.initFrom = InitSource(dir: dir.path("source/last.safetensors"))
        fromFile.outDir = dir.path("from-file")
        try TrainingRun(options: fromFile, resume: false).run()
        let last = try CharCheckpoint.load(dir.path("source/last.safetensors"))
        let started = try CharCheckpoint.load(dir.path("from-file/model.safetensors"))
        XCTAssertEqual(last.model.parameters.map(\.value.array), started.model.parameters.map(\.value.array))

        // The same run without --init-from starts elsewhere (from the seed).
        var fresh = o
        fresh.initFrom = nil
        fresh.outDir = dir.path("fresh")
        try TrainingRun(options: fresh, resume: false).run()
        let scratch = try CharCheckpoint.load(dir.path("fresh/model.safetensors"))
        XCTAssertNotEqual((0..<scratch.model.parameters[0].value.count).map { scratch.model.parameters[0].value[$0] },
                          (0..<best.model.parameters[0].value.count).map { best.model.parameters[0].value[$0] })
        // Runs without the option keep options without the field (their checkpoints read as before).
        XCTAssertFalse(String(decoding: try JSONEncoder().encode(fresh), as: UTF8.self).contains("initFrom"))
    }

    func testAnotherArchitectureVocabularyOrKindIsRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let source = try charOptions(dir, "source")
        try TrainingRun(options: source, resume: false).run()

        var wider = try charOptions(dir, "wider", hidden: 12)
        wider.initFrom = InitSource(dir: source.outDir)
        XCTAssertThrowsError(try TrainingRun(options: wider, resume: false).run()) {
            XCTAssertTrue("\($0)".contains("has --hidden 8 where this run has 12"), "\($0)")
        }
        var otherText = try charOptions(dir, "other", text: "other.txt")
        try "xyz qrs ".write(toFile: dir.path("other.txt"), atomically: true, encoding: .utf8)
        otherText.initFrom = InitSource(dir: source.outDir)
        XCTAssertThrowsError(try TrainingRun(options: otherText, resume: false).run()) {
            XCTAssertTrue("\($0)".contains("another vocabulary"), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("wider/last.safetensors")), "a refused run writes nothing")
        var nowhere = try charOptions(dir, "nowhere")
        nowhere.initFrom = InitSource(dir: dir.path("no-such-run"))
        XCTAssertThrowsError(try TrainingRun(options: nowhere, resume: false).run()) {
            guard case .missingInput(let m)? = $0 as? TrainingError else { return XCTFail("\($0)") }
            XCTAssertTrue(m.contains("no model.safetensors there"), m)
        }

        // A handwriting run cannot start from a char model, nor a prediction network from a synthesis network.
        let data = dir.path("tiny.qds")
        try PreparedFormat.write(TinyHandwriting.dataset(), to: data)
        func handwriting(_ out: String, _ kind: HandwritingKind) -> HandwritingTrainOptions {
            var h = HandwritingTrainOptions(dataPath: data, outDir: dir.path(out), model: HandwritingConfig(
                kind: kind, layers: 1, hidden: 4, mixture: MixtureDensity(components: 2), windowComponents: 2))
            h.batch = 2; h.steps = 2; h.evalEvery = 100; h.valSamples = 0
            return h
        }
        var fromChar = handwriting("h1", .synthesis)
        fromChar.initFrom = InitSource(dir: source.outDir)
        XCTAssertThrowsError(try TrainingRun(options: fromChar, resume: false).run())
        try TrainingRun(options: handwriting("synth", .synthesis), resume: false).run()
        var prediction = handwriting("pred", .prediction)
        prediction.initFrom = InitSource(dir: dir.path("synth"))
        XCTAssertThrowsError(try TrainingRun(options: prediction, resume: false).run()) {
            XCTAssertTrue("\($0)".contains("synthesis network"), "\($0)")
        }
        var again = handwriting("synth2", .synthesis)
        again.initFrom = InitSource(dir: dir.path("synth"))
        XCTAssertNoThrow(try TrainingRun(options: again, resume: false).run())
    }
}
