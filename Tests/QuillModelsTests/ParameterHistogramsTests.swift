import Foundation
import QuillNumerics
import QuillOptim
import QuillTestSupport
import XCTest
@testable import QuillModels

/// Issue 16 item 6: per-layer histograms and the global gradient norm, and their records in metrics.jsonl.
final class ParameterHistogramsTests: XCTestCase {
    func testBinsSplitTheRangeEquallyWithMaxInTheLastBin() {
        let h = ValueHistogram.of((0..<10).map(Float.init), bins: 5)
        XCTAssertEqual(h.min, 0)
        XCTAssertEqual(h.max, 9)
        XCTAssertEqual(h.counts, [2, 2, 2, 2, 2])
        XCTAssertEqual(h.sum, 45)
        XCTAssertEqual(h.sumOfSquares, 285)
        for (edge, expected) in zip(h.upperEdges, [1.8, 3.6, 5.4, 7.2, 9]) { XCTAssertEqual(edge, expected, accuracy: 1e-12) }
        XCTAssertEqual(h.upperEdges.count, 5)
        XCTAssertEqual(h.count, 10)
    }

    func testEqualValuesFallInTheFirstBinAndNonFiniteValuesApart() {
        let h = ValueHistogram.of([2, 2, .nan, 2, .infinity], bins: 4)
        XCTAssertEqual(h.counts, [3, 0, 0, 0])
        XCTAssertEqual(h.nonFinite, 2)
        XCTAssertEqual(h.min, 2)
        XCTAssertEqual(h.max, 2)
        let none = ValueHistogram.of([.nan], bins: 3)
        XCTAssertEqual(none.counts, [0, 0, 0])
        XCTAssertEqual(none.nonFinite, 1)
        XCTAssertEqual(ValueHistogram.of([], bins: 2).counts, [0, 0])
    }

    func testGradientNormIsTheClippingsGlobalNormOverTrainableTensors() {
        let a = Parameter<Float>("a", Tensor<Float>([2, 3])), b = Parameter<Float>("b", Tensor<Float>([4]))
        let frozen = Parameter<Float>("frozen", Tensor<Float>([3]), trainable: false)
        for (i, p) in [a, b, frozen].enumerated() {
            for j in 0..<p.count { p.grad.ptr[j] = Float(j + 1) * (i == 0 ? -0.5 : 0.25); p.value.ptr[j] = Float(j) }
        }
        var h = ParameterHistograms.measureGradients([a, b, frozen], bins: 3)
        XCTAssertEqual(h.gradientNorm, GradientClipping.globalNorm([a, b]), accuracy: 1e-9)
        XCTAssertEqual(h.gradients.map(\.name), ["a", "b"])
        h.measureWeights([a, b, frozen], step: 7, bins: 3)
        XCTAssertEqual(h.step, 7)
        XCTAssertEqual(h.weights.map(\.name), ["a", "b"])
        XCTAssertEqual(h.weights[0].histogram.counts, [2, 2, 2])
        let line = h.metricsLine
        XCTAssertEqual(line["kind"] as? String, "histograms")
        XCTAssertEqual(line["parameters"] as? [String], ["a", "b"])
        a.grad.ptr[0] = .nan
        XCTAssertTrue(ParameterHistograms.measureGradients([a, b]).gradientNorm.isNaN)
    }

    func testATrainingRunLogsHistogramsEveryNStepsBesideItsLossLines() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let text = dir.path("text.txt")
        try String(repeating: "the cat sat on the mat. ", count: 40).write(toFile: text, atomically: true, encoding: .utf8)
        var o = CharTrainOptions(dataPaths: [text], outDir: dir.path("run"),
                                 model: CharModelConfig(layers: 1, hidden: 8, vocabularySize: 1))
        o.batch = 4; o.seq = 8; o.steps = 6; o.evalEvery = 3; o.sampleLength = 0; o.seed = 3
        let run = TrainingRun(options: o, resume: false)
        run.diagnostics = TrainingDiagnostics(histogramEvery: 2, histogramBins: 5)
        try run.run()
        let lines = try String(contentsOfFile: dir.path("run/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
        let records = try lines.map { try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let histograms = records.filter { $0["kind"] as? String == "histograms" }
        XCTAssertEqual(histograms.map { $0["step"] as? Int }, [2, 4, 6])
        let first = histograms[0]
        let names = try XCTUnwrap(first["parameters"] as? [String])
        XCTAssertFalse(names.isEmpty)
        let weights = try XCTUnwrap(first["weights"] as? [String: [String: Any]])
        let gradients = try XCTUnwrap(first["gradients"] as? [String: [String: Any]])
        XCTAssertEqual(Set(weights.keys), Set(names))
        XCTAssertEqual(Set(gradients.keys), Set(names))
        for name in names {
            let counts = try XCTUnwrap(weights[name]?["counts"] as? [Int])
            XCTAssertEqual(counts.count, 5)
            XCTAssertGreaterThan(counts.reduce(0, +), 0)
        }
        XCTAssertGreaterThan(try XCTUnwrap(first["grad_norm"] as? Double), 0)
        // The loss lines are as before.
        XCTAssertEqual(records.filter { $0["kind"] as? String == "val" }.count, 2)

        // Resumed with no diagnostics given, the run logs them as before (its resume point records the interval);
        // an explicit 0 (keepsSavedHistograms off) does not.
        var more = try CharTrainOptions.saved(outDir: dir.path("run"))
        more.steps = 10
        var notes: [String] = []
        let resumed = TrainingRun(options: more, resume: true) { if case let .note(n) = $0 { notes.append(n) } }
        resumed.diagnostics.keepsSavedHistograms = true
        try resumed.run()
        func histogramSteps() throws -> [Int?] {
            try String(contentsOfFile: dir.path("run/metrics.jsonl"), encoding: .utf8).split(separator: "\n")
                .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                .filter { $0["kind"] as? String == "histograms" }.map { $0["step"] as? Int }
        }
        XCTAssertEqual(try histogramSteps(), [2, 4, 6, 8, 10])
        XCTAssertTrue(notes.contains { $0.contains("logging histograms every 2 steps, as the run did before") }, "\(notes)")
        more.steps = 12
        try TrainingRun(options: more, resume: true).run()
        XCTAssertEqual(try histogramSteps(), [2, 4, 6, 8, 10])

        // Off (the default): no histogram record.
        o.outDir = dir.path("plain")
        try TrainingRun(options: o, resume: false).run()
        let plain = try String(contentsOfFile: dir.path("plain/metrics.jsonl"), encoding: .utf8)
        XCTAssertFalse(plain.contains("histograms"))
    }
}
