import Foundation
import XCTest
@testable import QuillData

/// One alphabet for datasets, handwriting models and char models, encoding by Unicode scalars; the text policy
/// that says what becomes of characters outside it; and the one normalisation of offsets.
final class OneAlphabetTests: XCTestCase {
    func testCharVocabularyHasNoUnknownSymbol() throws {
        let v = Alphabet(text: "cab\nba")
        XCTAssertEqual(v.symbols, ["\n", "a", "b", "c"])
        XCTAssertFalse(v.hasUnknownSymbol)
        XCTAssertEqual(v.textPolicy, .strict)
        XCTAssertEqual(v.index(of: "\n"), 0, "index 0 is a character of its own")
        XCTAssertTrue(v.knows("\n"))
        XCTAssertEqual(v.encode("abc\n"), [1, 2, 3, 0])
        XCTAssertEqual(v.unknownCharacters(in: "abzqz"), ["z", "q"])
        XCTAssertEqual(v.decode([1, 2, 99, -1, 3]), "abc", "indices outside the vocabulary are left out")
        let back = try Alphabet(json: v.symbolsJSON, unknownSymbol: false, textPolicy: .strict)
        XCTAssertEqual(back, v)
        XCTAssertEqual(v.symbolsJSON, #"["\u000a","a","b","c"]"#)
    }

    /// U+FEFF inside a text is a symbol like any other: stored escaped, and read back from files that hold it raw
    /// (Foundation's JSON parser drops a raw one, even inside a string; those models then failed to load).
    func testByteOrderMarkInsideATextIsASymbol() throws {
        let v = Alphabet(text: "word\u{FEFF}joiner")
        XCTAssertTrue(v.symbolsJSON.contains(#""\ufeff""#), v.symbolsJSON)
        XCTAssertEqual(try Alphabet(json: v.symbolsJSON, unknownSymbol: false, textPolicy: .strict), v)
        let raw = v.symbolsJSON.replacingOccurrences(of: #"\ufeff"#, with: "\u{FEFF}")
        XCTAssertEqual(try Alphabet(json: raw, unknownSymbol: false, textPolicy: .strict), v)
    }

    /// A prepared file's header holds the alphabet as it always did: policy and symbols, nothing more.
    func testPreparedFormOfTheAlphabetIsUnchanged() throws {
        struct Before: Codable { var policy: AlphabetPolicy; var symbols: [String] }
        let a = Alphabet.build(texts: ["héllo, wörld"], policy: .frequency(minCount: 1))
        // Sorted keys, as PreparedFormat writes them (unsorted, Foundation's key order varies from one encoding to
        // the next on Linux).
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        XCTAssertEqual(try encoder.encode(a), try encoder.encode(Before(policy: a.policy ?? .graves, symbols: a.symbols)))
    }

    func testDatasetAlphabetReadsTheUnknownSymbolAsNoCharacter() {
        let a = Alphabet.build(texts: ["ab"], policy: .frequency(minCount: 1))
        XCTAssertTrue(a.hasUnknownSymbol)
        XCTAssertEqual(a.textPolicy, .substituting)
        XCTAssertNil(a.index(of: Alphabet.unknown), "the unknown symbol is not a character the alphabet has")
        XCTAssertFalse(a.knows("\u{FFFD}"))
        XCTAssertEqual(a.encode("a\u{FFFD}z"), [1, 0, 0])
    }

    /// Sampling encodes in the unit training did: a character of several scalars is several symbols.
    func testEncodingIsByScalarsEverywhere() throws {
        let decomposed = "e\u{301}"  // one Character, two scalars
        XCTAssertEqual(decomposed.count, 1)
        let training = Alphabet.build(texts: ["e\u{301}e"], policy: .frequency(minCount: 1))
        XCTAssertEqual(training.encode(decomposed), [1, 2])
        let stored = try Alphabet(storedSymbols: training.symbols)
        XCTAssertEqual(stored.encode(decomposed), training.encode(decomposed))
        XCTAssertTrue(stored.knows(Character(decomposed)), "known when every scalar is")
        let bare = Alphabet.build(texts: ["e"], policy: .frequency(minCount: 1))
        XCTAssertFalse(bare.knows(Character(decomposed)))
        XCTAssertEqual(bare.unknownCharacters(in: decomposed), ["\u{301}"])
    }

    func testStoredSymbolsAreOneScalarEachAndDistinct() {
        XCTAssertThrowsError(try Alphabet(storedSymbols: ["\u{FFFD}", "ab"])) { XCTAssertEqual($0 as? AlphabetError, .notOneScalar("ab")) }
        XCTAssertThrowsError(try Alphabet(storedSymbols: ["\u{FFFD}", "a", "a"])) { XCTAssertEqual($0 as? AlphabetError, .repeated("a")) }
        // Index 0 is read as the unknown symbol: a list that starts with another symbol would lose that symbol.
        XCTAssertThrowsError(try Alphabet(storedSymbols: ["a", "\u{FFFD}", "b"])) { XCTAssertEqual($0 as? AlphabetError, .unknownNotFirst("a")) }
        XCTAssertEqual(try Alphabet(storedSymbols: ["a", "b"], unknownSymbol: false).count, 2)
        XCTAssertThrowsError(try Alphabet(json: "{}", unknownSymbol: true, textPolicy: .substituting)) {
            XCTAssertEqual($0 as? AlphabetError, .notAList)
        }
        XCTAssertNoThrow(try Alphabet(storedSymbols: []), "a prediction model's alphabet may be empty")
    }

    func testTextPolicyDecidesSubstitutionAndUnknownCharacters() throws {
        var a = Alphabet.build(texts: ["a cafe\""], policy: .frequency(minCount: 1))
        XCTAssertEqual(try TextPreparation.checked("“café”", alphabet: a).text, "\"cafe\"")
        a.textPolicy = .strict
        XCTAssertThrowsError(try TextPreparation.checked("café", alphabet: a)) { XCTAssertTrue("\($0)".contains("lacks 'é'"), "\($0)") }
        // Bytes that were not UTF-8 (an argument typed in a Latin-1 terminal) arrive as U+FFFD: said so.
        XCTAssertThrowsError(try TextPreparation.checked(String(decoding: [0x63, 0x61, 0x66, 0xE9], as: UTF8.self), alphabet: a)) {
            XCTAssertTrue("\($0)".contains("U+FFFD stands for bytes that were not UTF-8"), "\($0)")
        }
        a.textPolicy = TextPolicy(substitutes: false, unknown: .unknownSymbol)
        let kept = try TextPreparation.checked("café☃", alphabet: a).text
        XCTAssertEqual(kept, "café☃")
        XCTAssertEqual(a.encode(kept).suffix(2), [0, 0])
        a.textPolicy = TextPolicy(substitutes: true, unknown: .unknownSymbol)
        XCTAssertEqual(try TextPreparation.checked("café☃", alphabet: a).text, "cafe☃")
        XCTAssertNil(TextPolicy.substituting.problem(with: a))
        XCTAssertNotNil(TextPolicy(substitutes: false, unknown: .unknownSymbol).problem(with: Alphabet(text: "ab")))
    }

    func testTextPolicyJSONAndMissingFields() throws {
        let p = TextPolicy(substitutes: true, unknown: .unknownSymbol)
        let json = String(decoding: try JSONEncoder().encode(p), as: UTF8.self)
        XCTAssertTrue(json.contains("unknown-symbol"), json)
        XCTAssertEqual(try JSONDecoder().decode(TextPolicy.self, from: Data(json.utf8)), p)
        XCTAssertEqual(try JSONDecoder().decode(TextPolicy.self, from: Data("{}".utf8)), .strict)
    }

    func testOneLineOfText() throws {
        let a = Alphabet.build(texts: ["ab c"], policy: .frequency(minCount: 1))
        let line = try TextPreparation.line("a\r\nb\u{2003}c", alphabet: a)
        XCTAssertEqual(line.text, "a b c")
        XCTAssertEqual(line.replacements, ["U+2003→' '"])
        XCTAssertThrowsError(try TextPreparation.line("\u{200B}\n \u{FEFF}", alphabet: a)) {
            XCTAssertTrue("\($0)".contains("nothing to write"), "\($0)")
        }
    }

    // MARK: - Normalisation

    /// The one normalisation keeps the arithmetic every call site had, bit for bit.
    func testNormalisationKeepsTheArithmeticBits() {
        let stats = OffsetStatistics(meanDx: 15.633388301324947, meanDy: 0.21338144258721548,
                                     stdDx: 59.58622814209228, stdDy: 57.35352937142455)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let x = Double.random(in: -400...400, using: &rng), y = Double.random(in: -400...400, using: &rng)
            let n = stats.normalise(Point(x, y))
            XCTAssertEqual(n.x.bitPattern, ((x - stats.meanDx) / stats.stdDx).bitPattern)
            XCTAssertEqual(n.y.bitPattern, ((y - stats.meanDy) / stats.stdDy).bitPattern)
            let r = stats.denormalise(Point(x / 60, y / 60))
            XCTAssertEqual(r.x.bitPattern, (x / 60 * stats.stdDx + stats.meanDx).bitPattern)
            XCTAssertEqual(r.y.bitPattern, (y / 60 * stats.stdDy + stats.meanDy).bitPattern)
        }
        let seq = OffsetSequence(originX: 0, originY: 0, dx: [0, 12.5, -3, 700.25], dy: [0, 1, 2.75, -40], eos: [0, 0, 1, 1])
        let rows = stats.preparedRows(seq)
        let ix = 1 / stats.stdDx, iy = 1 / stats.stdDy
        XCTAssertEqual(rows.dx, [0] + (1..<4).map { Float((seq.dx[$0] - stats.meanDx) * ix) })
        XCTAssertEqual(rows.dy, [0] + (1..<4).map { Float((seq.dy[$0] - stats.meanDy) * iy) })
        let raw = stats.rawOffsets(dx: rows.dx, dy: rows.dy)
        XCTAssertEqual(raw.dx, [0] + (1..<4).map { Double(rows.dx[$0]) * stats.stdDx + stats.meanDx })
        let input = stats.rows(seq, scale: 2)
        XCTAssertEqual(input[0], OffsetRow(dx: 0, dy: 0, eos: 0))
        XCTAssertEqual(input[3], OffsetRow(dx: Float((700.25 * 2 - stats.meanDx) / stats.stdDx),
                                           dy: Float((-40 * 2 - stats.meanDy) / stats.stdDy), eos: 1))
        XCTAssertTrue(input[2].penUp)
    }

    func testSpreadMatching() {
        let stats = OffsetStatistics(meanDx: 0, meanDy: 0, stdDx: 3, stdDy: 4)
        let seq = OffsetSequence(originX: 0, originY: 0, dx: [0, 1, 1], dy: [0, 0, 0], eos: [0, 0, 1])
        XCTAssertEqual(stats.scaleMatchingSpread(of: seq), 5, accuracy: 1e-12)
        XCTAssertEqual(stats.scaleMatchingSpread(of: OffsetSequence(originX: 0, originY: 0, dx: [0], dy: [0], eos: [1])), 1)
    }
}
