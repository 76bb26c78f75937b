import Foundation
import QuillData
import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// Sampling and evaluation never report NaN or infinity as a result, whatever the temperature or the checkpoint.
final class NonFiniteOutputTests: XCTestCase {
    func charModel(seed: UInt64 = 3) -> (CharModel<Float>, Alphabet) {
        var rng = SeededGenerator(seed: seed)
        let vocab = Alphabet(text: "abcdefgh \n")
        let model = CharModel<Float>(config: CharModelConfig(layers: 1, hidden: 16, vocabularySize: vocab.count), rng: &rng)
        return (model, vocab)
    }

    /// A temperature so low that only the most likely character survives samples greedily, where Float(1e-60) = 0
    /// used to make the softmax 0/0 (NaN) and print only newlines.
    func testTinyTemperatureIsGreedy() throws {
        let (model, vocab) = charModel()
        let sampler = CharSampler(model: model, alphabet: vocab)
        var unused = SeededGenerator(seed: 1)
        let greedy = try sampler.sample(prime: "ab", length: 30, greedy: true, rng: &unused)
        for t in [1e-40, 1e-60, 1e-300, Double.leastNonzeroMagnitude] {
            var rng = SeededGenerator(seed: 7)
            XCTAssertEqual(try sampler.sample(prime: "ab", length: 30, temperature: t, rng: &rng), greedy, "T = \(t)")
        }
        // An ordinary temperature still samples.
        var rng = SeededGenerator(seed: 7)
        XCTAssertEqual(try sampler.sample(prime: "ab", length: 30, temperature: 1, rng: &rng).count, 30)
    }

    func testDistributionIsSafeForAnyTemperature() {
        let logits: [Float] = [1, 3, 2, 3 - 1e-6]
        var probs = [Double](repeating: 0, count: 4)
        for t in [1e-300, 1e-60, 1e-5, 1, 100] {
            logits.withUnsafeBufferPointer { CharSampler.distribution($0.baseAddress!, count: 4, temperature: t, into: &probs) }
            XCTAssertTrue(probs.allSatisfy { $0.isFinite && $0 >= 0 }, "T = \(t): \(probs)")
            XCTAssertEqual(probs.reduce(0, +), 1, accuracy: 1e-12)
        }
        logits.withUnsafeBufferPointer { CharSampler.distribution($0.baseAddress!, count: 4, temperature: 1e-300, into: &probs) }
        XCTAssertEqual(probs, [0, 1, 0, 0])
    }

    /// A model whose logits are NaN or infinite throws `NonFiniteOutputError` from sampling and beam search, and
    /// evaluates to a non-finite loss (which `char eval` refuses to print).
    func testNonFiniteCharModelThrows() throws {
        let (model, vocab) = charModel()
        // Invariant: a char model has an output layer, whose bias is its last parameter.
        model.parameters.last!.value[0] = .infinity
        let sampler = CharSampler(model: model, alphabet: vocab)
        var rng = SeededGenerator(seed: 1)
        for greedy in [false, true] {
            XCTAssertThrowsError(try sampler.sample(prime: "a", length: 5, temperature: 1e-60, greedy: greedy, rng: &rng)) {
                XCTAssertTrue($0 is NonFiniteOutputError, "\($0)")
            }
        }
        XCTAssertThrowsError(try sampler.beam(prime: "a", length: 5, width: 2)) { XCTAssertTrue($0 is NonFiniteOutputError) }
        let tokens = try vocab.tokens(String(repeating: "abc defg\n", count: 20), source: "test")
        XCTAssertFalse(CharEvaluation.evaluate(model, tokens: tokens).natsPerChar.isFinite)
        let message = NonFiniteOutputError(model: "run/best.safetensors").description
        XCTAssertTrue(message.hasPrefix("run/best.safetensors: the model produced non-finite values"), message)
        XCTAssertFalse(message.contains("\n"))
    }

    /// Weights far beyond any trained model's (3.4e38, as a damaged file had) are refused when loading, with the
    /// tensor named, for char and handwriting checkpoints.
    func testAbsurdWeightsAreRefused() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let (model, vocab) = charModel()
        let path = dir.path("c.safetensors")
        try CharCheckpoint.save(model, alphabet: vocab, to: path)
        XCTAssertNoThrow(try CharCheckpoint.load(path))
        let huge = dir.path("huge.safetensors")
        try rewrite(path, to: huge) { t in
            let e = t["output.w"]!
            t["output.w"] = SafeTensors.Entry(shape: e.shape, values: e.values.map { _ in 3.4e38 })
        }
        XCTAssertThrowsError(try CharCheckpoint.load(huge)) { e in
            XCTAssertTrue("\(e)".contains("corrupt") && "\(e)".contains("'output.w'") && "\(e)".contains("1e5"), "\(e)")
        }

        var rng = SeededGenerator(seed: 2)
        let hw = HandwritingModel<Float>(config: HandwritingConfig(kind: .prediction, layers: 1, hidden: 4,
                                                                   mixture: .init(components: 2)), rng: &rng)
        let hp = dir.path("h.safetensors")
        try HandwritingCheckpoint.save(hw, alphabet: try Alphabet(storedSymbols: []), stats: .identity, to: hp)
        XCTAssertNoThrow(try HandwritingCheckpoint.load(hp))
        let name = hw.parameters[0].name
        try rewrite(hp, to: dir.path("hh.safetensors")) { t in
            let e = t[name]!
            t[name] = SafeTensors.Entry(shape: e.shape, values: e.values.map { _ in -2e5 })
        }
        XCTAssertThrowsError(try HandwritingCheckpoint.load(dir.path("hh.safetensors"))) { e in
            XCTAssertTrue("\(e)".contains("corrupt") && "\(e)".contains("'\(name)'"), "\(e)")
        }
        // Statistics with a deviation of 1e-300 would shrink every line to a dot.
        try rewriteMetadata(hp, to: dir.path("hs.safetensors")) {
            $0["quill.stats"] = #"{"meanDx":0,"meanDy":0,"stdDx":1e-300,"stdDy":1}"#
        }
        XCTAssertThrowsError(try HandwritingCheckpoint.load(dir.path("hs.safetensors"))) { e in
            XCTAssertTrue("\(e)".contains("implausible standard deviation"), "\(e)")
        }
    }

    /// A handwriting network whose output becomes NaN stops the line (`brokeDown`), and a page refuses it.
    func testNonFiniteHandwritingOutputIsReported() throws {
        var rng = SeededGenerator(seed: 4)
        let prediction = HandwritingModel<Float>(config: HandwritingConfig(kind: .prediction, layers: 1, hidden: 4,
                                                                           mixture: .init(components: 2)), rng: &rng)
        let sampler = HandwritingSampler(model: prediction, alphabet: try Alphabet(storedSymbols: []), stats: .identity)
        var r = SeededGenerator(seed: 1)
        XCTAssertTrue(sampler.sample(steps: 20, bias: 0, rng: &r).line.isFinite)
        prediction.parameters.last!.value[0] = .nan
        let (line, params) = sampler.sample(steps: 20, bias: 0, rng: &r)
        XCTAssertTrue(line.brokeDown)
        XCTAssertFalse(line.isFinite)
        XCTAssertTrue(params.isEmpty)

        let synthesis = HandwritingModel<Float>(config: HandwritingConfig(kind: .synthesis, layers: 1, hidden: 4,
                                                                          mixture: MixtureDensity(components: 2),
                                                                          alphabetSize: 3), rng: &rng)
        synthesis.parameters.last!.value[0] = .infinity
        let writer = HandwritingSampler(model: synthesis, alphabet: try Alphabet(storedSymbols: ["\u{FFFD}", "a", "b"]), stats: .identity)
        XCTAssertFalse(writer.write(["ab"], options: WriteOptions(bias: 1), seed: 1)[0].isFinite)
        XCTAssertThrowsError(try PageWriter(sampler: writer, options: WriteOptions(bias: 1)).write(["ab", "ba"], seed: 1)) {
            XCTAssertTrue($0 is NonFiniteOutputError, "\($0)")
        }
    }

    func rewrite(_ path: String, to out: String, _ change: (inout [String: SafeTensors.Entry]) -> Void) throws {
        let f = try SafeTensors.read(path)
        var tensors = f.tensors
        change(&tensors)
        try SafeTensors.write(tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, metadata: f.metadata, to: out)
    }

    func rewriteMetadata(_ path: String, to out: String, _ change: (inout [String: String]) -> Void) throws {
        let f = try SafeTensors.read(path)
        var meta = f.metadata
        change(&meta)
        try SafeTensors.write(f.tensors.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }, metadata: meta, to: out)
    }
}
