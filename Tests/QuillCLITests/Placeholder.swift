import XCTest
@testable import QuillCLI
