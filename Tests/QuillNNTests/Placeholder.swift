import XCTest
@testable import QuillNN
