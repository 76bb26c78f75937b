import Foundation
import QuillData

extension Alphabet {
    /// A char model's tokens for `text`, every character as it is (training text, evaluation text).
    /// - Throws: `CharModelError.unknownCharacters` naming every character the vocabulary lacks; `source` names
    ///   the text in the message.
    public func tokens(_ text: String, source: String) throws -> [Int32] {
        let unknown = unknownCharacters(in: text)
        guard unknown.isEmpty else { throw CharModelError.unknownCharacters(source, unknown) }
        return encode(text)
    }

    /// A char model's tokens for text a user gives (a priming text), under the vocabulary's `textPolicy`: plain
    /// equivalents replace what it lacks when the policy substitutes (`TextPreparation.checked`), then `tokens`.
    public func userTokens(_ text: String, source: String) throws -> [Int32] {
        guard textPolicy.substitutes else { return try tokens(text, source: source) }
        var relaxed = self
        relaxed.textPolicy.unknown = .unknownSymbol
        return try tokens(try TextPreparation.checked(text, alphabet: relaxed).text, source: source)
    }
}

/// Describes a character for an error message as every message does (`TextPreparation.shown`): visible ones
/// quoted, others by code point (`U+000D`, `U+0009`).
func describe(_ s: Unicode.Scalar) -> String {
    TextPreparation.shown(Character(s))
}


/// Errors of the char-model commands, each naming the file or option and the fix.
public enum CharModelError: Error, CustomStringConvertible, Equatable {
    case unknownCharacters(String, [Unicode.Scalar])
    case dataMissing(String)
    case dataEmpty(String)
    case dataNotUTF8(String, offset: Int, hint: String)
    /// Valid UTF-8 holding NUL bytes: a binary file, or UTF-16 without a byte-order mark (ASCII text in UTF-16 is
    /// valid UTF-8, every other byte NUL).
    case dataHasNUL(String, count: Int, offset: Int, hint: String)
    /// Valid UTF-8 that is another encoding's text (UTF-16 of one script without a byte-order mark): the path, how to
    /// convert it.
    case dataEncoded(String, hint: String)
    case dataTooShort(String, chars: Int, needed: Int)
    /// Valid UTF-8 that is mostly control characters (other than tab, line feed and carriage return): not text.
    case dataNotText(String, controls: Int, characters: Int, first: Unicode.Scalar)
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
            return "\(p): the file is empty; a model needs text to learn from"
        case .dataNotUTF8(let p, let off, let hint):
            return "\(p): not valid UTF-8 (first bad byte at offset \(off)); \(hint)"
        case .dataHasNUL(let p, let count, let off, let hint):
            return "\(p): \(count) NUL byte\(count == 1 ? "" : "s") (U+0000, the first at offset \(off)), which text does not hold; \(hint)"
        case .dataEncoded(let p, let hint):
            return "\(p): not UTF-8 text; \(hint)"
        case .dataNotText(let p, let controls, let characters, let first):
            return "\(p): \(controls) of its \(characters) characters are control characters (\(describe(first)) first), not text; give a plain-text file"
        case .dataTooShort(let p, let chars, let needed):
            return "\(p): \(chars) character\(chars == 1 ? "" : "s") of training text is shorter than one batch (\(needed) needed: batch × (seq + 1)); lower --batch or --seq, or use more text"
        case .invalidOption(let m):
            return m
        }
    }
}
