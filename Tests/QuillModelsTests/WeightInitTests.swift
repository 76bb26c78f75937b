import Foundation
import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// `--init` (issue 15 item 10): the schemes' distributions, what they leave alone, and their place in a run.
final class WeightInitTests: XCTestCase {
    func testParsingAndRoundTrip() throws {
        XCTAssertEqual(WeightInit(parsing: "uniform:0.08"), .uniform(0.08))
        XCTAssertEqual(WeightInit(parsing: "Normal:0.1"), .normal(0.1))
        XCTAssertEqual(WeightInit(parsing: "xavier"), .xavier)
        for bad in ["uniform", "uniform:0", "normal:-1", "normal:11", "normal:nan", "xavier:1", "he", ""] {
            XCTAssertNil(WeightInit(parsing: bad), bad)
        }
        for w in [WeightInit.uniform(0.08), .normal(0.1), .xavier] {
            XCTAssertEqual(try JSONDecoder().decode(WeightInit.self, from: JSONEncoder().encode(w)), w)
        }
    }

    func testSchemesDrawMatricesFromTheirDistributionsAndKeepBiases() {
        let w = Parameter<Float>("w", Tensor<Float>([200, 300]))
        let b = Parameter<Float>("b", Tensor<Float>([300]))
        b.value[0] = 1
        let frozen = Parameter<Float>("table", Tensor<Float>([4, 4]), trainable: false)
        func values() -> [Double] { (0..<w.value.count).map { Double(w.value[$0]) } }
        var rng = SeededGenerator(seed: 1)
        WeightInit.uniform(0.08).apply(to: [w, b, frozen], rng: &rng)
        XCTAssertLessThanOrEqual(values().map(abs).max()!, 0.08)
        XCTAssertGreaterThan(values().map(abs).max()!, 0.079)
        WeightInit.normal(0.1).apply(to: [w], rng: &rng)
        let v = values(), mean = v.reduce(0, +) / Double(v.count)
        let sd = (v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(v.count)).squareRoot()
        XCTAssertEqual(mean, 0, accuracy: 0.002)
        XCTAssertEqual(sd, 0.1, accuracy: 0.002)
        WeightInit.xavier.apply(to: [w], rng: &rng)
        let bound = (6.0 / 500).squareRoot()
        XCTAssertLessThanOrEqual(values().map(abs).max()!, bound)
        XCTAssertGreaterThan(values().map(abs).max()!, 0.99 * bound)
        XCTAssertEqual(b.value[0], 1)
        XCTAssertEqual((1..<300).map { b.value[$0] }, [Float](repeating: 0, count: 299))
        XCTAssertEqual((0..<16).map { frozen.value[$0] }, [Float](repeating: 0, count: 16))
    }

    func testARunDrawsItsWeightsWithTheSchemeAndSavesIt() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let text = dir.path("t.txt")
        try String(repeating: "abc abd ", count: 40).write(toFile: text, atomically: true, encoding: .utf8)
        var o = CharTrainOptions(dataPaths: [text], outDir: dir.path("run"), model: CharModelConfig(layers: 1, hidden: 8, vocabularySize: 1))
        o.batch = 2; o.seq = 4; o.steps = 1; o.sampleLength = 0
        o.optimizer = .init(kind: .sgd, learningRate: 1e-30); o.lrSchedule = .init(initial: 1e-30)
        o.weightInit = .normal(1)
        try TrainingRun(options: o, resume: false).run()
        let m = try CharCheckpoint.load(dir.path("run/model.safetensors"))
        let wx = try XCTUnwrap(m.model.parameters.first { $0.name == "rnn.0.wx" })
        // Layer init is U(±1/√fan-in) (|w| < 1); N(0, 1) draws beyond it.
        XCTAssertGreaterThan((0..<wx.value.count).map { abs(wx.value[$0]) }.max()!, 1)
        XCTAssertEqual(try CharTrainOptions.saved(outDir: o.outDir).weightInit, .normal(1))

        // A sample prime outside the training text is refused before training.
        var p = o
        p.outDir = dir.path("prime"); p.weightInit = nil; p.samplePrime = "xyz"; p.sampleLength = 5
        XCTAssertThrowsError(try TrainingRun(options: p, resume: false).run()) {
            XCTAssertTrue("\($0)".contains("--sample-prime has characters the training text lacks: 'x', 'y', 'z'"), "\($0)")
        }
        p.samplePrime = "ab"; p.sampleTemperature = 0.5
        var sample = ""
        try TrainingRun(options: p, resume: false) { if case let .validation(_, _, _, _, s) = $0 { sample = s } }.run()
        XCTAssertEqual(sample.count, 5)
    }
}
