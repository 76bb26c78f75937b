import Foundation
import QuillFuzzing
import XCTest

/// Replays every committed fuzz input (seeds in Fuzz/Corpus/<target>/, inputs that once crashed a reader in
/// Fuzz/Regressions/<target>/) through the fuzz targets: a regression crashes this test process, an unclear error
/// message traps. The fuzzers themselves run in `make fuzz`, not here.
final class CorpusReplayTests: XCTestCase {
    static let fuzzRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz")

    func inputs(_ kind: String, _ target: FuzzTarget) -> [URL] {
        let dir = CorpusReplayTests.fuzzRoot.appendingPathComponent(kind).appendingPathComponent(target.rawValue)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { !$0.hasPrefix(".") }.sorted().map { dir.appendingPathComponent($0) }
    }

    func testEveryTargetHasSeeds() {
        for target in FuzzTarget.allCases {
            XCTAssertFalse(inputs("Corpus", target).isEmpty, "no seed inputs for \(target.rawValue)")
        }
    }

    func testCommittedInputsRunCleanly() throws {
        var count = 0
        for target in FuzzTarget.allCases {
            for url in inputs("Corpus", target) + inputs("Regressions", target) {
                target.run(try Data(contentsOf: url))
                count += 1
            }
        }
        XCTAssertGreaterThan(count, 7)
    }
}
