import ArgumentParser
import Foundation
import XCTest
@testable import QuillCLI

/// The full help of every command and subcommand, rendered at 80 columns, equals its committed snapshot in
/// HelpSnapshots/ (`quill-plot-window.txt` for `quill plot window`), as swift-argument-parser's own tests check help.
/// A change to an option, a default or an abstract shows up here as a diff to review.
///
/// To accept a change (or after adding a command), regenerate the snapshots and review them with `git diff`:
///
///     QUILL_UPDATE_SNAPSHOTS=1 swift test --skip-build --filter HelpSnapshotTests
///
/// which writes every snapshot instead of comparing, and deletes those of commands that no longer exist.
final class HelpSnapshotTests: XCTestCase {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("HelpSnapshots")
    static let columns = 80

    /// Every command under `quill`, the root included, with its path of command names.
    static func commands(_ command: ParsableCommand.Type = Quill.self,
                         path: [String] = []) -> [(path: [String], type: ParsableCommand.Type)] {
        let name = command.configuration.commandName ?? String(describing: command).lowercased()
        let here = path + [name]
        return [(here, command)] + command.configuration.subcommands.flatMap { commands($0, path: here) }
    }

    func testHelpOfEveryCommandMatchesItsSnapshot() throws {
        let update = ProcessInfo.processInfo.environment["QUILL_UPDATE_SNAPSHOTS"] == "1"
        let all = Self.commands()
        XCTAssertGreaterThan(all.count, 20, "found too few commands under quill")
        var expectedFiles = Set<String>()
        for (path, type) in all {
            let file = path.joined(separator: "-") + ".txt"
            expectedFiles.insert(file)
            let url = Self.folder.appendingPathComponent(file)
            let help = Quill.helpMessage(for: type, columns: Self.columns) + "\n"
            if update {
                try FileManager.default.createDirectory(at: Self.folder, withIntermediateDirectories: true)
                try Data(help.utf8).write(to: url)
                continue
            }
            guard let data = FileManager.default.contents(atPath: url.path) else {
                XCTFail("\(path.joined(separator: " ")): no snapshot HelpSnapshots/\(file); run with QUILL_UPDATE_SNAPSHOTS=1 to write it")
                continue
            }
            if let diff = Self.firstDifference(expected: String(decoding: data, as: UTF8.self), actual: help) {
                XCTFail("\(path.joined(separator: " ")): help differs from HelpSnapshots/\(file) \(diff); "
                        + "if the change is meant, run with QUILL_UPDATE_SNAPSHOTS=1 and review the diff")
            }
        }
        let present = (try? FileManager.default.contentsOfDirectory(atPath: Self.folder.path)) ?? []
        for stale in present.filter({ $0.hasSuffix(".txt") && !expectedFiles.contains($0) }).sorted() {
            if update {
                try FileManager.default.removeItem(at: Self.folder.appendingPathComponent(stale))
            } else {
                XCTFail("HelpSnapshots/\(stale) belongs to no command; run with QUILL_UPDATE_SNAPSHOTS=1 to delete it")
            }
        }
    }

    /// Where two texts first differ, as "at line N:\n  expected: …\n  actual:   …"; nil when they are equal.
    static func firstDifference(expected: String, actual: String) -> String? {
        guard expected != actual else { return nil }
        let e = expected.components(separatedBy: "\n"), a = actual.components(separatedBy: "\n")
        let n = zip(e, a).prefix { $0 == $1 }.count
        func show(_ lines: [String]) -> String { n < lines.count ? "\"\(lines[n])\"" : "(end of text)" }
        return "at line \(n + 1):\n  expected: \(show(e))\n  actual:   \(show(a))"
    }

    func testFirstDifferenceNamesTheLine() {
        XCTAssertNil(Self.firstDifference(expected: "a\nb", actual: "a\nb"))
        XCTAssertEqual(Self.firstDifference(expected: "a\nb\nc", actual: "a\nB\nc"),
                       "at line 2:\n  expected: \"b\"\n  actual:   \"B\"")
        XCTAssertEqual(Self.firstDifference(expected: "a\n", actual: "a\nmore"),
                       "at line 2:\n  expected: \"\"\n  actual:   \"more\"")
        XCTAssertEqual(Self.firstDifference(expected: "a", actual: "a\nb"),
                       "at line 2:\n  expected: (end of text)\n  actual:   \"b\"")
    }
}
