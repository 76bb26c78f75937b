import Foundation
import QuillData
import QuillModels
import QuillNN
import QuillNumerics
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// `quill char train --cell tcn|nnn` (issue 15 items 5 and 6): a run trains, resumes, samples and evaluates, and
/// each nonsense combination gets one clear line before any work starts.
final class ConvolutionCLITests: XCTestCase {
    var dir = TempDir.unmade

    override func setUp() {
        dir = TempDir("quill-conv")
        try? String(repeating: "to be or not to be, that is the question. ", count: 30)
            .write(toFile: dir.path("text.txt"), atomically: true, encoding: .utf8)
    }
    override func tearDown() { dir.cleanup() }

    func testTrainResumeSampleAndEvaluate() throws {
        let text = dir.path("text.txt")
        for (cell, extra) in [("tcn", ["--dilations", "1,2,4"]), ("nnn", ["--context", "6", "--layers", "2"])] {
            let out = dir.path(cell)
            XCTAssertEqual(errorText(["char", "train", "--data", text, "--out", out, "--cell", cell, "--hidden", "16",
                                      "--batch", "4", "--seq", "20", "--steps", "6", "--eval-every", "3"] + extra), "no error")
            let loaded = try CharCheckpoint.load(dir.path("\(cell)/model.safetensors"))
            XCTAssertEqual(loaded.model.config.cell.rawValue, cell)
            XCTAssertEqual(loaded.model.config.layers, cell == "tcn" ? 3 : 2)
            XCTAssertEqual(loaded.model.config.dilations, cell == "tcn" ? [1, 2, 4] : nil)
            XCTAssertEqual(loaded.model.config.context, cell == "nnn" ? 6 : nil)
            // The same flags on --resume are accepted; others are refused.
            XCTAssertEqual(errorText(["char", "train", "--data", text, "--out", out, "--resume", "--steps", "8"] + extra),
                           "no error")
            XCTAssertTrue(errorText(["char", "train", "--data", text, "--out", out, "--resume", "--steps", "9",
                                     cell == "tcn" ? "--dilations" : "--context", cell == "tcn" ? "1,2,8" : "3"])
                .contains("differs from the checkpoint"), cell)
            XCTAssertTrue(errorText(["char", "train", "--data", text, "--out", out, "--resume", "--steps", "9",
                                     cell == "tcn" ? "--context" : "--dilations", cell == "tcn" ? "3" : "1,2"])
                .contains("needs --cell \(cell == "tcn" ? "nnn" : "tcn"); the checkpoint's cell is \(cell)"), cell)
            // --init-from takes the same network only: other dilations or another context have the same shapes.
            XCTAssertTrue(errorText(["char", "train", "--data", text, "--out", dir.path("\(cell)-init"), "--init-from", out,
                                     "--cell", cell, "--hidden", "16", "--steps", "1"]
                                    + (cell == "tcn" ? ["--dilations", "1,2,8"] : ["--context", "5", "--layers", "2"]))
                .contains("where this run has"), cell)
            XCTAssertEqual(errorText(["char", "sample", "--model", out, "--length", "20", "--seed", "3"]), "no error")
            XCTAssertEqual(errorText(["char", "sample", "--model", out, "--length", "10", "--beam", "3"]), "no error")
            XCTAssertEqual(errorText(["char", "eval", "--model", out, "--data", text, "--dynamic"]), "no error")
            XCTAssertTrue(errorText(["char", "cells", "--model", out, "--text", "to be", "-o", dir.path("c.png")])
                .contains("\(cell) models have none"), cell)
        }
    }

    func testNonsenseGivesOneClearLineBeforeAnyWork() {
        let base = ["char", "train", "--data", dir.path("text.txt"), "--out", dir.path("run"), "--steps", "2"]
        func error(_ extra: [String]) -> String { errorText(base + extra) }
        XCTAssertTrue(error(["--cell", "tcn", "--dilations", ""]).contains("--dilations is empty"))
        XCTAssertTrue(error(["--cell", "tcn", "--dilations", "1,4,2"]).contains("--dilations must increase strictly, got 1,4,2"))
        XCTAssertTrue(error(["--cell", "tcn", "--dilations", "1,1"]).contains("must increase strictly"))
        XCTAssertTrue(error(["--cell", "tcn", "--dilations", "1,x"]).contains("'x' is not a whole number"))
        XCTAssertTrue(error(["--cell", "tcn", "--dilations", ","]).contains("'' is not a whole number"))
        XCTAssertTrue(error(["--cell", "tcn", "--dilations", "0,1"]).contains("between 1 and 65536, got 0"))
        XCTAssertTrue(error(["--cell", "tcn", "--layers", "2", "--dilations", "1,2,4"])
            .contains("a TCN has one block per dilation: --layers 2 but 3 dilations"))
        XCTAssertTrue(error(["--cell", "lstm", "--dilations", "1,2"]).contains("--dilations needs --cell tcn"))
        XCTAssertTrue(error(["--cell", "nnn", "--context", "0"]).contains("--context must be between 1 and 256"))
        XCTAssertTrue(error(["--cell", "gru", "--context", "3"]).contains("--context needs --cell nnn"))
        XCTAssertTrue(error(["--cell", "nnn", "--dropout", "0.2"]).contains("have no dropout"))
        XCTAssertTrue(error(["--cell", "tcn", "--skip"]).contains("WaveNet's skip connections"))
        XCTAssertTrue(error(["--cell", "nnn", "--forget-bias", "1"]).contains("no forget gate"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("run")), "nothing was written")
        XCTAssertTrue(errorText(["task", "palindrome", "--cell", "tcn", "--length", "5", "--steps", "1", "--out", dir.path("t")])
            .contains("the memory tasks train recurrent cells"))
        XCTAssertTrue(errorText(["char", "sweep", "--data", dir.path("text.txt"), "--out", dir.path("s"), "--cell", "tcn",
                                 "--layers", "18", "--steps", "1"]).contains("at most 17 layers"))
        XCTAssertTrue(errorText(["char", "sweep", "--data", dir.path("text.txt"), "--out", dir.path("s"), "--cell", "lstm,foo",
                                 "--steps", "1"]).contains("'foo' is not a cell (lstm, gru,"))
        XCTAssertTrue(errorText(["char", "sweep", "--data", dir.path("text.txt"), "--out", dir.path("s"), "--layers", "1,,2",
                                 "--steps", "1"]).contains("'' is not a whole number"))
        // The carried state grows with the dilations: the memory check counts it before anything is allocated.
        let huge = errorText(base + ["--cell", "tcn", "--hidden", "16384", "--batch", "500", "--seq", "1",
                                     "--dilations", "65535,65536"])
        XCTAssertTrue(huge.contains("carried convolution state") && huge.contains("needs about"), huge)
        XCTAssertTrue(errorText(["char", "gradient-flow", "--cell", "rnn,nnn", "-o", dir.path("g.png")])
            .contains("nnn models have none"))
    }
}
