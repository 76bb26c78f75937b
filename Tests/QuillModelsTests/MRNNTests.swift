import QuillData
import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// The multiplicative RNN (`--cell mrnn`, issue 15 item 1) as a char model: its factors in the config and the
/// checkpoint, refusals, the overfitting test every new cell passes, and sampling in every mode.
final class MRNNTests: XCTestCase {
    func testFactorsDefaultToHiddenAndRoundTripThroughTheCheckpoint() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var rng = SeededGenerator(seed: 3)
        for factors in [nil, 3, 11] as [Int?] {
            let config = CharModelConfig(cell: .mrnn, layers: 2, hidden: 6, embedding: 4, skipConnections: true,
                                         vocabularySize: 5, factors: factors)
            XCTAssertNil(config.validate())
            XCTAssertEqual(config.factorCount, factors ?? 6)
            let model = CharModel<Float>(config: config, rng: &rng)
            XCTAssertEqual(model.stack!.layers.map(\.factors), [factors ?? 6, factors ?? 6])
            try NewCellChecks.checkpointRoundTrip(model, dir: dir)
        }
    }

    /// An MRNN run interrupted and resumed ends with exactly the weights (and carried state) of a straight run.
    func testResumeEqualsStraightRun() throws {
        let config = CharModelConfig(cell: .mrnn, layers: 2, hidden: 8, embedding: 4, dropout: 0.1, vocabularySize: 1,
                                     factors: 5)
        let names = try NewCellChecks.resumeEqualsStraight(
            config, text: String(repeating: "multiplicative units, factored weights; ", count: 20))
        XCTAssertTrue(names.contains("rnn.1.wf"))
    }

    func testOtherCellsKeepTheirConfigWithoutFactors() throws {
        let lstm = CharModelConfig(layers: 1, hidden: 4, vocabularySize: 3)
        let json = String(decoding: try JSONEncoder().encode(lstm), as: UTF8.self)
        XCTAssertFalse(json.contains("factors"), "a checkpoint of another cell reads as before: \(json)")
        XCTAssertEqual(lstm.factorCount, 0)
    }

    func testNonsensicalFactorsAreRefused() {
        var c = CharModelConfig(cell: .mrnn, layers: 1, hidden: 4, vocabularySize: 3, factors: 0)
        XCTAssertEqual(c.validate(), "--factors must be between 1 and 16384, got 0")
        c.factors = 16385
        XCTAssertEqual(c.validate(), "--factors must be between 1 and 16384, got 16385")
        c.cell = .gru; c.factors = 8
        XCTAssertEqual(c.validate(), "--factors needs --cell mrnn (only the MRNN has factors)")
    }

    /// A 200-character text is learnt below 0.05 nats per character within 500 steps; then greedy, tempered,
    /// primed and beam samples all run, seeded ones repeat, and greedy sampling recites the text.
    func testOverfitsTwoHundredCharactersAndSamplesInEveryMode() throws {
        let text = "the mrnn lets the current character choose the recurrent weights. "
            + "a factored tensor keeps that affordable: f = (Wfx x) * (Wfh h), then h = tanh(Whf f + Whx x + b). "
            + "sutskever, martens and hinton 2011.\n"
        // The factored products make the MRNN's gradient swing harder than an RNN's (the reason Sutskever et al.
        // trained it with Hessian-free): Adam at 1e-2 learns the text by step 100, then diverges. Clipped to 0.5,
        // 3e-3, halved every 100 steps after 250.
        let sampler = try NewCellChecks.overfit(
            CharModelConfig(cell: .mrnn, layers: 1, hidden: 64, vocabularySize: 1, factors: 64), text: text) { o in
            o.optimizer = .init(kind: .adam, learningRate: 3e-3); o.clipNorm = 0.5
            o.lrSchedule = .init(initial: 3e-3, factor: 0.5, every: 100, start: 250)
        }
        var rng = SeededGenerator(seed: 0)
        let greedy = try sampler.sample(prime: "the mrnn lets", length: 20, greedy: true, rng: &rng)
        XCTAssertEqual(greedy, " the current charact")
        var r1 = SeededGenerator(seed: 9), r2 = SeededGenerator(seed: 9)
        let a = try sampler.sample(prime: "a factored", length: 40, temperature: 0.7, rng: &r1)
        XCTAssertEqual(a, try sampler.sample(prime: "a factored", length: 40, temperature: 0.7, rng: &r2))
        XCTAssertEqual(a.count, 40)
        XCTAssertEqual(try sampler.beam(prime: "sutskever", length: 9, width: 3), ", martens")
    }
}
