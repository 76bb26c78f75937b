import Foundation
import QuillData
import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillModels

/// The alphabet's text policy in checkpoints: stored (`quill.text-policy`) only when it is not the model family's
/// default, so the default leaves a checkpoint's bytes as they were; read as the default when absent, as in every
/// checkpoint written before the field existed (the committed models among them).
final class TextPolicyCheckpointTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    func testCheckpointsWithoutAPolicyGetTodaysBehaviour() throws {
        let synthesis = Self.root.appendingPathComponent("models/synthesis/model.safetensors").path
        guard FileManager.default.fileExists(atPath: synthesis) else { throw XCTSkip("no committed models") }
        // The bundled synthesis model (since 2026-12-02) writes every character people type: 84 symbols.
        for (path, kind, symbols) in [(synthesis, HandwritingKind.synthesis, 84),
                                      (Self.root.appendingPathComponent("models/prediction/model.safetensors").path, .prediction, 75)] {
            let loaded = try HandwritingCheckpoint.load(path, expecting: kind)
            XCTAssertNil(loaded.file.metadata["quill.text-policy"], "\(path) predates the field")
            XCTAssertEqual(loaded.alphabet.textPolicy, .substituting)
            XCTAssertTrue(loaded.alphabet.hasUnknownSymbol)
            XCTAssertEqual(loaded.alphabet.count, symbols)
        }
        // Substitution and refusal as `quill write` always did them, with the committed model's alphabet.
        let alphabet = try HandwritingCheckpoint.load(synthesis, expecting: .synthesis).alphabet
        XCTAssertEqual(try TextPreparation.checked("“Café” — ok", alphabet: alphabet).text, "\"Cafe\" - ok")
        XCTAssertThrowsError(try TextPreparation.checked("snow ☃", alphabet: alphabet))

        let char = Self.root.appendingPathComponent("Fuzz/Corpus/safetensors/char-tiny.safetensors").path
        let loaded = try CharCheckpoint.load(char)
        XCTAssertNil(loaded.file.metadata["quill.text-policy"])
        XCTAssertEqual(loaded.alphabet.textPolicy, .strict)
        XCTAssertFalse(loaded.alphabet.hasUnknownSymbol)
    }

    func testAPolicyOtherThanTheDefaultIsStoredAndRead() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var rng = SeededGenerator(seed: 1)
        let model = HandwritingModel<Float>(config: HandwritingConfig(kind: .synthesis, layers: 1, hidden: 4,
                                                                       mixture: MixtureDensity(components: 2),
                                                                       alphabetSize: 3), rng: &rng)
        let stats = OffsetStatistics(meanDx: 1, meanDy: 0, stdDx: 2, stdDy: 3)
        var alphabet = try Alphabet(storedSymbols: ["\u{FFFD}", "a", "b"])
        try HandwritingCheckpoint.save(model, alphabet: alphabet, stats: stats, to: dir.path("default.safetensors"))
        XCTAssertNil(try SafeTensors.read(dir.path("default.safetensors")).metadata["quill.text-policy"])

        alphabet.textPolicy = TextPolicy(substitutes: false, unknown: .unknownSymbol)
        try HandwritingCheckpoint.save(model, alphabet: alphabet, stats: stats, to: dir.path("own.safetensors"))
        let loaded = try HandwritingCheckpoint.load(dir.path("own.safetensors"))
        XCTAssertEqual(loaded.file.metadata["quill.text-policy"], #"{"substitutes":false,"unknown":"unknown-symbol"}"#)
        XCTAssertEqual(loaded.alphabet, alphabet)
        // The policy reaches the text: an unknown character is read as the unknown symbol instead of refused.
        let sampler = HandwritingSampler(model: loaded.model, alphabet: loaded.alphabet, stats: loaded.stats)
        let line = try TextPreparation.line("ab☃", alphabet: sampler.alphabet).text
        XCTAssertEqual(sampler.encode(line), [1, 2, 0])

        let char = CharModel<Float>(config: CharModelConfig(layers: 1, hidden: 4, vocabularySize: 3), rng: &rng)
        try CharCheckpoint.save(char, alphabet: Alphabet(text: "abc"), to: dir.path("char.safetensors"))
        XCTAssertNil(try SafeTensors.read(dir.path("char.safetensors")).metadata["quill.text-policy"])
        try CharCheckpoint.save(char, alphabet: Alphabet(characters: ["a", "b", "c"], textPolicy: .substituting),
                                to: dir.path("char-own.safetensors"))
        let charLoaded = try CharCheckpoint.load(dir.path("char-own.safetensors"))
        XCTAssertEqual(charLoaded.alphabet.textPolicy, .substituting)
        XCTAssertEqual(try charLoaded.alphabet.userTokens("c\u{200B}á", source: "the priming text"), [2, 0])
        XCTAssertThrowsError(try charLoaded.alphabet.userTokens("cz", source: "the priming text")) {
            XCTAssertEqual("\($0)", "the priming text has characters the model's vocabulary lacks: 'z'; remove them or train on text that has them")
        }
    }

    func testABadPolicyIsACorruptCheckpoint() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        var rng = SeededGenerator(seed: 1)
        let char = CharModel<Float>(config: CharModelConfig(layers: 1, hidden: 4, vocabularySize: 2), rng: &rng)
        for (value, expected) in [(#"{"unknown":"guess"}"#, "unreadable quill.text-policy"),
                                  (#"{"substitutes":false,"unknown":"unknown-symbol"}"#, "the alphabet has none")] {
            let path = dir.path("c.safetensors")
            try CharCheckpoint.save(char, alphabet: Alphabet(text: "ab"), to: path, metadata: ["quill.text-policy": value])
            XCTAssertThrowsError(try CharCheckpoint.load(path)) { e in
                XCTAssertTrue("\(e)".contains(expected), "\(e)")
            }
        }
    }

    /// Styles keep their file form: a committed style saved again is the same bytes.
    func testStylesKeepTheirBytes() throws {
        let model = Self.root.appendingPathComponent("models/synthesis").path
        guard FileManager.default.fileExists(atPath: model) else { throw XCTSkip("no committed models") }
        let dir = TempDir(); defer { dir.cleanup() }
        for name in HandwritingStyle.names(model: model) {
            let style = try HandwritingStyle.load(name: name, model: model)
            XCTAssertEqual(style.prime.rows.first?.offset, .zero)
            try style.save(model: dir.url.path)
            let file = "styles/\(name).json"
            XCTAssertEqual(FileManager.default.contents(atPath: dir.path(file)),
                           FileManager.default.contents(atPath: (model as NSString).appendingPathComponent(file)), name)
        }
    }
}
