import Foundation
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// `quill char train --optimizer hf`: a run trains and resumes; options it ignores, and trainers it does not serve,
/// get one clear line before any work.
final class HessianFreeCLITests: XCTestCase {
    var dir = TempDir.unmade

    override func setUp() {
        dir = TempDir("quill-hf")
        try? String(repeating: "to be or not to be, that is the question. ", count: 30)
            .write(toFile: dir.path("text.txt"), atomically: true, encoding: .utf8)
    }
    override func tearDown() { dir.cleanup() }

    func testTrainsAndResumes() {
        let base = ["char", "train", "--data", dir.path("text.txt"), "--out", dir.path("run")]
        XCTAssertEqual(errorText(base + ["--optimizer", "hf", "--cell", "mrnn", "--layers", "1", "--hidden", "8",
                                         "--batch", "4", "--seq", "10", "--steps", "2", "--cg-iterations", "5",
                                         "--damping", "2", "--structural-damping", "0"]), "no error")
        XCTAssertEqual(errorText(base + ["--resume", "--steps", "3"]), "no error")
        XCTAssertTrue(errorText(base + ["--resume", "--steps", "4", "--lr", "0.1"]).contains("has no learning rate"))
        XCTAssertTrue(errorText(base + ["--resume", "--steps", "4", "--damping", "3"]).contains("differs from the checkpoint"))
        // A run of another optimiser has no damping to compare.
        let adam = ["char", "train", "--data", dir.path("text.txt"), "--out", dir.path("adam")]
        XCTAssertEqual(errorText(adam + ["--cell", "rnn", "--hidden", "8", "--batch", "4", "--seq", "10", "--steps", "1"]), "no error")
        XCTAssertTrue(errorText(adam + ["--resume", "--steps", "2", "--damping", "3"])
            .contains("are settings of --optimizer hf; the run in"))
    }

    func testNonsenseGivesOneClearLine() {
        let base = ["char", "train", "--data", dir.path("text.txt"), "--out", dir.path("bad"), "--steps", "1"]
        func error(_ extra: [String]) -> String { errorText(base + extra) }
        XCTAssertTrue(error(["--optimizer", "hf", "--cell", "gru"]).contains("not gru"))
        XCTAssertTrue(error(["--optimizer", "hf", "--cell", "rnn", "--lr", "0.1"]).contains("drop --lr"))
        XCTAssertTrue(error(["--optimizer", "hf", "--cell", "rnn", "--clip", "1"]).contains("takes no --clip"))
        XCTAssertTrue(error(["--optimizer", "hf", "--cell", "rnn", "--lr-decay", "0.5"]).contains("no learning rate to decay"))
        XCTAssertTrue(error(["--optimizer", "hf", "--cell", "rnn", "--clip-value", "1"]).contains("takes no --clip"))
        XCTAssertTrue(error(["--optimizer", "hf", "--cell", "rnn", "--weight-noise", "0.1"]).contains("drop --weight-noise"))
        XCTAssertTrue(error(["--optimizer", "hf", "--cell", "rnn", "--dropout", "0.1"]).contains("--dropout must be 0"))
        XCTAssertTrue(error(["--cell", "rnn", "--damping", "2"]).contains("give --optimizer hf"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("bad")))
        XCTAssertTrue(errorText(["train", "prediction", "--data", dir.path("x.qds"), "--out", dir.path("p"), "--steps", "1",
                                 "--optimizer", "hf"]).contains("--optimizer hf trains char models"))
    }
}
