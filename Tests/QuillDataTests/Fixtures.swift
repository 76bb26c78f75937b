import Foundation
import XCTest
@testable import QuillData

/// A temporary directory for fixture files, removed when the test ends.
final class TempDir {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "quill-data-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `text` to `name` (subdirectories created) and returns the full path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        try write(name, Data(text.utf8))
    }

    @discardableResult
    func write(_ name: String, _ data: Data) throws -> String {
        let full = (path as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try data.write(to: URL(fileURLWithPath: full))
        return full
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }
}

/// The shared datasets folder beside the repository (../shared/datasets), or a skip that says why.
func sharedDatasets(_ what: String) throws -> String {
    let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let dir = repo.deletingLastPathComponent().appendingPathComponent("shared/datasets").path
    guard FileManager.default.fileExists(atPath: dir) else {
        throw XCTSkip("\(dir) (../shared/datasets) not found: skipping \(what)")
    }
    return dir
}

/// Asserts that `body` throws a DatasetError whose message contains every one of `fragments`.
func assertDatasetError(_ fragments: [String], file: StaticString = #filePath, line: UInt = #line,
                        _ body: () throws -> Void) {
    do {
        try body()
        XCTFail("expected an error containing \(fragments)", file: file, line: line)
    } catch let error as DatasetError {
        for f in fragments where !error.description.contains(f) {
            XCTFail("error '\(error.description)' does not contain '\(f)'", file: file, line: line)
        }
    } catch {
        XCTFail("expected a DatasetError, got \(error)", file: file, line: line)
    }
}
