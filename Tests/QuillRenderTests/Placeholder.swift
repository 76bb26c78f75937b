import XCTest
@testable import QuillRender
