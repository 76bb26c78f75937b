import QuillIO
import XCTest

/// `JSONSyntax`: the fault of malformed JSON at a line and column a person finds in an editor.
final class JSONSyntaxTests: XCTestCase {
    func testNamesLineAndColumn() {
        let cases: [(String, String)] = [
            ("{\"text\": \"hi\",\n \"bias\": 1,,}", "invalid value at line 2, column 12"),
            ("{\"a\" 1}", "invalid value at line 1, column 6"),
            // Columns count characters, not bytes; CRLF and CR each end one line; a byte-order mark is no column.
            ("{\"éé\": 1,,}", "invalid value at line 1, column 10"),
            ("{\"a\":\r\n\r\n 1,,}", "invalid value at line 3, column 4"),
            ("{\"a\":\r 1,,}", "invalid value at line 2, column 4"),
            ("\u{FEFF}{\"a\": 1,,}", "invalid value at line 1, column 9"),
            ("{\"a\": \"x\u{1}\"}", "unescaped control character at line 1, column 9"),
        ]
        for (json, expected) in cases {
            XCTAssertEqual(JSONSyntax.problem(Array(json.utf8)), expected, json.debugDescription)
        }
        XCTAssertEqual(JSONSyntax.problem(Array("{\"a\": [1, 2".utf8)), "unexpected end of file during JSON parse")
        XCTAssertNil(JSONSyntax.problem(Array("{\"a\": [1, 2]}".utf8)))
        XCTAssertEqual(JSONSyntax.problem(Array("{\"bias\": 1e999}".utf8)), "the number 1e999 is beyond the range of a double (about ±1.8e308)")
        // A long one too (Foundation's message is longer than the part of it kept for other faults), abridged.
        let long = "1" + String(repeating: "0", count: 400)
        XCTAssertEqual(JSONSyntax.problem(Array("{\"bias\": \(long)}".utf8)),
                       "the number 100000000000…000000 (401 characters) is beyond the range of a double (about ±1.8e308)")
    }

    func testPlaceOfAnOffset() {
        let bytes = Array("ab\ncd\r\nef\rg".utf8)
        XCTAssertTrue(JSONSyntax.place(of: 0, in: bytes) == (1, 1))
        XCTAssertTrue(JSONSyntax.place(of: 4, in: bytes) == (2, 2))
        XCTAssertTrue(JSONSyntax.place(of: 7, in: bytes) == (3, 1))
        XCTAssertTrue(JSONSyntax.place(of: 10, in: bytes) == (4, 1))
        XCTAssertTrue(JSONSyntax.place(of: 99, in: bytes) == (4, 2))
        XCTAssertTrue(JSONSyntax.place(of: -5, in: bytes) == (1, 1))
    }

    /// A raw U+FEFF is written as its escape, so Foundation's parser keeps it inside strings.
    func testByteOrderMarksAreEscaped() throws {
        let raw = Data("[\"a\",\"\u{FEFF}\",\"b\u{FEFF}\"]".utf8)
        XCTAssertEqual(String(decoding: JSONText.escapingByteOrderMarks(raw), as: UTF8.self), #"["a","\ufeff","b\ufeff"]"#)
        let read = try XCTUnwrap(try JSONSerialization.jsonObject(with: JSONText.escapingByteOrderMarks(raw)) as? [String])
        XCTAssertEqual(read, ["a", "\u{FEFF}", "b\u{FEFF}"])
        XCTAssertEqual(JSONText.escapingByteOrderMarks(Data("[1]".utf8)), Data("[1]".utf8))
    }
}
