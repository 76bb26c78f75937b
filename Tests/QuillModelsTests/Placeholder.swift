import XCTest
@testable import QuillModels
