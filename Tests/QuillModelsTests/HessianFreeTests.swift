import Foundation
import QuillData
import QuillNN
import QuillNumerics
import QuillOptim
import QuillTestSupport
import XCTest
@testable import QuillModels

/// `--optimizer hf` (issue 15 item 2): Hessian-free training of rnn and mrnn char models lowers the loss, repeats
/// for a seed, resumes exactly, and is refused where it does not apply.
final class HessianFreeTests: XCTestCase {
    func hfOptions(_ o: inout CharTrainOptions) {
        o.optimizer = OptimizerConfig(kind: .hf, learningRate: 1)
        o.lrSchedule = LearningRateSchedule(initial: 1)
        o.clipNorm = nil
    }

    /// On a text with a short period, 12 Hessian-free steps take an MRNN's training loss from ln V to far below it,
    /// and the metrics log the damping, the reduction ratio, CG's iterations and the step length.
    func testLowersTheLossAndLogsItsState() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let text = String(repeating: "abcdefg abcdefg hijk. ", count: 40)
        try text.write(toFile: dir.path("t.txt"), atomically: true, encoding: .utf8)
        var o = CharTrainOptions(dataPaths: [dir.path("t.txt")], outDir: dir.path("run"),
                                 model: CharModelConfig(cell: .mrnn, layers: 1, hidden: 16, embedding: 8, vocabularySize: 1))
        hfOptions(&o)
        o.batch = 8; o.seq = 20; o.steps = 12; o.evalEvery = 12; o.logEvery = 1; o.sampleLength = 0; o.valFraction = 0.1
        XCTAssertNil(o.validate())
        try TrainingRun(options: o, resume: false).run()
        let lines = try String(contentsOfFile: dir.path("run/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let train = lines.filter { $0["kind"] as? String == "train" }
        XCTAssertEqual(train.count, 12)
        let losses = train.compactMap { $0["loss"] as? Double }
        XCTAssertLessThan(try XCTUnwrap(losses.last), 0.5 * log(13.0), "\(losses)")
        for line in train {
            XCTAssertNotNil(line["hf_lambda"] as? Double)
            XCTAssertNotNil(line["hf_cg_iterations"] as? Int)
            let length = try XCTUnwrap(line["hf_step_length"] as? Double)
            XCTAssertTrue((0...1).contains(length))
        }
        let val = try XCTUnwrap(lines.last { $0["kind"] as? String == "val" }?["loss"] as? Double)
        XCTAssertLessThan(val, 0.5 * log(13.0))
    }

    /// An interrupted run resumes to exactly the weights, λ and previous step of a straight one.
    func testResumeEqualsStraightRun() throws {
        let names = try NewCellChecks.resumeEqualsStraight(
            CharModelConfig(cell: .rnn, layers: 1, hidden: 8, embedding: 4, vocabularySize: 1),
            text: String(repeating: "curvature, damped; ", count: 20)) { o in
            self.hfOptions(&o)
            o.optimizer.cgIterations = 8
        }
        XCTAssertTrue(names.isSuperset(of: ["hf.lambda", "hf.previous.rnn.0.wx", "hf.previous.output.w"]), "\(names.sorted())")
    }

    /// Curvature products on part of the batch (Martens's curvature minibatch): training still lowers the loss, and
    /// resumes exactly (the subset's states are cut from the batch's at every step).
    func testCurvatureOnAFractionOfTheBatch() throws {
        let names = try NewCellChecks.resumeEqualsStraight(
            CharModelConfig(cell: .lstm, layers: 1, hidden: 8, embedding: 4, vocabularySize: 1),
            text: String(repeating: "a fraction of the streams; ", count: 20)) { o in
            self.hfOptions(&o)
            o.optimizer.cgIterations = 8
            o.optimizer.curvatureFraction = 0.5
        }
        XCTAssertTrue(names.contains("hf.previous.rnn.0.wh"))
        let dir = TempDir(); defer { dir.cleanup() }
        try String(repeating: "abcdefg abcdefg hijk. ", count: 40).write(toFile: dir.path("t.txt"), atomically: true, encoding: .utf8)
        var o = CharTrainOptions(dataPaths: [dir.path("t.txt")], outDir: dir.path("run"),
                                 model: CharModelConfig(cell: .rnn, layers: 1, hidden: 16, embedding: 8, vocabularySize: 1))
        hfOptions(&o)
        o.optimizer.curvatureFraction = 0.25
        o.batch = 8; o.seq = 20; o.steps = 12; o.evalEvery = 12; o.sampleLength = 0; o.valFraction = 0.1
        XCTAssertNil(o.validate())
        try TrainingRun(options: o, resume: false).run()
        let val = try String(contentsOfFile: dir.path("run/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
            .compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            .last { $0["kind"] as? String == "val" }?["loss"] as? Double
        XCTAssertLessThan(try XCTUnwrap(val), 0.5 * log(13.0))
        XCTAssertTrue({ var c = o; c.optimizer.curvatureFraction = 0; return c.validate() }()?.contains("--curvature-fraction") == true)
    }

    func testRefusals() {
        func problem(_ edit: (inout CharTrainOptions) -> Void) -> String? {
            var o = CharTrainOptions(dataPaths: ["x"], outDir: "o",
                                     model: CharModelConfig(cell: .mrnn, layers: 1, hidden: 8, vocabularySize: 3))
            hfOptions(&o)
            o.steps = 1
            edit(&o)
            return o.validate()
        }
        XCTAssertNil(problem { _ in })
        XCTAssertEqual(problem { $0.model.cell = .gru },
                       "Gauss–Newton products (--optimizer hf) are implemented for rnn, rnn-relu, mrnn and lstm cells, not gru")
        XCTAssertTrue(problem { $0.model.cell = .lstm; $0.model.peepholes = true }?.contains("drop --peepholes") == true)
        XCTAssertNil(problem { $0.model.cell = .lstm })
        XCTAssertEqual(problem { $0.model.dropout = 0.2 },
                       "Gauss–Newton products (--optimizer hf) need a deterministic network: --dropout must be 0")
        XCTAssertTrue(problem { $0.clipNorm = 1 }?.contains("takes no --clip") == true)
        XCTAssertTrue(problem { $0.weightNoise = WeightNoiseOption() }?.contains("drop --weight-noise") == true)
        XCTAssertTrue(problem { $0.optimizer.cgIterations = 0 }?.contains("--cg-iterations must be between 1 and 10000") == true)
        XCTAssertTrue(problem { $0.optimizer.damping = 0 }?.contains("--damping must be more than 0") == true)
        var h = HandwritingTrainOptions.defaults
        h.optimizer = OptimizerConfig(kind: .hf, learningRate: 1)
        XCTAssertTrue(h.validate()?.contains("--optimizer hf trains char models") == true)
    }
}
