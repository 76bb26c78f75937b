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
        guard let b = peek() else { throw error("unexpected end of input, expected '\(Character(Unicode.Scalar(byte)))'") }
        guard b == byte else {
            throw error("expected '\(Character(Unicode.Scalar(byte)))' but found '\(Character(Unicode.Scalar(b)))'")
        }
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

    /// The bytes of a string without escapes decoded (for comparing keys).
    mutating func readRawString() throws -> UnsafeBufferPointer<UInt8> {
        try expect(UInt8(ascii: "\""))
        let start = index
        while index < end {
            let b = bytes[index]
            if b == UInt8(ascii: "\"") {
                let s = UnsafeBufferPointer(rebasing: bytes[start..<index])
                index += 1
                return s
            }
            if b == UInt8(ascii: "\\") { index += 1 }
            else if b < 0x20 { throw error("control character inside a string") }
            index += 1
        }
        throw error("unterminated string")
    }

    /// A string value with escapes decoded.
    mutating func readString() throws -> String {
        let startIndex = index + (peek() == UInt8(ascii: "\"") ? 1 : 0)
        let raw = try readRawString()
        if !raw.contains(UInt8(ascii: "\\")) {
            guard let s = String(validating: raw, as: UTF8.self) else {
                index = startIndex
                throw error("string is not valid UTF-8")
            }
            return s
        }
        var out = [UInt8]()
        out.reserveCapacity(raw.count)
        var i = 0
        while i < raw.count {
            let b = raw[i]
            guard b == UInt8(ascii: "\\") else {
                out.append(b)
                i += 1
                continue
            }
            i += 1
            guard i < raw.count else { break }
            switch raw[i] {
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard i + 4 < raw.count, var code = hex4(raw, i + 1) else {
                    index = startIndex + i
                    throw error("bad \\u escape")
                }
                i += 4
                // A surrogate pair spells one scalar beyond the Basic Multilingual Plane.
                if (0xD800..<0xDC00).contains(code), i + 6 < raw.count, raw[i + 1] == UInt8(ascii: "\\"),
                   raw[i + 2] == UInt8(ascii: "u"), let low = hex4(raw, i + 3), (0xDC00..<0xE000).contains(low) {
                    code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    i += 6
                }
                let scalar = Unicode.Scalar(code) ?? "\u{FFFD}"
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: out.append(raw[i])  // \" \\ \/
            }
            i += 1
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw error("string is not valid UTF-8") }
        return s
    }

    private func hex4(_ raw: UnsafeBufferPointer<UInt8>, _ at: Int) -> UInt32? {
        guard at + 4 <= raw.count else { return nil }
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

    /// A number; integers take a fast path, anything with a fraction or exponent goes through `strtod`.
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
        while index < end {
            let d = bytes[index] &- 0x30
            if d > 9 { break }
            if digits < 18 { value = value &* 10 &+ Int64(d) }
            digits += 1
            index += 1
        }
        guard digits > 0 else {
            index = start
            if index >= end { throw error("unexpected end of input, expected a number") }
            throw error("expected a number but found '\(Character(Unicode.Scalar(bytes[index])))'")
        }
        if index < end {
            let b = bytes[index]
            if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E") {
                return try readFloatSlow(from: start)
            }
        }
        if digits >= 18 { return try readFloatSlow(from: start) }
        return Double(negative ? -value : value)
    }

    private mutating func readFloatSlow(from start: Int) throws -> Double {
        index = start
        var buffer = [CChar]()
        while index < end {
            let b = bytes[index]
            let isNumberByte = (b >= 0x30 && b <= 0x39) || b == UInt8(ascii: "-") || b == UInt8(ascii: "+")
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
            if !isNumberByte { break }
            buffer.append(CChar(bitPattern: b))
            index += 1
        }
        buffer.append(0)
        var endPointer: UnsafeMutablePointer<CChar>?
        let value = buffer.withUnsafeMutableBufferPointer { p -> Double in
            let v = strtod(p.baseAddress!, &endPointer)
            if endPointer != p.baseAddress! + (p.count - 1) { endPointer = nil }
            return v
        }
        guard endPointer != nil else {
            index = start
            throw error("malformed number")
        }
        return value
    }

    /// Passes over any value (used for keys the caller does not need).
    mutating func skipValue(depth: Int = 0) throws {
        guard depth < 512 else { throw error("nesting deeper than 512 levels") }
        guard let b = peek() else { throw error("unexpected end of input, expected a value") }
        switch b {
        case UInt8(ascii: "{"): try readObject { c, _ in try c.skipValue(depth: depth + 1) }
        case UInt8(ascii: "["): try readArray { c in try c.skipValue(depth: depth + 1) }
        case UInt8(ascii: "\""): _ = try readRawString()
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try readNumber()
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
        if let b = peek() { throw error("unexpected '\(Character(Unicode.Scalar(b)))' after the end of the record") }
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
