import Foundation
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// `--precision bf16` (issue 14 item 4): saved with the run, absent from fp32 runs' options (so their checkpoints read
/// as before), refused where the CPU lacks AVX512-BF16, and used for the training steps only.
final class PrecisionOptionTests: XCTestCase {
    func testFP32RunsSaveNoPrecisionAndOldOptionsReadAsFP32() throws {
        var o = CharTrainOptions(dataPaths: ["t.txt"], outDir: "out", model: CharModelConfig(vocabularySize: 1))
        o.steps = 1
        let json = String(decoding: try JSONEncoder().encode(o), as: UTF8.self)
        XCTAssertFalse(json.contains("precision"), json)
        let back = try JSONDecoder().decode(CharTrainOptions.self, from: Data(json.utf8))
        XCTAssertNil(back.precision)
        o.precision = .bf16
        let bf16 = try JSONDecoder().decode(CharTrainOptions.self, from: try JSONEncoder().encode(o))
        XCTAssertEqual(bf16.precision, .bf16)
        var h = HandwritingTrainOptions.defaults
        h.precision = .bf16
        XCTAssertEqual(try JSONDecoder().decode(HandwritingTrainOptions.self, from: try JSONEncoder().encode(h)).precision, .bf16)
    }

    func testBF16IsRefusedOnlyWhereTheCPULacksIt() {
        var o = CharTrainOptions(dataPaths: ["t.txt"], outDir: "out", model: CharModelConfig(vocabularySize: 1))
        o.steps = 1
        XCTAssertNil(o.precisionProblem)
        o.precision = .bf16
        if QuillGEMM.bf16Available {
            XCTAssertNil(o.validate())
        } else {
            XCTAssertEqual(o.validate(), o.precisionProblem)
            XCTAssert(o.precisionProblem?.contains("AVX512-BF16") == true)
        }
    }

    func testWithPrecisionRestoresThePreviousPrecision() {
        XCTAssertEqual(QuillGEMM.precision, .fp32)
        QuillGEMM.withPrecision(.bf16) { XCTAssertEqual(QuillGEMM.precision, .bf16) }
        XCTAssertEqual(QuillGEMM.precision, .fp32)
        struct Boom: Error {}
        XCTAssertThrowsError(try QuillGEMM.withPrecision(.bf16) { throw Boom() })
        XCTAssertEqual(QuillGEMM.precision, .fp32)
    }

    /// A char run large enough for its products to reach the bf16 GEMM (2,048 rows × 512 gates × 128 inputs): it
    /// trains to a loss close to the fp32 run's but not bit-equal to it (the bf16 products ran), its checkpoint says
    /// bf16, and it resumes exactly.
    func testBF16CharRunTrainsCloseToFP32AndResumesExactly() throws {
        guard QuillGEMM.bf16Available else {
            throw XCTSkip("this CPU lacks AVX512-BF16: the bf16 training path cannot run here")
        }
        let dir = TempDir(); defer { dir.cleanup() }
        let text = dir.path("text.txt")
        try String(repeating: "the quick brown fox jumps over the lazy dog; pack my box with five dozen jugs.\n",
                   count: 60).write(toFile: text, atomically: true, encoding: .utf8)
        func options(_ name: String, _ precision: QuillGEMM.Precision?, steps: Int) -> CharTrainOptions {
            var o = CharTrainOptions(dataPaths: [text], outDir: dir.path(name),
                                     model: CharModelConfig(layers: 1, hidden: 128, vocabularySize: 1))
            o.batch = 64; o.seq = 32; o.steps = steps; o.evalEvery = 3; o.sampleLength = 0; o.precision = precision
            return o
        }
        let fp32 = options("fp32", nil, steps: 6), bf16 = options("bf16", .bf16, steps: 6)
        try TrainingRun(options: fp32, resume: false).run()
        try TrainingRun(options: bf16, resume: false).run()
        XCTAssertEqual(try CharTrainOptions.saved(outDir: bf16.outDir).precision, .bf16)
        XCTAssertNil(try CharTrainOptions.saved(outDir: fp32.outDir).precision)
        let a = try lastValidation(fp32.outDir), b = try lastValidation(bf16.outDir)
        XCTAssertNotEqual(a, b, "the bf16 run gave the fp32 run's loss bit for bit: its products did not run in bf16")
        XCTAssertEqual(b, a, accuracy: 0.02 * a, "bf16 \(b) against fp32 \(a) nats/char")

        // Stopped at 3 and resumed to 6: the same weights as the straight run.
        let split = options("bf16-resumed", .bf16, steps: 3)
        try TrainingRun(options: split, resume: false).run()
        var more = try CharTrainOptions.saved(outDir: split.outDir)
        more.steps = 6
        try TrainingRun(options: more, resume: true).run()
        let straight = try SafeTensors.read(dir.path("bf16/last.safetensors")).tensors
        let resumed = try SafeTensors.read(dir.path("bf16-resumed/last.safetensors")).tensors
        XCTAssertEqual(Set(straight.keys), Set(resumed.keys))
        for (name, entry) in straight {
            XCTAssertEqual(entry.values.map(\.bitPattern), resumed[name]?.values.map(\.bitPattern),
                           "tensor \(name) differs after the resume")
        }
        XCTAssertEqual(QuillGEMM.precision, .fp32, "training left bf16 set")
    }

    /// The validation loss of the last validation line of a run's metrics.jsonl.
    private func lastValidation(_ outDir: String) throws -> Double {
        let lines = try String(contentsOfFile: outDir + "/metrics.jsonl", encoding: .utf8).split(separator: "\n")
        for line in lines.reversed() {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            if object?["kind"] as? String == "val", let loss = object?["loss"] as? Double { return loss }
        }
        throw XCTSkip("no validation line in \(outDir)/metrics.jsonl")
    }
}
