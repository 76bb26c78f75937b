import Foundation
import QuillData
import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// Issue 11's alphabet: every character people type (digits, X, Z, the symbols IAM-OnDB lacks), as the synthetic
/// lines bring it into a dataset, survives a checkpoint and encodes without the unknown symbol.
final class ExtendedAlphabetTests: XCTestCase {
    func testTheExtendedAlphabetRoundTripsThroughTheCheckpoint() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let typed = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?'\"-()/&+@=#%[]"
        // Ten copies of each character: the frequency policy keeps characters seen 10 times or more.
        let alphabet = Alphabet.build(texts: Array(repeating: typed, count: 10), policy: .default)
        XCTAssertEqual(alphabet.count, typed.unicodeScalars.count + 1)
        var rng = SeededGenerator(seed: 1)
        let model = HandwritingModel<Float>(config: HandwritingConfig(kind: .synthesis, layers: 1, hidden: 4,
                                                                       mixture: MixtureDensity(components: 2),
                                                                       alphabetSize: alphabet.count), rng: &rng)
        let stats = OffsetStatistics(meanDx: 1, meanDy: 0, stdDx: 2, stdDy: 3)
        try HandwritingCheckpoint.save(model, alphabet: alphabet, stats: stats, to: dir.path("m.safetensors"))
        let loaded = try HandwritingCheckpoint.load(dir.path("m.safetensors"), expecting: .synthesis)
        XCTAssertEqual(loaded.alphabet.symbols, alphabet.symbols)
        let text = "Zurich & XYZ: 3.14 + 2 = 5.14 [#7] 100% \"a/b\" x@y.z (ok)!?;"
        XCTAssertEqual(loaded.alphabet.unknownCharacters(in: text), [])
        XCTAssertFalse(loaded.alphabet.encode(text).contains(Alphabet.unknownIndex))
        XCTAssertEqual(try TextPreparation.checked(text, alphabet: loaded.alphabet).text, text)
    }
}
