import Foundation

/// What Foundation's JSON decoder lets through or words vaguely, checked before a document (a request body of
/// `quill serve`, a `quill write --job` file) is decoded: a key given twice in one object (the decoder keeps one of
/// the values silently), a comma before a closing bracket (the decoder accepts it, RFC 8259 does not), nesting
/// deeper than any document needs (the decoder's own limit, 512 levels, is reported only as "not valid JSON"), and
/// strings that are not text: bytes that are not UTF-8, or a `\u` escape of a lone UTF-16 surrogate (`"\ud800"`),
/// which the decoder reports only as the field not being a string.
///
/// One pass over the bytes, no recursion deeper than `maximumDepth`. Bytes that are not JSON end the check quietly:
/// the decoder that runs next reports them.
public enum JSONCheck {
    /// A fault found: the field it is in (`lines[0].points`, nil for the document itself) and one line saying it.
    public struct Problem: Error, Equatable {
        public let field: String?
        public let message: String
    }

    /// The deepest nesting of objects and arrays a body may have. The deepest body of the API,
    /// `{"lines": [{"points": [[x, y, end]]}]}`, nests 5 levels; the rest is room for clients that send more.
    public static let maximumDepth = 32

    /// Throws a 400 naming the first key given twice in one object (as `lines[0].points`, the way field errors name
    /// fields), the first string that is not valid UTF-8 or has a lone surrogate (by its field, and the byte of the
    /// body where it goes wrong), or saying the body nests deeper than `maximumDepth`.
    /// - Parameters: `document` names the whole in messages ("the body"); `depthNote` follows the depth message.
    /// - Throws: `Problem`.
    public static func check(_ bytes: [UInt8], document: String = "the body",
                             depthNote: String = "the API's bodies nest at most 5 (see /openapi.json)") throws {
        var scanner = Scanner(bytes: bytes, document: document, depthNote: depthNote)
        do { try scanner.value(path: "", depth: 0) } catch is Malformed { return }
    }

    /// The bytes stopped being JSON; the decoder will say how.
    private struct Malformed: Error {}

    private struct Scanner {
        let bytes: [UInt8]
        let document: String, depthNote: String
        var i = 0

        /// After a member of the container at `path`: true past its closing `bracket`, false past the comma before
        /// the next member. A comma right before the bracket is refused by its line and column.
        mutating func closes(with bracket: Character, in path: String) throws -> Bool {
            skipSpace()
            guard i < bytes.count else { throw Malformed() }
            let close = UInt8(ascii: bracket.unicodeScalars.first ?? "]")
            if bytes[i] == close { i += 1; return true }
            guard bytes[i] == UInt8(ascii: ",") else { throw Malformed() }
            let comma = i
            i += 1
            skipSpace()
            guard i < bytes.count, bytes[i] == close else { return false }
            let (line, column) = JSONSyntax.place(of: comma, in: bytes)
            let inside = path.isEmpty ? "" : " in \(String(path.prefix(100)))"
            throw Problem(field: path.isEmpty ? nil : String(path.prefix(100)),
                          message: "a comma before '\(bracket)'\(inside) at line \(line), column \(column): JSON has no trailing commas; remove it")
        }

        mutating func skipSpace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }

        /// One value at `path`, `depth` containers deep.
        mutating func value(path: String, depth: Int) throws {
            skipSpace()
            guard i < bytes.count else { throw Malformed() }
            switch bytes[i] {
            case UInt8(ascii: "{"):
                try deeper(depth)
                i += 1
                var keys = Set<String>()
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return }
                while true {
                    skipSpace()
                    let key = try string(keyIn: path)
                    let name = path.isEmpty ? key : path + "." + key
                    if !keys.insert(key).inserted {
                        let shown = String(name.prefix(100))
                        throw Problem(field: shown, message: "the field '\(shown)' is given twice in one object; give each field once")
                    }
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw Malformed() }
                    i += 1
                    try value(path: name, depth: depth + 1)
                    if try closes(with: "}", in: path) { return }
                }
            case UInt8(ascii: "["):
                try deeper(depth)
                i += 1
                skipSpace()
                if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return }
                var index = 0
                while true {
                    try value(path: path + "[\(index)]", depth: depth + 1)
                    index += 1
                    if try closes(with: "]", in: path) { return }
                }
            case UInt8(ascii: "\""):
                _ = try string(at: path)
            default:
                // A number, true, false or null: its characters run to the next delimiter; the decoder checks them.
                let start = i
                while i < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), 0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) {
                    i += 1
                }
                if i == start { throw Malformed() }
            }
        }

        /// The value of the four hex digits at `start` (of a `\\u` escape); nil when they are not four hex digits.
        func hex4(at start: Int) -> Int? {
            guard start + 4 <= bytes.count else { return nil }
            var value = 0
            for b in bytes[start..<start + 4] {
                guard let digit = Int(String(UnicodeScalar(b)), radix: 16) else { return nil }
                value = value * 16 + digit
            }
            return value
        }

        /// The bytes of the UTF-8 sequence its first byte announces (1 for a byte that begins none).
        static func sequenceLength(_ b: UInt8) -> Int {
            switch b {
            case 0xC2...0xDF: return 2
            case 0xE0...0xEF: return 3
            case 0xF0...0xF4: return 4
            default: return 1
            }
        }

        /// The byte where the UTF-8 sequence starting at `at` goes wrong (RFC 3629 §4: no overlong forms, no
        /// surrogates, nothing past U+10FFFF), nil when it is well formed.
        static func invalidUTF8(_ bytes: [UInt8], at: Int) -> Int? {
            let first = bytes[at]
            if first < 0x80 { return nil }
            var low: UInt8 = 0x80, high: UInt8 = 0xBF
            switch first {
            case 0xC2...0xDF: break
            case 0xE0: low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: break
            case 0xED: high = 0x9F  // U+D800…U+DFFF, surrogates, are not characters
            case 0xF0: low = 0x90
            case 0xF1...0xF3: break
            case 0xF4: high = 0x8F
            default: return at
            }
            for k in 1..<sequenceLength(first) {
                guard at + k < bytes.count else { return at + k }
                let b = bytes[at + k]
                guard k == 1 ? (low...high).contains(b) : (0x80...0xBF).contains(b) else { return at + k }
            }
            return nil
        }

        /// Refuses a container that would be more than `maximumDepth` deep.
        func deeper(_ depth: Int) throws {
            if depth + 1 > JSONCheck.maximumDepth {
                throw Problem(field: nil, message: "the JSON nests objects and arrays more than \(JSONCheck.maximumDepth) levels deep; "
                                   + depthNote)
            }
        }

        /// A key of the object at `path`: `string(named:field:)` with the message naming the key's object.
        mutating func string(keyIn path: String) throws -> String {
            try string(named: path.isEmpty ? "a field name of \(document)" : "a field name in \(String(path.prefix(100)))",
                       field: path.isEmpty ? nil : path)
        }

        /// A string value at `path`.
        mutating func string(at path: String) throws -> String {
            try string(named: path.isEmpty ? "the string of \(document)" : String(path.prefix(100)), field: path.isEmpty ? nil : path)
        }

        /// A string starting at `i` (which is its opening quote), its escapes decoded, so `"te\u0078t"` is `text`.
        /// Throws a 400 for `field` (`named` in the message) when the string is not valid UTF-8 or has a lone
        /// surrogate.
        mutating func string(named: String, field: String?) throws -> String {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw Malformed() }
            let start = i
            i += 1
            var escaped = false
            var highSurrogate: Int?  // the byte of an escaped high surrogate that a low one must follow at once
            func lone(at byte: Int) -> Problem {
                let escape = String(decoding: bytes[byte..<min(byte + 6, bytes.count)], as: UTF8.self)
                return Problem(field: field, message: "\(named) has a lone surrogate (\(escape) at offset \(byte) of \(document)): not a character; "
                                    + "a character beyond U+FFFF is escaped as a pair, a high surrogate \\ud800…\\udbff then a low one \\udc00…\\udfff")
            }
            while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                if bytes[i] == UInt8(ascii: "\\") {
                    escaped = true
                    if i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: "u"), let unit = hex4(at: i + 2) {
                        if let high = highSurrogate {
                            guard (0xDC00...0xDFFF).contains(unit) else { throw lone(at: high) }
                            highSurrogate = nil
                        } else if (0xD800...0xDBFF).contains(unit) {
                            highSurrogate = i
                        } else if (0xDC00...0xDFFF).contains(unit) {
                            throw lone(at: i)
                        }
                        i += 6
                        continue
                    }
                    if let high = highSurrogate { throw lone(at: high) }
                    i += 2
                    continue
                }
                if let high = highSurrogate { throw lone(at: high) }
                if let bad = Self.invalidUTF8(bytes, at: i) {
                    throw Problem(field: field, message: "\(named) is not valid UTF-8 (byte 0x\(String(bytes[bad], radix: 16, uppercase: true)) at offset \(bad) of \(document)); send JSON as UTF-8")
                }
                i += Self.sequenceLength(bytes[i])
            }
            if let high = highSurrogate { throw lone(at: high) }
            guard i < bytes.count else { throw Malformed() }
            i += 1
            let token = bytes[start..<i]
            guard escaped else {
                guard let text = String(validating: token.dropFirst().dropLast(), as: UTF8.self) else { throw Malformed() }
                return text
            }
            guard let text = try? JSONDecoder().decode(String.self, from: Data(token)) else { throw Malformed() }
            return text
        }
    }
}
