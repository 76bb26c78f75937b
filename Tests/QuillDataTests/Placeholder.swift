import XCTest
@testable import QuillData
