import Foundation
import QuillData
import QuillModels
import QuillNumerics
import QuillRender
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// `quill task` and `quill char gradient-flow` end to end on tiny networks, and one clear line for each bad input.
final class TaskCLITests: XCTestCase {
    var dir = TempDir("quill-task")

    override func setUp() { dir = TempDir("quill-task") }
    override func tearDown() { dir.cleanup() }

    let tiny = ["--steps", "4", "--hidden", "4", "--batch", "3", "--eval-every", "2", "--eval-sequences", "5"]

    func testFigures() throws {
        XCTAssertEqual(errorText(["task", "palindrome", "--cell", "rnn,lstm", "--length", "3", "-o", dir.path("p.png")] + tiny), "no error")
        XCTAssertGreaterThan(try RasterImage.readPNG(dir.path("p.png")).count(differingFrom: .white), 2000)
        XCTAssertEqual(errorText(["task", "copy", "--cell", "gru", "--lengths", "2,3", "-o", dir.path("c.svg")] + tiny), "no error")
        XCTAssertEqual(errorText(["task", "adding", "--cell", "rnn-relu", "--lengths", "2,4", "-o", dir.path("a.pdf")] + tiny), "no error")
        XCTAssertEqual(errorText(["char", "gradient-flow", "--cell", "rnn,lstm,gru", "--length", "6", "--hidden", "4",
                                  "--batch", "2", "-o", dir.path("g.png")]), "no error")
        XCTAssertGreaterThan(try RasterImage.readPNG(dir.path("g.png")).count(differingFrom: .white), 2000)
        // A trained (here: saved) model, reading windows of a text.
        let alphabet = Alphabet(text: "abc \n")
        var rng = SeededGenerator(seed: 5)
        let model = CharModel<Float>(config: CharModelConfig(cell: .gru, layers: 2, hidden: 5, vocabularySize: alphabet.count), rng: &rng)
        try CharCheckpoint.save(model, alphabet: alphabet, to: dir.path("m.safetensors"))
        try String(repeating: "abc cab\n", count: 5).write(toFile: dir.path("t.txt"), atomically: true, encoding: .utf8)
        XCTAssertEqual(errorText(["char", "gradient-flow", "--model", dir.path("m.safetensors"), "--text", dir.path("t.txt"),
                                  "--length", "8", "-o", dir.path("gm.svg")]), "no error")
        XCTAssertTrue(errorText(["char", "gradient-flow", "--model", dir.path("m.safetensors"), "--text", dir.path("t.txt"),
                                 "--length", "50", "-o", dir.path("gm2.svg")]).contains("needs at least 51"))
    }

    func testBadInputGivesOneClearLine() {
        let out = ["-o", dir.path("x.png")]
        XCTAssertTrue(errorText(["task", "palindrome", "--length", "1"] + out)
            .hasPrefix("Error: --length must be at least 2 (a task needs a step to read and one to score), got 1"))
        XCTAssertTrue(errorText(["task", "palindrome", "--lengths", "5,1"] + out).contains("--lengths must be at least 2"))
        XCTAssertTrue(errorText(["task", "sorting", "--length", "5"] + out).contains("sorting"))
        XCTAssertTrue(errorText(["task", "copy", "--cell", "lstn", "--length", "5"] + out).contains("'lstn'"))
        XCTAssertTrue(errorText(["task", "copy"] + out).contains("give --length T or --lengths"))
        XCTAssertTrue(errorText(["task", "copy", "--length", "3", "--lengths", "3"] + out).contains("one of them"))
        XCTAssertTrue(errorText(["task", "copy", "--length", "3", "-o", dir.path("x.gif")]).contains(".png"))
        XCTAssertTrue(errorText(["char", "gradient-flow", "--length", "1"] + out).contains("--length must be at least 2"))
        XCTAssertTrue(errorText(["char", "gradient-flow", "--cell", "lstm,tree"] + out).contains("'tree'"))
        XCTAssertTrue(errorText(["char", "gradient-flow", "--text", dir.path("t.txt")] + out).contains("--text is read by --model"))
        XCTAssertTrue(errorText(["char", "gradient-flow", "--model", dir.path("none"), "--cell", "rnn"] + out).contains("--cell"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("x.png")))
    }
}
