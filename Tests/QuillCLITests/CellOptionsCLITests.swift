import Foundation
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// A cell's own options (`--factors`, `--learn-periods`) on --resume and --init-from, and --init-from naming the
/// option whose network differs (issue 15's bad input): the same value continues a run, another gets one line.
final class CellOptionsCLITests: XCTestCase {
    var dir = TempDir.unmade

    override func setUp() {
        dir = TempDir("quill-cell-options")
        try? String(repeating: "to be or not to be, that is the question. ", count: 30)
            .write(toFile: dir.path("text.txt"), atomically: true, encoding: .utf8)
    }
    override func tearDown() { dir.cleanup() }

    func train(_ out: String, _ extra: [String]) -> String {
        errorText(["char", "train", "--data", dir.path("text.txt"), "--out", dir.path(out), "--layers", "1",
                   "--batch", "4", "--seq", "20", "--eval-every", "3", "--sample-length", "0"] + extra)
    }

    func testResumeTakesTheRunsOwnCellOptions() {
        XCTAssertEqual(train("mrnn", ["--cell", "mrnn", "--hidden", "16", "--factors", "8", "--steps", "3"]), "no error")
        XCTAssertEqual(train("mrnn", ["--resume", "--factors", "8", "--steps", "4"]), "no error")
        XCTAssertTrue(train("mrnn", ["--resume", "--factors", "4", "--steps", "5"])
            .contains("--factors 4 differs from the checkpoint's 8"))
        XCTAssertEqual(train("phased", ["--cell", "phased-lstm", "--hidden", "8", "--learn-periods", "--steps", "3"]),
                       "no error")
        XCTAssertEqual(train("phased", ["--resume", "--learn-periods", "--steps", "4"]), "no error")
        // A new run still needs the cell the option belongs to.
        XCTAssertTrue(train("lstm", ["--factors", "8", "--steps", "3"]).contains("--factors needs --cell mrnn"))
        XCTAssertTrue(train("lstm", ["--learn-periods", "--steps", "3"]).contains("--learn-periods needs --cell phased-lstm"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("lstm")), "a refused run writes nothing")
    }

    func testInitFromMayChangeTrainingChoicesButNamesAnotherShapesOption() {
        XCTAssertEqual(train("fixed", ["--cell", "phased-lstm", "--hidden", "8", "--steps", "3"]), "no error")
        // Whether the periods are learnt is a training choice: the tensors are the same.
        XCTAssertEqual(train("learnt", ["--cell", "phased-lstm", "--hidden", "8", "--learn-periods", "--steps", "3",
                                        "--init-from", dir.path("fixed")]), "no error")
        XCTAssertTrue(train("wider", ["--cell", "phased-lstm", "--hidden", "12", "--steps", "3",
                                      "--init-from", dir.path("fixed")])
            .contains("has --hidden 8 where this run has 12"))
        XCTAssertTrue(train("embedded", ["--cell", "phased-lstm", "--hidden", "8", "--embedding", "4", "--steps", "3",
                                         "--init-from", dir.path("fixed")])
            .contains("has --embedding"))
    }
}
