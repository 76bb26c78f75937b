import XCTest
@testable import QuillCLI

extension XCTestCase {
    /// Parses and runs `quill args` in this process: the one error line `quill` would print, or "no error".
    func errorText(_ args: [String]) -> String {
        do {
            var c = try Quill.parseCommand(args)
            try c.run()
            return "no error"
        } catch {
            return Quill.errorLine(for: error)
        }
    }
}
