import Foundation
import XCTest

/// A fresh temporary directory per test, removed afterwards.
class RenderTestCase: XCTestCase {
    var dir: String = ""

    override func setUpWithError() throws {
        dir = (NSTemporaryDirectory() as NSString).appendingPathComponent("quill-render-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(atPath: dir)
    }

    func file(_ name: String) -> String { (dir as NSString).appendingPathComponent(name) }

    /// The first bytes of a file, for format magic checks.
    func head(_ path: String, _ n: Int = 8) throws -> [UInt8] {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        return Array(data.prefix(n))
    }

    /// The files in the test directory (to check that no temporary file is left behind).
    func listing() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir).sorted() }
}
