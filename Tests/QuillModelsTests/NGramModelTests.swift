import Foundation
import QuillData
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// The character n-gram baseline: probabilities that sum to one, Kneser–Ney and add-k against hand-computed values,
/// evaluation against the probabilities it sums, the model file and its corruptions, seeded sampling.
final class NGramModelTests: XCTestCase {
    /// "abracadabra" over its five letters (a b c d r).
    func abracadabra(order: Int, _ smoothing: NGramSmoothing = .kneserNey, k: Double = 0.5) throws -> NGramModel {
        let alphabet = Alphabet(text: "abracadabra")
        return try NGramModel(tokens: alphabet.encode("abracadabra"), alphabet: alphabet,
                              options: NGramOptions(order: order, smoothing: smoothing, k: k, valFraction: 0))
    }

    func tokens(_ model: NGramModel, _ s: String) -> ArraySlice<Int32> { model.alphabet.encode(s)[...] }

    /// A random text of `count` characters over `letters`, with some structure (runs of a repeated pattern).
    func randomText(_ count: Int, letters: [Character], rng: inout SeededGenerator) -> String {
        var s = ""
        while s.count < count {
            if rng.uniform() < 0.5 {
                s.append(letters[Int(rng.next() % UInt64(letters.count))])
            } else {
                s += String(letters.prefix(3))
            }
        }
        return String(s.prefix(count))
    }

    // MARK: - Probabilities

    func testProbabilitiesSumToOneForRandomContexts() throws {
        var rng = SeededGenerator(seed: 15)
        let letters: [Character] = Array("abcdefgh xyz")
        let text = randomText(3000, letters: letters, rng: &rng)
        let alphabet = Alphabet(text: text)
        for smoothing in NGramSmoothing.allCases {
            for order in [1, 2, 3, 5, 9] {
                let model = try NGramModel(tokens: alphabet.encode(text), alphabet: alphabet,
                                           options: NGramOptions(order: order, smoothing: smoothing, valFraction: 0))
                for trial in 0..<40 {
                    // Contexts of every length from 0 (the start of a text) past the order; seen and unseen ones.
                    let length = trial % (order + 2)
                    let context: [Int32] = trial % 3 == 0
                        ? Array(alphabet.encode(text).suffix(from: 100 + trial).prefix(length))
                        : (0..<length).map { _ in Int32(rng.next() % UInt64(alphabet.count)) }
                    let p = model.distribution(after: context[...])
                    XCTAssertEqual(p.count, alphabet.count)
                    XCTAssertTrue(p.allSatisfy { $0 > 0 && $0 < 1 }, "\(smoothing) n=\(order) \(context)")
                    XCTAssertEqual(p.reduce(0, +), 1, accuracy: 1e-12, "\(smoothing) n=\(order) context \(context)")
                }
            }
        }
    }

    /// Chen & Goodman's eq. 26 on count-of-counts n₁…n₄ = 10, 5, 3, 2: Y = 0.5, D₁ = 0.5, D₂ = 1.1, D₃₊ = 5/3.
    func testModifiedKneserNeyDiscounts() {
        let d = NGramModel.modifiedKneserNeyDiscounts([0, 10, 5, 3, 2])
        XCTAssertEqual(d[1], 0.5, accuracy: 1e-15)
        XCTAssertEqual(d[2], 1.1, accuracy: 1e-15)
        XCTAssertEqual(d[3], 5.0 / 3, accuracy: 1e-15)
        // Missing counts (a tiny text): D_j = j/2, and every discount within [0.1 j, j].
        XCTAssertEqual(NGramModel.modifiedKneserNeyDiscounts([0, 0, 0, 0, 0]), [0, 0.5, 1, 1.5])
        XCTAssertEqual(NGramModel.modifiedKneserNeyDiscounts([0, 1, 0, 0, 0])[1], 1)
        XCTAssertEqual(NGramModel.modifiedKneserNeyDiscounts([0, 1, 10, 0, 0])[1], 0.1)
    }

    /// Order 2 on "abracadabra", by hand. Bigram counts: ab 2, br 2, ra 2, ac 1, ca 1, ad 1, da 1, so level 2 has
    /// n₁ = 4, n₂ = 3, n₃ = n₄ = 0: Y = 0.4, D₁ = 0.4, D₂ = 2, D₃₊ = 1.5 (undefined: 3/2). Continuation counts of the
    /// unigrams: a 3 (after r, c, d), b r c d 1 each; total 7; level 1 has n₁ = 4, n₂ = 0, n₃ = 1: Y = 1, D₁ = 1,
    /// D₂ = 1 (undefined), D₃₊ = 3. So level 1 keeps nothing and is uniform: (0 + 7 · 1/5) / 7 = 0.2 for every letter.
    /// Context "a": ab 2, ac 1, ad 1, total 4, γ = 0.4 · 2 + 2 · 1 = 2.8, so
    /// P(b|a) = (2 − 2 + 2.8 · 0.2) / 4 = 0.14, P(c|a) = P(d|a) = (1 − 0.4 + 0.56) / 4 = 0.29, P(a|a) = P(r|a) = 0.14.
    func testKneserNeyByHand() throws {
        let m = try abracadabra(order: 2)
        for (d, e) in zip(m.discounts[2], [0, 0.4, 2, 1.5]) { XCTAssertEqual(d, e, accuracy: 1e-15, "level 2") }
        XCTAssertEqual(m.discounts[1], [0, 1, 1, 3], "level 1")
        let expected: [Character: Double] = ["a": 0.14, "b": 0.14, "c": 0.29, "d": 0.29, "r": 0.14]
        let p = m.distribution(after: tokens(m, "a"))
        for (c, e) in expected {
            let i = Int(try XCTUnwrap(m.alphabet.index(of: c.unicodeScalars.first!)))
            XCTAssertEqual(p[i], e, accuracy: 1e-12, "P(\(c)|a)")
        }
        // The empty context (the start of a text) reads level 1 only.
        for q in m.distribution(after: []) { XCTAssertEqual(q, 0.2, accuracy: 1e-12) }
    }

    /// Add-k reads the whole context: P(b|a) = (2 + 0.5) / (4 + 0.5 · 5); an unseen context is uniform.
    func testAddK() throws {
        let m = try abracadabra(order: 2, .addK, k: 0.5)
        let b = Int(try XCTUnwrap(m.alphabet.index(of: "b")))
        XCTAssertEqual(m.distribution(after: tokens(m, "a"))[b], 2.5 / 6.5, accuracy: 1e-12)
        XCTAssertEqual(m.distribution(after: tokens(m, "ra"))[b], 2.5 / 6.5, accuracy: 1e-12, "only the last n − 1 read")
        let m3 = try abracadabra(order: 3, .addK, k: 1)
        XCTAssertEqual(m3.distribution(after: tokens(m3, "aa"))[b], 0.2, accuracy: 1e-12)
        // "ab" is followed by r twice: (2 + 1) / (2 + 5).
        let r = Int(try XCTUnwrap(m3.alphabet.index(of: "r")))
        XCTAssertEqual(m3.distribution(after: tokens(m3, "ab"))[r], 3.0 / 7, accuracy: 1e-12)
        // At the start of a text, the unigram counts: a occurs 5 times in 11.
        let a = Int(try XCTUnwrap(m3.alphabet.index(of: "a")))
        XCTAssertEqual(m3.distribution(after: [])[a], 6.0 / 16, accuracy: 1e-12)
    }

    /// Evaluation (which tracks contexts incrementally) equals the mean of −log P(token | up to n − 1 before it).
    func testEvaluationMatchesProbabilities() throws {
        var rng = SeededGenerator(seed: 3)
        let text = randomText(2000, letters: Array("abcde fg"), rng: &rng)
        let alphabet = Alphabet(text: text)
        let all = alphabet.encode(text)
        for smoothing in NGramSmoothing.allCases {
            for order in [1, 3, 6] {
                let model = try NGramModel(tokens: Array(all[..<1500]), alphabet: alphabet,
                                           options: NGramOptions(order: order, smoothing: smoothing))
                let held = Array(all[1500...])
                var sum = 0.0
                for i in 1..<held.count {
                    sum -= log(model.probability(of: held[i], after: held[max(0, i - order + 1)..<i]))
                }
                let r = model.evaluate(held)
                XCTAssertEqual(r.characters, held.count - 1)
                XCTAssertEqual(r.natsPerChar, sum / Double(held.count - 1), accuracy: 1e-12, "\(smoothing) n=\(order)")
            }
        }
    }

    func testOrderAboveTheTextLengthIsRefused() throws {
        let alphabet = Alphabet(text: "abc")
        XCTAssertThrowsError(try NGramModel(tokens: alphabet.encode("abc"), alphabet: alphabet,
                                            options: NGramOptions(order: 4, valFraction: 0))) { error in
            XCTAssertTrue("\(error)".contains("--order 4 is above the length of the training text (3 characters)"), "\(error)")
        }
        // Through the file reader, the training part (90% of 20 characters = 18) is what counts.
        let dir = TempDir(); defer { dir.cleanup() }
        try String(repeating: "abcd", count: 5).write(toFile: dir.path("t.txt"), atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try NGramModel.train(paths: [dir.path("t.txt")], options: NGramOptions(order: 19))) { error in
            XCTAssertTrue("\(error)".contains("--order 19 is above the length of the training text (18 of its 20 characters"), "\(error)")
        }
        XCTAssertEqual(try NGramModel.train(paths: [dir.path("t.txt")], options: NGramOptions(order: 18)).trainingCharacters, 18)
    }

    /// The memory check runs before counting, on an upper bound of the n-grams: Σ_k min(V^k, T − k + 1).
    func testMemoryIsCheckedBeforeCounting() throws {
        XCTAssertEqual(NGramModel.maximumNGrams(characters: 5, vocabulary: 2, order: 3), 2 + 4 + 3)
        let dir = TempDir(); defer { dir.cleanup() }
        try String(repeating: "abcd", count: 50).write(toFile: dir.path("t.txt"), atomically: true, encoding: .utf8)
        let tight = MemoryBudget(limits: [MemoryBudget.Limit(bytes: 10_000, name: "test limit")])
        XCTAssertThrowsError(try NGramModel.train(paths: [dir.path("t.txt")], options: NGramOptions(order: 8),
                                                  budget: tight)) { error in
            XCTAssertTrue("\(error)".hasPrefix("ngram train needs about") && "\(error)".contains("lower --order"), "\(error)")
        }
        XCTAssertNoThrow(try NGramModel.train(paths: [dir.path("t.txt")], options: NGramOptions(order: 8), budget: .current()))
    }

    // MARK: - Sampling

    func testSamplingIsDeterministicForASeed() throws {
        var text = SeededGenerator(seed: 9)
        let s = randomText(2000, letters: Array("abcdefgh "), rng: &text)
        let alphabet = Alphabet(text: s)
        let m = try NGramModel(tokens: alphabet.encode(s), alphabet: alphabet, options: NGramOptions(order: 3))
        let prime = Array(alphabet.encode("ab"))
        func draw(_ seed: UInt64, _ t: Double = 1) -> [Int32] {
            var rng = SeededGenerator(seed: seed)
            return m.sample(prime: prime, length: 200, temperature: t, rng: &rng)
        }
        XCTAssertEqual(draw(7), draw(7))
        XCTAssertNotEqual(draw(7), draw(8))
        XCTAssertEqual(draw(7).count, 200)
        // A temperature near 0 always takes the most likely character.
        var greedy = prime
        for _ in 0..<200 {
            let p = m.distribution(after: greedy[max(0, greedy.count - 2)...])
            // Invariant: the vocabulary is not empty.
            greedy.append(Int32(p.indices.max { p[$0] < p[$1] }!))
        }
        XCTAssertEqual(draw(1, 1e-6), Array(greedy[2...]))
        XCTAssertEqual(alphabet.decode(greedy.prefix(3)), "abc")
    }

    // MARK: - The model file

    func testSaveAndLoadRoundTrip() throws {
        var rng = SeededGenerator(seed: 5)
        let text = randomText(1500, letters: Array("héllo wörld\n"), rng: &rng)
        let alphabet = Alphabet(text: text)
        let dir = TempDir(); defer { dir.cleanup() }
        for smoothing in NGramSmoothing.allCases {
            let model = try NGramModel(tokens: alphabet.encode(text), alphabet: alphabet,
                                       options: NGramOptions(order: 4, smoothing: smoothing, k: 0.25))
            let path = dir.path("model.ngram")
            try NGramFile.save(model, to: path)
            let back = try NGramFile.load(path)
            XCTAssertEqual(back.options, model.options)
            XCTAssertEqual(back.alphabet, model.alphabet)
            XCTAssertEqual(back.ngramCount, model.ngramCount)
            XCTAssertEqual(back.trainingCharacters, model.trainingCharacters)
            XCTAssertEqual(back.discounts, model.discounts)
            for start in stride(from: 0, to: 1400, by: 97) {
                let context = alphabet.encode(text)[start..<(start + start % 5)]
                XCTAssertEqual(back.distribution(after: context), model.distribution(after: context))
            }
        }
    }

    /// Every truncation and every flipped bit of a small file is one `CheckpointError.corrupt`, never a crash.
    func testTruncatedAndBitFlippedFilesAreRefused() throws {
        let m = try abracadabra(order: 3)
        let bytes = [UInt8](try NGramFile.encode(m))
        XCTAssertNoThrow(try NGramFile.decode(bytes, path: "m.ngram"))
        func refused(_ b: [UInt8], _ what: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try NGramFile.decode(b, path: "m.ngram"), what, file: file, line: line) { error in
                XCTAssertTrue("\(error)".hasPrefix("m.ngram: corrupt or truncated checkpoint: "), "\(what): \(error)",
                              file: file, line: line)
            }
        }
        for n in 0..<bytes.count { refused(Array(bytes.prefix(n)), "truncated to \(n)") }
        for i in 0..<bytes.count {
            for bit in [0, 3, 7] {
                var b = bytes
                b[i] ^= 1 << bit
                refused(b, "bit \(bit) of byte \(i) flipped")
            }
        }
        // With the checksum recomputed, the field checks still refuse bad numbers.
        func resealed(_ b: [UInt8]) -> [UInt8] {
            var body = Array(b.dropLast(8))
            let sum = NGramFile.fnv1a(body[...])
            for k in 0..<8 { body.append(UInt8(truncatingIfNeeded: sum >> (8 * UInt64(k)))) }
            return body
        }
        XCTAssertNoThrow(try NGramFile.decode(resealed(bytes), path: "m.ngram"))
        let headerLength = Int(NGramFile.read32(bytes, at: 12))
        let firstNode = 16 + headerLength
        var badToken = bytes
        badToken[firstNode + 1] = 9  // the first node's character index, beyond the 5 letters
        refused(resealed(badToken), "token out of range")
        var badParent = bytes
        badParent[firstNode] = 5  // the first node's parent 5 places before it
        refused(resealed(badParent), "parent not earlier")
        var tooDeep = NGramFile.magic
        NGramFile.append32(1, to: &tooDeep)
        let header = String(decoding: bytes[16..<firstNode], as: UTF8.self)
            .replacingOccurrences(of: "\"order\":3", with: "\"order\":65")
        NGramFile.append32(UInt32(header.utf8.count), to: &tooDeep)
        tooDeep += Array(header.utf8) + bytes[firstNode...]
        refused(resealed(tooDeep), "order 65")
    }
}
