import Foundation
import QuillTestSupport
import XCTest

/// `quill char eval --part val|train` on a model trained with `--val-fraction 0` splits at the default fraction, and
/// says so on standard error: the model held nothing out, so on its own text that "validation" part was trained on.
final class CharEvalHeldOutTests: XCTestCase {
    func testAModelThatHeldOutNothingIsNamed() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("text.txt"), run = dir.path("run")
        try String(repeating: "to be or not to be.\n", count: 40).write(toFile: data, atomically: true, encoding: .utf8)
        let train = try runQuill(["char", "train", "--data", data, "--out", run, "--hidden", "8", "--layers", "1",
                               "--batch", "2", "--seq", "8", "--steps", "2", "--eval-every", "2", "--sample-length", "0",
                               "--val-fraction", "0"])
        XCTAssertEqual(train.status, 0, train.err)
        let val = try runQuill(["char", "eval", "--model", run, "--data", data, "--part", "val"])
        XCTAssertEqual(val.status, 0, val.err)
        XCTAssertTrue(val.err.contains("held out none of its training text (--val-fraction 0): --part val splits at "
                                       + "the default 0.1"), val.err)
        XCTAssertTrue(val.out.contains("(val, "), val.out)
        for args in [["--part", "val", "--val-fraction", "0.2"], ["--part", "all"]] {
            let quiet = try runQuill(["char", "eval", "--model", run, "--data", data] + args)
            XCTAssertEqual(quiet.status, 0, quiet.err)
            XCTAssertFalse(quiet.err.contains("held out none"), "\(args): \(quiet.err)")
        }
    }
}
