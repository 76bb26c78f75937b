import Foundation
import QuillData
import QuillModels
import QuillNN
import QuillNumerics
import QuillRender
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// `quill char cells` end to end on a small random model: figures in every format, and one clear line for each bad
/// input.
final class CharCellsCLITests: XCTestCase {
    var dir = TempDir.unmade
    var modelPath: String { dir.path("model.safetensors") }
    var textPath: String { dir.path("text.txt") }

    override func setUpWithError() throws {
        dir = TempDir("quill-cells")
        let alphabet = Alphabet(text: "abcdefgh \n\"()")
        var rng = SeededGenerator(seed: 5)
        let model = CharModel<Float>(config: CharModelConfig(cell: .lstm, layers: 2, hidden: 8, vocabularySize: alphabet.count),
                                     rng: &rng)
        try CharCheckpoint.save(model, alphabet: alphabet, to: modelPath)
        try String(repeating: "a \"bad cab\" (fed) hag\nbe had\n", count: 10).write(toFile: textPath, atomically: true, encoding: .utf8)
    }

    override func tearDown() { dir.cleanup() }

    func cells(_ extra: [String]) -> [String] { ["char", "cells", "--model", modelPath, "--text", textPath] + extra }

    func testFiguresInEveryFormat() throws {
        XCTAssertEqual(errorText(cells(["--find", "-o", dir.path("find.png")])), "no error")
        XCTAssertGreaterThan(try RasterImage.readPNG(dir.path("find.png")).count(differingFrom: .white), 2000)
        XCTAssertEqual(errorText(cells(["--unit", "3", "--layer", "1", "--value", "forget", "-o", dir.path("u.svg")])), "no error")
        XCTAssertEqual(errorText(cells(["--top", "2", "--value", "hidden", "-o", dir.path("top.pdf")])), "no error")
        XCTAssertEqual(errorText(cells(["--find", "--top", "2", "--layer", "2", "-o", dir.path("find.html")])), "no error")
        let page = try String(contentsOfFile: dir.path("find.html"), encoding: .utf8)
        // Four features vary over this text, two units each.
        XCTAssertEqual(page.components(separatedBy: "<h2>").count - 1, 8)
        XCTAssertTrue(page.contains("with inside quotes"))
        XCTAssertTrue(page.contains("layer 2, unit"))
        XCTAssertFalse(page.contains("layer 1, unit"))
    }

    /// Cells without a cell state colour by their hidden state unless --value says otherwise.
    func testCellsWithoutACellStateDefaultToHidden() throws {
        let alphabet = Alphabet(text: "abcdefgh \n\"()")
        var rng = SeededGenerator(seed: 6)
        for cell in [CellKind.rnn, .mrnn] {
            let model = CharModel<Float>(config: CharModelConfig(cell: cell, layers: 1, hidden: 6, vocabularySize: alphabet.count),
                                         rng: &rng)
            try CharCheckpoint.save(model, alphabet: alphabet, to: dir.path("\(cell).safetensors"))
            let args = ["char", "cells", "--model", dir.path("\(cell).safetensors"), "--text", textPath, "--top", "2"]
            XCTAssertEqual(errorText(args + ["-o", dir.path("\(cell).html")]), "no error")
            XCTAssertTrue(try String(contentsOfFile: dir.path("\(cell).html"), encoding: .utf8).contains(": hidden"))
            XCTAssertTrue(errorText(args + ["--value", "cell", "-o", dir.path("x.png")]).contains("has no such value"))
        }
    }

    func testBadInputGivesOneClearLine() throws {
        let out = ["-o", dir.path("x.png")]
        XCTAssertEqual(errorText(cells(["--layer", "3"] + out)), "quill: error: --layer 3 doesn't exist: the model has 2 layers (1…2)")
        XCTAssertEqual(errorText(cells(["--unit", "8"] + out)), "quill: error: --unit 8 doesn't exist: each layer has 8 units (0…7)")
        XCTAssertTrue(errorText(cells(["--value", "reset"] + out)).contains("a lstm layer has no such value; choose cell, hidden"))
        XCTAssertTrue(errorText(cells(["--value", "sideways"] + out)).contains("sideways"))
        XCTAssertTrue(errorText(cells(["--unit", "1", "--top", "2"] + out)).contains("give --unit or --top, not both"))
        XCTAssertTrue(errorText(cells(["--unit", "1", "--find"] + out)).contains("--find chooses the units"))
        XCTAssertTrue(errorText(cells(["-o", dir.path("x.gif")])).contains(".html"))
        try "ab☃ cé".write(toFile: dir.path("odd.txt"), atomically: true, encoding: .utf8)
        let odd = errorText(["char", "cells", "--model", modelPath, "--text", dir.path("odd.txt")] + out)
        XCTAssertTrue(odd.contains("'☃'") && odd.contains("'é'"), odd)
        try "".write(toFile: dir.path("empty.txt"), atomically: true, encoding: .utf8)
        XCTAssertTrue(errorText(["char", "cells", "--model", modelPath, "--text", dir.path("empty.txt")] + out).contains("is empty"))
        // A text of one character: no feature varies (and r needs two values), so nothing is ranked.
        try "a".write(toFile: dir.path("flat.txt"), atomically: true, encoding: .utf8)
        XCTAssertTrue(errorText(["char", "cells", "--model", modelPath, "--text", dir.path("flat.txt"), "--find"] + out)
            .contains("nothing to rank"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("x.png")))
        // A unit or layer that doesn't exist is a usage error (exit status 64); option clashes are refused by the parser.
        for args in [cells(["--layer", "3"] + out), cells(["--unit", "99"] + out)] {
            do {
                var c = try Quill.parseCommand(args)
                try c.run()
                XCTFail("\(args) ran")
            } catch {
                XCTAssertEqual(ExitStatus.of(error), .usage, "\(args)")
            }
        }
    }
}
