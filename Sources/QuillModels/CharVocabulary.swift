import Foundation
import QuillData

/// The characters a char model knows: Unicode scalars, in sorted order, indexed from 0.
public struct CharVocabulary: Equatable, Sendable {
    public let scalars: [Unicode.Scalar]
    private let index: [UInt32: Int32]

    public init(scalars: [Unicode.Scalar]) {
        self.scalars = scalars
        var idx = [UInt32: Int32]()
        for (i, s) in scalars.enumerated() { idx[s.value] = Int32(i) }
        index = idx
    }

    /// The sorted set of scalars in `text`.
    public init(text: String) {
        self.init(scalars: Set(text.unicodeScalars.map(\.value)).sorted().compactMap(Unicode.Scalar.init))
    }

    public var count: Int { scalars.count }

    public func index(of s: Unicode.Scalar) -> Int32? { index[s.value] }

    /// The scalars of `text` that are not in the vocabulary, in order of first appearance.
    public func unknownCharacters(in text: String) -> [Unicode.Scalar] {
        var seen = Set<UInt32>(), out = [Unicode.Scalar]()
        for s in text.unicodeScalars where index[s.value] == nil && !seen.contains(s.value) {
            seen.insert(s.value); out.append(s)
        }
        return out
    }

    /// Encodes text; throws naming every unknown character.
    public func encode(_ text: String, source: String) throws -> [Int32] {
        let unknown = unknownCharacters(in: text)
        guard unknown.isEmpty else { throw CharModelError.unknownCharacters(source, unknown) }
        // Every scalar has an index: unknownCharacters found none missing.
        return text.unicodeScalars.map { index[$0.value] ?? 0 }
    }

    public func decode<S: Sequence>(_ tokens: S) -> String where S.Element == Int32 {
        var s = String.UnicodeScalarView()
        for t in tokens where t >= 0 && Int(t) < scalars.count { s.append(scalars[Int(t)]) }
        return String(s)
    }

    /// JSON form for checkpoints: an array of one-scalar strings.
    public var json: String {
        let items = scalars.map { s -> String in
            switch s {
            case "\"": return #""\"""#
            case "\\": return #""\\""#
            default:
                // Control characters (and the line and paragraph separators) as \u escapes; the rest as is.
                if s.value < 0x20 || s.value == 0x7f || s.value == 0x2028 || s.value == 0x2029 {
                    return String(format: "\"\\u%04x\"", s.value)
                }
                return "\"\(s)\""
            }
        }
        return "[" + items.joined(separator: ",") + "]"
    }

    /// Reads the JSON form; nil unless it is an array of distinct one-scalar strings.
    public init?(json: String) {
        guard let arr = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String] else { return nil }
        var out = [Unicode.Scalar](), seen = Set<UInt32>()
        for s in arr {
            let u = Array(s.unicodeScalars)
            // A repeated character would map two indices to one; the model's rows would be misread.
            guard u.count == 1, seen.insert(u[0].value).inserted else { return nil }
            out.append(u[0])
        }
        self.init(scalars: out)
    }
}

/// Describes a character for an error message: printable ones quoted, others by code point.
func describe(_ s: Unicode.Scalar) -> String {
    switch s {
    case "\n": return "'\\n'"
    case "\t": return "'\\t'"
    case "\r": return "'\\r'"
    default:
        if s.properties.isWhitespace || s.value < 0x20 || s.properties.generalCategory == .control {
            return String(format: "U+%04X", s.value)
        }
        return "'\(s)'"
    }
}


/// Errors of the char-model commands, each naming the file or option and the fix.
public enum CharModelError: Error, CustomStringConvertible, Equatable {
    case unknownCharacters(String, [Unicode.Scalar])
    case dataMissing(String)
    case dataEmpty(String)
    case dataNotUTF8(String, offset: Int, hint: String)
    case dataTooShort(String, chars: Int, needed: Int)
    case invalidOption(String)

    /// The message with any invisible or control character (from a file's contents or name) shown by code point.
    public var description: String { TextPreparation.shown(text: message) }

    var message: String {
        switch self {
        case .unknownCharacters(let source, let chars):
            let list = chars.prefix(12).map(describe).joined(separator: ", ")
            let more = chars.count > 12 ? " and \(chars.count - 12) more" : ""
            return "\(source) has characters the model's vocabulary lacks: \(list)\(more); remove them or train on text that has them"
        case .dataMissing(let p):
            return "\(p): no such file; pass an existing text file with --data"
        case .dataEmpty(let p):
            return "\(p): the file is empty; a char model needs text to learn from"
        case .dataNotUTF8(let p, let off, let hint):
            return "\(p): not valid UTF-8 (first bad byte at offset \(off)); \(hint)"
        case .dataTooShort(let p, let chars, let needed):
            return "\(p): \(chars) characters of training text is shorter than one batch (\(needed) needed: batch × (seq + 1)); lower --batch or --seq, or use more text"
        case .invalidOption(let m):
            return m
        }
    }
}
