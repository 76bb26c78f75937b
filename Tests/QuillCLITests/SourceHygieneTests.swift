import Foundation
import XCTest

/// Issue 12's code-hygiene rule, checked over every Swift file under Sources/: no `try!`, no `fatalError(`, no
/// `as!`, and every force unwrap (`x!`, `f()!`, `d[k]!`, an implicitly unwrapped `Type!`) carries a comment that
/// starts `Invariant:` (any case) on its own line or in the comment lines directly above it, saying why the value
/// cannot be nil. Release builds use -Ounchecked, where a nil force unwrap is undefined behaviour, not a trap, so a
/// value that can come from input must be checked instead.
final class SourceHygieneTests: XCTestCase {
    static let sources = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources")

    func testSourcesHaveNoTryBangFatalErrorAsBangOrUnexplainedForceUnwrap() throws {
        let root = Self.sources.standardizedFileURL
        guard let walker = FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil) else {
            return XCTFail("cannot list \(root.path)")
        }
        var files = 0
        var problems: [String] = []
        for case let url as URL in walker where url.pathExtension == "swift" {
            files += 1
            let text = try String(contentsOf: url, encoding: .utf8)
            let name = "Sources" + url.standardizedFileURL.path.dropFirst(root.path.count)
            problems += SourceHygiene.findings(in: text).map { "\(name):\($0.line): \($0.kind)" }
        }
        XCTAssertGreaterThan(files, 10, "found too few Swift files under \(root.path)")
        XCTAssert(problems.isEmpty, "\n" + problems.joined(separator: "\n"))
    }

    // MARK: - The scanner itself

    func kinds(_ source: String) -> [String] {
        SourceHygiene.findings(in: source).map { "\($0.line): \($0.kind)" }
    }

    func testFlagsForceUnwrapsTryBangAsBangAndFatalError() {
        XCTAssertEqual(kinds("let x = y!"), ["1: \(SourceHygiene.unwrap)"])
        XCTAssertEqual(kinds("let a = 1\nlet n = d[k]!.count + f()!"),
                       ["2: \(SourceHygiene.unwrap)", "2: \(SourceHygiene.unwrap)"])
        XCTAssertEqual(kinds("var s: String!"), ["1: \(SourceHygiene.unwrap)"])
        XCTAssertEqual(kinds("let v = $0!"), ["1: \(SourceHygiene.unwrap)"])
        XCTAssertEqual(kinds("let a = try! f()"), ["1: try!"])
        XCTAssertEqual(kinds("let v = o as! Int"), ["1: as!"])
        XCTAssertEqual(kinds("  fatalError (\"no\")"), ["1: fatalError"])
        // Code inside a string interpolation is code.
        XCTAssertEqual(kinds(#"print("value \(y!) here")"#), ["1: \(SourceHygiene.unwrap)"])
        // An invariant comment covers its own line and the line below only.
        XCTAssertEqual(kinds("// Invariant: y is set above.\nlet x = y!\nlet z = y!"), ["3: \(SourceHygiene.unwrap)"])
        // A comment that does not name an invariant does not count, nor does one in a string.
        XCTAssertEqual(kinds("// y is set above\nlet x = y!"), ["2: \(SourceHygiene.unwrap)"])
        XCTAssertEqual(kinds(#"let x = y! + "Invariant: no""#), ["1: \(SourceHygiene.unwrap)"])
        // Line numbers survive multi-line strings and comments, and line continuations inside strings.
        XCTAssertEqual(kinds("let s = \"\"\"\n  a \\\n  b!\n  \"\"\"\n/*\n x!\n*/\nlet x = y!"), ["8: \(SourceHygiene.unwrap)"])
    }

    func testIgnoresNegationComparisonsStringsAndComments() {
        XCTAssertEqual(kinds("if a != b, !c, x !== y, !(d) { }"), [])
        XCTAssertEqual(kinds("#if !os(Linux)\n#endif"), [])
        XCTAssertEqual(kinds(#"let s = "wow! try! x! as! Int fatalError(""#), [])
        XCTAssertEqual(kinds(##"let s = #"raw "x!" \(y!)"#"##), [])
        XCTAssertEqual(kinds("let s = \"\"\"\n  hey! x!\n  \"\"\""), [])
        XCTAssertEqual(kinds("let a = b // b! try! fatalError(\n/* c! /* nested! */ d! */"), [])
        XCTAssertEqual(kinds(#"let s = "a \"quoted!\" \\" + z"#), [])
        XCTAssertEqual(kinds("let x = y!   // invariant: y is set in init"), [])
        XCTAssertEqual(kinds("// Invariant: y is set in init, and the comment\n// wraps over two lines.\nlet x = y!"), [])
    }
}

/// A small lexer for the hygiene rule: strips string literals (keeping interpolated code) and comments, line by
/// line, then looks for `!` used as a postfix operator.
enum SourceHygiene {
    struct Finding: Equatable {
        let line: Int
        let kind: String
    }

    static let unwrap = "force unwrap without an `// Invariant:` comment on its line or just above"

    /// The findings in one file's text, 1-based lines.
    static func findings(in text: String) -> [Finding] {
        let (code, comments) = strip(text)
        var out: [Finding] = []
        for (index, line) in code.enumerated() {
            let number = index + 1
            var k = 0
            while k < line.count {
                if matches(line, at: k, "fatalError"), k == 0 || !isIdentifier(line[k - 1]) {
                    var j = k + 10
                    while j < line.count, line[j] == space { j += 1 }
                    if j < line.count, line[j] == UInt8(ascii: "(") { out.append(Finding(line: number, kind: "fatalError")) }
                }
                if line[k] == bang, k > 0, k + 1 == line.count || line[k + 1] != UInt8(ascii: "=") {
                    let previous = line[k - 1]
                    if isIdentifier(previous) || [")", "]", ">", "?"].map({ UInt8(ascii: $0) }).contains(previous) {
                        var start = k
                        while start > 0, isIdentifier(line[start - 1]) { start -= 1 }
                        switch String(decoding: line[start..<k], as: UTF8.self) {
                        case "try": out.append(Finding(line: number, kind: "try!"))
                        case "as": out.append(Finding(line: number, kind: "as!"))
                        default:
                            if !explained(index, code: code, comments: comments) {
                                out.append(Finding(line: number, kind: unwrap))
                            }
                        }
                    }
                }
                k += 1
            }
        }
        return out
    }

    /// Whether line `index` has an invariant comment, or sits under a block of comment-only lines that has one.
    static func explained(_ index: Int, code: [[UInt8]], comments: [String]) -> Bool {
        func names(_ i: Int) -> Bool { comments[i].lowercased().contains("invariant:") }
        if names(index) { return true }
        var i = index - 1
        while i >= 0, code[i].allSatisfy({ $0 == space || $0 == tab }), !comments[i].isEmpty {
            if names(i) { return true }
            i -= 1
        }
        return false
    }

    private enum Frame {
        /// Code; `parens` counts open parentheses inside a string interpolation.
        case code(parens: Int)
        case string(multiline: Bool, hashes: Int)
    }

    /// Per line: the code with string contents and comments removed (a literal keeps its quotes), and the comments.
    static func strip(_ text: String) -> (code: [[UInt8]], comments: [String]) {
        let s = Array(text.utf8), n = s.count
        var code: [[UInt8]] = [[]], comments: [[UInt8]] = [[]]
        var stack: [Frame] = [.code(parens: 0)]
        let quote = UInt8(ascii: "\""), hash = UInt8(ascii: "#"), newline = UInt8(ascii: "\n")
        func newLine() { code.append([]); comments.append([]) }
        func emit(_ c: UInt8) { code[code.count - 1].append(c) }
        func comment(_ c: UInt8) { comments[comments.count - 1].append(c) }
        func hashes(from i: Int) -> Int {
            var j = i
            while j < n, s[j] == hash { j += 1 }
            return j - i
        }
        var i = 0
        while i < n {
            let c = s[i]
            switch stack[stack.count - 1] {
            case .code(let parens):
                if matches(s, at: i, "//") {
                    while i < n, s[i] != newline { comment(s[i]); i += 1 }
                } else if matches(s, at: i, "/*") {
                    var depth = 0
                    repeat {
                        if matches(s, at: i, "/*") { depth += 1; i += 2; continue }
                        if matches(s, at: i, "*/") { depth -= 1; i += 2; continue }
                        if s[i] == newline { newLine() } else { comment(s[i]) }
                        i += 1
                    } while i < n && depth > 0
                } else if c == quote || c == hash, case let h = hashes(from: i), i + h < n, s[i + h] == quote {
                    let multiline = matches(s, at: i + h, "\"\"\"")
                    stack.append(.string(multiline: multiline, hashes: h))
                    emit(quote)
                    i += h + (multiline ? 3 : 1)
                } else if c == UInt8(ascii: "("), stack.count > 1 {
                    stack[stack.count - 1] = .code(parens: parens + 1); emit(c); i += 1
                } else if c == UInt8(ascii: ")"), stack.count > 1 {
                    if parens == 0 { stack.removeLast() } else { stack[stack.count - 1] = .code(parens: parens - 1); emit(c) }
                    i += 1
                } else {
                    if c == newline { newLine() } else { emit(c) }
                    i += 1
                }
            case .string(let multiline, let h):
                if c == UInt8(ascii: "\\"), hashes(from: i + 1) >= h {
                    let k = i + 1 + h
                    if k < n, s[k] == UInt8(ascii: "(") {
                        stack.append(.code(parens: 0)); i = k + 1
                    } else {
                        if k < n, s[k] == newline { newLine() }
                        i = k + 1
                    }
                } else if matches(s, at: i, multiline ? "\"\"\"" : "\""), hashes(from: i + (multiline ? 3 : 1)) >= h {
                    stack.removeLast(); emit(quote)
                    i += (multiline ? 3 : 1) + h
                } else {
                    if c == newline { newLine() }
                    i += 1
                }
            }
        }
        return (code, comments.map { String(decoding: $0, as: UTF8.self) })
    }

    static let bang = UInt8(ascii: "!"), space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")

    static func isIdentifier(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c == UInt8(ascii: "$")
            || c >= 0x80
    }

    static func matches(_ s: [UInt8], at i: Int, _ literal: StaticString) -> Bool {
        guard i >= 0 else { return false }
        var j = i
        for b in UnsafeBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount) {
            guard j < s.count, s[j] == b else { return false }
            j += 1
        }
        return true
    }
}
