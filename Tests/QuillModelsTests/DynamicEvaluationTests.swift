import QuillData
import QuillNumerics
import XCTest
@testable import QuillModels

/// Dynamic evaluation (Graves 2013, §3) and the metrics `quill char eval` prints beside the loss (issue 15 items 9, 10).
final class DynamicEvaluationTests: XCTestCase {
    /// A small model and a text with a pattern the model has not learned: 3,000 characters of "abcab…" with noise.
    func setUp(seed: UInt64) -> (CharModel<Float>, [Int32]) {
        var rng = SeededGenerator(seed: seed)
        let model = CharModel<Float>(config: CharModelConfig(layers: 1, hidden: 24, vocabularySize: 5), rng: &rng)
        var tokens = [Int32]()
        for i in 0..<3000 { tokens.append(Int32(i % 3 == 0 && i % 7 == 0 ? 3 + i % 2 : i % 3)) }
        return (model, tokens)
    }

    func testZeroRateEqualsStaticEvaluation() {
        let (model, tokens) = setUp(seed: 1)
        let s = CharEvaluation.evaluate(model, tokens: tokens, batch: 4, steps: 16)
        let d = CharEvaluation.evaluate(model, tokens: tokens, batch: 4, steps: 16, dynamicLearningRate: 0)
        XCTAssertEqual(d.characters, s.characters)
        XCTAssertEqual(d.natsPerChar, s.natsPerChar, accuracy: 1e-9 * s.natsPerChar)
        XCTAssertEqual(d.correct, s.correct)
    }

    func testDynamicEvaluationLearnsTheTextAsItReadsIt() {
        let (model, tokens) = setUp(seed: 2)
        let s = CharEvaluation.evaluate(model, tokens: tokens, batch: 4, steps: 16)
        let d = CharEvaluation.evaluate(model, tokens: tokens, batch: 4, steps: 16, dynamicLearningRate: 1)
        // An untrained model adapts to a periodic text within a few windows.
        XCTAssertLessThan(d.natsPerChar, 0.8 * s.natsPerChar, "static \(s.natsPerChar), dynamic \(d.natsPerChar)")
        XCTAssertGreaterThan(d.correct, s.correct)
        // It changed the weights: the model now evaluates statically better than before.
        XCTAssertLessThan(CharEvaluation.evaluate(model, tokens: tokens, batch: 4, steps: 16).natsPerChar, s.natsPerChar)
    }

    /// One stream (`char eval --streams 1`) reads the text as one sequence and predicts every character but the
    /// first, as `ngram eval` does; B streams leave out each one's first character and the division's remainder.
    func testOneStreamPredictsEveryCharacterButTheFirst() {
        let (model, tokens) = setUp(seed: 4)
        XCTAssertEqual(CharEvaluation.evaluate(model, tokens: tokens, batch: 1, steps: 16).characters, tokens.count - 1)
        XCTAssertEqual(CharEvaluation.evaluate(model, tokens: tokens, batch: 1, steps: 16, dynamicLearningRate: 0.5).characters,
                       tokens.count - 1)
        XCTAssertEqual(CharEvaluation.evaluate(model, tokens: tokens, batch: 7, steps: 16).characters, (tokens.count / 7 - 1) * 7)
    }

    /// Each character is scored before the model learns from it: a text made of one window repeated is predicted no
    /// better in its first window than statically.
    func testTheFirstWindowIsScoredBeforeAnyUpdate() {
        let (model, tokens) = setUp(seed: 3)
        let first = Array(tokens[0..<17])
        let s = CharEvaluation.evaluate(model, tokens: first, batch: 1, steps: 16)
        let d = CharEvaluation.evaluate(model, tokens: first, batch: 1, steps: 16, dynamicLearningRate: 5)
        XCTAssertEqual(d.natsPerChar, s.natsPerChar, accuracy: 1e-9 * s.natsPerChar)
    }

    func testErrorAndPerplexityPerWord() {
        let e = CharEvaluation(natsPerChar: Double.log(2), characters: 10, correct: 7)
        XCTAssertEqual(e.error, 0.3, accuracy: 1e-12)
        XCTAssertEqual(e.bitsPerChar, 1, accuracy: 1e-12)
        // Graves's Table 1 conversion: 2^(BPC × characters a word).
        XCTAssertEqual(e.perplexityPerWord(charactersPerWord: 5.6), Double.pow(2, 5.6), accuracy: 1e-9)
        XCTAssertEqual(CharEvaluation.charactersPerWord("to be or not"), 12.0 / 4)
        XCTAssertEqual(CharEvaluation.charactersPerWord("  one\ntwo  "), 11.0 / 2)
        XCTAssertNil(CharEvaluation.charactersPerWord(" \n "))
        XCTAssertNil(CharEvaluation.charactersPerWord(""))
        XCTAssert(CharEvaluation(natsPerChar: .nan, characters: 0).error.isNaN)
    }

    /// The argmax counts: a model whose output layer always favours token 0 is right exactly where 0 comes next.
    func testNextStepErrorCountsArgMaxHits() {
        var (model, tokens) = setUp(seed: 4)
        tokens = Array(tokens.prefix(400))
        for p in model.parameters where p.name.hasPrefix("output") {
            p.value.zero()
            if p.name.hasSuffix("bias") || p.name.hasSuffix(".b") { p.value.ptr[0] = 10 }
        }
        let e = CharEvaluation.evaluate(model, tokens: tokens, batch: 1, steps: 16)
        let zeros = tokens.dropFirst().prefix(e.characters).filter { $0 == 0 }.count
        XCTAssertEqual(e.correct, zeros)
    }
}
