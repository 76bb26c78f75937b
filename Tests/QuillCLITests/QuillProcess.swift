import Foundation
import XCTest

/// Runs the built `quill` binary (`BadInputSuiteTests.quill`) with `args`, and `environment` in place of this
/// process's when given; skips the calling test where there is no binary. Returns the exit status and both outputs.
func runQuill(_ args: [String], environment: [String: String]? = nil) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = BadInputSuiteTests.quill
    try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: process.executableURL!.path), "no quill binary")
    process.arguments = args
    if let environment { process.environment = environment }
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}
