import Foundation
import QuillTestSupport
import XCTest
@testable import QuillIO

final class FileLayerTests: XCTestCase {
    override func tearDown() { FaultInjection.failWrites(after: nil) }

    func temporaries(in dir: TempDir) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir.url.path)) ?? []).filter { $0.hasPrefix(".") }
    }

    func testWriteIsCompleteAndLeavesNoTemporary() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("out.bin")
        try AtomicOutput.write(Data("new".utf8), to: path)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: path)), Data("new".utf8))
        XCTAssertEqual(temporaries(in: dir), [])
    }

    func testFailedWriteKeepsTheOldFileAndRemovesTheTemporary() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("out.bin")
        try AtomicOutput.write(Data("good old content".utf8), to: path)
        for limit in [0, 1, 5, 4095] {
            FaultInjection.failWrites(after: limit)
            XCTAssertThrowsError(try AtomicOutput.write(Data(repeating: 7, count: 4096), to: path)) { error in
                let e = error as? FileSystemError
                XCTAssertEqual(e?.isOutOfSpace, true)
                XCTAssertEqual(e?.description, "\(path): cannot write it: no space left on the device; free some space and run again")
            }
        }
        FaultInjection.failWrites(after: nil)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "good old content")
        XCTAssertEqual(temporaries(in: dir), [])
    }

    func testStreamingOutputAbandonedWithoutCommitLeavesNothing() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("stream.txt")
        do {
            let out = try AtomicOutput(path: path)
            try out.write(Data("half".utf8))
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertEqual(temporaries(in: dir), [])
    }

    func testSymlinkStaysALinkAndModeIsKept() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let real = dir.path("real.txt"), link = dir.path("link.txt")
        try Data("a".utf8).write(to: URL(fileURLWithPath: real))
        chmod(real, 0o640)
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "real.txt")
        try AtomicOutput.write(Data("b".utf8), to: link)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), "real.txt")
        XCTAssertEqual(try String(contentsOfFile: real, encoding: .utf8), "b")
        var st = stat()
        XCTAssertEqual(stat(real, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o640)
    }

    func testReadOnlyFileAndDirectoryAreRefusedNotReplaced() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("locked.txt")
        try Data("keep".utf8).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o444)
        // Refused for root too, whom access() would let write.
        XCTAssertThrowsError(try AtomicOutput.write(Data("x".utf8), to: path)) { error in
            XCTAssertTrue("\(error)".contains("read-only"), "\(error)")
        }
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "keep")
        XCTAssertThrowsError(try AtomicOutput.write(Data("x".utf8), to: dir.url.path)) { error in
            XCTAssertEqual("\(error)", "\(dir.url.path): cannot write it: it is a directory; give the path of a file")
        }
        XCTAssertThrowsError(try AtomicOutput.write(Data("x".utf8), to: dir.path("missing/out.txt"))) { error in
            XCTAssertTrue("\(error)".contains("its directory does not exist"), "\(error)")
        }
        // A link into a missing directory: the target's directory is the one missing.
        try FileManager.default.createSymbolicLink(atPath: dir.path("link.png"), withDestinationPath: dir.path("gone/x.png"))
        XCTAssertThrowsError(try AtomicOutput.write(Data("x".utf8), to: dir.path("link.png"))) { error in
            XCTAssertTrue("\(error)".contains("its directory does not exist"), "\(error)")
        }
        // /proc exists but takes no new files: said as such, not as a missing directory.
        if FileManager.default.fileExists(atPath: "/proc/self") {
            XCTAssertThrowsError(try AtomicOutput.write(Data("x".utf8), to: "/proc/quill-test.png")) { error in
                XCTAssertEqual("\(error)", "/proc/quill-test.png: cannot write it: its directory accepts no new files "
                               + "(a special file system such as /proc); choose another path")
            }
        }
    }

    func testStaleTemporariesOfDeadProcessesAreRemoved() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        // A pid far above pid_max on Linux cannot be alive.
        let dead: pid_t = 99_999_999
        let names = [".last.safetensors.quill-tmp-\(dead)-abc", ".x.qds.tmp-\(dead)", ".page.png.\(dead).12345.tmp",
                     ".mine.quill-tmp-\(getpid())-1", ".other.quill-tmp-1-2", "keep.txt", ".hidden"]
        for n in names { FileManager.default.createFile(atPath: dir.path(n), contents: Data()) }
        XCTAssertEqual(Temporaries.removeStale(named: "last.safetensors", in: dir.url.path), [".last.safetensors.quill-tmp-\(dead)-abc"])
        XCTAssertEqual(Temporaries.removeStale(in: dir.url.path), [".page.png.\(dead).12345.tmp", ".x.qds.tmp-\(dead)"])
        let left = Set(try FileManager.default.contentsOfDirectory(atPath: dir.url.path))
        XCTAssertEqual(left, [".mine.quill-tmp-\(getpid())-1", ".other.quill-tmp-1-2", "keep.txt", ".hidden"])
    }

    func testAppendFailureCutsBackToTheLastWholeRecord() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("metrics.jsonl")
        let log = try AppendFile(path: path)
        try log.append(Data("{\"step\":1}\n".utf8))
        FaultInjection.failWrites(after: 3)
        XCTAssertThrowsError(try log.append(Data("{\"step\":2}\n".utf8))) { error in
            XCTAssertEqual((error as? FileSystemError)?.isOutOfSpace, true)
        }
        FaultInjection.failWrites(after: nil)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "{\"step\":1}\n")
        try log.append(Data("{\"step\":2}\n".utf8))
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "{\"step\":1}\n{\"step\":2}\n")
    }

    func testReadLimitsAndPlainErrors() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        let path = dir.path("in.txt")
        try Data(repeating: 65, count: 100).write(to: URL(fileURLWithPath: path))
        XCTAssertEqual(try InputFile.read(path, maxBytes: 100).count, 100)
        XCTAssertThrowsError(try InputFile.read(path, maxBytes: 99, tooLargeHint: "split it")) { error in
            XCTAssertEqual("\(error)", "\(path): cannot read it: it has more than 99 bytes, the most this reads; split it")
        }
        XCTAssertThrowsError(try InputFile.read(dir.url.path, maxBytes: 10)) { error in
            XCTAssertTrue("\(error)".hasSuffix("it is a directory; give the path of a file"), "\(error)")
        }
        XCTAssertThrowsError(try InputFile.read(dir.path("nope"), maxBytes: 10)) { error in
            XCTAssertTrue("\(error)".hasSuffix("no such file or directory; check the path"), "\(error)")
        }
        let link = dir.path("alias.txt")
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: path)
        XCTAssertTrue(InputFile.sameFile(link, path))
        XCTAssertTrue(InputFile.sameFile(dir.path("new.txt"), dir.url.path + "/./new.txt"))
        XCTAssertFalse(InputFile.sameFile(path, dir.path("new.txt")))
    }

    /// `createDirectory` says what is in the way: a file (never "remove it": it may be the user's input), a dangling
    /// symbolic link, a directory that takes no new entries.
    func testCreateDirectorySaysWhatIsInTheWay() throws {
        let dir = TempDir(); defer { dir.cleanup() }
        try FileSystemError.createDirectory(dir.path("a/b/c"))
        try FileSystemError.createDirectory(dir.path("a/b/c"))
        try Data("text".utf8).write(to: URL(fileURLWithPath: dir.path("input.txt")))
        XCTAssertThrowsError(try FileSystemError.createDirectory(dir.path("input.txt/run"))) {
            XCTAssertEqual("\($0)", "\(dir.path("input.txt")): cannot create it: it is a file, not a directory; choose another path")
        }
        try FileManager.default.createSymbolicLink(atPath: dir.path("dangling"), withDestinationPath: dir.path("gone"))
        XCTAssertThrowsError(try FileSystemError.createDirectory(dir.path("dangling"))) {
            XCTAssertTrue("\($0)".contains("it is a symbolic link to \(dir.path("gone")), which does not exist"), "\($0)")
        }
        if FileManager.default.fileExists(atPath: "/proc/self") {
            XCTAssertThrowsError(try FileSystemError.createDirectory("/proc/quill-run")) {
                XCTAssertTrue("\($0)".contains("accepts no new entries") || "\($0)".contains("permission"), "\($0)")
            }
        }
        XCTAssertEqual(try String(contentsOfFile: dir.path("input.txt"), encoding: .utf8), "text")
        // The check before a run says the same and leaves nothing behind.
        XCTAssertThrowsError(try FileSystemError.checkDirectoryCanBeMade(dir.path("input.txt/tb/deeper"))) {
            XCTAssertTrue("\($0)".contains("input.txt: cannot create it: it is a file, not a directory"), "\($0)")
        }
        XCTAssertThrowsError(try FileSystemError.checkDirectoryCanBeMade(dir.path("dangling/tb"))) {
            XCTAssertTrue("\($0)".contains("it is a symbolic link to"), "\($0)")
        }
        try FileSystemError.checkDirectoryCanBeMade(dir.path("new/tb"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir.path("new/tb")))
    }

    func testEveryErrnoGetsPlainWords() {
        for code in [ENOENT, EACCES, EPERM, EROFS, ENOSPC, EDQUOT, EISDIR, ENOTDIR, EEXIST, ENAMETOOLONG, ELOOP, EFBIG, EIO] {
            let text = FileSystemError(path: "p", operation: .write, code: code).description
            XCTAssertTrue(text.hasPrefix("p: cannot write it: "), text)
            XCTAssertFalse(text.contains("Domain"), text)
        }
    }
}
