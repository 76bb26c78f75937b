import XCTest
@testable import QuillOptim
