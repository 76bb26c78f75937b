import XCTest
@testable import QuillNumerics
