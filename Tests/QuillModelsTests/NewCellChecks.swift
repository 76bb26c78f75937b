import Foundation
import QuillData
import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// What every new char cell or layer passes (issue 15): it overfits a 200-character text, and a run interrupted and
/// resumed ends exactly as a straight one.
enum NewCellChecks {
    /// Trains `config` on `text` (200 characters) for 500 steps, one stream of 33-character windows (so that
    /// training reads characters 0…198 in order, as evaluation does), Adam at 1e-2 unless `adjust` says otherwise.
    /// Checks that the training loss of the last steps is below 0.05 nats/char and that the whole text read afresh
    /// (its first character without context, its last one never a target in training) is below 0.1. Returns a
    /// sampler of the model written.
    static func overfit(_ config: CharModelConfig, text: String, adjust: (inout CharTrainOptions) -> Void = { _ in },
                        file: StaticString = #filePath, line: UInt = #line) throws -> CharSampler {
        let dir = TempDir(); defer { dir.cleanup() }
        XCTAssertEqual(text.count, 200, file: file, line: line)
        try text.write(toFile: dir.path("tiny.txt"), atomically: true, encoding: .utf8)
        var o = CharTrainOptions(dataPaths: [dir.path("tiny.txt")], outDir: dir.path("run"), model: config)
        o.batch = 1; o.seq = 33; o.steps = 500; o.valFraction = 0; o.evalEvery = 1000; o.sampleLength = 0
        o.optimizer = .init(kind: .adam, learningRate: 1e-2); o.lrSchedule = .init(initial: 1e-2)
        adjust(&o)
        try TrainingRun(options: o, resume: false).run()
        let lines = try String(contentsOfFile: dir.path("run/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        let last = try XCTUnwrap(lines.last.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] },
                                 file: file, line: line)
        XCTAssertEqual(last["step"] as? Int, 500, file: file, line: line)
        XCTAssertLessThan(try XCTUnwrap(last["loss"] as? Double, file: file, line: line), 0.05, file: file, line: line)
        let loaded = try CharCheckpoint.load(dir.path("run/model.safetensors"))
        XCTAssertEqual(loaded.model.config.cell, config.cell, file: file, line: line)
        let tokens = try loaded.alphabet.tokens(text, source: "text")
        XCTAssertLessThan(CharEvaluation.evaluate(loaded.model, tokens: tokens, batch: 1).natsPerChar, 0.1,
                          file: file, line: line)
        return CharSampler(model: loaded.model, alphabet: loaded.alphabet)
    }

    /// Saves `model` (vocabulary "abcde", so V = 5) in `dir`, loads it back, and checks that the config and the logits
    /// of a 3-step window are the same.
    static func checkpointRoundTrip(_ model: CharModel<Float>, dir: TempDir, file: StaticString = #filePath,
                                    line: UInt = #line) throws {
        XCTAssertEqual(model.parameters.map(\.value.shape), model.config.parameterShapes.map(\.shape), file: file, line: line)
        let path = dir.path("round-trip.safetensors")
        try CharCheckpoint.save(model, alphabet: Alphabet(text: "abcde"), to: path)
        let loaded = try CharCheckpoint.load(path)
        XCTAssertEqual(loaded.model.config, model.config, file: file, line: line)
        let w1 = model.makeWorkspace(steps: 3, batch: 1), w2 = loaded.model.makeWorkspace(steps: 3, batch: 1)
        XCTAssertEqual(model.evaluate(inputs: [1, 2, 0], targets: [2, 3, 4], w1),
                       loaded.model.evaluate(inputs: [1, 2, 0], targets: [2, 3, 4], w2), file: file, line: line)
        XCTAssertEqual(w1.logits.array, w2.logits.array, file: file, line: line)
    }

    /// Trains `config` on `text` for 10 steps straight, and for 6 then resumed to 10 (3 streams of 10, validation
    /// and a checkpoint every 4 steps): every tensor of the two resume points is equal. Returns their names.
    @discardableResult
    static func resumeEqualsStraight(_ config: CharModelConfig, text: String,
                                     adjust: (inout CharTrainOptions) -> Void = { _ in }, file: StaticString = #filePath,
                                     line: UInt = #line) throws -> Set<String> {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("text.txt")
        try text.write(toFile: data, atomically: true, encoding: .utf8)
        func options(_ out: String, steps: Int) -> CharTrainOptions {
            var o = CharTrainOptions(dataPaths: [data], outDir: dir.path(out), model: config)
            o.batch = 3; o.seq = 10; o.steps = steps; o.evalEvery = 4; o.sampleLength = 0
            adjust(&o)
            return o
        }
        try TrainingRun(options: options("straight", steps: 10), resume: false).run()
        try TrainingRun(options: options("split", steps: 6), resume: false).run()
        var second = try CharTrainOptions.saved(outDir: dir.path("split"))
        second.steps = 10
        try TrainingRun(options: second, resume: true).run()
        let a = try SafeTensors.read(dir.path("straight/last.safetensors"))
        let b = try SafeTensors.read(dir.path("split/last.safetensors"))
        XCTAssertEqual(Set(a.tensors.keys), Set(b.tensors.keys), file: file, line: line)
        for (name, e) in a.tensors {
            XCTAssertEqual(e, b.tensors[name], "tensor \(name) differs after resume", file: file, line: line)
        }
        return Set(a.tensors.keys)
    }
}
