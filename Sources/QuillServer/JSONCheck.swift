import Foundation

/// What Foundation's JSON decoder lets through or words vaguely, checked before a body is decoded: a key given twice
/// in one object (the decoder keeps one of the values silently) and nesting deeper than any body of the API needs
/// (the decoder's own limit, 512 levels, is reported only as "not valid JSON").
///
/// One pass over the bytes, no recursion deeper than `maximumDepth`. Bytes that are not JSON end the check quietly:
/// the decoder that runs next reports them.
enum JSONCheck {
    /// The deepest nesting of objects and arrays a body may have. The deepest body of the API,
    /// `{"lines": [{"points": [[x, y, end]]}]}`, nests 5 levels; the rest is room for clients that send more.
    static let maximumDepth = 32

    /// Throws a 400 naming the first key given twice in one object (as `lines[0].points`, the way field errors name
    /// fields), or saying the body nests deeper than `maximumDepth`.
    static func check(_ bytes: [UInt8]) throws {
        var scanner = Scanner(bytes: bytes)
        do { try scanner.value(path: "", depth: 0) } catch is Malformed { return }
    }

    /// The bytes stopped being JSON; the decoder will say how.
    private struct Malformed: Error {}

    private struct Scanner {
        let bytes: [UInt8]
        var i = 0

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
                    let key = try string()
                    let name = path.isEmpty ? key : path + "." + key
                    if !keys.insert(key).inserted {
                        let shown = String(name.prefix(100))
                        throw APIError.bad(shown, "the field '\(shown)' is given twice in one object; give each field once")
                    }
                    skipSpace()
                    guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw Malformed() }
                    i += 1
                    try value(path: name, depth: depth + 1)
                    skipSpace()
                    guard i < bytes.count else { throw Malformed() }
                    if bytes[i] == UInt8(ascii: "}") { i += 1; return }
                    guard bytes[i] == UInt8(ascii: ",") else { throw Malformed() }
                    i += 1
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
                    skipSpace()
                    guard i < bytes.count else { throw Malformed() }
                    if bytes[i] == UInt8(ascii: "]") { i += 1; return }
                    guard bytes[i] == UInt8(ascii: ",") else { throw Malformed() }
                    i += 1
                }
            case UInt8(ascii: "\""):
                _ = try string()
            default:
                // A number, true, false or null: its characters run to the next delimiter; the decoder checks them.
                let start = i
                while i < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}"), 0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) {
                    i += 1
                }
                if i == start { throw Malformed() }
            }
        }

        /// Refuses a container that would be more than `maximumDepth` deep.
        func deeper(_ depth: Int) throws {
            if depth + 1 > JSONCheck.maximumDepth {
                throw APIError.bad(nil, "the JSON nests objects and arrays more than \(JSONCheck.maximumDepth) levels deep; "
                                   + "the API's bodies nest at most 5 (see /openapi.json)")
            }
        }

        /// A string starting at `i` (which is its opening quote), its escapes decoded, so `"te\u0078t"` is `text`.
        mutating func string() throws -> String {
            guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw Malformed() }
            let start = i
            i += 1
            var escaped = false
            while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
                if bytes[i] == UInt8(ascii: "\\") { escaped = true; i += 1 }
                i += 1
            }
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
