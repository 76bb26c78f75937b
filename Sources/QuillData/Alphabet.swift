import Foundation
import QuillIO

/// How the alphabet is chosen from the transcriptions.
public enum AlphabetPolicy: Codable, Equatable, Sendable, CustomStringConvertible {
    /// Keep every character seen at least `minCount` times in the training texts; map the rest to the unknown symbol.
    case frequency(minCount: Int)
    /// An approximation of Graves (2013)'s 57 classes (the paper gives only the count): the 52 ASCII letters,
    /// space, `.` `,` `'`, and one class, the unknown symbol, for digits, all other punctuation and anything else.
    case graves

    public var description: String {
        switch self {
        case let .frequency(n): return "frequency(min count \(n))"
        case .graves: return "graves (57 classes)"
        }
    }

    /// The default: characters seen at least 10 times.
    public static let `default` = AlphabetPolicy.frequency(minCount: 10)
}

/// What a model does with text it is given to read (a line to write, a priming text) that has characters its
/// alphabet lacks.
///
/// A checkpoint stores it beside the alphabet (`quill.text-policy`, this type's JSON) when it differs from its model
/// family's default; a checkpoint without it, which is every checkpoint written before the field existed, gets the
/// default, which is what those models always did: `substituting` for handwriting models, `strict` for char models.
public struct TextPolicy: Codable, Equatable, Sendable, CustomStringConvertible {
    /// What becomes of a character the alphabet still lacks after any substitution.
    public enum Unknown: String, Codable, Sendable {
        /// The text is refused with an error that names the characters.
        case refuse
        /// The character is read as the unknown symbol (index 0), as the rare characters of a dataset's
        /// transcriptions are in training. Only for alphabets that have an unknown symbol.
        case unknownSymbol = "unknown-symbol"
    }

    /// Replace characters the alphabet lacks by plain equivalents before encoding (`TextPreparation.checked`):
    /// typographic quotes and dashes, `…`, ligatures and full-width forms, accented letters, any Unicode space.
    public var substitutes: Bool
    public var unknown: Unknown

    public init(substitutes: Bool, unknown: Unknown) {
        self.substitutes = substitutes
        self.unknown = unknown
    }

    /// Fields missing from a stored policy take `strict`'s values (none is optional today; a later field will be).
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        substitutes = try c.decodeIfPresent(Bool.self, forKey: .substitutes) ?? TextPolicy.strict.substitutes
        unknown = try c.decodeIfPresent(Unknown.self, forKey: .unknown) ?? TextPolicy.strict.unknown
    }

    /// Char models: every character of a priming text must be in the vocabulary as it is.
    public static let strict = TextPolicy(substitutes: false, unknown: .refuse)
    /// Handwriting models (`quill write`): plain equivalents replace what the alphabet lacks; anything else is refused.
    public static let substituting = TextPolicy(substitutes: true, unknown: .refuse)

    public var description: String {
        (substitutes ? "substitute plain equivalents, then " : "") + (unknown == .refuse ? "refuse unknown characters"
                                                                       : "read unknown characters as the unknown symbol")
    }

    /// Why this policy cannot go with `alphabet`, or nil when it can.
    public func problem(with alphabet: Alphabet) -> String? {
        if unknown == .unknownSymbol && !alphabet.hasUnknownSymbol {
            return "reads unknown characters as the unknown symbol, but the alphabet has none"
        }
        return nil
    }
}

/// The characters a model sees, with the mapping from text to indices and back: one type for the alphabets of
/// prepared datasets, of handwriting models and of char models, so training and sampling encode text alike.
///
/// Symbols are Unicode scalars, and text is encoded scalar by scalar. Two kinds:
/// - with an unknown symbol (datasets and handwriting models): index 0 stands for every character outside the
///   alphabet (`Alphabet.unknown`, U+FFFD, in alphabets built from transcriptions). Rare characters and, under the
///   graves policy, digits and most punctuation are read as it;
/// - without one (char models): every index is a character of the training text, in scalar order.
///
/// `textPolicy` says what happens to text a user gives (a line to write, a prime) with characters outside the
/// alphabet; it is not part of the Codable form, which is a prepared dataset's (policy and symbols, unknown first).
public struct Alphabet: Codable, Equatable, Sendable {
    public static let unknown: Unicode.Scalar = "\u{FFFD}"
    public static let unknownIndex: Int32 = 0

    /// How the symbols were chosen from a dataset's transcriptions; nil where that is not recorded (a checkpoint
    /// stores only the symbols) or does not apply (a char model's vocabulary).
    public let policy: AlphabetPolicy?
    /// `symbols[i]` is the one-scalar string for index i.
    public let symbols: [String]
    /// Whether index 0 is the unknown symbol.
    public let hasUnknownSymbol: Bool
    /// What becomes of a user's text with characters outside the alphabet.
    public var textPolicy: TextPolicy
    private var lookup: [UInt32: Int32] = [:]

    enum CodingKeys: String, CodingKey { case policy, symbols }

    /// A dataset's alphabet: the unknown symbol, then `symbols` (repeats and the unknown symbol itself left out).
    public init(policy: AlphabetPolicy, symbols: [Unicode.Scalar]) {
        self.policy = policy
        var list = [Alphabet.unknown]
        for s in symbols where s != Alphabet.unknown && !list.contains(s) { list.append(s) }
        self.symbols = list.map { String(Character($0)) }
        hasUnknownSymbol = true
        textPolicy = .substituting
        buildLookup()
    }

    /// A char model's vocabulary: exactly `characters`, in the order given, without an unknown symbol.
    /// Repeats must not occur (a repeated character would map two indices to one).
    public init(characters: [Unicode.Scalar], textPolicy: TextPolicy = .strict) {
        policy = nil
        symbols = characters.map { String(Character($0)) }
        hasUnknownSymbol = false
        self.textPolicy = textPolicy
        buildLookup()
    }

    /// A char model's vocabulary for `text`: the sorted set of its scalars.
    public init(text: String) {
        self.init(characters: Set(text.unicodeScalars.map(\.value)).sorted().compactMap(Unicode.Scalar.init))
    }

    /// An alphabet as a checkpoint stores it: its symbols in index order; with `unknownSymbol`, index 0 is the
    /// unknown symbol and must be written as U+FFFD (every checkpoint Quill has written is).
    /// - Throws: `AlphabetError` when a symbol is not one Unicode scalar or is listed twice, or with
    ///   `unknownSymbol` when a non-empty list does not start with U+FFFD.
    public init(storedSymbols: [String], unknownSymbol: Bool = true, textPolicy: TextPolicy = .substituting) throws {
        // Scalars, not Strings, are compared: "Å" (U+00C5) and "Å" (U+212B) are two symbols, though equal as Strings.
        // A handwriting alphabet keeps the unknown symbol at index 0; another first symbol would be read as unknown.
        if unknownSymbol, let first = storedSymbols.first, first != String(Character(Alphabet.unknown)) {
            throw AlphabetError.unknownNotFirst(first)
        }
        var seen = Set<UInt32>()
        for s in storedSymbols {
            guard s.unicodeScalars.count == 1, let scalar = s.unicodeScalars.first else { throw AlphabetError.notOneScalar(s) }
            guard seen.insert(scalar.value).inserted else { throw AlphabetError.repeated(s) }
        }
        policy = nil
        symbols = storedSymbols
        hasUnknownSymbol = unknownSymbol
        self.textPolicy = textPolicy
        buildLookup()
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        policy = try c.decode(AlphabetPolicy.self, forKey: .policy)
        symbols = try c.decode([String].self, forKey: .symbols)
        guard symbols.first == String(Character(Alphabet.unknown)),
              symbols.allSatisfy({ $0.unicodeScalars.count == 1 }) else {
            throw DecodingError.dataCorruptedError(forKey: .symbols, in: c,
                                                   debugDescription: "symbols must be single scalars, unknown first")
        }
        hasUnknownSymbol = true
        textPolicy = .substituting
        buildLookup()
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(policy, forKey: .policy)
        try c.encode(symbols, forKey: .symbols)
    }

    private mutating func buildLookup() {
        // The first index of a symbol wins (a stored alphabet never repeats one; a dataset's drops repeats).
        for (i, s) in symbols.enumerated().reversed() {
            if let scalar = s.unicodeScalars.first { lookup[scalar.value] = Int32(i) }
        }
    }

    public static func == (a: Alphabet, b: Alphabet) -> Bool {
        a.policy == b.policy && a.hasUnknownSymbol == b.hasUnknownSymbol
            && a.symbols.elementsEqual(b.symbols) { $0.unicodeScalars.elementsEqual($1.unicodeScalars) }
            && a.textPolicy == b.textPolicy
    }

    public var count: Int { symbols.count }

    /// The 57 classes of the graves policy (unknown first).
    static let gravesScalars: [Unicode.Scalar] = {
        var s: [Unicode.Scalar] = [" ", "'", ",", "."]
        s += (UInt32(65)...90).compactMap(Unicode.Scalar.init)
        s += (UInt32(97)...122).compactMap(Unicode.Scalar.init)
        return s
    }()

    /// Builds the alphabet for `policy` from the training texts.
    public static func build(texts: [String], policy: AlphabetPolicy) -> Alphabet {
        switch policy {
        case .graves:
            return Alphabet(policy: policy, symbols: gravesScalars)
        case let .frequency(minCount):
            let counts = characterCounts(texts)
            let kept = counts.filter { $0.value >= minCount }.keys.sorted().compactMap(Unicode.Scalar.init)
            return Alphabet(policy: policy, symbols: kept)
        }
    }

    /// How often each scalar occurs.
    public static func characterCounts(_ texts: [String]) -> [UInt32: Int] {
        var counts = [UInt32: Int]()
        for t in texts { for s in t.unicodeScalars { counts[s.value, default: 0] += 1 } }
        return counts
    }

    // MARK: - Encoding

    /// The index of a scalar that is a symbol of its own (the unknown symbol's index 0 is not one), or nil.
    public func index(of s: Unicode.Scalar) -> Int32? {
        guard let i = lookup[s.value], !(hasUnknownSymbol && i == Alphabet.unknownIndex) else { return nil }
        return i
    }

    /// Whether every scalar of `c` is a symbol of its own (the unknown symbol does not count).
    public func knows(_ c: Character) -> Bool { c.unicodeScalars.allSatisfy { index(of: $0) != nil } }

    /// The scalars of `text` that are not symbols of their own, in order of first appearance.
    public func unknownCharacters(in text: String) -> [Unicode.Scalar] {
        var seen = Set<UInt32>(), out = [Unicode.Scalar]()
        for s in text.unicodeScalars where index(of: s) == nil && seen.insert(s.value).inserted { out.append(s) }
        return out
    }

    /// The index of each scalar of `text`: its own, or the unknown symbol's (0) for a scalar outside the alphabet.
    /// This is how training data is read. Text a user gives goes through `TextPreparation` first, which applies
    /// `textPolicy`; in an alphabet without an unknown symbol, check `unknownCharacters(in:)` is empty first.
    public func encode(_ text: String) -> [Int32] {
        text.unicodeScalars.map { index(of: $0) ?? Alphabet.unknownIndex }
    }

    /// The text for a list of indices. An index outside the alphabet reads as the unknown symbol, or is left out
    /// when there is none.
    public func decode<S: Sequence>(_ indices: S) -> String where S.Element == Int32 {
        var out = ""
        for i in indices {
            if i >= 0 && Int(i) < symbols.count { out += symbols[Int(i)] } else if hasUnknownSymbol { out += symbols[0] }
        }
        return out
    }

    // MARK: - Stored form

    /// The symbols as a JSON array of one-scalar strings, the form char checkpoints store (`quill.vocabulary`):
    /// `"` and `\` escaped, control characters and the line and paragraph separators as `\u` escapes, the rest as is.
    public var symbolsJSON: String {
        let items = symbols.map { symbol -> String in
            // Invariant: every symbol is one scalar (checked by every initialiser).
            let s = symbol.unicodeScalars.first!
            switch s {
            case "\"": return #""\"""#
            case "\\": return #""\\""#
            default:
                if s.value < 0x20 || s.value == 0x7f || s.value == 0x2028 || s.value == 0x2029 || s.value == 0xFEFF {
                    return String(format: "\"\\u%04x\"", s.value)
                }
                return "\"\(s)\""
            }
        }
        return "[" + items.joined(separator: ",") + "]"
    }

    /// Reads a stored JSON array of strings (`symbolsJSON`, or a handwriting checkpoint's `quill.alphabet`).
    /// - Throws: `AlphabetError` when it is not an array of strings, or a symbol is not one scalar or is repeated.
    public init(json: String, unknownSymbol: Bool, textPolicy: TextPolicy) throws {
        guard let list = (try? JSONSerialization.jsonObject(with: JSONText.escapingByteOrderMarks(Data(json.utf8)))) as? [String] else {
            throw AlphabetError.notAList
        }
        try self.init(storedSymbols: list, unknownSymbol: unknownSymbol, textPolicy: textPolicy)
    }
}

/// Why a stored alphabet can't be read (the description follows the alphabet's name: "quill.alphabet lists …").
public enum AlphabetError: Error, Equatable, CustomStringConvertible {
    case notAList
    case notOneScalar(String)
    case repeated(String)
    /// A handwriting alphabet whose first symbol is not the unknown symbol U+FFFD.
    case unknownNotFirst(String)

    public var description: String {
        switch self {
        case .notAList: return "is not a JSON array of symbols"
        case let .notOneScalar(s): return "has a symbol of other than one character: \"\(TextPreparation.shown(text: s))\""
        case let .repeated(s): return "lists a symbol twice: \"\(TextPreparation.shown(text: s))\""
        case let .unknownNotFirst(s):
            return "starts with \"\(TextPreparation.shown(text: s))\" where the unknown symbol U+FFFD must come first"
        }
    }
}
