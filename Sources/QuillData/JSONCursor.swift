import Foundation
import QuillIO

/// A small byte-level JSON reader for one record at a time, fast enough for the 78 MB IAM-OnDB JSON-lines file.
///
/// It reads straight from a byte buffer, never builds a generic value tree, and reports errors with the line
/// and byte column (both 1-based). Callers walk objects with `readObject` and pick the keys they know; `skipValue`
/// passes over everything else, so key order, unknown keys and nulls are all fine.
struct JSONCursor {
    let bytes: UnsafeBufferPointer<UInt8>
    var index: Int
    let end: Int
    let file: String
    let line: Int
    let lineStart: Int

    init(bytes: UnsafeBufferPointer<UInt8>, start: Int, end: Int, file: String, line: Int) {
        self.bytes = bytes
        self.index = start
        self.end = end
        self.file = file
        self.line = line
        self.lineStart = start
    }

    /// The error for the current position.
    func error(_ why: String) -> DatasetError {
        .malformedJSON(SourcePosition(file: file, line: line, column: index - lineStart + 1), why)
    }

    @inline(__always) mutating func skipWhitespace() {
        while index < end {
            let b = bytes[index]
            if b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D { index += 1 } else { return }
        }
    }

    /// The next non-blank byte, or nil at the end.
    @inline(__always) mutating func peek() -> UInt8? {
        skipWhitespace()
        return index < end ? bytes[index] : nil
    }

    mutating func expect(_ byte: UInt8) throws {
        guard let b = peek() else { throw error("unexpected end of input, expected '\(printable(byte))'") }
        guard b == byte else { throw error("expected '\(printable(byte))' but found '\(printable(b))'") }
        index += 1
    }

    /// Consumes `byte` if it is next.
    @inline(__always) mutating func take(_ byte: UInt8) -> Bool {
        if peek() == byte {
            index += 1
            return true
        }
        return false
    }

    /// Consumes `null` if it is next.
    mutating func takeNull() throws -> Bool {
        guard peek() == UInt8(ascii: "n") else { return false }
        try literal("null")
        return true
    }

    private mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard index + n <= end else { throw error("unexpected end of input in '\(word)'") }
        let p = word.utf8Start
        for k in 0..<n where bytes[index + k] != p[k] { throw error("invalid literal, expected '\(word)'") }
        index += n
    }

    /// Walks an object, calling `body` with each key (raw UTF-8 bytes); `body` must consume the value.
    mutating func readObject(_ body: (inout JSONCursor, UnsafeBufferPointer<UInt8>) throws -> Void) throws {
        try expect(UInt8(ascii: "{"))
        if take(UInt8(ascii: "}")) { return }
        while true {
            let key = try readRawString()
            try expect(UInt8(ascii: ":"))
            try body(&self, key)
            if take(UInt8(ascii: ",")) { continue }
            try expect(UInt8(ascii: "}"))
            return
        }
    }

    /// Walks an array, calling `body` once per element; `body` must consume the element.
    mutating func readArray(_ body: (inout JSONCursor) throws -> Void) throws {
        try expect(UInt8(ascii: "["))
        if take(UInt8(ascii: "]")) { return }
        while true {
            try body(&self)
            if take(UInt8(ascii: ",")) { continue }
            try expect(UInt8(ascii: "]"))
            return
        }
    }

    /// The deepest nesting of arrays and objects `skipValue` accepts; deeper input is an error, not a deep walk.
    static let maxDepth = 512

    /// The bytes of a string without escapes decoded (for comparing keys), after checking the whole string
    /// against RFC 8259: no raw control characters, only the escapes `\" \\ \/ \b \f \n \r \t \uXXXX`, every
    /// UTF-16 surrogate escape paired, and valid UTF-8.
    mutating func readRawString() throws -> UnsafeBufferPointer<UInt8> {
        try expect(UInt8(ascii: "\""))
        let start = index
        var ascii = true
        while index < end {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                let s = UnsafeBufferPointer(rebasing: bytes[start..<index])
                if !ascii, String(validating: s, as: UTF8.self) == nil {
                    index = start
                    throw error("string is not valid UTF-8 (re-encode the file as UTF-8)")
                }
                index += 1
                return s
            }
            if b == UInt8(ascii: "\\") {
                try checkEscape()
                continue
            }
            if b < 0x20 { throw error("control character \(printable(b)) inside a string (write it as an escape such as \\n)") }
            if b >= 0x80 { ascii = false }
            index += 1
        }
        throw error("unterminated string")
    }

    /// Checks one escape at `index` (which holds the backslash) and moves past it.
    private mutating func checkEscape() throws {
        guard index + 1 < end else { throw error("unterminated string") }
        switch bytes[index + 1] {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
             UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 2
        case UInt8(ascii: "u"):
            guard let code = hex4(at: index + 2) else { throw error("bad \\u escape (needs four hex digits)") }
            if (0xDC00..<0xE000).contains(code) { throw error("lone low surrogate \\u\(hexString(code)) in a string") }
            if (0xD800..<0xDC00).contains(code) {
                guard index + 11 < end, bytes[index + 6] == UInt8(ascii: "\\"), bytes[index + 7] == UInt8(ascii: "u"),
                      let low = hex4(at: index + 8), (0xDC00..<0xE000).contains(low) else {
                    throw error("high surrogate \\u\(hexString(code)) is not followed by a low surrogate escape")
                }
                index += 12
            } else {
                index += 6
            }
        default:
            index += 1
            throw error("invalid escape '\\\(printable(bytes[index]))' in a string")
        }
    }

    /// A string value with escapes decoded.
    mutating func readString() throws -> String {
        let raw = try readRawString()
        if !raw.contains(UInt8(ascii: "\\")) {
            // readRawString has validated the UTF-8.
            return String(decoding: raw, as: UTF8.self)
        }
        var out = [UInt8]()
        out.reserveCapacity(raw.count)
        var i = 0
        // readRawString has checked every escape, so each one below is complete and well formed.
        while i < raw.count {
            let b = raw[i]
            guard b == UInt8(ascii: "\\"), i + 1 < raw.count else {
                out.append(b)
                i += 1
                continue
            }
            i += 1
            switch raw[i] {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                var code = Self.hex4(raw, i + 1) ?? 0xFFFD
                i += 4
                // A surrogate pair spells one scalar beyond the Basic Multilingual Plane.
                if (0xD800..<0xDC00).contains(code), let low = Self.hex4(raw, i + 3) {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: out.append(raw[i])  // \" \\ \/
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func hex4(at: Int) -> UInt32? {
        guard at >= 0, at <= end - 4 else { return nil }
        return Self.hex4(UnsafeBufferPointer(rebasing: bytes[at..<(at + 4)]), 0)
    }

    private static func hex4(_ raw: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt32? {
        guard at >= 0, at <= raw.count - 4 else { return nil }
        var v: UInt32 = 0
        for k in 0..<4 {
            let c = raw[at + k]
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: return nil
            }
            v = v << 4 | d
        }
        return v
    }

    private func hexString(_ code: UInt32) -> String {
        let h = String(code, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - h.count)) + h
    }

    /// A byte as text for an error message: printable ASCII as itself, anything else as `0xNN`.
    func printable(_ b: UInt8) -> String {
        (0x21...0x7E).contains(b) ? String(Character(Unicode.Scalar(b))) : "0x" + String(b, radix: 16, uppercase: true)
    }

    /// A number in RFC 8259's grammar, `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, and finite
    /// as a Double. Integers of up to 18 digits take a fast path; anything else goes through `strtod`.
    @inline(__always) mutating func readNumber() throws -> Double {
        skipWhitespace()
        let start = index
        var negative = false
        if index < end, bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        var value: Int64 = 0
        var digits = 0
        let firstDigit = index
        while index < end {
            let d = bytes[index] &- 0x30
            if d > 9 { break }
            if digits < 18 { value = value &* 10 &+ Int64(d) }
            digits += 1
            index += 1
        }
        guard digits > 0 else {
            if index >= end { throw error(negative ? "'-' without digits" : "unexpected end of input, expected a number") }
            let found = bytes[index]
            index = start
            throw error(negative ? "'-' without digits" : "expected a number but found '\(printable(found))'")
        }
        if digits > 1, bytes[firstDigit] == UInt8(ascii: "0") {
            index = firstDigit
            throw error("number with a leading zero (JSON numbers are written 0, 7 or 0.7, never 07)")
        }
        var simple = digits < 18
        if index < end, bytes[index] == UInt8(ascii: ".") {
            index += 1
            guard try skipDigits() > 0 else { throw error("number has no digits after its decimal point") }
            simple = false
        }
        if index < end, bytes[index] | 0x20 == UInt8(ascii: "e") {
            index += 1
            if index < end, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard try skipDigits() > 0 else { throw error("number has no digits in its exponent") }
            simple = false
        }
        if simple { return Double(negative ? -value : value) }
        return try parseDouble(from: start)
    }

    private mutating func skipDigits() throws -> Int {
        let s = index
        while index < end, bytes[index] &- 0x30 <= 9 { index += 1 }
        return index - s
    }

    /// Converts the already-checked number bytes `start..<index` with `strtod`.
    private mutating func parseDouble(from start: Int) throws -> Double {
        var buffer = [CChar](repeating: 0, count: index - start + 1)
        for k in start..<index { buffer[k - start] = CChar(bitPattern: bytes[k]) }
        let value = buffer.withUnsafeBufferPointer { p -> Double in
            guard let base = p.baseAddress else { return .nan }  // never nil: the buffer holds at least the NUL
            return strtod(base, nil)
        }
        guard value.isFinite else {
            index = start
            throw error("number is too large for a double")
        }
        return value
    }

    /// Passes over any value (used for keys the caller does not need), checking it as strictly as the rest.
    /// Iterative, with nesting capped at `maxDepth`, so deep input costs neither stack nor time.
    mutating func skipValue() throws {
        var open = [UInt8]()  // "{" or "[" for each container entered and not yet closed
        while true {
            // A value starts here.
            guard let b = peek() else { throw error("unexpected end of input, expected a value") }
            var container = false
            switch b {
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                guard open.count < Self.maxDepth else {
                    throw error("arrays and objects nested deeper than \(Self.maxDepth) levels")
                }
                index += 1
                let close = b == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if !take(close) {
                    open.append(b)
                    if b == UInt8(ascii: "{") {
                        _ = try readRawString()
                        try expect(UInt8(ascii: ":"))
                    }
                    container = true
                }
            case UInt8(ascii: "\""): _ = try readRawString()
            case UInt8(ascii: "t"): try literal("true")
            case UInt8(ascii: "f"): try literal("false")
            case UInt8(ascii: "n"): try literal("null")
            default: _ = try readNumber()
            }
            if container { continue }
            // After a value: a comma starts the next member, or brackets close.
            while let top = open.last {
                if take(UInt8(ascii: ",")) {
                    if top == UInt8(ascii: "{") {
                        _ = try readRawString()
                        try expect(UInt8(ascii: ":"))
                    }
                    break
                }
                try expect(top == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]"))
                open.removeLast()
            }
            if open.isEmpty { return }
        }
    }

    /// Reads `true` or `false`.
    mutating func readBool() throws -> Bool {
        if peek() == UInt8(ascii: "t") {
            try literal("true")
            return true
        }
        try literal("false")
        return false
    }

    /// Checks that nothing but white space is left.
    mutating func expectEnd() throws {
        if let b = peek() { throw error("unexpected '\(printable(b))' after the end of the record") }
    }
}

/// Compares raw key bytes with an ASCII literal.
@inline(__always) func keyEquals(_ key: UnsafeBufferPointer<UInt8>, _ literal: StaticString) -> Bool {
    let n = literal.utf8CodeUnitCount
    guard key.count == n else { return false }
    let p = literal.utf8Start
    for i in 0..<n where key[i] != p[i] { return false }
    return true
}

/// Splits a byte buffer into lines and runs `body` on each non-blank one with its 1-based line number.
func forEachLine(in bytes: UnsafeBufferPointer<UInt8>,
                 _ body: (_ start: Int, _ end: Int, _ line: Int) throws -> Void) rethrows {
    var start = 0
    var line = 1
    let count = bytes.count
    if count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { start = 3 }  // a UTF-8 byte-order mark
    guard let base = bytes.baseAddress else { return }
    while start < count {
        let found = memchr(base + start, 0x0A, count - start)
        let stop = found.map { UnsafePointer($0.assumingMemoryBound(to: UInt8.self)) - base } ?? count
        var blank = true
        var k = start
        while k < stop {
            let b = bytes[k]
            if !(b == 0x20 || b == 0x09 || b == 0x0D) {
                blank = false
                break
            }
            k += 1
        }
        if !blank { try body(start, stop, line) }
        start = stop + 1
        line += 1
    }
}

/// Reads a whole file, naming it in the error.
func readFile(_ path: String) throws -> Data {
    // Read, not mapped: a mapped file that another process truncates kills the reader with SIGBUS.
    do {
        return try InputFile.read(path, maxBytes: 1 << 32, tooLargeHint: "split it into smaller files")
    } catch let error as FileSystemError {
        throw DatasetError.io(path, "cannot read it: \(error.cause)")
    }
}
