import Foundation
import QuillData
import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// The TCN (`--cell tcn`, issue 15 item 5) and the n-NN (`--cell nnn`, item 6) as char models: their config and
/// checkpoint, refusals, the overfitting test every new cell passes, resume, and sampling in every mode.
final class ConvolutionCharModelTests: XCTestCase {
    static let text = "a temporal convolution sees a fixed window of the past: dilations 1, 2, 4, 8 widen it fast. "
        + "the n-nn of note 003 reads the last n characters only, like an n-gram that generalises. bai et al., 2018!!!\n"

    func testConfigAndCheckpointRoundTrip() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var rng = SeededGenerator(seed: 3)
        let configs = [
            CharModelConfig(cell: .nnn, layers: 2, hidden: 6, embedding: 4, vocabularySize: 5, context: 3),
            CharModelConfig(cell: .tcn, layers: 3, hidden: 5, embedding: 0, vocabularySize: 5, dilations: [1, 2, 8]),
        ]
        for config in configs {
            XCTAssertNil(config.validate())
            let model = CharModel<Float>(config: config, rng: &rng)
            XCTAssertNil(model.stack)
            XCTAssertEqual(model.parameters.map(\.name), config.parameterShapes.map(\.name))
            try NewCellChecks.checkpointRoundTrip(model, dir: dir)
        }
        XCTAssertEqual(configs[1].convolutionArchitecture?.receptiveField, 12)
        XCTAssertEqual(configs[0].parameterShapes.first { $0.name == "conv.0.w" }?.shape, [3 * 4, 6])
        XCTAssertFalse(configs[1].parameterShapes.contains { $0.name == "conv.2.res.w" }, "nothing reads the last block's residual")
        // Recurrent configs are written without the new fields, as before.
        let json = String(decoding: try JSONEncoder().encode(CharModelConfig(layers: 1, hidden: 4, vocabularySize: 3)), as: UTF8.self)
        XCTAssertFalse(json.contains("context") || json.contains("dilations"), json)
    }

    func testNonsenseIsRefused() {
        func problem(_ edit: (inout CharModelConfig) -> Void) -> String? {
            var c = CharModelConfig(cell: .tcn, layers: 3, hidden: 4, vocabularySize: 3, dilations: [1, 2, 4])
            edit(&c)
            return c.validate()
        }
        XCTAssertNil(problem { _ in })
        XCTAssertEqual(problem { $0.dilations = [] }, "--dilations is empty: give at least one, for example 1,2,4,8")
        XCTAssertEqual(problem { $0.dilations = [1, 2, 2] }, "--dilations must increase strictly, got 1,2,2")
        XCTAssertEqual(problem { $0.dilations = [4, 2, 1] }, "--dilations must increase strictly, got 4,2,1")
        XCTAssertEqual(problem { $0.dilations = [0, 1, 2] }, "--dilations must each be between 1 and 65536, got 0")
        XCTAssertEqual(problem { $0.layers = 2 }, "a TCN has one block per dilation: --layers 2 but 3 dilations")
        XCTAssertEqual(problem { $0.dropout = 0.1 }, "--dropout: Quill's tcn models have no dropout; leave it at 0")
        XCTAssertEqual(problem { $0.skipConnections = true }, "--skip: a TCN always has WaveNet's skip connections; leave the flag out")
        XCTAssertEqual(problem { $0.context = 3 }, "--context needs --cell nnn (only the n-NN reads a fixed context)")
        XCTAssertEqual(problem { $0.cell = .nnn; $0.dilations = nil; $0.context = 0 },
                       "--context must be between 1 and 256 characters, got 0")
        XCTAssertEqual(problem { $0.cell = .lstm }, "--dilations needs --cell tcn (only the TCN has dilations)")
        XCTAssertEqual(problem { $0.peepholes = true }, "--peepholes needs --cell lstm (only LSTM cells have peepholes)")
    }

    /// The n-NN with a context of 12 (every 12-character context of the text is unique) and a TCN with a receptive
    /// field of 32 learn the text below 0.05 nats per character within 500 steps; greedy, tempered and beam samples
    /// run, seeded ones repeat, and greedy sampling recites the text.
    func testOverfitsTwoHundredCharactersAndSamplesInEveryMode() throws {
        XCTAssertEqual(Self.text.count, 200)
        for config in [CharModelConfig(cell: .nnn, layers: 2, hidden: 128, vocabularySize: 1, context: 12),
                       CharModelConfig(cell: .tcn, layers: 5, hidden: 64, vocabularySize: 1, dilations: [1, 2, 4, 8, 16])] {
            let sampler = try NewCellChecks.overfit(config, text: Self.text) { o in
                o.optimizer = .init(kind: .adam, learningRate: 3e-3); o.lrSchedule = .init(initial: 3e-3)
            }
            var rng = SeededGenerator(seed: 0)
            let greedy = try sampler.sample(prime: "a temporal convolution", length: 20, greedy: true, rng: &rng)
            XCTAssertEqual(greedy, " sees a fixed window", config.cell.rawValue)
            var r1 = SeededGenerator(seed: 9), r2 = SeededGenerator(seed: 9)
            let a = try sampler.sample(prime: "the n-nn of", length: 40, temperature: 0.7, rng: &r1)
            XCTAssertEqual(a, try sampler.sample(prime: "the n-nn of", length: 40, temperature: 0.7, rng: &r2))
            XCTAssertEqual(a.count, 40)
            XCTAssertEqual(try sampler.beam(prime: "like an n-gram", length: 17, width: 3), " that generalises",
                           config.cell.rawValue)
        }
    }

    /// A run interrupted and resumed ends with exactly the weights, optimiser state and carried convolution state
    /// of a straight run.
    func testResumeEqualsStraightRun() throws {
        let text = String(repeating: "dilated causal convolutions; ", count: 20)
        let tcn = try NewCellChecks.resumeEqualsStraight(
            CharModelConfig(cell: .tcn, layers: 3, hidden: 6, embedding: 4, vocabularySize: 1, dilations: [1, 2, 4]),
            text: text)
        XCTAssertEqual(tcn.filter { $0.hasPrefix("state.") }.count, 3, "only the gate convolutions carry state")
        XCTAssertTrue(tcn.isSuperset(of: ["conv.1.gate.w", "state.conv.0.gate.x", "state.conv.1.gate.x", "state.conv.2.gate.x"]), "\(tcn.sorted())")
        let nnn = try NewCellChecks.resumeEqualsStraight(
            CharModelConfig(cell: .nnn, layers: 2, hidden: 6, embedding: 4, vocabularySize: 1, context: 4), text: text)
        XCTAssertTrue(nnn.isSuperset(of: ["conv.0.w", "conv.1.w", "state.conv.0.x"]), "\(nnn.sorted())")
        XCTAssertFalse(nnn.contains("state.conv.1.x"), "a kernel of 1 carries nothing")
    }

    /// Evaluation in windows of any length gives the figure of one pass (the state carried between windows).
    func testEvaluationDoesNotDependOnTheWindow() throws {
        var rng = SeededGenerator(seed: 5)
        let alphabet = Alphabet(text: Self.text)
        let model = CharModel<Float>(config: CharModelConfig(cell: .tcn, layers: 3, hidden: 8, vocabularySize: alphabet.count,
                                                             dilations: [1, 3, 9]), rng: &rng)
        let tokens = try alphabet.tokens(Self.text, source: "text")
        let one = CharEvaluation.evaluate(model, tokens: tokens, batch: 1, steps: 199)
        for w in [7, 50] {
            XCTAssertEqual(CharEvaluation.evaluate(model, tokens: tokens, batch: 1, steps: w).natsPerChar, one.natsPerChar,
                           accuracy: 1e-5)
        }
    }

    func testInspectionRefusesModelsWithoutRecurrentUnits() throws {
        var rng = SeededGenerator(seed: 5)
        let alphabet = Alphabet(text: "abc")
        let model = CharModel<Float>(config: CharModelConfig(cell: .nnn, layers: 1, hidden: 4, vocabularySize: 3, context: 2),
                                     rng: &rng)
        XCTAssertThrowsError(try CharInspection.typoDistances(model, alphabet: alphabet, text: "abc", position: 1,
                                                              replacement: "c")) { e in
            XCTAssertEqual("\(e)", "the typo experiment looks at recurrent units; nnn models have none (train an lstm, gru, rnn, mrnn or phased-lstm)")
        }
        XCTAssertThrowsError(try CharInspection.unitValues(model, alphabet: alphabet, text: "abc", layers: [0], value: .hidden))
        // The model map compares predictions, which every model has.
        XCTAssertEqual(try CharSimilarity.probabilities(model, alphabet: alphabet, text: "abca").count, 4)
    }
}
