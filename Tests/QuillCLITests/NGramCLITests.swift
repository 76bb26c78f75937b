import Foundation
import QuillIO
import QuillModels
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// `quill ngram train|eval|sample`, in process: the files they write, and their refusals.
final class NGramCLITests: XCTestCase {
    func testTrainEvalSampleEndToEnd() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("text.txt")
        try String(repeating: "to be or not to be, that is the question.\n", count: 30)
            .write(toFile: data, atomically: true, encoding: .utf8)
        let out = dir.path("run")
        XCTAssertEqual(errorText(["ngram", "train", "--data", data, "--order", "4", "--out", out]), "no error")
        let file = out + "/model.ngram"
        let model = try NGramFile.load(file)
        XCTAssertEqual(model.options.order, 4)
        XCTAssertEqual(model.options.smoothing, .kneserNey)
        // The same split as char train: the first 90% counted.
        XCTAssertEqual(model.trainingCharacters, CharTrainOptions.validationStart(count: 30 * 42, valFraction: 0.1))
        XCTAssertEqual(errorText(["ngram", "eval", "--model", out, "--data", data]), "no error")
        XCTAssertEqual(errorText(["ngram", "eval", "--model", file, "--data", data, "--part", "train"]), "no error")
        XCTAssertEqual(errorText(["ngram", "sample", "--model", out, "--length", "20", "--seed", "3", "--prime", "to "]), "no error")
        // A directory that holds a model is kept unless --force.
        XCTAssertTrue(errorText(["ngram", "train", "--data", data, "--order", "2", "--out", out])
            .contains("already holds an n-gram model"))
        XCTAssertEqual(try NGramFile.load(file).options.order, 4)
        XCTAssertEqual(errorText(["ngram", "train", "--data", data, "--order", "2", "--smoothing", "add-k", "--k", "0.25",
                                  "--out", out, "--force"]), "no error")
        XCTAssertEqual(try NGramFile.load(file).options.k, 0.25)

        // Text with characters the vocabulary lacks is refused, naming them.
        try "to be ☃ or ✓".write(toFile: dir.path("other.txt"), atomically: true, encoding: .utf8)
        let e = errorText(["ngram", "eval", "--model", out, "--data", dir.path("other.txt")])
        XCTAssertTrue(e.hasPrefix("quill: error: ") && e.contains("'☃', '✓'"), e)
        XCTAssertTrue(errorText(["ngram", "sample", "--model", out, "--prime", "Qx"]).contains("'Q', 'x'"))
    }

    /// A directory of the other kind of model is named as such; an --out that cannot be made is an I/O error (74).
    func testTheOtherKindOfModelAndAnUncreatableOut() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("text.txt")
        try String(repeating: "to be or not to be, that is the question.\n", count: 30)
            .write(toFile: data, atomically: true, encoding: .utf8)
        XCTAssertEqual(errorText(["ngram", "train", "--data", data, "--order", "3", "--out", dir.path("ngram")]), "no error")
        XCTAssertEqual(errorText(["char", "train", "--data", data, "--out", dir.path("char"), "--steps", "1", "--hidden", "4",
                                  "--layers", "1", "--batch", "2", "--seq", "4", "--sample-length", "0"]), "no error")
        XCTAssertTrue(errorText(["ngram", "eval", "--model", dir.path("char"), "--data", data])
            .contains("holds a neural model (model.safetensors), not an n-gram model"))
        XCTAssertTrue(errorText(["char", "eval", "--model", dir.path("ngram"), "--data", data])
            .contains("holds an n-gram model (model.ngram), not a char model"))
        try Data().write(to: URL(fileURLWithPath: dir.path("empty.txt")))
        XCTAssertTrue(errorText(["ngram", "train", "--data", dir.path("empty.txt"), "--order", "2", "--out", dir.path("e")])
            .contains("the file is empty; a model needs text to learn from"))
        try Data("x".utf8).write(to: URL(fileURLWithPath: dir.path("file")))
        let e = errorText(["ngram", "train", "--data", data, "--order", "2", "--out", dir.path("file/sub")])
        XCTAssertTrue(e.contains("cannot create"), e)
        XCTAssertEqual(ExitStatus.of(FileSystemError(path: "x", operation: .create, code: ENOTDIR)), .ioError)
        XCTAssertTrue(errorText(["char", "train", "--data", data, "--out", dir.path("char"), "--init-from", dir.path("char"),
                                 "--force", "--steps", "1"]).contains("is --out"))
    }

    func testBadInputIsOneLine() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let data = dir.path("short.txt")
        try "abcdefghij".write(toFile: data, atomically: true, encoding: .utf8)
        // 9 of the 10 characters are counted: order 10 is refused before any work, and nothing is written.
        let e = errorText(["ngram", "train", "--data", data, "--order", "10", "--out", dir.path("run")])
        XCTAssertTrue(e.hasPrefix("quill: error: ") && e.contains("--order 10 is above the length of the training text (9 of its 10 characters"), e)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("run")))
        XCTAssertTrue(errorText(["ngram", "train", "--data", data, "--order", "2", "--smoothing", "wb", "--out", dir.path("run")])
            .contains("--smoothing must be kn or add-k"))
        XCTAssertTrue(errorText(["ngram", "train", "--data", data, "--order", "2", "--k", "1", "--out", dir.path("run")])
            .contains("--k applies to --smoothing add-k only"))
        XCTAssertTrue(errorText(["ngram", "train", "--data", data, "--order", "2", "--out", data])
            .contains("is a file, not a directory"))
        XCTAssertTrue(errorText(["ngram", "eval", "--model", dir.path("none"), "--data", data]).contains("no such model file"))
        // A truncated model file is one line.
        XCTAssertEqual(errorText(["ngram", "train", "--data", data, "--order", "2", "--out", dir.path("run")]), "no error")
        let file = dir.path("run/model.ngram")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        try bytes.prefix(bytes.count - 3).write(to: URL(fileURLWithPath: file))
        let t = errorText(["ngram", "sample", "--model", dir.path("run")])
        XCTAssertTrue(t.hasPrefix("quill: error: ") && t.contains("corrupt or truncated") && !t.contains("\n"), t)
    }
}
