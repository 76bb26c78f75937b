import Foundation
import QuillData
import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// `HandwritingEvaluation`: the scores `quill eval` prints and training's validation logs.
final class HandwritingEvaluationTests: XCTestCase {
    func model(_ kind: HandwritingKind, seed: UInt64 = 3) -> HandwritingModel<Float> {
        var rng = SeededGenerator(seed: seed)
        return HandwritingModel<Float>(config: HandwritingConfig(kind: kind, layers: 2, hidden: 6,
                                                                 mixture: MixtureDensity(components: 3),
                                                                 windowComponents: 2, alphabetSize: 3), rng: &rng)
    }

    /// The evaluation equals the sum of per-line losses computed one line at a time through the model.
    func testEqualsTheSumOfPerLineLosses() {
        let data = TinyHandwriting.dataset()
        for kind in [HandwritingKind.prediction, .synthesis] {
            let m = model(kind)
            let scores = HandwritingEvaluation.evaluate(m, samples: data.samples, batch: 3)
            var total = 0.0, points = 0
            for s in data.samples {
                let ws = m.makeWorkspace(steps: s.count - 1, batch: 1, maxTextLength: max(1, s.characters.count))
                points += StrokeBatches.fill(ws, samples: [s], indices: [0])
                total += m.evaluate(ws).total
            }
            XCTAssertEqual(scores.sequences, data.samples.count)
            XCTAssertEqual(scores.points, points)
            XCTAssertEqual(scores.nats, total, accuracy: 1e-4 * abs(total), "\(kind)")
            XCTAssertEqual(scores.offsetNats + scores.endOfStrokeNats, scores.nats, accuracy: 1e-9 * abs(total))
            XCTAssertEqual(scores.natsPerSequence, total / Double(data.samples.count), accuracy: 1e-4 * abs(total))
        }
    }

    /// SSE and the end-of-stroke error rate on one line, by hand: with every weight zero the network's outputs are
    /// its output biases, so the prediction is the same mixture mean at every step.
    func testSSEAndEndOfStrokeErrorByHand() {
        let m = model(.prediction)
        for p in m.parameters { p.value.zero() }
        // ê = 0.2 (e > 0.5: predicts a pen-up everywhere); π̂ = (0, 0, 0); μ₁ = (0.5, 0.5, 0.5), μ₂ = (1, −1, 0).
        let b = m.output.linear.bias.value
        b[0] = 0.2
        for j in 0..<3 { b[1 + 3 + j] = 0.5 }
        b[1 + 6] = 1; b[1 + 7] = -1; b[1 + 8] = 0
        let line = PreparedSample(id: "one", writer: nil, text: nil, characters: [], split: .validation,
                                  originX: 0, originY: 0, dx: [0, 1, 0.5, -1], dy: [0, 0, 2, 0], eos: [0, 0, 1, 0])
        let scores = HandwritingEvaluation.evaluate(m, samples: [line], batch: 1)
        // Mean μ = (0.5, 0); targets (1, 0), (0.5, 2), (−1, 0).
        let expected = ((0.5 * 0.5 + 0) + (0 + 4) + (1.5 * 1.5 + 0)) / 3
        XCTAssertEqual(scores.sse, expected, accuracy: 1e-6)
        // A pen-up is predicted at all 3 points; the data has one.
        XCTAssertEqual(scores.endOfStrokeErrorRate, 2.0 / 3, accuracy: 1e-12)
    }

    /// Evaluation's memory grows with the longest line times the batch: a page-long line of 252,120 points at Graves's
    /// prediction size is refused on a 24 GiB machine (it crashed allocating 51 GB), a line of 700 points fits.
    func testEvaluationMemoryIsCheckedBeforeAllocating() {
        let gib: UInt64 = 1 << 30
        let budget = MemoryBudget.from(physical: 24 * gib, addressSpace: nil, data: nil)
        let config = HandwritingConfig(kind: .prediction, layers: 3, hidden: 400, mixture: MixtureDensity(components: 20))
        func line(_ n: Int) -> PreparedSample {
            PreparedSample(id: "l\(n)", writer: nil, text: nil, characters: [], split: .validation, originX: 0, originY: 0,
                           dx: [Float](repeating: 1, count: n), dy: [Float](repeating: 0, count: n),
                           eos: [UInt8](repeating: 0, count: n))
        }
        let long = HandwritingEvaluation.memoryEstimate(config, samples: [line(252_120), line(700)], batch: 32)
        XCTAssertThrowsError(try budget.check(long)) { e in
            XCTAssertTrue("\(e)".contains("evaluating prediction on lines of up to 252120 points") && "\(e)".contains("--batch"), "\(e)")
        }
        XCTAssertNoThrow(try budget.check(HandwritingEvaluation.memoryEstimate(config, samples: [line(700)], batch: 32)))
        // The workspace holds --batch lines however few there are: one long line at --batch 2 counts twice.
        XCTAssertThrowsError(try budget.check(HandwritingEvaluation.memoryEstimate(config, samples: [line(180_000)], batch: 2)))
        XCTAssertNoThrow(try budget.check(HandwritingEvaluation.memoryEstimate(config, samples: [line(180_000)], batch: 1)))
    }

    /// Offsets are renormalised with the model's statistics and texts re-encoded in its alphabet; another scale,
    /// non-finite offsets and characters the model lacks are refused.
    /// Prediction scores every line of 2 or more points; synthesis also needs a transcription.
    func testUsableLines() {
        var data = TinyHandwriting.dataset()
        data.samples[0].characters = []
        let short = data.samples.filter { $0.count < 2 }.count
        XCTAssertEqual(HandwritingEvaluation.usable(data.samples, kind: .prediction).count, data.samples.count - short)
        XCTAssertFalse(HandwritingEvaluation.usable(data.samples, kind: .synthesis).contains { $0.id == data.samples[0].id })
    }

    func testConformingDataToTheModel() throws {
        var data = TinyHandwriting.dataset()
        let modelStats = OffsetStatistics(meanDx: 1, meanDy: 0, stdDx: 2, stdDy: 1)
        data.header.stats = OffsetStatistics(meanDx: 1.1, meanDy: 0, stdDx: 2.2, stdDy: 1)
        data.header.measuredStats = data.header.stats
        let out = try HandwritingEvaluation.conformed(data.samples, of: data, path: "d.qds", kind: .synthesis,
                                                      alphabet: try Alphabet(storedSymbols: ["\u{FFFD}", "b", "a"]), stats: modelStats)
        // raw = v·2.2 + 1.1, model-normalised = (raw − 1) / 2.
        XCTAssertEqual(Double(out[0].dx[1]), (Double(data.samples[0].dx[1]) * 2.2 + 1.1 - 1) / 2, accuracy: 1e-6)
        // 'a' is 1 in the data and 2 in the model.
        XCTAssertEqual(data.samples[0].characters, [1, 2])
        XCTAssertEqual(out[0].characters, [2, 1])

        // Texts are encoded afresh: a dataset that lumped 'b' into its unknown symbol still gives the model its 'b';
        // a character neither has stays unknown.
        var lumped = data
        lumped.header.alphabet = Alphabet(policy: .frequency(minCount: 1), symbols: ["\u{FFFD}", "a"])
        lumped.samples[0].text = "ab?"
        let relumped = try HandwritingEvaluation.conformed(lumped.samples, of: lumped, path: "d.qds", kind: .synthesis,
                                                           alphabet: try Alphabet(storedSymbols: ["\u{FFFD}", "b", "a"]), stats: modelStats)
        XCTAssertEqual(relumped[0].characters, [2, 1, 0])

        // Unnormalised data (identity stats) is judged by the spread it measured.
        var plain = data
        plain.header.stats = OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 1, stdDy: 1)
        XCTAssertNoThrow(try HandwritingEvaluation.conformed(plain.samples, of: plain, path: "d.qds", kind: .prediction,
                                                             alphabet: try Alphabet(storedSymbols: []), stats: modelStats))

        for (spread, mean) in [(10.0, 1.1), (2.2, 1.6)] {   // another spread; another mean step (decimation)
            var other = data
            other.header.measuredStats.stdDx = spread
            other.header.measuredStats.meanDx = mean
            XCTAssertThrowsError(try HandwritingEvaluation.conformed(other.samples, of: other, path: "d.qds",
                                                                     kind: .prediction, alphabet: try Alphabet(storedSymbols: []), stats: modelStats)) { e in
                XCTAssertTrue("\(e)".contains("another scale"), "\(e)")
            }
        }
        var nan = data
        nan.samples[3].dx[4] = .nan
        XCTAssertThrowsError(try HandwritingEvaluation.conformed(nan.samples, of: nan, path: "d.qds", kind: .prediction,
                                                                 alphabet: try Alphabet(storedSymbols: []), stats: modelStats)) { e in
            XCTAssertTrue("\(e)".contains("not a finite number"), "\(e)")
        }
        XCTAssertThrowsError(try HandwritingEvaluation.conformed(data.samples, of: data, path: "d.qds", kind: .synthesis,
                                                                 alphabet: try Alphabet(storedSymbols: ["\u{FFFD}", "a"]), stats: modelStats)) { e in
            XCTAssertTrue("\(e)".contains("lacks 'b'"), "\(e)")
        }
    }

    /// A training run's validation over its whole validation part logs what the evaluation gives for the
    /// checkpoint it saved at that step.
    func testTrainingValidationEqualsEvaluation() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = try TinyHandwriting.train(in: dir, HandwritingConfig(
            kind: .synthesis, layers: 1, hidden: 8, mixture: MixtureDensity(components: 2), windowComponents: 2,
            kappaScale: 0.1)) { o in o.batch = 4; o.steps = 20; o.evalEvery = 20; o.valSamples = 0 }
        let metrics = try String(contentsOfFile: dir.path("run/metrics.jsonl"), encoding: .utf8)
            .split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        let logged = try XCTUnwrap(metrics.last { $0["kind"] as? String == "val" }?["nats_per_sequence"] as? Double)
        let loaded = try HandwritingCheckpoint.load(dir.path("run/last.safetensors"), expecting: .synthesis)
        let ds = TinyHandwriting.dataset()
        let val = try HandwritingEvaluation.conformed(ds.samples(in: .validation), of: ds, path: data, kind: .synthesis,
                                                      alphabet: loaded.alphabet, stats: loaded.stats)
        XCTAssertEqual(HandwritingEvaluation.evaluate(loaded.model, samples: val, batch: 4).natsPerSequence, logged)
    }

    /// A checkpoint's kind and statistics are checked before anything uses them.
    func testCheckpointKindAndStatisticsAreChecked() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let m = model(.prediction)
        let good = OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 1, stdDy: 1)
        for (name, stats, meta, expected) in [
            ("zero-std", OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 0, stdDy: 1), [String: String](), "not positive"),
            ("odd-kind", good, ["quill.kind": "handwriting-foo"], "unknown model kind"),
            ("mismatch", good, ["quill.kind": "handwriting-synthesis"], "describes a prediction network"),
        ] {
            let path = dir.path("\(name).safetensors")
            try HandwritingCheckpoint.save(m, alphabet: try Alphabet(storedSymbols: []), stats: stats, to: path, metadata: meta)
            XCTAssertThrowsError(try HandwritingCheckpoint.load(path)) { e in XCTAssertTrue("\(e)".contains(expected), "\(e)") }
        }
    }
}
