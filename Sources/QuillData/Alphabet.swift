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

/// The characters a model sees, with the mapping from text to indices and back.
///
/// Symbols are Unicode scalars. Index 0 is always the unknown symbol `�` (U+FFFD): rare characters and, under
/// the graves policy, digits and most punctuation map to it. The other symbols follow in scalar order.
public struct Alphabet: Codable, Equatable, Sendable {
    public static let unknown: Unicode.Scalar = "\u{FFFD}"
    public static let unknownIndex: Int32 = 0

    public let policy: AlphabetPolicy
    /// `symbols[i]` is the scalar for index i; `symbols[0]` is `unknown`.
    public let symbols: [String]
    private var lookup: [UInt32: Int32] = [:]

    enum CodingKeys: String, CodingKey { case policy, symbols }

    public init(policy: AlphabetPolicy, symbols: [Unicode.Scalar]) {
        self.policy = policy
        var list = [Alphabet.unknown]
        for s in symbols where s != Alphabet.unknown && !list.contains(s) { list.append(s) }
        self.symbols = list.map { String(Character($0)) }
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
        buildLookup()
    }

    private mutating func buildLookup() {
        for (i, s) in symbols.enumerated() {
            if let scalar = s.unicodeScalars.first { lookup[scalar.value] = Int32(i) }
        }
    }

    public static func == (a: Alphabet, b: Alphabet) -> Bool { a.policy == b.policy && a.symbols == b.symbols }

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

    /// The index of each scalar of `text`; anything outside the alphabet becomes `unknownIndex`.
    public func encode(_ text: String) -> [Int32] {
        text.unicodeScalars.map { lookup[$0.value] ?? Alphabet.unknownIndex }
    }

    /// The text for a list of indices (out-of-range indices decode as the unknown symbol).
    public func decode(_ indices: [Int32]) -> String {
        indices.map { $0 >= 0 && Int($0) < symbols.count ? symbols[Int($0)] : symbols[0] }.joined()
    }
}
