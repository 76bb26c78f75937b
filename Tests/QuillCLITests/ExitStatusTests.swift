import Foundation
import QuillData
import QuillIO
import QuillModels
import QuillRender
import QuillTestSupport
import XCTest
@testable import QuillCLI

/// The documented exit statuses, from the binary: a usage error, a missing and a corrupt input, text the model cannot
/// write, an output that cannot be written; and the mapping of each kind of error.
final class ExitStatusTests: XCTestCase {
    func status(_ args: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = BadInputSuiteTests.quill
        process.arguments = args
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    func testStatusesFromTheBinary() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try Data("not a checkpoint".utf8).write(to: URL(fileURLWithPath: dir.path("bad.safetensors")))
        XCTAssertEqual(try status(["write", "hi", "-o", dir.path("a.png"), "--no-such-option"]), 64)
        XCTAssertEqual(try status(["write", "hi", "-o", dir.path("a.png"), "--bias", "99"]), 64)
        XCTAssertEqual(try status(["write", "hi", "-o", dir.path("a.png"), "--model", dir.path("missing")]), 66)
        XCTAssertEqual(try status(["write", "hi", "-o", dir.path("a.png"), "--model", dir.path("bad.safetensors")]), 65)
        XCTAssertEqual(try status(["char", "train", "--data", dir.path("none.txt"), "--out", dir.path("run"), "--steps", "1"]), 66)
        try Data("the cat sat on the mat. ".utf8).write(to: URL(fileURLWithPath: dir.path("t.txt")))
        XCTAssertEqual(try status(["char", "train", "--data", dir.path("t.txt"), "--out", dir.path("nothere"), "--resume", "--steps", "1"]), 66)
        // A run directory that cannot be made is an output problem (74), named as such.
        let unmade = try runQuill(["char", "train", "--data", dir.path("t.txt"), "--out", dir.path("t.txt/run"), "--steps", "1",
                                   "--batch", "1", "--seq", "4"])
        XCTAssertEqual(unmade.status, 74, unmade.err)
        XCTAssertTrue(unmade.err.contains("t.txt: cannot create it: it is a file, not a directory; choose another path"), unmade.err)
        if FileManager.default.fileExists(atPath: DefaultModel.synthesis + "/model.safetensors") {
            XCTAssertEqual(try status(["write", "hi ☃", "-o", dir.path("a.png")]), 65)
            XCTAssertEqual(try status(["write", "hi", "-o", dir.path("no/such/dir/a.png")]), 74)
            // --job: a bad file, a missing one, a job with colours for an output without ink, the text twice.
            let job = dir.path("job.json"), inked = dir.path("inked.json")
            try Data(#"{"lines": [{"text": "hi", "bias": 30}]}"#.utf8).write(to: URL(fileURLWithPath: job))
            try Data(#"{"lines": [{"text": "hi", "color": "red"}]}"#.utf8).write(to: URL(fileURLWithPath: inked))
            XCTAssertEqual(try status(["write", "--job", job, "-o", dir.path("a.png")]), 65)
            let blank = dir.path("blank.json")
            try Data(#"{"lines": [{"text": ""}, {"text": "  "}]}"#.utf8).write(to: URL(fileURLWithPath: blank))
            let r = try runQuill(["write", "--job", blank, "-o", dir.path("a.png")])
            XCTAssertEqual(r.status, 65, r.err)
            XCTAssertTrue(r.err.contains("blank.json: every line of the job is blank; give some text to write"), r.err)
            XCTAssertEqual(try status(["write", "--job", dir.path("none.json"), "-o", dir.path("a.png")]), 66)
            XCTAssertEqual(try status(["write", "--job", inked, "-o", dir.path("a.json")]), 64)
            XCTAssertEqual(try status(["write", "hi", "--job", inked, "-o", dir.path("a.png")]), 64)
        }
    }

    /// An argument that is not UTF-8 (a file name in Latin-1) is refused with 64 and shown by byte: Swift would hand
    /// the command U+FFFD in its place, and `-o` would write a file of another name.
    func testAnArgumentThatIsNotUTF8IsRefused() throws {
        XCTAssertNil(QuillEntry.undecodableArgument([Array("write".utf8), Array("héllo ☃".utf8)]))
        let line = try XCTUnwrap(QuillEntry.undecodableArgument([Array("-o".utf8), [0x63, 0xFF, 0x0A] + Array(".png".utf8)]))
        XCTAssertTrue(line.contains("argument 2 (c\\xFF\\x0A.png) is not valid UTF-8"), line)
        let dir = TempDir(); defer { dir.cleanup() }
        // The bytes reach quill through the shell: Process takes only Strings.
        func shell(_ script: String) throws -> (status: Int32, err: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", script, BadInputSuiteTests.quill.path, dir.path("")]
            let err = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = err
            try process.run()
            let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }
        let (status, e) = try shell(#""$0" write hi -o "$1/$(printf 'a\377').png""#)
        XCTAssertEqual(status, 64, e)
        XCTAssertTrue(e.contains("argument 4 (") && e.contains("/a\\xFF.png) is not valid UTF-8"), e)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path("")), [])
        // A backslash typed in the argument is not mistaken for an escape; QUILL_MODEL_DIR is checked too.
        XCTAssertEqual(QuillEntry.shownBytes([0x5C, 0x78, 0xFF]), "\\\\x\\xFF")
        let (status2, e2) = try shell(#"QUILL_MODEL_DIR="$(printf '/tmp/m\377')" "$0" write hi -o "$1/a.png""#)
        XCTAssertEqual(status2, 64, e2)
        XCTAssertTrue(e2.contains("QUILL_MODEL_DIR (/tmp/m\\xFF) is not valid UTF-8"), e2)
    }

    /// Output that cannot all be written to standard output (a full disk) ends with 74 and says so, not 0.
    func testAFullStandardOutputIs74() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        guard let full = FileHandle(forWritingAtPath: "/dev/full") else { throw XCTSkip("no /dev/full") }
        try String(repeating: "the cat sat on the mat.\n", count: 20).write(toFile: dir.path("t.txt"), atomically: true, encoding: .utf8)
        let ngram = dir.path("ng")
        XCTAssertEqual(try status(["ngram", "train", "--data", dir.path("t.txt"), "--out", ngram, "--order", "2"]), 0)
        let process = Process()
        process.executableURL = BadInputSuiteTests.quill
        process.arguments = ["ngram", "sample", "--model", ngram, "--length", "100000"]
        process.standardOutput = full
        let err = Pipe()
        process.standardError = err
        try process.run()
        let e = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 74, e)
        XCTAssertTrue(e.contains("standard output could not be written (No space left on device)"), e)
        // --help too.
        let help = Process()
        help.executableURL = BadInputSuiteTests.quill
        help.arguments = ["char", "train", "--help"]
        help.standardOutput = full
        help.standardError = FileHandle.nullDevice
        try help.run()
        help.waitUntilExit()
        XCTAssertEqual(help.terminationStatus, 74)
    }

    func testEveryKindOfErrorHasItsStatus() {
        XCTAssertEqual(ExitStatus.of(FileSystemError(path: "x", operation: .read, code: ENOENT)), .noInput)
        XCTAssertEqual(ExitStatus.of(FileSystemError(path: "x", operation: .write, code: ENOSPC)), .ioError)
        XCTAssertEqual(ExitStatus.of(CheckpointError.corrupt("x", "y")), .dataError)
        XCTAssertEqual(ExitStatus.of(CheckpointError.missing("x")), .noInput)
        XCTAssertEqual(ExitStatus.of(TrainingError.diverged(step: 3, why: "w", dir: "d", checkpoint: nil)), .failure)
        XCTAssertEqual(ExitStatus.of(TrainingError.invalidOption("x")), .usage)
        XCTAssertEqual(ExitStatus.of(TrainingError.missingInput("x")), .noInput)
        XCTAssertEqual(ExitStatus.of(CLIError("x")), .dataError)
        XCTAssertEqual(ExitStatus.of(TextError("x")), .dataError)
        XCTAssertEqual(ExitStatus.of(NSError(domain: NSCocoaErrorDomain, code: NSFileReadNoSuchFileError)), .noInput)
        // Options of `data import` and `plot histograms` are usage errors; a prepared file that cannot be written
        // is an output failure (it used to read as a missing input).
        XCTAssertEqual(ExitStatus.of(DatasetError.unknownFormat("foo")), .usage)
        XCTAssertEqual(ExitStatus.of(DatasetError.invalidOption("x")), .usage)
        XCTAssertEqual(ExitStatus.of(DatasetError.io("x", "cannot read it")), .noInput)
        XCTAssertEqual(ExitStatus.of(HistogramLogError.unknownParameter(path: "m", name: "nope", known: ["a"])), .usage)
        XCTAssertEqual(ExitStatus.of(HistogramLogError.noHistograms(path: "m")), .dataError)
        XCTAssertEqual(ExitStatus.of(HistogramLogError.notLogged(path: "m", name: "a", gradients: true)), .dataError)
        XCTAssertThrowsError(try PreparedFormat.writeAtomically(Data([1]), to: "/nonexistent/x.qds")) {
            XCTAssertEqual(ExitStatus.of($0), .ioError, "\($0)")
        }
        for status in ExitStatus.allCases where status != .success {
            XCTAssertTrue(ExitStatus.summary.contains("\(status.rawValue) "), "\(status) is documented")
        }
    }
}
