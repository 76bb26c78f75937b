import Foundation
import QuillData
import QuillModels
import QuillNN
import QuillNumerics
import QuillRender
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// `quill char similarity` end to end on small random models: a model map and a states map, and one clear line for
/// each bad input.
final class CharSimilarityCLITests: XCTestCase {
    var dir = TempDir.unmade
    var textPath: String { dir.path("text.txt") }
    var models: [String] { ["lstm-a", "lstm-b", "gru-a", "rnn-a"].map { dir.path($0) } }

    override func setUpWithError() throws {
        dir = TempDir("quill-similarity")
        let alphabet = Alphabet(text: "abcdefgh \n.")
        for (k, (path, cell)) in zip(models, [CellKind.lstm, .lstm, .gru, .rnn]).enumerated() {
            var rng = SeededGenerator(seed: UInt64(k + 1))
            let model = CharModel<Float>(config: CharModelConfig(cell: cell, layers: 2, hidden: 8, vocabularySize: alphabet.count),
                                         rng: &rng)
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try CharCheckpoint.save(model, alphabet: alphabet, to: (path as NSString).appendingPathComponent("model.safetensors"))
        }
        try String(repeating: "a bad cab. fed hag\nbe had\n", count: 4).write(toFile: textPath, atomically: true, encoding: .utf8)
    }

    override func tearDown() { dir.cleanup() }

    func similarity(_ models: [String], _ extra: [String]) -> [String] {
        ["char", "similarity", "--text", textPath, "--iterations", "300"] + models.flatMap { ["--model", $0] } + extra
    }

    func testAModelMapAndAStatesMap() throws {
        XCTAssertEqual(errorText(similarity(models, ["-o", dir.path("models.png")])), "no error")
        XCTAssertGreaterThan(try RasterImage.readPNG(dir.path("models.png")).count(differingFrom: .white), 2000)
        XCTAssertEqual(errorText(similarity(models, ["--labels", "one,two,three,four", "-o", dir.path("models.svg")])), "no error")
        let svg = try String(contentsOfFile: dir.path("models.svg"), encoding: .utf8)
        XCTAssertFalse(svg.isEmpty)
        XCTAssertEqual(errorText(similarity([models[0]], ["--states", "--layer", "1", "-o", dir.path("states.pdf")])), "no error")
        XCTAssertTrue(try Data(contentsOf: URL(fileURLWithPath: dir.path("states.pdf"))).starts(with: Data("%PDF".utf8)))
    }

    func testBadInputGivesOneClearLine() throws {
        let out = ["-o", dir.path("x.png")]
        XCTAssertTrue(errorText(similarity(Array(models.prefix(2)), out)).contains("give --model at least 3 times (got 2)"))
        XCTAssertTrue(errorText(similarity(Array(models.prefix(2)), ["--states"] + out)).contains("--states maps one model's states"))
        XCTAssertTrue(errorText(similarity(models, ["--layer", "1"] + out)).contains("--layer goes with --states"))
        XCTAssertTrue(errorText(similarity(models, ["--labels", "a,b"] + out)).contains("--labels names 2 models but --model is given 4 times"))
        XCTAssertEqual(errorText(similarity([models[0]], ["--states", "--layer", "3"] + out)),
                       "quill: error: --layer 3 doesn't exist: the model has 2 layers (1…2)")
        let many = errorText(similarity(models, ["--perplexity", "4"] + out))
        XCTAssertTrue(many.contains("perplexity 4") && many.contains("below the number of points (4)"), many)
        try "ab☃ cé".write(toFile: dir.path("odd.txt"), atomically: true, encoding: .utf8)
        let odd = errorText(["char", "similarity", "--text", dir.path("odd.txt")] + models.flatMap { ["--model", $0] } + out)
        XCTAssertTrue(odd.contains("'☃'") && odd.contains("lstm-a"), odd)
        try "ab".write(toFile: dir.path("short.txt"), atomically: true, encoding: .utf8)
        XCTAssertTrue(errorText(["char", "similarity", "--text", dir.path("short.txt"), "--states", "--model", models[0]] + out)
            .contains("at least 4"))
        XCTAssertTrue(errorText(similarity(models + [dir.path("missing")], out)).contains("missing"))
        XCTAssertTrue(errorText(similarity(models + [models[1]], out)).contains("is given twice"))
        XCTAssertTrue(errorText(similarity(models, ["--labels", "a,,c,d"] + out)).contains("--labels has an empty name"))
        let three = errorText(similarity(Array(models.prefix(3)), ["--perplexity", "3"] + out))
        XCTAssertTrue(three.contains("try 1"), three)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("x.png")))
    }
}
