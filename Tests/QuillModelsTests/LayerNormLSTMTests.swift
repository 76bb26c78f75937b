import QuillData
import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// The layer-normalised LSTM (`--layer-norm`, issue 15 item 4) as a char model: its gains in the config and the
/// checkpoint, refusals, the overfitting test every new layer passes, sampling in every mode and an exact resume.
final class LayerNormLSTMTests: XCTestCase {
    static let text = "layer normalisation keeps each step's summed inputs at zero mean and unit variance, so the "
        + "gates see the same scale whatever the weights grow to; the gains then set it. see ba, kiros and hinton 2016.\n"

    func testGainsRoundTripThroughTheCheckpoint() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var rng = SeededGenerator(seed: 4)
        let config = CharModelConfig(layers: 2, hidden: 6, embedding: 4, skipConnections: true, vocabularySize: 5,
                                     layerNorm: true)
        XCTAssertNil(config.validate())
        let model = CharModel<Float>(config: config, rng: &rng)
        XCTAssertEqual(model.parameters.map(\.value.shape), config.parameterShapes.map(\.shape))
        XCTAssertEqual(model.parameters.map(\.name).filter { $0.contains(".ln.") },
                       ["rnn.0.ln.gx", "rnn.0.ln.gh", "rnn.0.ln.gc", "rnn.0.ln.bc",
                        "rnn.1.ln.gx", "rnn.1.ln.gh", "rnn.1.ln.gc", "rnn.1.ln.bc"])
        let path = dir.path("ln.safetensors")
        try CharCheckpoint.save(model, alphabet: Alphabet(text: "abcde"), to: path)
        let loaded = try CharCheckpoint.load(path)
        XCTAssertEqual(loaded.model.config, config)
        let w1 = model.makeWorkspace(steps: 9, batch: 4), w2 = loaded.model.makeWorkspace(steps: 9, batch: 4)
        let inputs = (0..<36).map { Int32($0 % 5) }, targets = (0..<36).map { Int32(($0 + 2) % 5) }
        XCTAssertEqual(model.evaluate(inputs: inputs, targets: targets, w1),
                       loaded.model.evaluate(inputs: inputs, targets: targets, w2))
        XCTAssertEqual(w1.logits.array, w2.logits.array)
        let plain = String(decoding: try JSONEncoder().encode(CharModelConfig(vocabularySize: 3)), as: UTF8.self)
        XCTAssertFalse(plain.contains("layerNorm"), "a plain model's config reads as before")
    }

    func testNonsensicalCombinationsAreRefused() {
        var c = CharModelConfig(cell: .gru, layers: 1, hidden: 4, vocabularySize: 3, layerNorm: true)
        XCTAssertEqual(c.validate(), "--layer-norm needs --cell lstm (Quill normalises LSTM layers only)")
        c.cell = .lstm; c.peepholes = true
        XCTAssertEqual(c.validate(), "--layer-norm and --peepholes don't go together: choose one")
    }

    func testResumeEqualsStraightRun() throws {
        let config = CharModelConfig(layers: 2, hidden: 8, embedding: 4, dropout: 0.1, vocabularySize: 1, layerNorm: true)
        let names = try NewCellChecks.resumeEqualsStraight(config, text: String(repeating: Self.text, count: 3))
        XCTAssertTrue(names.contains("rnn.1.ln.gc"))
    }

    /// A 200-character text is learnt below 0.05 nats per character within 500 steps; then greedy, tempered,
    /// primed and beam samples all run, seeded ones repeat, and greedy sampling recites the text.
    func testOverfitsTwoHundredCharactersAndSamplesInEveryMode() throws {
        let sampler = try NewCellChecks.overfit(CharModelConfig(layers: 1, hidden: 64, vocabularySize: 1, layerNorm: true),
                                                text: Self.text)
        var rng = SeededGenerator(seed: 0)
        XCTAssertEqual(try sampler.sample(prime: "layer normalisation", length: 12, greedy: true, rng: &rng), " keeps each ")
        var r1 = SeededGenerator(seed: 9), r2 = SeededGenerator(seed: 9)
        let a = try sampler.sample(prime: "the gains", length: 40, temperature: 0.7, rng: &r1)
        XCTAssertEqual(a, try sampler.sample(prime: "the gains", length: 40, temperature: 0.7, rng: &r2))
        XCTAssertEqual(a.count, 40)
        XCTAssertEqual(try sampler.beam(prime: "ba, kiros", length: 11, width: 3), " and hinton")
    }
}
